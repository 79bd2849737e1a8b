/**
 * Library API shape, toxicity/direction/seed semantics, proxy-wide bandwidth, and the injector's own
 * record of what it did compared against what was requested — all on real loopback sockets.
 */
import { describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { networkPolicy, Rng } from '../../src/shared/index.ts';
import { ProxyBuilder, TcpProxy, UdpProxyBuilder, type Proxy } from '../../src/injector/index.ts';
import { drawLossStall } from '../../src/injector/faults.ts';
import { connect, connectOutcome, drain, echoServer, percentile, roundTrip, sourceServer, udpEchoServer } from '../helpers/sockets.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('library API (builder, await using)', () => {
  it('builds, starts with faults in place before the first connection, and stops at the end of an await using block', async () => {
    const echo = await echoServer();
    let port = 0;
    {
      await using proxy = await new ProxyBuilder('built')
        .withUpstream(echo.address)
        .withListen('127.0.0.1:0')
        .withSeed('s-1')
        .withFault({ type: 'latency', stream: 'upstream', attributes: { latency: 40 } })
        .start();
      port = proxy.listenPort;
      expect(proxy.listen).toBe(`127.0.0.1:${port}`);
      expect(proxy.seed).toBe('s-1');
      const s = await connect(port);
      expect(await roundTrip(s, Buffer.from('first'))).toBeGreaterThanOrEqual(39);
      expect(proxy.stats().faults[0]?.connections).toBe(1);
      s.destroy();
    }
    expect(await connectOutcome(port)).toBe('ECONNREFUSED');
    await echo.close();
  });

  it('rejects a builder without upstream and a non-loopback listen address with the field named', async () => {
    await expect(new ProxyBuilder('x').start()).rejects.toThrow(/field 'upstream'.*missing upstream/);
    await expect(new ProxyBuilder('x').withUpstream('127.0.0.1:1').withListen('10.0.0.1:0').start()).rejects.toThrow(/field 'listen'.*not a loopback/);
  });

  it('refuses a non-loopback upstream at creation, naming the field and the address (nothing is dialled)', async () => {
    await expect(new ProxyBuilder('far').withUpstream('192.0.2.1:80').start()).rejects.toThrow(/field 'upstream'.*'192\.0\.2\.1' is not a loopback address/);
    expect(() => new TcpProxy({ name: 'far', upstream: '192.0.2.1:80' })).toThrow(/FAULTLINE_NET_NOT_LOOPBACK|not a loopback/);
  });

  it('an allowlisted address is admitted for upstream and listen (127.0.0.2 stands in for a game-day host)', async () => {
    const echo = await echoServer();
    const network = networkPolicy(['127.0.0.2/32']);
    expect(network.allows('127.0.0.2')).toBe(true);
    expect(network.allows('192.0.2.1')).toBe(false);
    await using proxy = new TcpProxy({ name: 'allowed', listen: '127.0.0.2:0', upstream: echo.address, network });
    await proxy.start();
    expect(proxy.listen).toMatch(/^127\.0\.0\.2:/);
    const s = await connect(proxy.listenPort, '127.0.0.2');
    expect((await roundTrip(s, Buffer.from('x'))) >= 0).toBe(true);
    s.destroy();
    expect(() => new TcpProxy({ name: 'far', upstream: '192.0.2.1:80', network })).toThrow(/not in the network allowlist \(127\.0\.0\.2\/32\)/);
    await echo.close();
  });
});

