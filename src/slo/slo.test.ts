import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../shared/index.ts';
import { createSloEngine, compressPolicy, replaySeries } from './index.ts';
import { DEFAULT_ALERT_POLICY, defaultPolicyFor } from './policy.ts';
import { parseSeriesCsv } from './replay.ts';
import { goDurationSeconds, promSum, thresholdLiteral, tierThreshold, windowRatio } from './evaluator.ts';
import { parseSloText } from './slo-spec.ts';
import { prometheusRules } from './rules.ts';

const MIN = 60_000;

// The catalog itself is pinned value by value in test/slo/semantics.test.ts.
describe('alert policy catalog', () => {
  it('re-derives factors for other periods by the budget-consumed rule', () => {
    const p28 = defaultPolicyFor(28 * 24 * 60 * MIN);
    expect(p28[0]?.factor).toBeCloseTo(13.44, 10);
    expect(p28[1]?.factor).toBeCloseTo(5.6, 10);
  });
});

describe('SLO spec', () => {
  it('needs only apiVersion, kind, name and objective', () => {
    const slo = parseSloText('apiVersion: faultline/v1\nkind: SLO\nname: api\nobjective: 99.9\n', 'slo.yaml');
    expect(slo.periodMs).toBe(30 * 24 * 60 * MIN);
    expect(slo.errorBudget).toBe(0.001);
    expect(slo.policy.map((t) => t.name)).toEqual(DEFAULT_ALERT_POLICY.map((t) => t.name));
  });
  it('names file, line and field of a bad value', () => {
    expect(() => parseSloText('apiVersion: faultline/v1\nkind: SLO\nname: api\nobjective: 99.9\nperiod: soon\n', 'slo.yaml')).toThrow(
      /slo\.yaml:5 field 'period': not a valid duration/,
    );
    expect(() => parseSloText('apiVersion: faultline/v1\nkind: SLO\nname: api\n', 'slo.yaml')).toThrow(/field 'objective'/);
    expect(() => parseSloText('apiVersion: faultline/v1\nkind: SLO\nname: api\nobjective: 99.9\nsli:\n  type: latency\n', 's.yaml')).toThrow(
      /s\.yaml:\d+ field 'sli\.latencyThreshold'/,
    );
  });
});

describe('Prometheus 2.42 float64 arithmetic', () => {
  it('range seconds as Go computes Duration.Seconds(): whole seconds plus nanoseconds / 1e9', () => {
    expect(goDurationSeconds(1_800_000)).toBe(1800);
    expect(goDurationSeconds(833)).toBe(0.833);
    // 1.001 s: 1 + 0.001 is rounded twice in Go; the single division 1001 / 1000 is not the same double.
    expect(goDurationSeconds(1001)).toBe(1 + 1e6 / 1e9);
    const differs = Array.from({ length: 5000 }, (_, i) => 1000 + i).filter((ms) => goDurationSeconds(ms) !== ms / 1000);
    expect(differs.length).toBeGreaterThan(0);
  });
  it('sum() adds in vector order, first value then +=, without compensation', () => {
    expect(promSum([])).toBeUndefined();
    expect(promSum([1e16, 1, 1])).toBe(1e16);
    expect(promSum([1, 1, 1e16])).toBe(1e16 + 2);
  });
  it('compares with the threshold literal the generated rule contains', () => {
    const slo = parseSloText('apiVersion: faultline/v1\nkind: SLO\nname: api\nobjective: 99.9\n');
    const alerts = prometheusRules(slo).groups.flatMap((g) => g.rules).filter((r) => 'alert' in r);
    slo.policy.forEach((tier, i) => {
      const literal = thresholdLiteral(tier.factor, slo.errorBudget);
      expect(String(alerts[i]?.expr)).toContain(`> ${literal}\n`);
      expect(tierThreshold(tier, slo.errorBudget)).toBe(Number(literal));
    });
    expect(thresholdLiteral(14.4, 0.001)).toBe('0.014400000000000001');
  });
  it('compressed windows are whole milliseconds, the resolution of a Prometheus duration', () => {
    const p = compressPolicy(DEFAULT_ALERT_POLICY, 360);
    expect(p[0]?.shortWindowMs).toBe(833);
    expect(p.every((t) => Number.isInteger(t.longWindowMs) && Number.isInteger(t.shortWindowMs))).toBe(true);
  });
});

