/**
 * Predictions against hand-computed burn-rate maths (minute grid, real time, evaluation every 60 s).
 * θ = factor × (1 − objective); a step from 0 to e at t0 crosses the long window at t0 + W_L·θ/e and
 * the short one at t0 + W_S·θ/e; the tier fires at the first evaluation strictly after the later one.
 */
import { describe, expect, it } from 'vitest';
import { predictTiers, type TierPrediction } from './index.ts';
import { parseSloText } from './slo-spec.ts';
import { FluidCounters, type RateSegment } from './predict.ts';

const MIN = 60_000;
const HEAD = 'apiVersion: faultline/v1\nkind: SLO\nname: api\n';
const slo99 = parseSloText(`${HEAD}objective: 99\n`);
const slo999 = parseSloText(`${HEAD}objective: 99.9\n`);
const PERIOD = 30 * 24 * 60 * MIN;

const seg = (fromMin: number, toMin: number, errorRatio: number, label?: string): RateSegment => ({
  from: fromMin * MIN,
  to: toMin * MIN,
  ratePerSec: 100,
  errorRatio,
  ...(label ? { label } : {}),
});

function byTier(ps: TierPrediction[]): Record<string, TierPrediction> {
  return Object.fromEntries(ps.map((p) => [p.tier, p]));
}

const common = { sampleIntervalMs: MIN, evalIntervalMs: MIN, periodMs: PERIOD };

