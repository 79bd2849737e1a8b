/**
 * Predictions: when each tier should fire and clear, from the burn-rate maths alone.
 *
 * The traffic is modelled as segments of constant request rate and error ratio (the assumed
 * history, the baseline, the fault as the SLO saw it, the recovery — each at its measured rate and
 * ratio). Counters are then exact integrals of the rates, and each window's error ratio at time t is
 * `ΔE/ΔT` over `[max(t − W, data start), t]` — what Prometheus computes for counters sampled on an
 * aligned grid (no extrapolation; a window younger than its range holds the ratio since the data
 * began). A tier is true when both windows are strictly above `factor × (1 − objective)`; the
 * condition is evaluated on the evaluation grid and fed through Prometheus' alert state machine, so
 * evaluation-interval rounding, `for:` and `keep_firing_for:` are included.
 *
 * For a step from ratio e0 to e at t0 with constant traffic, the long window W_L crosses the
 * threshold θ at t0 + W_L (θ − e0)/(e − e0) and the short one at t0 + W_S (θ − e0')/(e − e0') (e0'
 * the ratio the short window held); the tier fires at the first evaluation after the later of the two
 * (the binding window), plus `for:`. Both crossings are also reported as exact continuous times.
 *
 * Budget consumed before detection: bad events between the start of the bad events and the fire time,
 * divided by the budget the period allows at that interval's traffic rate (burn rate × interval /
 * period) — the same definition as `budgetConsumedBetween`.
 */
import { AlertStateMachine, above, tierThreshold } from './evaluator.ts';
import type { AlertTier } from './policy.ts';

/** Constant traffic over [from, to) (ms on the evaluator's timeline). */
export interface RateSegment {
  from: number;
  to: number;
  /** Events per second. */
  ratePerSec: number;
  /** Share of bad events, 0..1. */
  errorRatio: number;
  /** What the segment is (history, baseline, burn, …) — for reports. */
  label?: string;
}

/** Cumulative total and error counts of piecewise-constant traffic, from the first segment's start. */
export class FluidCounters {
  readonly start: number;
  private readonly segs: RateSegment[];

  constructor(segments: readonly RateSegment[]) {
    if (segments.length === 0) throw new RangeError('FluidCounters needs at least one segment');
    this.segs = [...segments].sort((a, b) => a.from - b.from);
    this.start = (this.segs[0] as RateSegment).from;
  }

  /** Counts from the start up to t; the last segment continues past its end. */
  at(t: number): { total: number; errors: number } {
    let total = 0;
    let errors = 0;
    const n = this.segs.length;
    for (let i = 0; i < n; i++) {
      const s = this.segs[i] as RateSegment;
      if (t <= s.from) break;
      const end = i === n - 1 ? t : Math.min(t, s.to);
      const n1 = (s.ratePerSec * (end - s.from)) / 1000;
      total += n1;
      errors += n1 * s.errorRatio;
    }
    return { total, errors };
  }

  /** The window's error ratio at t: undefined = no value (fewer than two samples), NaN = no traffic. */
  ratio(t: number, windowMs: number, stepMs: number): number | undefined {
    if (t - this.start < stepMs) return undefined;
    const lo = Math.max(t - windowMs, this.start);
    const a = this.at(lo);
    const b = this.at(t);
    const dT = b.total - a.total;
    return dT > 0 ? (b.errors - a.errors) / dT : Number.NaN;
  }

  /** f(t) = ΔE − θ·ΔT over the window: positive exactly when the ratio is above θ. */
  excess(t: number, windowMs: number, threshold: number): number {
    const lo = Math.max(t - windowMs, this.start);
    const a = this.at(lo);
    const b = this.at(t);
    return b.errors - a.errors - threshold * (b.total - a.total);
  }

  /**
   * The first time in [from, until] at which the window's ratio is above the threshold, as an exact
   * continuous time (f is piecewise linear between the segment edges and the edges + W); null if never.
   */
  firstAbove(from: number, until: number, windowMs: number, threshold: number, stepMs: number): number | null {
    const t0 = Math.max(from, this.start + stepMs);
    if (t0 > until) return null;
    const edges = new Set<number>([t0, until, this.start + windowMs]);
    for (const s of this.segs) {
      edges.add(s.from);
      edges.add(s.to);
      edges.add(s.from + windowMs);
      edges.add(s.to + windowMs);
    }
    const points = [...edges].filter((x) => Number.isFinite(x) && x >= t0 && x <= until).sort((a, b) => a - b);
    let a = points[0] as number;
    let fa = this.excess(a, windowMs, threshold);
    if (fa > 0) return a;
    for (let i = 1; i < points.length; i++) {
      const b = points[i] as number;
      const fb = this.excess(b, windowMs, threshold);
      if (fb > 0) return fa === fb ? b : a + ((b - a) * -fa) / (fb - fa);
      a = b;
      fa = fb;
    }
    return null;
  }
}