describe('window ratio (Prometheus semantics)', () => {
  const samples = Array.from({ length: 11 }, (_, i) => ({ t: i * MIN, total: i * 100, errors: i >= 6 ? (i - 5) * 10 : 0 }));
  it('uses the closed range [t−r, t] and the ratio of increases', () => {
    // 5m window at 10m: samples 5..10 → total +500, errors +50.
    expect(windowRatio(samples, 10 * MIN, 5 * MIN)).toBeCloseTo(0.1, 12);
  });
  it('gives no value with fewer than two samples and NaN without traffic', () => {
    expect(windowRatio(samples.slice(0, 1), 0, 5 * MIN)).toBeUndefined();
    const flat = [
      { t: 0, total: 5, errors: 0 },
      { t: MIN, total: 5, errors: 0 },
    ];
    expect(windowRatio(flat, MIN, 5 * MIN)).toBeNaN();
  });
  it('adds back the pre-reset value across a counter reset', () => {
    const reset = [
      { t: 0, total: 0, errors: 0 },
      { t: MIN, total: 100, errors: 10 },
      { t: 2 * MIN, total: 50, errors: 5 },
    ];
    expect(windowRatio(reset, 2 * MIN, 2 * MIN)).toBeCloseTo(15 / 150, 12);
  });
});

describe('live engine', () => {
  const slo = parseSloText('apiVersion: faultline/v1\nkind: SLO\nname: api\nobjective: 99.9\n');

  it('fires page-fast under a full outage and clears after heal, on a compressed timeline', async () => {
    const clock = new VirtualClock();
    const scale = 360; // 1h → 10 s, 5m → 833 ms
    const engine = createSloEngine({ slo, timeScale: scale, clock });
    const at = (ms: number, good: boolean) => engine.record(good, ms);
    let t = 0;
    for (; t < 20_000; t += 10) at(t, true); // 20 s healthy (2h equivalent)
    const injectAt = t;
    for (; t < 25_000; t += 10) at(t, false); // 5 s outage (30m equivalent)
    const healAt = t;
    for (; t < 40_000; t += 10) at(t, true);
    engine.evaluate(t);
    const fast = engine.alertIntervals()['page-fast'] ?? [];
    expect(fast).toHaveLength(1);
    const [fire, clear] = fast[0] as [number, number];
    expect(fire).toBeGreaterThan(injectAt);
    expect(fire - injectAt).toBeLessThan(1_000); // detect within ~6m real-equivalent
    expect(clear).toBeGreaterThan(healAt);
    expect(clear - healAt).toBeLessThan(1_000); // short window (5m ≈ 833 ms) clears it
    expect(engine.transitions().some((tr) => tr.tier === 'page-fast' && tr.to === 'firing')).toBe(true);
    expect(engine.budget(t).consumedFraction).toBeGreaterThan(0);
  });

  it('agrees with the replay of its own sampled counters', () => {
    const engine = createSloEngine({ slo, clock: new VirtualClock(), keepHistory: true });
    const series: Array<{ t: number; total: number; errors: number }> = [];
    let total = 0;
    let errors = 0;
    for (let m = 0; m <= 180; m++) {
      series.push({ t: m * 60, total, errors });
      const badMinute = m >= 60 && m < 70;
      for (let i = 0; i < 100; i++) engine.record(!badMinute, m * MIN + i * 10 + 1);
      total += 100;
      errors += badMinute ? 100 : 0;
    }
    engine.evaluate(180 * MIN);
    const live = engine.alertIntervals();
    const replay = replaySeries(slo, series);
    expect(live['page-fast']?.map(([a, b]) => [a / 1000, b === null ? null : b / 1000])).toEqual(replay.alerts['page-fast']);
    expect(replay.alerts['page-fast']?.length).toBe(1);
  });

  it('keeps memory bounded by the longest window, not the number of events', () => {
    const engine = createSloEngine({ slo, timeScale: 3600, clock: new VirtualClock(), keepHistory: false });
    for (let i = 0; i < 300_000; i++) engine.record(i % 1000 !== 0, i * 2);
    const retained = engine.retainedSamples().length;
    // 3d window at a 60 s/3600 sampling grid: 4320 samples (+2), whatever the event count.
    expect(retained).toBeLessThanOrEqual(4323);
    expect(engine.counters().total).toBe(300_000);
  });
});

describe('series CSV', () => {
  it('names the line and column of a bad cell', () => {
    expect(() => parseSeriesCsv('t,total,errors\n0,0,0\n60,abc,0\n', 'series.csv')).toThrow(/series\.csv:3 field 'total': not a non-negative number/);
    expect(() => parseSeriesCsv('time,value\n', 'x.csv')).toThrow(/x\.csv:1/);
  });
});
