/**
 * The readiness-gated balancer over real sockets: round-robin over ready upstreams, an upstream
 * leaves rotation when its /readyz fails and returns when it passes, a fault can target one upstream,
 * a failed dial goes to another upstream, broken in-flight requests are attributed, and the control
 * plane adds the balancer without changing a single-upstream proxy's JSON.
 */
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startControlServer, startProxy, TcpProxy, type Proxy } from '../../src/injector/index.ts';
import { freePort } from '../../src/shared/index.ts';

interface Replica {
  name: string;
  address: string;
  ready: boolean;
  /** Answer requests after this many ms (0: at once); -1: never (hold them). */
  holdMs: number;
  close(): Promise<void>;
}

async function replica(name: string): Promise<Replica> {
  const r: Replica = { name, address: '', ready: true, holdMs: 0, close: async () => {} };
  const server = http.createServer((req, res) => {
    req.resume();
    if (req.url === '/readyz') return void res.writeHead(r.ready ? 200 : 503).end(r.ready ? 'ready' : 'draining');
    if (r.holdMs < 0) return;
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end(name), r.holdMs);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  r.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  r.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
  };
  return r;
}

/** One GET on a fresh connection: the body (which replica answered) or the error's code. */
function get(port: number, path = '/'): Promise<{ body: string; ms: number } | { error: string }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ body, ms: performance.now() - t0 }));
      res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
  });
}

const bodies = async (port: number, n: number): Promise<string[]> => {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await get(port);
    out.push('body' in r ? r.body : `error:${r.error}`);
  }
  return out;
};

const until = async (cond: () => boolean, ms: number): Promise<void> => {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('readiness-gated balancer (real sockets)', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  const setup = async (n: number, healthCheck: Parameters<typeof startProxy>[0]['balancer'] extends infer B ? (B extends { healthCheck?: infer H } ? H : never) : never = { intervalMs: 30 }): Promise<{ reps: Replica[]; proxy: Proxy }> => {
    const reps = await Promise.all(Array.from({ length: n }, (_, i) => replica(`r${i + 1}`)));
    for (const r of reps) cleanup.push(() => r.close());
    const proxy = await startProxy({ name: 'lb', seed: 1, balancer: { upstreams: reps.map((r) => ({ name: r.name, address: r.address })), healthCheck } });
    cleanup.push(() => proxy.stop());
    return { reps, proxy };
  };
  const stateOf = (proxy: Proxy, name: string): string | undefined => proxy.stats().upstreams?.find((u) => u.name === name)?.state;

  it('admits upstreams once their /readyz passes, then spreads connections round-robin', async () => {
    const { proxy } = await setup(3);
    await until(() => (proxy.stats().upstreams ?? []).every((u) => u.state === 'up'), 2000);
    const got = await bodies(proxy.listenPort, 9);
    expect(got.filter((b) => b === 'r1')).toHaveLength(3);
    expect(got.filter((b) => b === 'r2')).toHaveLength(3);
    expect(got.filter((b) => b === 'r3')).toHaveLength(3);
    const s = proxy.stats().upstreams ?? [];
    expect(s.map((u) => u.connections.total)).toEqual([3, 3, 3]);
  });

  it('takes an upstream out when /readyz fails and back when it passes, within a check interval or two', async () => {
    const { reps, proxy } = await setup(2);
    await until(() => stateOf(proxy, 'r1') === 'up' && stateOf(proxy, 'r2') === 'up', 2000);
    (reps[0] as Replica).ready = false;
    const t0 = performance.now();
    await until(() => stateOf(proxy, 'r1') === 'down', 1000);
    expect(performance.now() - t0).toBeLessThan(200);
    expect(new Set(await bodies(proxy.listenPort, 6))).toEqual(new Set(['r2']));
    (reps[0] as Replica).ready = true;
    await until(() => stateOf(proxy, 'r1') === 'up', 1000);
    expect(await bodies(proxy.listenPort, 4)).toContain('r1');
    const r1 = proxy.stats().upstreams?.find((u) => u.name === 'r1');
    expect(r1?.transitions.map((t) => t.to)).toEqual(['pending', 'up', 'down', 'up']);
  });

  it('a fault can target one upstream ("the canary is slow"); the others are untouched', async () => {
    const { proxy } = await setup(2);
    await until(() => stateOf(proxy, 'r1') === 'up' && stateOf(proxy, 'r2') === 'up', 2000);
    proxy.addFault({ type: 'latency', name: 'slow-canary', stream: 'downstream', upstream: 'r2', attributes: { latency: 150 } });
    expect(proxy.getFault('slow-canary')?.upstream).toBe('r2');
    const res: Array<{ body: string; ms: number }> = [];
    for (let i = 0; i < 6; i++) res.push((await get(proxy.listenPort)) as { body: string; ms: number });
    for (const r of res.filter((x) => x.body === 'r2')) expect(r.ms).toBeGreaterThanOrEqual(145);
    expect(res.filter((x) => x.body === 'r2').length).toBe(3);
    // Only the connections routed to r2 got the fault.
    expect(proxy.stats().faults.find((f) => f.name === 'slow-canary')?.connections).toBe(3);
    expect(() => proxy.addFault({ type: 'latency', name: 'x', upstream: 'nope' })).toThrow(/does not have/);
  });

  it('sends a connection whose dial is refused to another upstream (no failed request); with checks off a dead upstream is still in rotation', async () => {
    const { proxy } = await setup(1, false);
    const dead = await freePort();
    // Through the public API (TcpProxy.balancer), not a cast to a shape the type does not promise.
    expect(proxy).toBeInstanceOf(TcpProxy);
    (proxy as TcpProxy).balancer?.add({ name: 'dead', address: `127.0.0.1:${dead}` });
    expect(stateOf(proxy, 'dead')).toBe('up');
    const got = await bodies(proxy.listenPort, 6);
    expect(got).toEqual(Array(6).fill('r1'));
    const d = proxy.stats().upstreams?.find((u) => u.name === 'dead');
    expect(d?.connections.connectFailures).toBeGreaterThan(0);
    expect(d?.connections.connectFailures).toBe(d?.connections.total);
    expect(d?.connections.active).toBe(0);
  });

  it('counts a connection the upstream breaks while a request waits for its answer', async () => {
    const { reps, proxy } = await setup(1);
    await until(() => stateOf(proxy, 'r1') === 'up', 2000);
    (reps[0] as Replica).holdMs = -1;
    const pending = get(proxy.listenPort);
    await until(() => (proxy.stats().upstreams?.[0]?.connections.active ?? 0) > 0, 1000);
    await new Promise((r) => setTimeout(r, 50));
    await (reps[0] as Replica).close();
    expect(await pending).toMatchObject({ error: expect.any(String) });
    await until(() => (proxy.stats().upstreams?.[0]?.connections.brokenInFlight ?? 0) === 1, 1000);
  });
});

