/**
 * Predicted vs observed, per tier, for one fault: the burn-rate maths (predict.ts) applied to the
 * traffic the SLO actually recorded, next to the alert intervals the evaluator produced.
 *
 * The recorded counters are cut at the experiment's landmarks — where recorded outcomes begin, the
 * fault, the first bad event after it, the heal, the last bad event — and each piece becomes a
 * segment at its measured rate and error ratio; the assumed history (if any) comes first. So the
 * prediction uses the error ratio measured during the fault and the lag before its first bad event
 * (e.g. a timeout), but none of the fluctuation inside a segment: it is what the maths says a steady
 * fault of that size would do, to be compared with what happened.
 */
import { budgetConsumedBetween, counterIncrease } from './budget.ts';
import { indexAtOrBefore, type CounterSample } from './evaluator.ts';
import type { AssumedHistory, HistoryMode } from './history.ts';
import type { AlertTier } from './policy.ts';
import { predictTiers, type RateSegment, type TierPrediction } from './predict.ts';

export interface ObservedTier {
  /** An alert interval was open when the fault began. */
  firingAtFault: boolean;
  /** First firing at or after the fault (null: never). */
  fireAt: number | null;
  /** Clear of that episode (null: never fired, or still firing at the end). */
  clearAt: number | null;
  /** Share of the period's budget consumed between the first bad event and fireAt. */
  budgetAtFire: number | null;
}

export interface TierForecast {
  tier: string;
  severity: string;
  threshold: number;
  predicted: TierPrediction;
  observed: ObservedTier;
}

/** Every time is in ms on the evaluator's (compressed) timeline; × timeScale for real-equivalent. */
export interface SloForecast {
  timeScale: number;
  evalIntervalMs: number;
  history: {
    mode: HistoryMode;
    ratePerSec: number | null;
    errorRatio: number | null;
    fromT: number | null;
    untilT: number | null;
  };
  faultAt: number;
  healAt: number;
  endAt: number;
  /** The last sample before the first bad event after the fault, and the last sample with new bad events. */
  badFrom: number | null;
  badUntil: number | null;
  /** Rate and error ratio measured while the fault produced bad events (before heal). */
  fault: { ratePerSec: number; errorRatio: number } | null;
  segments: RateSegment[];
  tiers: TierForecast[];
}

export interface ForecastInput {
  policy: readonly AlertTier[];
  errorBudget: number;
  periodMs: number;
  timeScale: number;
  sampleIntervalMs: number;
  evalIntervalMs: number;
  /** First evaluation time of the evaluator (negative when it evaluated over the end of a history). */
  evalFrom: number;
  /** Recorded counters only (no history), sorted by t. */
  samples: readonly CounterSample[];
  history: AssumedHistory | null;
  /** Where recorded outcomes begin (before it, without history: no traffic). */
  liveFrom: number;
  faultAt: number;
  healAt: number;
  endAt: number;
  /** The evaluator's alert intervals. */
  intervals: Record<string, ReadonlyArray<readonly [number, number | null]>>;
}

/** First and last bad events after `from` in the samples: [last clean sample, last sample with new errors]. */
function badSpan(samples: readonly CounterSample[], fromIndex: number): { from: number; until: number } | null {
  let first = -1;
  let last = -1;
  for (let i = Math.max(1, fromIndex + 1); i < samples.length; i++) {
    const prev = samples[i - 1] as CounterSample;
    const cur = samples[i] as CounterSample;
    const increased = cur.errors < prev.errors ? cur.errors > 0 : cur.errors > prev.errors;
    if (!increased) continue;
    if (first < 0) first = i - 1;
    last = i;
  }
  return first < 0 ? null : { from: (samples[first] as CounterSample).t, until: (samples[last] as CounterSample).t };
}

function label(from: number, marks: { fault: number; badFrom: number | null; heal: number; badUntil: number | null }): string {
  if (from < marks.fault) return 'baseline';
  if (marks.badFrom !== null && from < marks.badFrom) return 'fault, before its first bad event';
  if (from < marks.heal) return marks.badUntil !== null && from >= marks.badUntil ? 'fault, bad events over' : 'fault';
  if (marks.badUntil !== null && from < marks.badUntil) return 'after heal, bad events draining';
  return 'recovery';
}

