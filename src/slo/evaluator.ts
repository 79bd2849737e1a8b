/**
 * The pure core of burn-rate evaluation, reproducing Prometheus 2.42 / promtool exactly:
 * - counters sampled on a grid; window r at time t takes samples with t−r ≤ ti ≤ t (closed range);
 * - fewer than two samples → no value;
 * - increase = last − first + counter resets, with Prometheus' extrapolatedRate() applied;
 * - ratio = rate(errors) / rate(total) (ratio of rates, never an average of ratios); 0/0 = NaN;
 * - strict `>` against factor × (1 − objective); NaN / no value is never above;
 * - a tier is true when its long AND short windows exceed; alert state machine with for/keep_firing_for;
 * - intervals reported as [first firing t, first non-firing t).
 * Times are milliseconds on the evaluator's own timeline (compressed if a timeScale applies).
 */
import type { AlertTier } from './policy.ts';

export interface CounterSample {
  t: number;
  total: number;
  errors: number;
}

/**
 * Prometheus 2.42 `extrapolatedRate` for a counter, returning the per-second rate over `rangeMs`
 * (undefined when fewer than two samples). `ts`/`vs` are the samples inside [t−r, t].
 */
export function promRate(ts: readonly number[], vs: readonly number[], rangeStart: number, rangeEnd: number): number | undefined {
  const n = ts.length;
  if (n < 2) return undefined;
  const first = vs[0] as number;
  const last = vs[n - 1] as number;
  let result = last - first;
  let lastValue = 0;
  for (const v of vs) {
    if (v < lastValue) result += lastValue;
    lastValue = v;
  }
  let durationToStart = ((ts[0] as number) - rangeStart) / 1000;
  const durationToEnd = (rangeEnd - (ts[n - 1] as number)) / 1000;
  const sampledInterval = ((ts[n - 1] as number) - (ts[0] as number)) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (n - 1);
  if (result > 0 && first >= 0) {
    const durationToZero = sampledInterval * (first / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  const extrapolationThreshold = averageDurationBetweenSamples * 1.1;
  let extrapolateToInterval = sampledInterval;
  extrapolateToInterval += durationToStart < extrapolationThreshold ? durationToStart : averageDurationBetweenSamples / 2;
  extrapolateToInterval += durationToEnd < extrapolationThreshold ? durationToEnd : averageDurationBetweenSamples / 2;
  result = result * (extrapolateToInterval / sampledInterval);
  return result / ((rangeEnd - rangeStart) / 1000);
}

/**
 * Error ratio over the window `rangeMs` ending at `t`, as the recording rule
 * `sum(rate(errors[r])) / sum(rate(total[r]))` records it: undefined = no value, NaN = no traffic.
 * `samples` must be sorted by t.
 */
export function windowRatio(samples: readonly CounterSample[], t: number, rangeMs: number, from = 0): number | undefined {
  const start = t - rangeMs;
  // Binary search the first sample with ti >= start.
  let lo = from;
  let hi = samples.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((samples[mid] as CounterSample).t < start) lo = mid + 1;
    else hi = mid;
  }
  const ts: number[] = [];
  const es: number[] = [];
  const tot: number[] = [];
  for (let i = lo; i < samples.length; i++) {
    const s = samples[i] as CounterSample;
    if (s.t > t) break;
    ts.push(s.t);
    es.push(s.errors);
    tot.push(s.total);
  }
  const re = promRate(ts, es, start, t);
  const rt = promRate(ts, tot, start, t);
  if (re === undefined || rt === undefined) return undefined;
  return re / rt;
}

/** The threshold as a float64, computed the way the generated rule literal is printed. */
export function tierThreshold(tier: AlertTier, errorBudget: number): number {
  return tier.factor * errorBudget;
}

export function above(ratio: number | undefined, threshold: number): boolean {
  return ratio !== undefined && !Number.isNaN(ratio) && ratio > threshold;
}

export type AlertState = 'inactive' | 'pending' | 'firing';

/** Prometheus' alert state machine for one alert (rules/alerting.go, v2.42). */
export class AlertStateMachine {
  state: AlertState = 'inactive';
  private activeAt = 0;
  private keepFiringSince: number | undefined;
  readonly intervals: Array<[number, number | null]> = [];
  readonly transitions: Array<{ t: number; from: AlertState; to: AlertState }> = [];

  constructor(
    private readonly forMs: number,
    private readonly keepFiringForMs: number,
  ) {}

  step(t: number, condition: boolean): AlertState {
    const before = this.state;
    if (condition) {
      this.keepFiringSince = undefined;
      if (this.state === 'inactive') {
        this.state = 'pending';
        this.activeAt = t;
      }
      if (this.state === 'pending' && t - this.activeAt >= this.forMs) this.state = 'firing';
    } else if (this.state === 'pending') {
      this.state = 'inactive';
    } else if (this.state === 'firing') {
      let keep = false;
      if (this.keepFiringForMs > 0) {
        this.keepFiringSince ??= t;
        keep = t - this.keepFiringSince < this.keepFiringForMs;
      }
      if (!keep) {
        this.state = 'inactive';
        this.keepFiringSince = undefined;
      }
    }
    if (before !== this.state) {
      this.transitions.push({ t, from: before, to: this.state });
      if (this.state === 'firing') this.intervals.push([t, null]);
      if (before === 'firing') {
        const open = this.intervals[this.intervals.length - 1];
        if (open) open[1] = t;
      }
    }
    return this.state;
  }
}

export interface TierSnapshot {
  tier: string;
  severity: string;
  state: AlertState;
  threshold: number;
  longRatio: number | undefined;
  shortRatio: number | undefined;
  longBurn: number | undefined;
  shortBurn: number | undefined;
}

export interface EvaluationSnapshot {
  t: number;
  /** Error ratio per window (ms → ratio; undefined = no value, NaN = no traffic). */
  ratios: Map<number, number | undefined>;
  /** Burn rate per window: ratio / (1 − objective). */
  burnRates: Map<number, number | undefined>;
  tiers: TierSnapshot[];
}

/** Evaluates a whole policy at time t against the samples, stepping each tier's state machine. */
export class PolicyEvaluator {
  readonly machines: Map<string, AlertStateMachine>;
  private readonly windows: number[];

  constructor(
    readonly policy: readonly AlertTier[],
    readonly errorBudget: number,
  ) {
    this.machines = new Map(policy.map((t) => [t.name, new AlertStateMachine(t.forMs, t.keepFiringForMs)]));
    this.windows = [...new Set(policy.flatMap((t) => [t.shortWindowMs, t.longWindowMs]))].sort((a, b) => a - b);
  }

  evaluate(samples: readonly CounterSample[], t: number): EvaluationSnapshot {
    const ratios = new Map<number, number | undefined>();
    const burnRates = new Map<number, number | undefined>();
    for (const w of this.windows) {
      const r = windowRatio(samples, t, w);
      ratios.set(w, r);
      burnRates.set(w, r === undefined ? undefined : r / this.errorBudget);
    }
    const tiers = this.policy.map((tier) => {
      const threshold = tierThreshold(tier, this.errorBudget);
      const longRatio = ratios.get(tier.longWindowMs);
      const shortRatio = ratios.get(tier.shortWindowMs);
      const machine = this.machines.get(tier.name) as AlertStateMachine;
      const state = machine.step(t, above(longRatio, threshold) && above(shortRatio, threshold));
      return {
        tier: tier.name,
        severity: tier.severity,
        state,
        threshold,
        longRatio,
        shortRatio,
        longBurn: burnRates.get(tier.longWindowMs),
        shortBurn: burnRates.get(tier.shortWindowMs),
      };
    });
    return { t, ratios, burnRates, tiers };
  }

  intervals(): Record<string, Array<[number, number | null]>> {
    const out: Record<string, Array<[number, number | null]>> = {};
    for (const [name, m] of this.machines) out[name] = m.intervals.map(([a, b]) => [a, b]);
    return out;
  }
}
