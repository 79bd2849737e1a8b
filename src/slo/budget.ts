/**
 * Error budget accounting, shared by the live engine and replay: budget size, budget consumed over
 * the run or any interval, time to exhaustion, and time-to-detect / time-to-clear per alert tier.
 *
 * Budget consumed over an interval of length W with error ratio e is `(e / (1 − objective)) × W / P`
 * (burn rate × W / period), i.e. bad events divided by the budget the period would allow at the traffic
 * rate observed in that interval — the SRE Workbook's "budget consumed" for a burn over a window.
 */
import { indexAtOrBefore, type CounterSample } from './evaluator.ts';
import type { SloDefinition } from './slo-spec.ts';

export interface BudgetReport {
  objective: number;
  errorBudgetRatio: number;
  /** The compression factor the durations below were run under (1 = real time). */
  timeScale: number;
  /** Real-equivalent SLO period. */
  periodMs: number;
  /** The period on the compressed timeline (periodMs / timeScale). */
  periodMsCompressed: number;
  totalEvents: number;
  badEvents: number;
  /** Observed error ratio over the whole run. */
  errorRatio: number | null;
  /** Budget in events for the period, projecting the observed traffic rate over the whole period. */
  budgetEvents: number | null;
  /** Share of the period's error budget consumed by the bad events seen (0..∞). */
  consumedFraction: number | null;
  /** Burn rate over the whole run (error ratio / budget). */
  burnRate: number | null;
  /**
   * Real-equivalent ms until the remaining budget is exhausted at the latest burn rate of the fastest
   * tier's long window (1h in the default catalog); null when not burning.
   */
  timeToExhaustionMs: number | null;
}

export function budgetReport(
  slo: SloDefinition,
  timeScale: number,
  total: number,
  errors: number,
  elapsedCompressedMs: number,
  currentBurn: number | null,
): BudgetReport {
  const periodCompressed = slo.periodMs / timeScale;
  const errorRatio = total > 0 ? errors / total : null;
  const budgetEvents = total > 0 ? slo.errorBudget * (total / elapsedCompressedMs) * periodCompressed : null;
  const consumedFraction = budgetEvents ? errors / budgetEvents : null;
  const burnRate = errorRatio === null ? null : errorRatio / slo.errorBudget;
  const remaining = consumedFraction === null ? null : Math.max(0, 1 - consumedFraction);
  const timeToExhaustionMs = currentBurn && currentBurn > 0 && remaining !== null ? (remaining * slo.periodMs) / currentBurn : null;
  return {
    objective: slo.objective,
    errorBudgetRatio: slo.errorBudget,
    timeScale,
    periodMs: slo.periodMs,
    periodMsCompressed: periodCompressed,
    totalEvents: total,
    badEvents: errors,
    errorRatio,
    budgetEvents,
    consumedFraction,
    burnRate,
    timeToExhaustionMs,
  };
}

/** last − first plus the pre-reset value at every counter reset (as Prometheus' increase()). */
export function counterIncrease(values: readonly number[]): number {
  if (values.length < 2) return 0;
  let inc = (values[values.length - 1] as number) - (values[0] as number);
  let prev = 0;
  for (const v of values) {
    if (v < prev) inc += prev;
    prev = v;
  }
  return inc;
}

/**
 * Share of the period's error budget consumed between two times (same timeline as the samples and
 * `periodMs`), from the samples at or before each end: bad events / (budget ratio × events the period
 * would see at the interval's traffic rate). Counter resets are handled. Null without traffic.
 */
export function budgetConsumedBetween(
  samples: readonly CounterSample[],
  fromT: number,
  toT: number,
  errorBudget: number,
  periodMs: number,
  firstIndex = 0,
): number | null {
  const a = indexAtOrBefore(samples, fromT, firstIndex);
  const b = indexAtOrBefore(samples, toT, firstIndex);
  if (a < firstIndex || b <= a) return null;
  const slice = samples.slice(a, b + 1);
  const total = counterIncrease(slice.map((s) => s.total));
  const errors = counterIncrease(slice.map((s) => s.errors));
  const span = (samples[b] as CounterSample).t - (samples[a] as CounterSample).t;
  if (!(total > 0) || !(span > 0)) return null;
  return errors / (errorBudget * (total / span) * periodMs);
}

/** When bad events were first and last seen in a counter series: the fault as the data shows it. */
export interface ErrorSpan {
  /** Time of the last sample before the first error increase (errors began after it). */
  start: number;
  /** Time of the last sample that shows an error increase (errors had stopped by then). */
  end: number;
}

export function errorSpan(samples: readonly CounterSample[]): ErrorSpan | null {
  let start: number | undefined;
  let end: number | undefined;
  for (let i = 1; i < samples.length; i++) {
    const prev = samples[i - 1] as CounterSample;
    const cur = samples[i] as CounterSample;
    const increased = cur.errors < prev.errors ? cur.errors > 0 : cur.errors > prev.errors;
    if (!increased) continue;
    start ??= prev.t;
    end = cur.t;
  }
  return start === undefined || end === undefined ? null : { start, end };
}

export interface TierTiming {
  /** Number of [fire, clear) intervals. */
  episodes: number;
  firstFire: number | null;
  /** Clear time of the last interval; null when it never fired or is still firing. */
  lastClear: number | null;
  /** First fire at or after the fault start, minus the fault start; null if it never fired. */
  timeToDetect: number | null;
  /** Clear of the last interval minus the fault end; null if it never fired, is still firing or no end. */
  timeToClear: number | null;
}

/**
 * Time-to-detect and time-to-clear per tier, given when the fault started and ended (same timeline
 * as the intervals). Detection counts only alerts that fired at or after the fault start.
 */
export function tierTimings(
  intervals: Record<string, ReadonlyArray<readonly [number, number | null]>>,
  faultStart: number | null,
  faultEnd: number | null,
): Record<string, TierTiming> {
  const out: Record<string, TierTiming> = {};
  for (const [tier, iv] of Object.entries(intervals)) {
    const last = iv[iv.length - 1];
    const detecting = faultStart === null ? undefined : iv.find(([a]) => a >= faultStart);
    const lastClear = last ? last[1] : null;
    out[tier] = {
      episodes: iv.length,
      firstFire: iv[0] ? iv[0][0] : null,
      lastClear,
      timeToDetect: detecting && faultStart !== null ? detecting[0] - faultStart : null,
      timeToClear: lastClear !== null && faultEnd !== null && lastClear >= faultEnd ? lastClear - faultEnd : null,
    };
  }
  return out;
}
