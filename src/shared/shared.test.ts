import { describe, expect, it } from 'vitest';
import { Rng } from './rng.ts';
import { formatDuration, parseDuration } from './durations.ts';
import { redact, redactValue } from './redact.ts';
import { assertLoopback, isLoopbackAddress } from './net.ts';
import { loadSpecText } from './spec-input.ts';
import { InputError } from './errors.ts';
import { VirtualClock } from './clock.ts';
import { z } from 'zod';
import { percentile, percentileOfSorted } from './stats.ts';

describe('seeded rng', () => {
  it('replays the same draws for the same seed and fork labels', () => {
    const a = Rng.fromSeed(42).fork('proxy').fork('conn:1');
    const b = Rng.fromSeed(42).fork('proxy').fork('conn:1');
    const xs = Array.from({ length: 100 }, () => a.next());
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(xs);
  });
  it('gives independent streams to sibling forks and to other seeds', () => {
    const a = Rng.fromSeed(42).fork('upstream');
    const b = Rng.fromSeed(42).fork('downstream');
    const c = Rng.fromSeed(43).fork('upstream');
    const x = a.next();
    expect(b.next()).not.toBe(x);
    expect(c.next()).not.toBe(x);
  });
  it('draws uniform values whose mean and chance frequency match', () => {
    const r = Rng.fromSeed('mean');
    let sum = 0;
    let hits = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      sum += r.next();
      if (r.chance(0.1)) hits++;
    }
    expect(sum / n).toBeCloseTo(0.5, 2);
    expect(hits / n).toBeGreaterThan(0.097);
    expect(hits / n).toBeLessThan(0.103);
  });
});

describe('durations', () => {
  it('parses Prometheus-style durations to milliseconds', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('30d')).toBe(30 * 86_400_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration(12)).toBe(12);
  });
  it('refuses repeated or out-of-order units, as Prometheus does (1s1s, 30s1m)', () => {
    expect(() => parseDuration('1s1s', 'd')).toThrowError(/field 'd'.*largest to smallest, each once/);
    expect(() => parseDuration('30s1m')).toThrowError(/largest to smallest/);
    expect(parseDuration('1h1m1s1ms')).toBe(3_661_001);
  });
  it('rejects nonsense with a typed input error naming the field', () => {
    expect(() => parseDuration('5 parsecs', 'phases[0].duration')).toThrowError(/field 'phases\[0\]\.duration'.*not a valid duration/);
  });
  it('formats milliseconds compactly', () => {
    expect(formatDuration(3_900_000)).toBe('1h5m');
    expect(formatDuration(2500)).toBe('2.5s');
    expect(formatDuration(340)).toBe('340ms');
  });
});

describe('redaction', () => {
  it('removes passwords from connection strings, key=value pairs and JSON', () => {
    expect(redact('postgres://app:s3cret@127.0.0.1:5432/db')).toBe('postgres://app:***@127.0.0.1:5432/db');
    expect(redact('host=127.0.0.1 password=hunter2 user=x')).toBe('host=127.0.0.1 password=*** user=x');
    expect(redact('{"password":"abc","user":"u"}')).toBe('{"password":"***","user":"u"}');
    expect(redactValue({ db: { password: 'p', url: 'postgresql://u:p@h/d' } })).toEqual({ db: { password: '***', url: 'postgresql://u:***@h/d' } });
  });
});

describe('loopback guard', () => {
  it('accepts only loopback addresses', () => {
    expect(isLoopbackAddress('127.0.0.1')).toBe(true);
    expect(isLoopbackAddress('127.5.6.7')).toBe(true);
    expect(isLoopbackAddress('::1')).toBe(true);
    expect(isLoopbackAddress('localhost')).toBe(true);
    expect(isLoopbackAddress('0.0.0.0')).toBe(false);
    expect(isLoopbackAddress('10.0.0.1')).toBe(false);
    expect(() => assertLoopback('0.0.0.0', 'control plane host')).toThrowError(/not a loopback address/);
  });
});

describe('spec input', () => {
  const schema = z.object({ apiVersion: z.string(), kind: z.string(), name: z.string(), objective: z.number().gt(0).lt(100) });
  it('names file, line and field for a schema violation', () => {
    const text = 'apiVersion: faultline/v1\nkind: SLO\nname: api\nobjective: 140\n';
    try {
      loadSpecText(text, 'slo.yaml', 'SLO', schema);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).message).toMatch(/^slo\.yaml:4 field 'objective': /);
      expect((e as InputError).exitCode).toBe(2);
    }
  });
  it('rejects a wrong kind before validating fields', () => {
    expect(() => loadSpecText('apiVersion: faultline/v1\nkind: Nope\n', 'x.yaml', 'SLO', schema)).toThrowError(/x\.yaml:2 field 'kind': kind must be 'SLO'/);
  });
  it('reports YAML syntax errors with a line', () => {
    expect(() => loadSpecText('apiVersion: faultline/v1\nkind: [SLO\n', 'y.yaml', 'SLO', schema)).toThrowError(/y\.yaml:\d+/);
  });
});

describe('virtual clock', () => {
  it('wakes sleepers in time order when advanced', async () => {
    const clock = new VirtualClock();
    const woke: number[] = [];
    void clock.sleep(30).then(() => woke.push(clock.now()));
    void clock.sleep(10).then(() => woke.push(clock.now()));
    await clock.advance(50);
    expect(woke).toEqual([10, 30]);
    expect(clock.now()).toBe(50);
  });
});

describe('percentiles', () => {
  it('are nearest-rank: p99 of 1..100 is 99, p50 is 50, p100 the max; none for no samples', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile(xs, 0)).toBe(1);
    expect(percentileOfSorted([], 99)).toBeNull();
    expect(percentileOfSorted([7], 99)).toBe(7);
  });
});
