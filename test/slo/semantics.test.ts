/**
 * The SLO engine's contract, line by line from issue 3: spec defaults and custom tiers, the SLI kinds,
 * Prometheus 2.x evaluation semantics, the alert state machine, budget accounting and time compression.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/shared/index.ts';
import { createSloEngine, replaySeries } from '../../src/slo/index.ts';
import { AlertStateMachine, PolicyEvaluator, windowRatio, type CounterSample } from '../../src/slo/evaluator.ts';
import { DEFAULT_ALERT_POLICY } from '../../src/slo/policy.ts';
import { budgetConsumedBetween, errorSpan } from '../../src/slo/budget.ts';
import { isGood, parseSloText } from '../../src/slo/slo-spec.ts';
import { type SeriesPoint } from '../../src/slo/replay.ts';

const MIN = 60_000;
const H = 60 * MIN;
const HEAD = 'apiVersion: faultline/v1\nkind: SLO\nname: api\n';

/** Cumulative counters sampled once a minute; `errPerMin(m)` errors among `reqPerMin` requests in minute m. */
function minuteSeries(minutes: number, reqPerMin: number, errPerMin: (m: number) => number): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  let total = 0;
  let errors = 0;
  for (let m = 0; m <= minutes; m++) {
    out.push({ t: m * 60, total, errors });
    total += reqPerMin;
    errors += errPerMin(m);
  }
  return out;
}

describe('the alert policy catalog and custom tiers', () => {
  it('pins the SRE Workbook / Sloth 30-day catalog exactly', () => {
    expect(DEFAULT_ALERT_POLICY).toEqual([
      { name: 'page-fast', severity: 'page', factor: 14.4, longWindowMs: 1 * H, shortWindowMs: 5 * MIN, budgetPercent: 2, forMs: 0, keepFiringForMs: 0 },
      { name: 'page-slow', severity: 'page', factor: 6, longWindowMs: 6 * H, shortWindowMs: 30 * MIN, budgetPercent: 5, forMs: 0, keepFiringForMs: 0 },
      { name: 'ticket-fast', severity: 'ticket', factor: 3, longWindowMs: 24 * H, shortWindowMs: 2 * H, budgetPercent: 10, forMs: 0, keepFiringForMs: 0 },
      { name: 'ticket-slow', severity: 'ticket', factor: 1, longWindowMs: 72 * H, shortWindowMs: 6 * H, budgetPercent: 10, forMs: 0, keepFiringForMs: 0 },
    ]);
  });

  it('a minimal file gets the 30d period and the catalog; other periods re-derive factors by budget consumed', () => {
    const min = parseSloText(`${HEAD}objective: 99.9\n`);
    expect(min.policy).toEqual(DEFAULT_ALERT_POLICY);
    expect(min.sli).toEqual({ type: 'availability' });
    // 7 days: 2 % of the budget in 1 h → 0.02 × 168 h / 1 h = 3.36×.
    const week = parseSloText(`${HEAD}objective: 99.9\nperiod: 7d\n`);
    expect(week.policy.map((t) => Number(t.factor.toFixed(6)))).toEqual([3.36, 1.4, 0.7, 0.233333]);
    expect(week.policy.map((t) => t.budgetPercent)).toEqual([2, 5, 10, 10]);
  });

  it('accepts custom tiers by factor or by budget share, with for/keep_firing_for', () => {
    const slo = parseSloText(`${HEAD}objective: 99.5
alerting:
  tiers:
    - { name: fast, severity: page, factor: 20, longWindow: 30m, shortWindow: 2m, for: 1m }
    - { name: slow, severity: ticket, budgetPercent: 25, longWindow: 5d, shortWindow: 12h, keepFiringFor: 15m }
`);
    expect(slo.policy).toEqual([
      { name: 'fast', severity: 'page', factor: 20, budgetPercent: ((20 * 30 * MIN) / (30 * 24 * H)) * 100, longWindowMs: 30 * MIN, shortWindowMs: 2 * MIN, forMs: MIN, keepFiringForMs: 0 },
      { name: 'slow', severity: 'ticket', factor: 1.5, budgetPercent: 25, longWindowMs: 120 * H, shortWindowMs: 12 * H, forMs: 0, keepFiringForMs: 15 * MIN },
    ]);
  });

  it('rejects bad tiers naming file, line and field', () => {
    const bad = `${HEAD}objective: 99.9\nalerting:\n  tiers:\n    - name: x\n      severity: page\n      factor: 2\n      longWindow: 5m\n      shortWindow: 1h\n`;
    expect(() => parseSloText(bad, 'tiers.yaml')).toThrow(/tiers\.yaml:11 field 'alerting\.tiers\[0\]\.shortWindow': shortWindow must be shorter/);
    expect(() => parseSloText(`${HEAD}objective: 100\n`, 'o.yaml')).toThrow(/o\.yaml:4 field 'objective'/);
    expect(() => parseSloText(`${HEAD}objective: 99.9\nsli: { type: speed }\n`, 's.yaml')).toThrow(/s\.yaml:5 field 'sli\.type'/);
  });
});