describe('direction, toxicity and seed', () => {
  it('stream both delays each direction; toxicity 0 never applies', async () => {
    const echo = await echoServer();
    await using proxy = await new ProxyBuilder('dirs').withUpstream(echo.address).start();
    proxy.addFault({ type: 'latency', stream: 'both', attributes: { latency: 30 } });
    proxy.addFault({ type: 'latency', name: 'never', stream: 'both', toxicity: 0, attributes: { latency: 1000 } });
    const s = await connect(proxy.listenPort);
    const rtt = await roundTrip(s, Buffer.from('x'));
    expect(rtt).toBeGreaterThanOrEqual(59);
    expect(rtt).toBeLessThan(500);
    const [both, never] = proxy.stats().faults;
    expect(both).toMatchObject({ linksApplied: 2, linksSkipped: 0, connections: 1 });
    expect(never).toMatchObject({ linksApplied: 0, linksSkipped: 2, connections: 0 });
    s.destroy();
    await echo.close();
  });

  it('toxicity is drawn per connection link from the seed: same seed, same connections hit', async () => {
    const echo = await echoServer();
    const pattern = async (seed: number) => {
      await using proxy = await new ProxyBuilder('tox')
        .withUpstream(echo.address)
        .withSeed(seed)
        .withFault({ type: 'latency', toxicity: 0.5, attributes: { latency: 100 } })
        .start();
      const hit: boolean[] = [];
      for (let i = 0; i < 24; i++) {
        const s = await connect(proxy.listenPort);
        hit.push((await roundTrip(s, Buffer.from('t'))) >= 90);
        s.destroy();
      }
      const f = proxy.stats().faults[0];
      expect(f?.linksApplied).toBe(hit.filter(Boolean).length);
      expect((f?.linksApplied ?? 0) + (f?.linksSkipped ?? 0)).toBe(24);
      return hit;
    };
    const a = await pattern(7);
    expect(await pattern(7)).toEqual(a);
    const hits = a.filter(Boolean).length;
    expect(hits).toBeGreaterThan(3);
    expect(hits).toBeLessThan(21);
    expect(await pattern(8)).not.toEqual(a);
    await echo.close();
  });

  it('replays loss stalls exactly: the stream is Rng(seed)/proxy/connection/direction/fault', async () => {
    const echo = await echoServer();
    const seed = 2024;
    await using proxy = await new ProxyBuilder('replay').withUpstream(echo.address).withSeed(seed).start();
    proxy.addFault({ type: 'loss', name: 'lossy', stream: 'upstream', attributes: { probability: 0.3, rto: 40, correlation: 0.2 } });
    // The same decisions, predicted from the seed alone.
    const rng = Rng.fromSeed(seed).fork('proxy:replay').fork('conn:1').fork('upstream').fork('fault:lossy');
    const predicted = Array.from({ length: 16 }, () => drawLossStall(rng, { probability: 0.3, correlation: 0.2, rto: 40, maxRto: 60_000 }).stallMs);
    expect(predicted.some((x) => x >= 120)).toBe(true); // at least one doubled (burst) stall in this draw
    const s = await connect(proxy.listenPort);
    for (const [i, stall] of predicted.entries()) {
      const rtt = await roundTrip(s, Buffer.from(`m${i}`));
      expect(rtt).toBeGreaterThanOrEqual(stall);
      expect(rtt).toBeLessThan(stall + 150);
    }
    const f = proxy.stats().faults[0];
    expect(f?.stalls).toBe(predicted.filter((x) => x > 0).length);
    expect(f?.stallMs).toBe(predicted.reduce((a, b) => a + b, 0));
    s.destroy();
    await echo.close();
  });
});

