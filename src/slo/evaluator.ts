/**
 * The pure core of burn-rate evaluation, reproducing Prometheus 2.42 / promtool bit for bit:
 * - counters sampled at whole-millisecond timestamps (Prometheus stores int64 ms); window r at time t
 *   takes the samples with t−r ≤ ti ≤ t (closed range, 2.x `matrixIterSlice`);
 * - fewer than two samples → no value;
 * - each series' rate is Prometheus v2.42.0's `extrapolatedRate` (promql/functions.go), mirrored
 *   operation by operation in float64 (see `extrapolate` and `seriesRates`);
 * - `sum()` adds the per-series rates in Prometheus's order (the first value, then `+=` in the
 *   vector's label-sorted order; v2.42.0 promql/engine.go `aggregation`, no Kahan compensation);
 * - ratio = sum(rate(errors)) / sum(rate(total)) (ratio of rates, never an average of ratios); 0/0 = NaN;
 * - strict `>` against the threshold parsed from the very literal the generated rule contains
 *   (`thresholdLiteral`); NaN / no value is never above;
 * - a tier is true when its long AND short windows exceed; alert state machine with for/keep_firing_for;
 * - intervals reported as [first firing t, first non-firing t).
 * Times are milliseconds on the evaluator's own timeline (compressed if a timeScale applies); windows,
 * timestamps and evaluation times must be whole milliseconds, as they are in Prometheus.
 */
import type { AlertTier } from './policy.ts';

export interface CounterSample {
  t: number;
  total: number;
  errors: number;
}

/**
 * Go's `time.Duration.Seconds()` for a whole-millisecond duration, as `ms.Range.Seconds()` computes
 * it: `float64(d / Second) + float64(d % Second) / 1e9` (two roundings, not one `ms / 1000`).
 */
export function goDurationSeconds(ms: number): number {
  const sec = Math.trunc(ms / 1000);
  const nsec = (ms - sec * 1000) * 1e6;
  return sec + nsec / 1e9;
}

/**
 * Prometheus v2.42.0 `extrapolatedRate(…, isCounter=true, isRate=true)` (promql/functions.go) for one
 * float series, once its `n` ≥ 2 samples inside [rangeStart, rangeEnd] (whole ms) are known by their
 * first and last time, first value and `resultValue` (last − first, then the counter-reset corrections
 * in sample order: see seriesRates). Returns the per-second rate.
 * Every float64 operation is the Go code's, in the Go code's order; do not "simplify" it: e.g.
 * `result * (extrapolateToInterval / sampledInterval) / range` differs in the last bit, and at an
 * exact-threshold ratio the last bit decides whether the alert fires.
 */