describe('SLI kinds', () => {
  const avail = parseSloText(`${HEAD}objective: 99\n`);
  const lat = parseSloText(`${HEAD}objective: 99\nsli: { type: latency, latencyThreshold: 300ms }\n`);
  const both = parseSloText(`${HEAD}objective: 99\nsli: { type: both, latencyThreshold: 300ms }\n`);
  it('availability: bad = error or timeout, whatever the latency', () => {
    expect([isGood(avail, true, 5000), isGood(avail, false, 1)]).toEqual([true, false]);
  });
  it('latency: bad = slower than the threshold, even if it succeeded; errors that were fast are good', () => {
    expect([isGood(lat, true, 300), isGood(lat, true, 301), isGood(lat, false, 10), isGood(lat, true)]).toEqual([true, false, true, false]);
  });
  it('both: bad = an error or slower than the threshold', () => {
    expect([isGood(both, true, 100), isGood(both, true, 400), isGood(both, false, 10)]).toEqual([true, false, false]);
  });
  it('the engine counts outcomes through the SLI', () => {
    const engine = createSloEngine({ slo: lat, clock: new VirtualClock() });
    engine.recordOutcome(true, 100, 1);
    engine.recordOutcome(true, 900, 2);
    engine.recordOutcome(false, 50, 3);
    expect(engine.counters()).toEqual({ total: 3, errors: 1 });
  });
});

describe('Prometheus 2.x evaluation semantics', () => {
  it('takes the closed range [t−r, t]: samples exactly r apart give a value', () => {
    const two: CounterSample[] = [
      { t: 0, total: 0, errors: 0 },
      { t: 5 * MIN, total: 100, errors: 7 },
    ];
    expect(windowRatio(two, 5 * MIN, 5 * MIN)).toBeCloseTo(0.07, 12);
    // One millisecond later the first sample falls out: one sample → no value.
    expect(windowRatio(two, 5 * MIN + 1, 5 * MIN)).toBeUndefined();
  });

  it('is a ratio of increases, never an average of per-sample ratios', () => {
    const s: CounterSample[] = [
      { t: 0, total: 0, errors: 0 },
      { t: MIN, total: 1000, errors: 0 }, // 0 % in this minute
      { t: 2 * MIN, total: 1010, errors: 10 }, // 100 % in this minute
    ];
    const r = windowRatio(s, 2 * MIN, 2 * MIN) as number;
    expect(r).toBeCloseTo(10 / 1010, 12);
    expect(r).not.toBeCloseTo(0.5, 2);
  });

  it('compares with a strict >: a ratio exactly at the threshold does not fire', () => {
    // objective 50 → budget 0.5; factor 1 → threshold 0.5. Errors are exactly half of the traffic.
    const slo = parseSloText(`${HEAD}objective: 50\nalerting:\n  tiers:\n    - { name: t, severity: page, factor: 1, longWindow: 2m, shortWindow: 1m }\n`);
    const at = (errPerMin: number): string => {
      const ev = new PolicyEvaluator(slo.policy, slo.errorBudget);
      const samples = [0, 1, 2].map((m) => ({ t: m * MIN, total: m * 100, errors: m * errPerMin }));
      return ev.evaluate(samples, 2 * MIN).tiers[0]?.state as string;
    };
    expect(at(50)).toBe('inactive');
    expect(at(51)).toBe('firing');
  });

  it('no traffic gives no value and never fires, even right after an outage', () => {
    const slo = parseSloText(`${HEAD}objective: 99.9\n`);
    const ev = new PolicyEvaluator(slo.policy, slo.errorBudget);
    const samples = Array.from({ length: 61 }, (_, m) => ({ t: m * MIN, total: 500, errors: 500 }));
    const snap = ev.evaluate(samples, 60 * MIN);
    expect(Number.isNaN(snap.ratios.get(5 * MIN))).toBe(true);
    expect(snap.tiers.every((t) => t.state === 'inactive')).toBe(true);
  });

  it('a tier fires only when its long AND short windows exceed', () => {
    // 30 minutes at 100 % errors, then 10 clean minutes: the 1h window is still far above 14.4×,
    // the 5m window is clean, so page-fast is not firing.
    const series = minuteSeries(70, 100, (m) => (m >= 30 && m < 60 ? 100 : 0));
    const r = replaySeries(parseSloText(`${HEAD}objective: 99.9\n`), series);
    const [fire, clear] = r.alerts['page-fast']?.[0] as [number, number];
    expect(fire).toBe(31 * 60);
    expect(clear).toBe(65 * 60); // the 5m window [60m, 65m] holds no new errors
    const samples = series.map((p) => ({ t: p.t * 1000, total: p.total, errors: p.errors }));
    expect(windowRatio(samples, 65 * MIN, H) as number).toBeGreaterThan(0.0144);
  });

  it('handles counter resets by adding back the pre-reset value', () => {
    const s: CounterSample[] = [
      { t: 0, total: 900, errors: 90 },
      { t: MIN, total: 1000, errors: 100 },
      { t: 2 * MIN, total: 40, errors: 20 }, // process restarted: +40 total, +20 errors
    ];
    expect(windowRatio(s, 2 * MIN, 2 * MIN)).toBeCloseTo((10 + 20) / (100 + 40), 12);
  });
});