describe('achieved vs requested (the injector records what it did)', () => {
  it('latency: achieved delay histogram and percentiles match the requested delay', async () => {
    const echo = await echoServer();
    await using proxy = await new ProxyBuilder('fidelity').withUpstream(echo.address).withSeed(9).start();
    proxy.addFault({ type: 'latency', attributes: { latency: 30, jitter: 5, distribution: 'uniform' } });
    const s = await connect(proxy.listenPort);
    const rtts: number[] = [];
    for (let i = 0; i < 30; i++) rtts.push(await roundTrip(s, Buffer.from(`q${i}`)));
    const f = proxy.stats().faults[0];
    expect(f?.requested).toMatchObject({ latency: 30, jitter: 5, distribution: 'uniform', toxicity: 1 });
    expect(f?.chunks).toBe(30);
    expect(f?.bytes).toBe(rtts.reduce((a, _r, i) => a + `q${i}`.length, 0));
    const achieved = f?.achievedDelayMs;
    expect(achieved?.count).toBe(30);
    // Uniform 30 ± 5: nothing below 25 ms, median near 30 (generous upper bounds for a loaded CI box).
    expect(achieved?.p50).toBeGreaterThanOrEqual(25);
    expect(achieved?.p50).toBeLessThan(45);
    expect(Math.min(...rtts)).toBeGreaterThanOrEqual(24.5);
    // What the client measured agrees with what the proxy recorded.
    expect(Math.abs(percentile(rtts, 50) - (achieved?.p50 ?? 0))).toBeLessThan(10);
    const hist = f?.achievedDelayHistogram ?? [];
    expect(hist.at(-1)).toEqual({ leMs: '+Inf', count: 30 });
    expect(hist.find((b) => b.leMs === 20)?.count).toBe(0);
    s.destroy();
    await echo.close();
  });

  it('latency with heavy jitter preserves order and every byte (delay from read time, no reordering)', async () => {
    const echo = await echoServer();
    await using proxy = await new ProxyBuilder('order').withUpstream(echo.address).withSeed(3).start();
    proxy.addFault({ type: 'latency', stream: 'both', attributes: { latency: 10, jitter: 8, distribution: 'pareto' } });
    const s = await connect(proxy.listenPort);
    const sent = Array.from({ length: 200 }, (_, i) => `<${i}>`).join('');
    const t0 = performance.now();
    const got = await new Promise<string>((resolve) => {
      let text = '';
      s.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.length >= sent.length) resolve(text);
      });
      for (let i = 0; i < 200; i++) {
        s.write(`<${i}>`);
      }
    });
    expect(got).toBe(sent);
    // Delays are measured from each chunk's read time, so they overlap instead of adding up.
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(proxy.stats().faults[0]?.achievedDelayMs?.p50).toBeGreaterThanOrEqual(10);
    s.destroy();
    await echo.close();
  });

  it('bandwidth: per-connection rate limit is achieved and recorded', async () => {
    const src = await sourceServer(150_000);
    await using proxy = await new ProxyBuilder('bw').withUpstream(src.address).start();
    proxy.addFault({ type: 'bandwidth', attributes: { rate: 500 } });
    const r = await drain(await connect(proxy.listenPort));
    expect(r.bytes).toBe(150_000);
    // Client-side, including connect and timer overshoot on a loaded box: generous bounds (exact targets are in bench/).
    const clientKBps = r.bytes / r.ms;
    expect(clientKBps).toBeGreaterThan(250);
    expect(clientKBps).toBeLessThan(600);
    const f = proxy.stats().faults[0];
    expect(f?.bytes).toBe(150_000);
    expect(f?.achievedRateKBps).toBeGreaterThan(400);
    expect(f?.achievedRateKBps).toBeLessThanOrEqual(505);
    await src.close();
  });

  it('bandwidth scope proxy: concurrent connections share one budget', async () => {
    const src = await sourceServer(200_000);
    const timeFor = async (scope: 'connection' | 'proxy') => {
      await using proxy: Proxy = await new ProxyBuilder(`bw-${scope}`).withUpstream(src.address).start();
      proxy.addFault({ type: 'bandwidth', attributes: { rate: 500, scope } });
      const t0 = performance.now();
      const rs = await Promise.all([0, 1].map(async () => drain(await connect(proxy.listenPort))));
      expect(rs.map((r) => r.bytes)).toEqual([200_000, 200_000]);
      return performance.now() - t0;
    };
    // 2 × 200 kB at 500 KB/s: ~400 ms with a budget each, ~800 ms sharing one (never faster than the budget).
    const perConn = await timeFor('connection');
    const shared = await timeFor('proxy');
    expect(perConn).toBeGreaterThan(360);
    expect(shared).toBeGreaterThan(760);
    expect(shared).toBeGreaterThan(perConn * 1.5);
    await src.close();
  });

  it('a long-lived proxy toggling faults keeps the last 1,000 removed ones and says how many it dropped', async () => {
    const echo = await echoServer();
    await using proxy = await new ProxyBuilder('toggles').withUpstream(echo.address).start();
    for (let i = 0; i < 1003; i++) {
      proxy.addFault({ type: 'latency', name: `t${i}`, attributes: { latency: 1 } });
      proxy.removeFault(`t${i}`);
    }
    const stats = proxy.stats();
    expect(stats.faults).toHaveLength(1000);
    expect(stats.faults[0]?.name).toBe('t3');
    expect(stats.faultsForgotten).toBe(3);
    await echo.close();
  });

  it('TTL: a fault added with a lease heals itself and its record says when', async () => {
    const echo = await echoServer();
    await using proxy = await new ProxyBuilder('lease').withUpstream(echo.address).start();
    const s = await connect(proxy.listenPort);
    proxy.addFault({ type: 'latency', stream: 'upstream', attributes: { latency: 80 }, ttlMs: 200 });
    expect(await roundTrip(s, Buffer.from('a'))).toBeGreaterThanOrEqual(79);
    await sleep(250);
    expect(await roundTrip(s, Buffer.from('b'))).toBeLessThan(60);
    const f = proxy.stats().faults[0];
    expect(f?.active).toBe(false);
    expect((f?.removedAt ?? 0) - (f?.addedAt ?? 0)).toBeGreaterThanOrEqual(190);
    s.destroy();
    await echo.close();
  });
});