describe('fire and clear predictions from the burn-rate maths', () => {
  // 99 %: page-slow θ = 6 %, 6h/30m; a 10 % burn from 30.5 min to 400.5 min after four healthy days.
  const history = seg(-4 * 24 * 60, 0, 0, 'history');
  const steady = predictTiers({
    ...common,
    policy: slo99.policy,
    errorBudget: slo99.errorBudget,
    segments: [history, seg(0, 30.5, 0), seg(30.5, 400.5, 0.1), seg(400.5, 480, 0)],
    evalFrom: 0,
    evalTo: 480 * MIN,
    faultAt: 30.5 * MIN,
  });
  const p = byTier(steady);

  it('the long window binds: page-slow fires at t0 + 6h × 0.06/0.1 = t0 + 216 min, rounded up to the grid', () => {
    expect(p['page-slow']?.longCrossAt).toBeCloseTo((30.5 + 216) * MIN, 6);
    expect(p['page-slow']?.shortCrossAt).toBeCloseTo((30.5 + 18) * MIN, 6); // 30m × 0.06/0.1
    expect(p['page-slow']?.binding).toBe('long');
    expect(p['page-slow']?.fireAt).toBe(247 * MIN);
  });

  it('clears when the short window drops: 30m × (1 − 0.06/0.1) = 12 min after heal, on the next evaluation', () => {
    // 412 min: 0.1 × 18.5/30 = 6.17 % still above; 413 min: 5.83 % → clear.
    expect(p['page-slow']?.clearAt).toBe(413 * MIN);
  });

  it('budget consumed before detection: burn 10× over 216.5 min of a 30-day period', () => {
    expect(p['page-slow']?.budgetAtFire).toBeCloseTo((10 * 216.5) / (30 * 24 * 60), 10);
  });

  it('page-fast never fires below its threshold; ticket tiers only if the burn lasts their 432 min', () => {
    expect(p['page-fast']?.fireAt).toBeNull();
    expect(p['page-fast']?.binding).toBeNull();
    // 1d × 0.03/0.1 = 3d × 0.01/0.1 = 432 min > the 370-min burn: after heal the long windows hold
    // 37 error-minutes: 37/1440 = 2.6 % < 3 % and 37/4320 = 0.86 % < 1 %.
    expect(p['ticket-fast']?.fireAt).toBeNull();
    expect(p['ticket-slow']?.fireAt).toBeNull();
    const longer = byTier(
      predictTiers({
        ...common,
        policy: slo99.policy,
        errorBudget: slo99.errorBudget,
        segments: [history, seg(0, 30.5, 0), seg(30.5, 480, 0.1)],
        evalFrom: 0,
        evalTo: 480 * MIN,
        faultAt: 30.5 * MIN,
      }),
    );
    expect(longer['ticket-fast']?.fireAt).toBe(463 * MIN);
    expect(longer['ticket-slow']?.fireAt).toBe(463 * MIN);
    // Both ticket tiers consume 10 % of the budget at fire (3 × 24/720 = 1 × 72/720), plus the rounding.
    expect(longer['ticket-slow']?.budgetAtFire).toBeCloseTo((10 * 432.5) / 43200, 10);
    // Still burning at the end: no clear within the horizon.
    expect(longer['ticket-slow']?.clearAt).toBeNull();
  });

  it('the short window binds when the long one still remembers an earlier burst', () => {
    // 99.9 %: page-fast θ = 1.44 %, 1h/5m. A 3-minute full outage at 60–63 min fires [61, 68); the
    // second fault (5 %) starts at 73.5 min when the 1h window already holds 3/60 = 5 % > θ, so only
    // the 5m window has to fill: 5 × 0.0144/0.05 = 1.44 min → 74.94 min → fires at 75 min.
    const ps = byTier(
      predictTiers({
        ...common,
        policy: slo999.policy,
        errorBudget: slo999.errorBudget,
        segments: [seg(-4 * 24 * 60, 60, 0), seg(60, 63, 1), seg(63, 73.5, 0), seg(73.5, 120, 0.05)],
        evalFrom: 0,
        evalTo: 120 * MIN,
        faultAt: 73.5 * MIN,
      }),
    );
    const fast = ps['page-fast'] as TierPrediction;
    expect(fast.longCrossAt).toBe(73.5 * MIN);
    expect(fast.shortCrossAt).toBeCloseTo(74.94 * MIN, 6);
    expect(fast.binding).toBe('short');
    expect(fast.fireAt).toBe(75 * MIN);
    expect(fast.firingAtFault).toBe(false);
    expect(fast.budgetAtFire).toBeCloseTo((50 * 1.5) / 43200, 10);
  });

  it('adds for: to the first evaluation the condition holds (pending from 247 min, firing at 252)', () => {
    const withFor = parseSloText(`${HEAD}objective: 99
alerting:
  tiers:
    - { name: page-slow, severity: page, factor: 6, longWindow: 6h, shortWindow: 30m, for: 5m }
`);
    const [ps] = predictTiers({
      ...common,
      policy: withFor.policy,
      errorBudget: withFor.errorBudget,
      segments: [history, seg(0, 30.5, 0), seg(30.5, 480, 0.1)],
      evalFrom: 0,
      evalTo: 480 * MIN,
      faultAt: 30.5 * MIN,
    });
    expect(ps?.fireAt).toBe(252 * MIN);
  });

  it('without history the truncated long window fires far sooner: 0.1·s/(5 + s) > 0.06 at s = 7.5 min', () => {
    const ps = byTier(
      predictTiers({
        ...common,
        policy: slo99.policy,
        errorBudget: slo99.errorBudget,
        segments: [seg(0, 5, 0), seg(5, 60, 0.1)],
        evalFrom: 0,
        evalTo: 60 * MIN,
        faultAt: 5 * MIN,
      }),
    );
    expect(ps['page-slow']?.longCrossAt).toBeCloseTo(12.5 * MIN, 6);
    expect(ps['page-slow']?.fireAt).toBe(13 * MIN);
    // And every ticket tier too, within minutes: the truncated 1d and 3d windows hold the same ratio.
    expect(ps['ticket-slow']?.fireAt).toBe(6 * MIN);
  });

  it('an assumed history above a tier threshold leaves that tier firing when the fault begins', () => {
    const ps = byTier(
      predictTiers({
        ...common,
        policy: slo99.policy,
        errorBudget: slo99.errorBudget,
        segments: [seg(-4 * 24 * 60, 0, 0.02), seg(0, 60, 0.02)],
        evalFrom: -MIN,
        evalTo: 60 * MIN,
        faultAt: 10 * MIN,
      }),
    );
    expect(ps['ticket-slow']?.firingAtFault).toBe(true);
    expect(ps['ticket-slow']?.fireAt).toBeNull();
    expect(ps['page-slow']?.firingAtFault).toBe(false);
  });
});

describe('fluid counters', () => {
  it('integrate piecewise-constant traffic and give Prometheus window ratios (none before two samples)', () => {
    const f = new FluidCounters([seg(0, 10, 0), seg(10, 20, 0.5)]);
    expect(f.at(15 * MIN)).toEqual({ total: 100 * 900, errors: 100 * 300 * 0.5 });
    expect(f.ratio(15 * MIN, 10 * MIN, MIN)).toBeCloseTo(0.25, 12);
    expect(f.ratio(30 * MIN, 10 * MIN, MIN)).toBeCloseTo(0.5, 12); // the last segment continues
    expect(f.ratio(0.5 * MIN, 10 * MIN, MIN)).toBeUndefined();
    expect(new FluidCounters([{ from: 0, to: MIN, ratePerSec: 0, errorRatio: 0 }]).ratio(5 * MIN, MIN, MIN)).toBeNaN();
  });
});
