/**
 * Assumed window history in the live engine: what the windows hold, that it is exactly what
 * Prometheus would evaluate over the same counters (replay of the engine's own samples), that the
 * baseline mode can be assumed late and redoes the evaluations, and predicted vs observed on
 * traffic as steady as the model.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../shared/index.ts';
import { createSloEngine, historySchema, replaySeries, type SloEngine } from './index.ts';
import { parseSloText } from './slo-spec.ts';

const MIN = 60_000;
const slo = parseSloText('apiVersion: faultline/v1\nkind: SLO\nname: api\nobjective: 99\n');

/** Feeds `perMin` events per minute (spread over 10 s slots) with `bad(m)` bad per minute, from minute a to b. */
function feed(engine: SloEngine, a: number, b: number, perMin: number, badRatio: (m: number) => number): void {
  for (let m = a; m < b; m++) {
    const slots = 6;
    for (let s = 0; s < slots; s++) {
      const n = perMin / slots;
      const bad = Math.round(n * badRatio(m));
      engine.recordCounts(n, bad, m * MIN + (s + 1) * 10_000 - 1);
    }
  }
}

describe('slo.history spec', () => {
  it('defaults to the baseline and checks the stated form', () => {
    expect(historySchema.parse({})).toEqual({ assume: 'baseline' });
    expect(historySchema.parse({ assume: 'stated', rate: 200, errorRatio: 0.001 })).toEqual({ assume: 'stated', rate: 200, errorRatio: 0.001 });
    expect(historySchema.safeParse({ assume: 'stated', rate: 200 }).success).toBe(false);
    expect(historySchema.safeParse({ assume: 'none', rate: 200 }).success).toBe(false);
    expect(historySchema.safeParse({ assume: 'stated', rate: 200, errorRatio: 2 }).success).toBe(false);
  });
});

describe('assumed history in the live engine', () => {
  it('fills the longest window: burn rates are those of the history from the first evaluation', () => {
    const engine = createSloEngine({ slo, clock: new VirtualClock() });
    const h = engine.assumeHistory({ ratePerSec: 10, errorRatio: 0.002 });
    expect(h.fromT).toBeLessThanOrEqual(-3 * 24 * 60 * MIN);
    const snap = engine.evaluate(0);
    // 0.2 % errors against a 1 % budget: burn 0.2 in every window, the 3d one included.
    expect(snap.burnRates['3d']).toBeCloseTo(0.2, 10);
    expect(snap.burnRates['5m']).toBeCloseTo(0.2, 10);
    // Without history the windows are empty: no value.
    expect(createSloEngine({ slo, clock: new VirtualClock() }).evaluate(0).burnRates['3d']).toBeNull();
  });

  it('fires exactly when Prometheus would on the same counters (replay of the engine samples, history included)', () => {
    const engine = createSloEngine({ slo, clock: new VirtualClock() });
    engine.assumeHistory({ ratePerSec: 10, errorRatio: 0.001 });
    feed(engine, 0, 420, 600, (m) => (m >= 30 && m < 300 ? 0.1 : 0.001));
    engine.evaluate(420 * MIN);
    const samples = engine.retainedSamples();
    const shift = -(samples[0]?.t ?? 0);
    const replay = replaySeries(slo, samples.map((s) => ({ t: (s.t + shift) / 1000, total: s.total, errors: s.errors })));
    const back = Object.fromEntries(Object.entries(replay.alerts).map(([k, iv]) => [k, iv.map(([a, b]) => [a * 1000 - shift, b === null ? null : b * 1000 - shift])]));
    expect(engine.alertIntervals()).toEqual(back);
    // With the full 6h window page-slow needs 216 min of a 10 % burn; the live engine agrees.
    const [fire] = engine.alertIntervals()['page-slow']?.[0] ?? [];
    expect(fire).toBeGreaterThan(30 * MIN + 200 * MIN);
  });

  it('assumed late (the measured baseline), it redoes the evaluations as if the history had been there', () => {
    const late = createSloEngine({ slo, clock: new VirtualClock() });
    late.assumeHistory({ ratePerSec: 50, errorRatio: 0, mode: 'baseline' }); // provisional: the planned rate
    feed(late, 0, 20, 600, () => 0);
    // Before the fault: the measured baseline replaces the provisional history.
    const measured = late.assumeMeasuredHistory(0, 20 * MIN);
    expect(measured?.ratePerSec).toBeCloseTo(10, 10);
    expect(measured?.mode).toBe('baseline');
    feed(late, 20, 120, 600, (m) => (m >= 30 && m < 100 ? 0.5 : 0));
    late.evaluate(120 * MIN);

    const early = createSloEngine({ slo, clock: new VirtualClock() });
    early.assumeHistory({ ratePerSec: 10, errorRatio: 0, mode: 'baseline' });
    feed(early, 0, 120, 600, (m) => (m >= 30 && m < 100 ? 0.5 : 0));
    early.evaluate(120 * MIN);
    expect(late.alertIntervals()).toEqual(early.alertIntervals());
    expect(late.transitions()).toEqual(early.transitions());
  });

  it('a history above a tier threshold leaves the tier firing from before the experiment', () => {
    const engine = createSloEngine({ slo, clock: new VirtualClock() });
    engine.assumeHistory({ ratePerSec: 10, errorRatio: 0.02 }); // 2× burn: ticket-slow (1×) is above
    engine.evaluate(5 * MIN);
    const [first] = engine.alertIntervals()['ticket-slow'] ?? [];
    expect(first?.[0]).toBeLessThan(0);
    expect(engine.alertIntervals()['page-slow']).toEqual([]);
  });

  it('is refused once recorded samples have left the longest window', () => {
    const short = parseSloText(`apiVersion: faultline/v1
kind: SLO
name: api
objective: 99
alerting:
  tiers: [{ name: page, severity: page, factor: 14.4, longWindow: 1h, shortWindow: 5m }]
`);
    const engine = createSloEngine({ slo: short, clock: new VirtualClock() });
    feed(engine, 0, 90, 60, () => 0); // 90 min > the 1h window: the first recorded samples are gone
    expect(() => engine.assumeHistory({ ratePerSec: 1, errorRatio: 0 })).toThrow(/FAULTLINE_SLO_HISTORY_LATE|longest window/);
  });
});