describe("Prometheus' pending/firing state machine", () => {
  it('for: waits in pending, a false evaluation resets it; intervals are [first firing, first non-firing)', () => {
    const m = new AlertStateMachine(2, 0);
    const states = [true, false, true, true, true, true, false, false].map((c, t) => m.step(t, c));
    expect(states).toEqual(['pending', 'inactive', 'pending', 'pending', 'firing', 'firing', 'inactive', 'inactive']);
    expect(m.intervals).toEqual([[4, 6]]);
  });
  it('keep_firing_for keeps firing after the condition clears, and a new true restarts the hold', () => {
    const m = new AlertStateMachine(0, 2);
    const states = [true, false, true, false, false, false, true].map((c, t) => m.step(t, c));
    expect(states).toEqual(['firing', 'firing', 'firing', 'firing', 'firing', 'inactive', 'firing']);
    expect(m.intervals).toEqual([
      [0, 5],
      [6, null],
    ]);
  });
});

describe('error budget accounting', () => {
  const slo = parseSloText(`${HEAD}objective: 99.9\n`);

  it('a 10-minute full outage consumes burn × window / period = 1000 × 10 m / 30 d of the budget', () => {
    const series = minuteSeries(130, 1000, (m) => (m >= 60 && m < 70 ? 1000 : 0));
    const samples = series.map((p) => ({ t: p.t * 1000, total: p.total, errors: p.errors }));
    const expected = (1000 * 10) / (30 * 24 * 60);
    expect(budgetConsumedBetween(samples, 60 * MIN, 70 * MIN, 0.001, slo.periodMs)).toBeCloseTo(expected, 12);
    expect(errorSpan(samples)).toEqual({ start: 60 * MIN, end: 70 * MIN });
    const r = replaySeries(slo, series);
    expect(r.budget.consumedDuringErrors).toBeCloseTo(expected, 12);
    expect(r.budget.errorSpanSec).toEqual({ start: 3600, end: 4200 });
    // Budget size: 0.1 % of the events the period would see at 1000/min.
    expect(r.budget.budgetEvents).toBeCloseTo(0.001 * 1000 * 30 * 24 * 60, 6);
    // Detection 1 minute after the errors began; the 5m window clears it 5 minutes after they stopped.
    expect(r.budget.perTier['page-fast']).toEqual({ episodes: 1, firstFireSec: 3660, lastClearSec: 4500, timeToDetectSec: 60, timeToClearSec: 300 });
    expect(r.budget.perTier['ticket-slow']?.timeToDetectSec).toBe(60);
    expect(r.budget.perTier['ticket-slow']?.timeToClearSec).toBeNull(); // still firing at the end
  });

  it('time to exhaustion: the remaining budget at the current 1h burn rate', () => {
    // A steady 1 % error rate (burn 10) for 3 hours: 10 × 3 h / 720 h of the budget is gone.
    const r = replaySeries(slo, minuteSeries(180, 1000, () => 10));
    expect(r.budget.burnRate).toBeCloseTo(10, 9);
    expect(r.budget.consumedFraction).toBeCloseTo((10 * 3) / 720, 9);
    const remaining = 1 - (10 * 3) / 720;
    expect((r.budget.timeToExhaustionMs as number) / H).toBeCloseTo((remaining * 720) / 10, 6);
  });

  it('the live engine reports budget consumed in any interval and per-tier detect/clear times', () => {
    const clock = new VirtualClock();
    const engine = createSloEngine({ slo, clock, keepHistory: false });
    for (let m = 0; m < 130; m++) {
      const bad = m >= 60 && m < 70;
      for (let i = 0; i < 100; i++) engine.record(!bad, m * MIN + i * 600 + 1);
    }
    engine.evaluate(130 * MIN);
    expect(engine.budgetConsumedBetween(60 * MIN, 70 * MIN)).toBeCloseTo((1000 * 10) / 43_200, 3);
    const timings = engine.tierTimings(60 * MIN, 70 * MIN);
    expect(timings['page-fast']?.real.timeToDetect).toBe(MIN);
    expect(timings['page-fast']?.real.timeToClear).toBe(5 * MIN);
  });
});