describe('balancer in the control plane (Toxiproxy API, additive)', () => {
  it('creates a balancer proxy from upstreams, lists/adds/removes upstreams, carries a toxic upstream; single-upstream JSON is unchanged', async () => {
    const control = await startControlServer({ port: 0, seed: 3 });
    const a = await replica('a');
    const b = await replica('b');
    try {
      const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
        const res = await fetch(`${control.url}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
        const text = await res.text();
        return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
      };
      const single = await call('POST', '/proxies', { name: 'one', upstream: a.address });
      expect(Object.keys(single.json as object)).toEqual(['name', 'listen', 'upstream', 'enabled', 'toxics']);
      expect((await call('GET', '/proxies/one/upstreams')).status).toBe(404);
      const made = await call('POST', '/proxies', { name: 'lb', upstreams: [{ name: 'a', address: a.address }], balance: 'least-connections', healthCheck: { path: '/readyz', interval: 30 } });
      expect(made.status).toBe(201);
      expect(made.json).toMatchObject({ name: 'lb', upstream: a.address, balance: 'least-connections', healthCheck: { path: '/readyz', interval: 30, enabled: true }, upstreams: [{ name: 'a', address: a.address }] });
      const added = await call('POST', '/proxies/lb/upstreams', { name: 'b', address: b.address });
      expect(added).toMatchObject({ status: 201, json: { name: 'b', address: b.address } });
      const listen = Number(String((made.json as { listen: string }).listen).split(':')[1]);
      await until(() => control.proxies().find((p) => p.name === 'lb')?.stats().upstreams?.every((u) => u.state === 'up') === true, 2000);
      const toxic = await call('POST', '/proxies/lb/toxics', { type: 'latency', name: 'slow-b', upstream: 'b', attributes: { latency: 10 } });
      expect(toxic).toMatchObject({ status: 200, json: { name: 'slow-b', upstream: 'b' } });
      expect(new Set(await bodies(listen, 4))).toEqual(new Set(['a', 'b']));
      expect((await call('DELETE', '/proxies/lb/upstreams/b')).status).toBe(204);
      expect((await call('GET', '/proxies/lb/upstreams')).json).toMatchObject([{ name: 'a' }]);
      expect((await call('POST', '/proxies', { name: 'bad', upstreams: ['10.1.1.1:80'] })).status).toBe(400);
      expect((await call('POST', '/proxies', { name: 'bad', upstreams: [a.address], balance: 'random' })).status).toBe(400);
    } finally {
      await control.stop();
      await a.close();
      await b.close();
    }
  });
});