/** Segments, prediction and observation for one fault. Pure. */
export function forecastFromSamples(input: ForecastInput): SloForecast {
  const { samples, history } = input;
  const segments: RateSegment[] = [];
  if (history) {
    segments.push({ from: history.fromT, to: history.untilT, ratePerSec: history.ratePerSec, errorRatio: history.errorRatio, label: `history (assumed, ${history.mode})` });
  } else if (input.liveFrom > (samples[0]?.t ?? 0)) {
    segments.push({ from: samples[0]?.t ?? 0, to: input.liveFrom, ratePerSec: 0, errorRatio: 0, label: 'before recorded outcomes' });
  }
  const snap = (t: number): number => {
    const i = indexAtOrBefore(samples, t);
    return i < 0 ? input.liveFrom : Math.max(input.liveFrom, (samples[i] as CounterSample).t);
  };
  const faultSnap = snap(input.faultAt);
  const healSnap = snap(input.healAt);
  const endSnap = snap(input.endAt);
  const span = badSpan(samples, indexAtOrBefore(samples, faultSnap));
  const badFrom = span ? Math.max(span.from, faultSnap) : null;
  const badUntil = span ? span.until : null;
  const marks = [...new Set([input.liveFrom, faultSnap, healSnap, endSnap, ...(span ? [badFrom as number, badUntil as number] : [])])]
    .filter((m) => m >= input.liveFrom && m <= endSnap)
    .sort((a, b) => a - b);
  // Counts between the samples at or before two marks (nothing is recorded before liveFrom).
  const counts = (a: number, b: number): { total: number; errors: number } => {
    const i = indexAtOrBefore(samples, a);
    const j = indexAtOrBefore(samples, b);
    if (j < 0) return { total: 0, errors: 0 };
    const slice = samples.slice(Math.max(0, i), j + 1);
    return { total: counterIncrease(slice.map((s) => s.total)), errors: counterIncrease(slice.map((s) => s.errors)) };
  };
  const where = { fault: faultSnap, badFrom, heal: healSnap, badUntil };
  for (let k = 0; k + 1 < marks.length; k++) {
    const a = marks[k] as number;
    const b = marks[k + 1] as number;
    const c = counts(a, b);
    segments.push({ from: a, to: b, ratePerSec: (c.total * 1000) / (b - a), errorRatio: c.total > 0 ? c.errors / c.total : 0, label: label(a, where) });
  }
  if (segments.length === 0) segments.push({ from: input.liveFrom, to: input.endAt, ratePerSec: 0, errorRatio: 0, label: 'no traffic' });
  let fault: SloForecast['fault'] = null;
  const fFrom = badFrom ?? faultSnap;
  const fTo = badUntil === null ? healSnap : Math.min(healSnap, badUntil);
  if (fTo > fFrom) {
    const c = counts(fFrom, fTo);
    if (c.total > 0) fault = { ratePerSec: (c.total * 1000) / (fTo - fFrom), errorRatio: c.errors / c.total };
  }
  const predicted = predictTiers({
    policy: input.policy,
    errorBudget: input.errorBudget,
    periodMs: input.periodMs,
    segments,
    sampleIntervalMs: input.sampleIntervalMs,
    evalIntervalMs: input.evalIntervalMs,
    evalFrom: input.evalFrom,
    evalTo: input.endAt,
    faultAt: input.faultAt,
    badFrom: badFrom ?? input.faultAt,
  });
  const tiers = predicted.map((p): TierForecast => {
    const iv = input.intervals[p.tier] ?? [];
    const open = iv.find(([a, b]) => a < input.faultAt && (b === null || b > input.faultAt));
    const episode = iv.find(([a]) => a >= input.faultAt);
    const fireAt = episode ? episode[0] : null;
    const clearAt = (episode ?? open)?.[1] ?? null;
    const budgetAtFire = fireAt === null || badFrom === null ? null : budgetConsumedBetween(samples, badFrom, fireAt, input.errorBudget, input.periodMs);
    return { tier: p.tier, severity: p.severity, threshold: p.threshold, predicted: p, observed: { firingAtFault: open !== undefined, fireAt, clearAt, budgetAtFire } };
  });
  return {
    timeScale: input.timeScale,
    evalIntervalMs: input.evalIntervalMs,
    history: history
      ? { mode: history.mode, ratePerSec: history.ratePerSec, errorRatio: history.errorRatio, fromT: history.fromT, untilT: history.untilT }
      : { mode: 'none', ratePerSec: null, errorRatio: null, fromT: null, untilT: null },
    faultAt: input.faultAt,
    healAt: input.healAt,
    endAt: input.endAt,
    badFrom,
    badUntil,
    fault,
    segments,
    tiers,
  };
}
