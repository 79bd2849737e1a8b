import { describe, expect, it } from 'vitest';
import { networkPolicy } from '../shared/index.ts';
import { healthCheckOptions, UpstreamPool } from './balancer.ts';

const pool = (o: ConstructorParameters<typeof UpstreamPool>[0] = {}): { p: UpstreamPool; clock: { t: number } } => {
  const clock = { t: 0 };
  return { p: new UpstreamPool({ now: () => clock.t, ...o }), clock };
};

describe('upstream pool (pure core of the balancer)', () => {
  it('keeps a new upstream out of rotation until its first check passes', () => {
    const { p } = pool();
    const a = p.add('127.0.0.1:1001');
    expect(a.state).toBe('pending');
    expect(p.pick()).toBeUndefined();
    p.checked(a, 503);
    expect(a.state).toBe('pending');
    p.checked(a, 200);
    expect(a.state).toBe('up');
    expect(p.pick()).toBe(a);
  });

  it('round-robin spreads new connections over the upstreams in rotation only', () => {
    const { p } = pool();
    const [a, b, c] = ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3'].map((x) => p.add(x)) as [ReturnType<UpstreamPool['add']>, ReturnType<UpstreamPool['add']>, ReturnType<UpstreamPool['add']>];
    for (const u of [a, b, c]) p.checked(u, 200);
    const picks = Array.from({ length: 6 }, () => p.pick()?.name);
    expect(picks.filter((n) => n === a.name)).toHaveLength(2);
    expect(picks.filter((n) => n === b.name)).toHaveLength(2);
    expect(picks.filter((n) => n === c.name)).toHaveLength(2);
    p.checked(b, 503);
    expect(b.state).toBe('down');
    const after = Array.from({ length: 6 }, () => p.pick()?.name);
    expect(after).not.toContain(b.name);
    expect(new Set(after)).toEqual(new Set([a.name, c.name]));
  });

  it('leaves rotation after `fall` failed checks and returns after `rise` passes, recording each transition', () => {
    const { p, clock } = pool({ healthCheck: { rise: 2, fall: 3 } });
    const a = p.add({ name: 'a', address: '127.0.0.1:1' });
    p.checked(a, 200);
    p.checked(a, 200);
    expect(a.state).toBe('up');
    clock.t = 100;
    p.checked(a, 503);
    p.checked(a, 'ECONNREFUSED');
    expect(a.state).toBe('up');
    clock.t = 200;
    p.checked(a, 'timeout');
    expect(a.state).toBe('down');
    p.checked(a, 200);
    expect(a.state).toBe('down');
    clock.t = 300;
    p.checked(a, 200);
    expect(a.state).toBe('up');
    expect(a.transitions.map((t) => [t.t, t.from, t.to])).toEqual([
      [0, 'added', 'pending'],
      [0, 'pending', 'up'],
      [200, 'up', 'down'],
      [300, 'down', 'up'],
    ]);
    expect(a.checks).toMatchObject({ total: 7, passed: 4, failed: 3 });
  });

  it('least-connections picks the upstream with the fewest active connections', () => {
    const { p } = pool({ policy: 'least-connections', healthCheck: false });
    const a = p.add('127.0.0.1:1');
    const b = p.add('127.0.0.1:2');
    expect(a.state).toBe('up');
    p.routed(a);
    p.routed(a);
    p.routed(b);
    expect(p.pick()).toBe(b);
    p.routed(b);
    p.routed(b);
    expect(p.pick()).toBe(a);
    p.released(b);
    p.released(b);
    p.released(b);
    expect(p.pick()).toBe(b);
  });

  it('with checks off every upstream is in rotation at once; accounting records first and last routing', () => {
    const { p, clock } = pool({ healthCheck: false });
    const a = p.add('127.0.0.1:1');
    clock.t = 5;
    p.routed(a);
    clock.t = 9;
    p.routed(a);
    p.brokenInFlight(a);
    expect(a.stats()).toMatchObject({ state: 'up', firstRoutedAt: 5, lastRoutedAt: 9, connections: { total: 2, active: 2, brokenInFlight: 1 } });
    p.remove('127.0.0.1:1');
    expect(a.removed).toBe(true);
    expect(p.pick()).toBeUndefined();
  });

  it('refuses non-loopback and duplicate upstreams and bad check options, naming the field', () => {
    const { p } = pool();
    expect(() => p.add('10.0.0.1:80')).toThrow(/field 'upstreams'.*not a loopback address/);
    expect(() => p.add('10.0.0.1:80', 'upstreams[2]')).toThrow(/field 'upstreams\[2\]'/);
    const allowed = new UpstreamPool({ network: networkPolicy(['10.0.0.0/8']) });
    expect(allowed.add('10.0.0.1:80').address).toBe('10.0.0.1:80');
    expect(() => allowed.add('192.0.2.1:80')).toThrow(/not in the network allowlist \(10\.0\.0\.0\/8\)/);
    p.add({ name: 'x', address: '127.0.0.1:1' });
    expect(() => p.add({ name: 'x', address: '127.0.0.1:2' })).toThrow(/already exists/);
    expect(() => healthCheckOptions({ intervalMs: 0 })).toThrow(/healthCheck.intervalMs/);
    expect(() => healthCheckOptions({ path: 'readyz' })).toThrow(/healthCheck.path/);
    expect(healthCheckOptions({ intervalMs: 100 })).toMatchObject({ intervalMs: 100, timeoutMs: 1000, path: '/readyz' });
    expect(() => new UpstreamPool({ policy: 'random' as never })).toThrow(/balance must be one of/);
  });
});