function extrapolate(firstT: number, lastT: number, firstV: number, resultValue: number, n: number, rangeStart: number, rangeEnd: number): number {
  // float64(int64 ms difference) / 1000.
  let durationToStart = (firstT - rangeStart) / 1000;
  const durationToEnd = (rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (n - 1);
  if (resultValue > 0 && firstV >= 0) {
    const durationToZero = sampledInterval * (firstV / resultValue);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  const extrapolationThreshold = averageDurationBetweenSamples * 1.1;
  let extrapolateToInterval = sampledInterval;
  if (durationToStart < extrapolationThreshold) extrapolateToInterval += durationToStart;
  else extrapolateToInterval += averageDurationBetweenSamples / 2;
  if (durationToEnd < extrapolationThreshold) extrapolateToInterval += durationToEnd;
  else extrapolateToInterval += averageDurationBetweenSamples / 2;
  let factor = extrapolateToInterval / sampledInterval;
  factor /= goDurationSeconds(rangeEnd - rangeStart);
  resultValue *= factor;
  return resultValue;
}

/**
 * PromQL `sum()` over one group in v2.42.0: the first element's value, then `group.value += s.V`
 * for each further element in vector order (no compensation). undefined for an empty vector.
 */
export function promSum(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  let value = values[0] as number;
  for (let i = 1; i < values.length; i++) value += values[i] as number;
  return value;
}

/** Index of the first sample with t ≥ start (binary search from `from`). */
function firstAtOrAfter(samples: readonly CounterSample[], start: number, from: number): number {
  let lo = from;
  let hi = samples.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((samples[mid] as CounterSample).t < start) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the last sample at or before t (samples sorted by t), or from − 1 when none. */
export function indexAtOrBefore(samples: readonly CounterSample[], t: number, from = 0): number {
  let lo = from;
  let hi = samples.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((samples[mid] as CounterSample).t <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/**
 * rate(errors[r]) and rate(total[r]) of one series at t; undefined when the window holds < 2 samples.
 * Prometheus's rate over the window's samples, read in place. `monotonic`: the caller knows no counter in
 * `samples` ever decreases, so the reset corrections (which would all be skipped) are not scanned for
 * and a window costs two binary searches instead of a pass over its samples: the same float64 result.
 */
function seriesRates(samples: readonly CounterSample[], t: number, rangeMs: number, from = 0, monotonic = false): { errors: number; total: number } | undefined {
  const start = t - rangeMs;
  const i0 = firstAtOrAfter(samples, start, from);
  const i1 = indexAtOrBefore(samples, t, i0);
  const n = i1 - i0 + 1;
  if (n < 2) return undefined;
  const first = samples[i0] as CounterSample;
  const last = samples[i1] as CounterSample;
  // resultValue = Points[len-1].V − Points[0].V, then counter-reset corrections in sample order.
  let errorsUp = last.errors - first.errors;
  let totalUp = last.total - first.total;
  if (!monotonic) {
    let prevE = first.errors;
    let prevT = first.total;
    for (let i = i0 + 1; i <= i1; i++) {
      const s = samples[i] as CounterSample;
      if (s.errors < prevE) errorsUp += prevE;
      if (s.total < prevT) totalUp += prevT;
      prevE = s.errors;
      prevT = s.total;
    }
  }
  return {
    errors: extrapolate(first.t, last.t, first.errors, errorsUp, n, start, t),
    total: extrapolate(first.t, last.t, first.total, totalUp, n, start, t),
  };
}

/**
 * Error ratio over the window `rangeMs` ending at `t` for several series (e.g. one per instance), as
 * the recording rule `sum(rate(errors[r])) / sum(rate(total[r]))` records it: undefined = no value,
 * NaN = no traffic. Each series must be sorted by t; `series` must be in Prometheus's order (sorted
 * by label set), which is the order `sum()` adds them in.
 */
export function windowRatioOfSeries(series: readonly (readonly CounterSample[])[], t: number, rangeMs: number): number | undefined {
  const errors: number[] = [];
  const total: number[] = [];
  for (const s of series) {
    const r = seriesRates(s, t, rangeMs);
    if (r === undefined) continue;
    errors.push(r.errors);
    total.push(r.total);
  }
  const e = promSum(errors);
  const tot = promSum(total);
  if (e === undefined || tot === undefined) return undefined;
  return e / tot;
}

/** `windowRatioOfSeries` for one series (`from`: index to start the search at). */
export function windowRatio(samples: readonly CounterSample[], t: number, rangeMs: number, from = 0, monotonic = false): number | undefined {
  const r = seriesRates(samples, t, rangeMs, from, monotonic);
  // sum() over a one-element vector is that element's value.
  return r === undefined ? undefined : r.errors / r.total;
}

/**
 * The threshold literal a generated alert rule contains for a tier: factor × (1 − objective) in
 * float64, printed as the shortest text that parses back to the same float64 (JS `String`), which
 * PromQL's parser (`strconv.ParseFloat`) reads back to that same float64.
 */
export function thresholdLiteral(factor: number, errorBudget: number): string {
  return String(factor * errorBudget);
}

/** The threshold faultline compares with: the rule's literal, parsed. */
export function tierThreshold(tier: AlertTier, errorBudget: number): number {
  return Number(thresholdLiteral(tier.factor, errorBudget));
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

  /** `from`: samples before this index are older than every window; `monotonic`: see seriesRates. */
  evaluate(samples: readonly CounterSample[], t: number, opts: { from?: number; monotonic?: boolean } = {}): EvaluationSnapshot {
    return this.evaluateAt(t, (w) => windowRatio(samples, t, w, opts.from ?? 0, opts.monotonic ?? false));
  }

  /** `evaluate` over several series summed in the given (Prometheus label-sorted) order. */
  evaluateSeries(series: readonly (readonly CounterSample[])[], t: number): EvaluationSnapshot {
    return this.evaluateAt(t, (w) => windowRatioOfSeries(series, t, w));
  }

  private evaluateAt(t: number, ratioOf: (windowMs: number) => number | undefined): EvaluationSnapshot {
    const ratios = new Map<number, number | undefined>();
    const burnRates = new Map<number, number | undefined>();
    for (const w of this.windows) {
      const r = ratioOf(w);
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
