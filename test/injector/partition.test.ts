/**
 * Every partition flavour and scope, as a client (and, for one-way partitions, the server) observes it:
 * refuse → ECONNREFUSED, blackhole → hang until the client's own timeout, reset → ECONNRESET.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { ProxyBuilder, type Proxy } from '../../src/injector/index.ts';
import { connect, connectOutcome, drain, echoServer, type Running } from '../helpers/sockets.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a client sees within `timeoutMs` for one request on an open socket. */
async function requestOutcome(s: net.Socket, timeoutMs = 400): Promise<string> {
  if (s.destroyed) return 'closed';
  return new Promise((resolve) => {
    const done = (v: string) => {
      s.off('data', onData);
      s.off('error', onError);
      s.off('close', onClose);
      clearTimeout(t);
      resolve(v);
    };
    const onData = () => done('answered');
    const onError = (e: NodeJS.ErrnoException) => done(e.code ?? e.message);
    const onClose = () => done('closed');
    const t = setTimeout(() => done('hang'), timeoutMs);
    s.on('data', onData);
    s.on('error', onError);
    s.on('close', onClose);
    s.write('ping');
  });
}

/** A new connection's fate: refused at connect, reset, hang, or answered. */
async function newClientOutcome(port: number): Promise<string> {
  const c = await connectOutcome(port);
  if (c !== 'connected') return c;
  const s = await connect(port);
  s.on('error', () => {});
  const out = await requestOutcome(s);
  s.destroy();
  return out;
}