describe('predicted vs observed (forecast)', () => {
  function run(history: boolean): ReturnType<SloEngine['forecast']> {
    const engine = createSloEngine({ slo, clock: new VirtualClock() });
    if (history) engine.assumeHistory({ ratePerSec: 10, errorRatio: 0 });
    // A 13 % burn (13×) from 30 to 350 min: off every exact tie with the grid (6h × 0.06/0.13 = 166.15 min).
    feed(engine, 0, 480, 600, (m) => (m >= 30 && m < 350 ? 0.13 : 0));
    return engine.forecast(30 * MIN, 350 * MIN, 480 * MIN);
  }

  it('on traffic as steady as the model, predicted and observed fire/clear times coincide', () => {
    const f = run(true);
    expect(f.history.mode).toBe('stated');
    expect(f.fault?.errorRatio).toBeCloseTo(0.13, 10);
    const slow = f.tiers.find((t) => t.tier === 'page-slow');
    expect(slow?.predicted.fireAt).not.toBeNull();
    expect(slow?.observed.fireAt).toBe(slow?.predicted.fireAt);
    expect(slow?.observed.clearAt).toBe(slow?.predicted.clearAt);
    expect(slow?.observed.budgetAtFire).toBeCloseTo(slow?.predicted.budgetAtFire as number, 3);
    // 167 min of a 13× burn over 30 days ≈ 5 % of the budget (the tier's budget share), at detection.
    expect(slow?.observed.budgetAtFire).toBeGreaterThan(0.05);
    expect(slow?.observed.budgetAtFire).toBeLessThan(0.052);
    for (const t of f.tiers) expect(t.observed.fireAt === null, t.tier).toBe(t.predicted.fireAt === null);
  });

  it('with history: none, both predict and show the early detection of a freshly started Prometheus', () => {
    const none = run(false);
    const full = run(true);
    const at = (f: typeof none, tier: string): number | null => f.tiers.find((t) => t.tier === tier)?.observed.fireAt ?? null;
    expect(none.history.mode).toBe('none');
    expect(at(none, 'page-slow')).toBe(none.tiers.find((t) => t.tier === 'page-slow')?.predicted.fireAt);
    // Truncated windows: 0.13·s/(30 + s) > 0.06 at s = 25.7 min → 56 min; the full 6h window: 197 min.
    expect(at(none, 'page-slow')).toBe(56 * MIN);
    expect(at(full, 'page-slow')).toBe(197 * MIN);
    expect(at(none, 'ticket-slow')).not.toBeNull();
    expect(at(full, 'ticket-slow')).toBeNull();
  });
});