export interface PredictionOptions {
  /** The policy on the same timeline as the segments (compressed if a timeScale applies). */
  policy: readonly AlertTier[];
  errorBudget: number;
  /** The SLO period on the same timeline. */
  periodMs: number;
  segments: readonly RateSegment[];
  /** Sampling (scrape) interval: a window needs two samples. */
  sampleIntervalMs: number;
  evalIntervalMs: number;
  /** First evaluation time (on the evaluation grid k·evalIntervalMs). */
  evalFrom: number;
  /** The end of the observed run: fires after it are not predicted; clears after it are (horizon below). */
  evalTo: number;
  /** When the fault began (detection is measured from here). */
  faultAt: number;
  /** When the bad events began (budget before detection is measured from here); default faultAt. */
  badFrom?: number;
}

export interface TierPrediction {
  tier: string;
  severity: string;
  threshold: number;
  /** Exact continuous time each window first goes above the threshold from the fault on (null: never by the end). */
  longCrossAt: number | null;
  shortCrossAt: number | null;
  /** The window whose crossing decides the fire time (the later one), null when the tier does not fire. */
  binding: 'long' | 'short' | null;
  /** Already firing when the fault began (the history alone is above the threshold). */
  firingAtFault: boolean;
  /** First firing at or after the fault, up to evalTo (on the evaluation grid); null = not predicted to fire. */
  fireAt: number | null;
  /** When that episode clears (may lie after evalTo); null = does not fire, or still firing at the horizon. */
  clearAt: number | null;
  /** Share of the period's budget consumed between badFrom and fireAt. */
  budgetAtFire: number | null;
}

/** Share of the period's budget consumed by piecewise-constant traffic between two times. */
export function fluidBudgetBetween(fluid: FluidCounters, from: number, to: number, errorBudget: number, periodMs: number): number | null {
  const a = fluid.at(from);
  const b = fluid.at(to);
  const total = b.total - a.total;
  const span = to - from;
  if (!(total > 0) || !(span > 0)) return null;
  return (b.errors - a.errors) / (errorBudget * (total / span) * periodMs);
}

/** Predicts every tier's fire and clear times from the segments. Pure and deterministic. */
export function predictTiers(opts: PredictionOptions): TierPrediction[] {
  const fluid = new FluidCounters(opts.segments);
  const ei = opts.evalIntervalMs;
  const badFrom = opts.badFrom ?? opts.faultAt;
  const longest = Math.max(...opts.policy.map((t) => t.longWindowMs + t.keepFiringForMs + t.forMs));
  // Clears may come after the run: follow the last segment until every window has turned over.
  const horizon = opts.evalTo + longest + 2 * ei;
  const out: TierPrediction[] = [];
  for (const tier of opts.policy) {
    const threshold = tierThreshold(tier, opts.errorBudget);
    const machine = new AlertStateMachine(tier.forMs, tier.keepFiringForMs);
    let firingAtFault = false;
    let fireAt: number | null = null;
    let clearAt: number | null = null;
    const kFrom = Math.ceil(opts.evalFrom / ei - 1e-9);
    for (let k = kFrom; k * ei <= horizon; k++) {
      const t = k * ei;
      const cond =
        above(fluid.ratio(t, tier.longWindowMs, opts.sampleIntervalMs), threshold) && above(fluid.ratio(t, tier.shortWindowMs, opts.sampleIntervalMs), threshold);
      const before = machine.state;
      const state = machine.step(t, cond);
      if (t < opts.faultAt) {
        firingAtFault = state === 'firing';
        continue;
      }
      if (fireAt === null && !firingAtFault && before !== 'firing' && state === 'firing') {
        if (t > opts.evalTo) break;
        fireAt = t;
      }
      if ((fireAt !== null || firingAtFault) && before === 'firing' && state !== 'firing') {
        clearAt = t;
        break;
      }
      if (fireAt === null && !firingAtFault && t > opts.evalTo) break;
    }
    const untilT = fireAt ?? opts.evalTo;
    const longCrossAt = fluid.firstAbove(opts.faultAt, untilT, tier.longWindowMs, threshold, opts.sampleIntervalMs);
    const shortCrossAt = fluid.firstAbove(opts.faultAt, untilT, tier.shortWindowMs, threshold, opts.sampleIntervalMs);
    const binding = fireAt === null || longCrossAt === null || shortCrossAt === null ? null : longCrossAt >= shortCrossAt ? 'long' : 'short';
    out.push({
      tier: tier.name,
      severity: tier.severity,
      threshold,
      longCrossAt,
      shortCrossAt,
      binding,
      firingAtFault,
      fireAt,
      clearAt,
      budgetAtFire: fireAt === null ? null : fluidBudgetBetween(fluid, badFrom, fireAt, opts.errorBudget, opts.periodMs),
    });
  }
  return out;
}
