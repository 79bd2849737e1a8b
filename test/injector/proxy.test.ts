import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import dgram from 'node:dgram';
import { startProxy, type Proxy } from '../../src/injector/index.ts';
import { startUdpProxy } from '../../src/injector/udp-proxy.ts';
import { connect, connectOutcome, drain, echoServer, percentile, roundTrip, sourceServer, udpEchoServer, type Running } from '../helpers/sockets.ts';
import { pollUntil } from '../helpers/until.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('TCP proxy', () => {
  let echo: Running;
  let proxy: Proxy;
  beforeEach(async () => {
    echo = await echoServer();
    proxy = await startProxy({ name: 'echo', upstream: echo.address, seed: 1 });
  });
  afterEach(async () => {
    await proxy.stop();
    await echo.close();
  });

  it('forwards bytes both ways unchanged with no faults', async () => {
    const s = await connect(proxy.listenPort);
    const msg = Buffer.from('hello through the proxy');
    const back: Buffer[] = [];
    s.on('data', (d: Buffer) => back.push(d));
    await roundTrip(s, msg);
    expect(Buffer.concat(back).toString()).toBe('hello through the proxy');
    s.destroy();
    expect(proxy.stats().bytes.upstream).toBe(msg.length);
  });

  it('refuses to listen on a non-loopback address', async () => {
    await expect(startProxy({ name: 'x', listen: '0.0.0.0:0', upstream: echo.address })).rejects.toThrow(/not a loopback address/);
  });

  it('adds the requested latency per direction, measured by the client', async () => {
    const s = await connect(proxy.listenPort);
    await roundTrip(s, Buffer.from('warm'));
    proxy.addFault({ type: 'latency', stream: 'downstream', attributes: { latency: 40, jitter: 0 } });
    proxy.addFault({ type: 'latency', stream: 'upstream', attributes: { latency: 20, jitter: 0 } });
    const rtts: number[] = [];
    for (let i = 0; i < 10; i++) rtts.push(await roundTrip(s, Buffer.from(`ping ${i}`)));
    expect(percentile(rtts, 50)).toBeGreaterThanOrEqual(59);
    expect(percentile(rtts, 50)).toBeLessThan(90);
    const stats = proxy.stats().faults.find((f) => f.name === 'latency_downstream');
    expect(stats?.achievedDelayMs?.p50).toBeGreaterThanOrEqual(39);
    expect(stats?.achievedDelayMs?.p50).toBeLessThan(60);
    proxy.heal();
    const after = await roundTrip(s, Buffer.from('healed'));
    expect(after).toBeLessThan(30);
    s.destroy();
  });

  it('models loss as a retransmission stall, never dropping bytes', async () => {
    proxy.addFault({ type: 'loss', stream: 'upstream', attributes: { probability: 1, rto: 100, max_rto: 100 }, name: 'lossy' });
    // probability 1 would stall forever; use 0.5 with a fixed seed and check stalls are multiples of rto.
    proxy.updateFault('lossy', { attributes: { probability: 0.5 } });
    const s = await connect(proxy.listenPort);
    const rtts: number[] = [];
    let total = 0;
    s.on('data', (d: Buffer) => (total += d.length));
    for (let i = 0; i < 12; i++) rtts.push(await roundTrip(s, Buffer.from(`m${i}`)));
    const stats = proxy.stats().faults.find((f) => f.name === 'lossy');
    expect(stats?.stalls).toBeGreaterThan(0);
    expect(total).toBe(rtts.reduce((a, _b, i) => a + `m${i}`.length, 0));
    const stalled = rtts.filter((r) => r >= 95);
    expect(stalled.length).toBe(stats?.stalls);
    for (const r of stalled) expect(r).toBeLessThan(100 * 12 + 100);
    s.destroy();
  });

  it('partition refuse: new clients get ECONNREFUSED, and connect again after heal', async () => {
    proxy.addFault({ type: 'partition', attributes: { mode: 'refuse', scope: 'new' } });
    expect(await connectOutcome(proxy.listenPort)).toBe('ECONNREFUSED');
    proxy.heal();
    await sleep(20);
    expect(await connectOutcome(proxy.listenPort)).toBe('connected');
  });

  it('partition blackhole: the client hangs until its own timeout, and data flows after heal', async () => {
    const s = await connect(proxy.listenPort);
    await roundTrip(s, Buffer.from('before'));
    proxy.addFault({ type: 'partition', stream: 'both', attributes: { mode: 'blackhole', scope: 'both' } });
    await expect(roundTrip(s, Buffer.from('lost?'), 300)).rejects.toThrow(/timed out/);
    // New connections are accepted but nothing comes back.
    const s2 = await connect(proxy.listenPort);
    await expect(roundTrip(s2, Buffer.from('new'), 200)).rejects.toThrow(/timed out/);
    proxy.heal();
    // What was held is delivered, like TCP retransmission after the partition heals.
    expect(await roundTrip(s2, Buffer.from('x'), 2000)).toBeLessThan(2000);
    s.destroy();
    s2.destroy();
  });

  it('one-way partition: upstream blackholed, downstream still flows (data sent after the fault is in place)', async () => {
    // A server driven by hand: it speaks only when told, after the fault is added.
    const received: Buffer[] = [];
    let serverSide: net.Socket | undefined;
    const server = net.createServer((sock) => {
      serverSide = sock;
      sock.on('data', (d: Buffer) => received.push(d));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const p = await startProxy({ name: 'oneway', upstream: `127.0.0.1:${(server.address() as net.AddressInfo).port}` });
    const client = await connect(p.listenPort);
    try {
      await pollUntil('the proxy to dial the server', () => serverSide !== undefined);
      p.addFault({ type: 'partition', stream: 'upstream', attributes: { mode: 'blackhole', scope: 'existing' } });
      // Server → client: sent after the fault went in, it arrives (this fails if both directions are cut).
      let down = '';
      client.on('data', (d: Buffer) => (down += d.toString()));
      serverSide!.write('from-server');
      await pollUntil('the server bytes to reach the client', () => down === 'from-server', 5000);
      // Client → server: held by the blackhole (the fault counts the chunk) and not delivered...
      client.write('from-client');
      await pollUntil('the blackhole to hold the chunk', () => p.stats().faults[0]?.chunks === 1);
      expect(received).toEqual([]);
      // ...until the heal, when it is delivered (as TCP retransmission would).
      p.heal();
      await pollUntil('the held chunk to arrive after heal', () => Buffer.concat(received).toString() === 'from-client');
    } finally {
      client.destroy();
      await p.stop();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('partition reset: existing connections see ECONNRESET, new ones are reset too', async () => {
    const s = await connect(proxy.listenPort);
    await roundTrip(s, Buffer.from('hi'));
    const outcome = drain(s);
    proxy.addFault({ type: 'partition', attributes: { mode: 'reset', scope: 'both' } });
    expect((await outcome).error).toBe('ECONNRESET');
    const s2 = net.connect({ port: proxy.listenPort, host: '127.0.0.1' });
    const r2 = await drain(s2);
    expect(r2.error).toBe('ECONNRESET');
    proxy.heal();
    expect(await connectOutcome(proxy.listenPort)).toBe('connected');
  });

  it('limits bandwidth per connection to the requested rate', async () => {
    const src = await sourceServer(200_000);
    const p = await startProxy({ name: 'bw', upstream: src.address });
    p.addFault({ type: 'bandwidth', attributes: { rate: 500 } }); // 500 KB/s → 200 kB in ~400 ms
    const s = await connect(p.listenPort);
    const r = await drain(s);
    expect(r.bytes).toBe(200_000);
    expect(r.ms).toBeGreaterThan(330);
    expect(r.ms).toBeLessThan(700);
    await p.stop();
    await src.close();
  });

  it('removes a fault by itself when its lease (TTL) expires', async () => {
    const expired: string[] = [];
    proxy.on('fault-expired', (f) => expired.push(f.name));
    proxy.addFault({ type: 'latency', attributes: { latency: 100 }, ttlMs: 150 });
    expect(proxy.faults()).toHaveLength(1);
    await sleep(250);
    expect(proxy.faults()).toHaveLength(0);
    expect(expired).toEqual(['latency_downstream']);
  });

  it('timeout drops data and closes the connection after the timeout', async () => {
    proxy.addFault({ type: 'timeout', attributes: { timeout: 100 } });
    const s = await connect(proxy.listenPort);
    const res = drain(s);
    s.write('anything');
    const r = await res;
    expect(r.bytes).toBe(0);
    expect(r.ms).toBeGreaterThan(80);
    expect(r.ms).toBeLessThan(1000);
  });

  it('reset_peer resets the connection after the timeout', async () => {
    proxy.addFault({ type: 'reset_peer', stream: 'upstream', attributes: { timeout: 50 } });
    const s = await connect(proxy.listenPort);
    const res = drain(s);
    s.write('x');
    const r = await res;
    expect(r.error).toBe('ECONNRESET');
    expect(r.ms).toBeGreaterThan(40);
  });

  it('limit_data closes the connection after the byte limit', async () => {
    const src = await sourceServer(10_000);
    const p = await startProxy({ name: 'limit', upstream: src.address });
    p.addFault({ type: 'limit_data', attributes: { bytes: 1234 } });
    const r = await drain(await connect(p.listenPort));
    expect(r.bytes).toBe(1234);
    await p.stop();
    await src.close();
  });

  it('slicer delivers all bytes in small pieces', async () => {
    const src = await sourceServer(2000);
    const p = await startProxy({ name: 'slice', upstream: src.address });
    p.addFault({ type: 'slicer', attributes: { average_size: 100, size_variation: 20, delay: 5000 } });
    const s = await connect(p.listenPort);
    let reads = 0;
    s.on('data', () => reads++);
    const r = await drain(s);
    expect(r.bytes).toBe(2000);
    // ~20 pieces 5 ms apart: they arrive in several reads spread over ~95 ms (a loaded client may coalesce some).
    expect(reads).toBeGreaterThan(3);
    expect(r.ms).toBeGreaterThan(60);
    await p.stop();
    await src.close();
  });

  it('slow_close delays the close after EOF', async () => {
    const src = await sourceServer(10);
    const p = await startProxy({ name: 'slowclose', upstream: src.address });
    p.addFault({ type: 'slow_close', attributes: { delay: 200 } });
    const r = await drain(await connect(p.listenPort));
    expect(r.bytes).toBe(10);
    expect(r.ms).toBeGreaterThan(180);
    await p.stop();
    await src.close();
  });

  it('replays the same jitter draws for the same seed', async () => {
    const draws = async (seed: number) => {
      const p = await startProxy({ name: 'replay', upstream: echo.address, seed });
      p.addFault({ type: 'loss', stream: 'upstream', attributes: { probability: 0.3, rto: 30, max_rto: 30 } });
      const s = await connect(p.listenPort);
      for (let i = 0; i < 20; i++) await roundTrip(s, Buffer.from(`r${i}`));
      s.destroy();
      const stalls = p.stats().faults[0]?.stalls;
      await p.stop();
      return stalls;
    };
    const a = await draws(99);
    const b = await draws(99);
    expect(a).toBe(b);
    expect(a).toBeGreaterThan(0);
  });

  it('rejects an unknown fault type and a bad attribute with the field named', () => {
    expect(() => proxy.addFault({ type: 'gremlins' })).toThrow(/unknown fault type 'gremlins'/);
    expect(() => proxy.addFault({ type: 'latency', attributes: { latency: -5 } })).toThrow(/attributes\.latency/);
  });
});

describe('UDP proxy', () => {
  it('drops datagrams at the requested loss rate (within the 99% binomial interval)', async () => {
    const echo = await udpEchoServer();
    const p = await startUdpProxy({ name: 'udp', upstream: echo.address, seed: 5, faults: { upstream: { loss: 0.2 } } });
    const client = dgram.createSocket('udp4');
    let received = 0;
    client.on('message', () => received++);
    const n = 1000;
    for (let i = 0; i < n; i++) {
      client.send(Buffer.from(`d${i}`), p.listenPort, '127.0.0.1');
      if (i % 10 === 0) await sleep(1);
    }
    await sleep(300);
    const lossRate = 1 - received / n;
    const sd = Math.sqrt((0.2 * 0.8) / n);
    expect(Math.abs(lossRate - 0.2)).toBeLessThan(2.576 * sd + 0.01);
    expect(p.stats().upstream.lost).toBe(n - p.stats().upstream.sent);
    client.close();
    await p.stop();
    await echo.close();
  });

  it('duplicates and delays datagrams', async () => {
    const echo = await udpEchoServer();
    const p = await startUdpProxy({ name: 'udp2', upstream: echo.address, seed: 6, faults: { downstream: { duplicate: 1, latency: 30 } } });
    const client = dgram.createSocket('udp4');
    const times: number[] = [];
    const t0 = performance.now();
    client.on('message', () => times.push(performance.now() - t0));
    client.send(Buffer.from('x'), p.listenPort, '127.0.0.1');
    await sleep(200);
    expect(times).toHaveLength(2);
    expect(times[0]).toBeGreaterThan(25);
    client.close();
    await p.stop();
    await echo.close();
  });
});