describe('UDP mode', () => {
  async function exchange(port: number, n: number, gapEvery = 5): Promise<{ order: number[]; times: number[] }> {
    const client = dgram.createSocket('udp4');
    const order: number[] = [];
    const times: number[] = [];
    const sent = new Map<number, number>();
    client.on('message', (m) => {
      const i = Number(String(m));
      order.push(i);
      times.push(performance.now() - (sent.get(i) ?? 0));
    });
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
    for (let i = 0; i < n; i++) {
      sent.set(i, performance.now());
      client.send(String(i), port, '127.0.0.1');
      if (i % gapEvery === 0) await sleep(2);
    }
    await sleep(250);
    client.close();
    return { order, times };
  }

  it('jitter spreads per-datagram delay around the latency', async () => {
    const echo = await udpEchoServer();
    await using p = await new UdpProxyBuilder('udp-jitter').withUpstream(echo.address).withSeed(4).withFaults('upstream', { latency: 40, jitter: 15, distribution: 'uniform' }).start();
    const { times } = await exchange(p.listenPort, 60);
    expect(times).toHaveLength(60);
    expect(Math.min(...times)).toBeGreaterThanOrEqual(24);
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(12);
    expect(percentile(times, 50)).toBeGreaterThan(30);
    expect(percentile(times, 50)).toBeLessThan(70);
    await echo.close();
  });

  it('a datagram delay never ends early: every round trip takes at least the requested latency', async () => {
    const echo = await udpEchoServer();
    await using p = await new UdpProxyBuilder('udp-floor').withUpstream(echo.address).withSeed(9).withFaults('downstream', { latency: 30 }).start();
    const { times } = await exchange(p.listenPort, 40);
    expect(times).toHaveLength(40);
    expect(Math.min(...times)).toBeGreaterThanOrEqual(30);
    await echo.close();
  });

  it('many delayed datagrams in flight raise no process warning, and stop() drops the ones not yet sent', async () => {
    const echo = await udpEchoServer();
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const p = await new UdpProxyBuilder('udp-inflight').withUpstream(echo.address).withFaults('upstream', { latency: 300 }).start();
      const client = dgram.createSocket('udp4');
      let received = 0;
      client.on('message', () => received++);
      await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
      for (let i = 0; i < 50; i++) client.send(String(i), p.listenPort, '127.0.0.1');
      await sleep(100);
      expect(p.stats().upstream.received).toBe(50);
      await p.stop();
      await sleep(400);
      client.close();
      expect(received).toBe(0);
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await echo.close();
    }
  });

  it('reorders datagrams (held back ones are overtaken) and counts it; same seed, same decisions', async () => {
    const echo = await udpEchoServer();
    const run = async (seed: number) => {
      await using p = await new UdpProxyBuilder('udp-reorder').withUpstream(echo.address).withSeed(seed).withFaults('downstream', { reorder: 0.2, reorderDelay: 40 }).start();
      const { order } = await exchange(p.listenPort, 100, 1);
      const st = p.stats();
      return { order, reordered: st.downstream.reordered, sent: st.downstream.sent };
    };
    const a = await run(21);
    expect(a.order).toHaveLength(100);
    expect(a.reordered).toBeGreaterThan(5);
    const overtaken = a.order.filter((v, i) => i > 0 && v < (a.order[i - 1] as number)).length;
    expect(overtaken).toBeGreaterThan(0);
    const b = await run(21);
    expect(b.reordered).toBe(a.reordered);
    await echo.close();
  });

  it('loss is real datagram loss, replayed by seed; a lease (ttlMs) heals it; toxicity is drawn per session', async () => {
    const echo = await udpEchoServer();
    const lost = async (seed: number) => {
      await using p = await new UdpProxyBuilder('udp-loss').withUpstream(echo.address).withSeed(seed).withFaults('upstream', { loss: 0.3 }).start();
      const { order } = await exchange(p.listenPort, 200);
      expect(order.length).toBe(200 - p.stats().upstream.lost);
      return order;
    };
    const a = await lost(5);
    expect(await lost(5)).toEqual(a);
    expect(a.length).toBeGreaterThan(110);
    expect(a.length).toBeLessThan(170);

    await using leased = await new UdpProxyBuilder('udp-ttl').withUpstream(echo.address).withFaults('both', { loss: 1, ttlMs: 100 }).start();
    expect((await exchange(leased.listenPort, 5)).order).toHaveLength(0);
    await sleep(50);
    expect((await exchange(leased.listenPort, 5)).order).toHaveLength(5);

    await using never = await new UdpProxyBuilder('udp-tox').withUpstream(echo.address).withFaults('upstream', { loss: 1, toxicity: 0 }).start();
    expect((await exchange(never.listenPort, 5)).order).toHaveLength(5);
    expect(never.stats().upstream).toMatchObject({ sessionsApplied: 0, sessionsSkipped: 1, lost: 0 });
    await echo.close();
  });
});