/** A server that counts what it receives and sends `tick` every 10 ms. */
async function chattyServer(): Promise<Running & { received(): number }> {
  let received = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('data', (d: Buffer) => (received += d.length));
    s.on('error', () => {});
    const t = setInterval(() => s.write('tick'), 10);
    s.on('close', () => {
      clearInterval(t);
      sockets.delete(s);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    received: () => received,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('partition flavours × scope (TCP, client-observed)', () => {
  let echo: Running;
  let proxy: Proxy;
  let existing: net.Socket;
  beforeEach(async () => {
    echo = await echoServer();
    proxy = await new ProxyBuilder('part').withUpstream(echo.address).withSeed(3).start();
    existing = await connect(proxy.listenPort);
    existing.on('error', () => {});
    expect(await requestOutcome(existing)).toBe('answered');
  });
  afterEach(async () => {
    existing.destroy();
    await proxy.stop();
    await echo.close();
  });

  const cases = [
    { mode: 'refuse', scope: 'new', existing: 'answered', fresh: 'ECONNREFUSED' },
    { mode: 'refuse', scope: 'existing', existing: 'ECONNRESET', fresh: 'answered' },
    { mode: 'refuse', scope: 'both', existing: 'ECONNRESET', fresh: 'ECONNREFUSED' },
    { mode: 'blackhole', scope: 'new', existing: 'answered', fresh: 'hang' },
    { mode: 'blackhole', scope: 'existing', existing: 'hang', fresh: 'answered' },
    { mode: 'blackhole', scope: 'both', existing: 'hang', fresh: 'hang' },
    { mode: 'reset', scope: 'new', existing: 'answered', fresh: 'ECONNRESET' },
    { mode: 'reset', scope: 'existing', existing: 'ECONNRESET', fresh: 'answered' },
    { mode: 'reset', scope: 'both', existing: 'ECONNRESET', fresh: 'ECONNRESET' },
  ] as const;

  for (const c of cases) {
    it(`${c.mode} / scope ${c.scope}: existing connection → ${c.existing}, new connection → ${c.fresh}; heal restores`, async () => {
      // A reset of an existing connection is observed asynchronously: listen before adding the fault.
      const early = c.existing === 'ECONNRESET' ? drain(existing) : undefined;
      proxy.addFault({ type: 'partition', stream: 'both', attributes: { mode: c.mode, scope: c.scope } });
      if (early) expect((await early).error).toBe('ECONNRESET');
      else expect(await requestOutcome(existing)).toBe(c.existing);
      expect(await newClientOutcome(proxy.listenPort)).toBe(c.fresh);
      const stats = proxy.stats().faults[0];
      // The injector's record: RSTs of existing connections, and new connections reset on accept.
      if (c.mode === 'reset' && c.fresh === 'ECONNRESET') expect(stats?.refusedConnections).toBe(1);
      if (c.existing === 'ECONNRESET') expect(stats?.resets).toBe(1);
      proxy.heal();
      await sleep(20);
      expect(await newClientOutcome(proxy.listenPort)).toBe('answered');
      if (c.existing === 'hang') {
        // The held request (and the echo of it) arrives after heal, like TCP retransmission.
        expect(await requestOutcome(existing, 2000)).toBe('answered');
      }
    });
  }

  it('a heal releases many held connections a batch per turn: every one is answered; a partition added in the same turn keeps the rest held', async () => {
    proxy.addFault({ name: 'cut', type: 'partition', stream: 'both', attributes: { mode: 'blackhole', scope: 'new' } });
    const clients: net.Socket[] = [];
    const answered = new Set<number>();
    try {
      for (let i = 0; i < 100; i++) {
        const s = await connect(proxy.listenPort);
        s.on('error', () => {});
        s.once('data', () => answered.add(i));
        s.write(`ping ${i}`);
        clients.push(s);
      }
      await sleep(100);
      expect(answered.size).toBe(0); // all held
      // Heal, and partition again before the event loop turns: only the first batch was dialled.
      proxy.heal();
      proxy.addFault({ name: 'cut-again', type: 'partition', stream: 'both', attributes: { mode: 'blackhole', scope: 'new' } });
      await sleep(300);
      expect(answered.size).toBeGreaterThan(0);
      expect(answered.size).toBeLessThan(100);
      proxy.heal();
      const t0 = performance.now();
      while (answered.size < 100 && performance.now() - t0 < 3000) await sleep(20);
      expect(answered.size).toBe(100);
    } finally {
      for (const s of clients) s.destroy();
    }
  });

  it('a blackholed client hangs until its own socket timeout fires', async () => {
    proxy.addFault({ type: 'partition', stream: 'both', attributes: { mode: 'blackhole', scope: 'existing' } });
    existing.setTimeout(150);
    const t0 = performance.now();
    const fired = await new Promise<number>((r) => {
      existing.once('timeout', () => r(performance.now() - t0));
      existing.write('anyone?');
    });
    expect(fired).toBeGreaterThanOrEqual(140);
    expect(existing.destroyed).toBe(false); // nothing closed it: the proxy never closes a blackhole
  });
});

describe('one-way (half-open) partitions per direction', () => {
  it('upstream cut: the server receives nothing from the client, the client still receives from the server', async () => {
    const srv = await chattyServer();
    await using proxy = await new ProxyBuilder('oneway-up').withUpstream(srv.address).start();
    const s = await connect(proxy.listenPort);
    await sleep(40);
    proxy.addFault({ type: 'partition', stream: 'upstream', attributes: { mode: 'blackhole', scope: 'existing' } });
    const before = srv.received();
    let got = 0;
    s.on('data', (d: Buffer) => (got += d.length));
    s.write('request that never arrives');
    await sleep(150);
    expect(srv.received()).toBe(before);
    expect(got).toBeGreaterThan(0);
    proxy.heal();
    await sleep(50);
    expect(srv.received()).toBe(before + 'request that never arrives'.length);
    s.destroy();
    await srv.close();
  });

  it('downstream cut (new connections): the server receives the request, the client receives nothing', async () => {
    const srv = await chattyServer();
    await using proxy = await new ProxyBuilder('oneway-down')
      .withUpstream(srv.address)
      .withFault({ type: 'partition', stream: 'downstream', attributes: { mode: 'blackhole', scope: 'new' } })
      .start();
    const s = await connect(proxy.listenPort);
    let got = 0;
    s.on('data', (d: Buffer) => (got += d.length));
    s.write('hello');
    await sleep(150);
    expect(srv.received()).toBe(5);
    expect(got).toBe(0);
    proxy.heal();
    await sleep(50);
    expect(got).toBeGreaterThan(0);
    s.destroy();
    await srv.close();
  });
});