describe('time compression', () => {
  const slo = parseSloText(`${HEAD}objective: 99.9\n`);

  /** The same scenario (1 h healthy, 10 min outage, 1 h healthy; 100 events per real minute) at a given scale. */
  function run(scale: number) {
    const clock = new VirtualClock();
    const engine = createSloEngine({ slo, clock, timeScale: scale, keepHistory: true });
    const realMin = MIN / scale;
    for (let m = 0; m < 130; m++) {
      const bad = m >= 60 && m < 70;
      for (let i = 0; i < 100; i++) engine.record(!bad, m * realMin + (i * realMin) / 100 + realMin / 1000);
    }
    engine.evaluate(130 * realMin);
    return engine;
  }

  it('divides windows, period, sampling/evaluation interval and for: alike, reporting both timelines', () => {
    const real = run(1);
    const fast = run(60);
    expect(fast.evalIntervalMs).toBe(1000);
    expect(fast.sampleIntervalMs).toBe(1000);
    // Same alerts, compressed 60× on the engine's timeline, identical in real-equivalent time.
    expect(fast.alertIntervalsReal()).toEqual(real.alertIntervals());
    expect(fast.alertIntervals()['page-fast']).toEqual([[61_000, 75_000]]);
    const tr = fast.transitions().find((x) => x.tier === 'page-fast' && x.to === 'firing');
    expect(tr).toMatchObject({ t: 61_000, tReal: 61 * MIN });
    const b = fast.budget(130 * MIN / 60);
    expect(b.timeScale).toBe(60);
    expect(b.periodMs).toBe(30 * 24 * H);
    expect(b.periodMsCompressed).toBe((30 * 24 * H) / 60);
    expect(b.consumedFraction).toBeCloseTo(real.budget(130 * MIN).consumedFraction as number, 9);
    const snap = fast.series().at(-1);
    expect(snap?.tReal).toBe((snap?.t ?? 0) * 60);
    expect(Object.keys(snap?.burnRates ?? {})).toEqual(['5m', '30m', '1h', '2h', '6h', '1d', '3d']);
  });

  it('compresses for: too', () => {
    const withFor = parseSloText(`${HEAD}objective: 99.9\nalerting:\n  tiers:\n    - { name: page-fast, severity: page, factor: 14.4, longWindow: 1h, shortWindow: 5m, for: 3m }\n`);
    const engine = createSloEngine({ slo: withFor, clock: new VirtualClock(), timeScale: 60 });
    for (let m = 0; m < 80; m++) {
      const bad = m >= 60 && m < 70;
      for (let i = 0; i < 100; i++) engine.record(!bad, m * 1000 + i * 10 + 1);
    }
    engine.evaluate(80_000);
    // Without for: it fires at 61 s (compressed); for: 3m = 3 s compressed delays it to 64 s.
    expect(engine.alertIntervals()['page-fast']?.[0]?.[0]).toBe(64_000);
  });

  it('replay divides the evaluation interval by the time scale as well', () => {
    const series = minuteSeries(130, 1000, (m) => (m >= 60 && m < 70 ? 1000 : 0)).map((p) => ({ ...p, t: p.t / 60 }));
    const r = replaySeries(slo, series, { timeScale: 60 });
    expect(r.alerts['page-fast']).toEqual([[61, 75]]);
    expect(r.budget.perTierReal['page-fast']).toMatchObject({ firstFireSec: 3660, lastClearSec: 4500, timeToDetectSec: 60, timeToClearSec: 300 });
  });
});
