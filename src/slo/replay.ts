/**
 * Replay: a recorded series of cumulative counters (t seconds, total, errors) → alert intervals and
 * budget, with the same pure core as the live engine. Deterministic: same input, same output bytes.
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../shared/index.ts';
import { PolicyEvaluator, type CounterSample } from './evaluator.ts';
import { compressMs, compressPolicy } from './engine.ts';
import { budgetConsumedBetween, budgetReport, counterIncrease, errorSpan, tierTimings, type BudgetReport } from './budget.ts';
import type { SloDefinition } from './slo-spec.ts';
import { forecastFromSamples, type SloForecast } from './forecast.ts';

export interface SeriesPoint {
  /** Seconds from the start. */
  t: number;
  total: number;
  errors: number;
}

export interface ReplayOptions {
  /** Real-equivalent evaluation interval in seconds (default 60); divided by timeScale like every duration. */
  evalIntervalSec?: number;
  /** Divides windows, period, the evaluation interval and for: (the series times are compressed seconds). */
  timeScale?: number;
  /** Also predict each tier's fire and clear times from the burn-rate maths (`predictions`). */
  predict?: boolean;
}

/** A predicted or observed time in series seconds (null: none). */
export interface ReplayTierPrediction {
  predicted: {
    fire: number | null;
    clear: number | null;
    longCross: number | null;
    shortCross: number | null;
    binding: 'long' | 'short' | null;
    budgetAtFire: number | null;
  };
  observed: { fire: number | null; clear: number | null; budgetAtFire: number | null };
}

export interface ReplayPredictions {
  /** The bad events as the series shows them, at the error ratio and rate measured between them. */
  fault: { from: number; until: number; errorRatio: number; ratePerSec: number } | null;
  tiers: Record<string, ReplayTierPrediction>;
}

export interface TierReplayTiming {
  episodes: number;
  firstFireSec: number | null;
  /** Clear time of the last interval (null: never fired, or still firing at the end). */
  lastClearSec: number | null;
  /** First fire at or after the first bad events, minus the time they began. */
  timeToDetectSec: number | null;
  /** Last clear minus the time the last bad events were seen. */
  timeToClearSec: number | null;
}

export interface ReplayResult {
  /** Per tier: [fire, clear | null] in seconds on the series' timeline. */
  alerts: Record<string, Array<[number, number | null]>>;
  /** With `predict`: per tier, predicted (burn-rate maths on the measured error ratio) vs observed. */
  predictions?: ReplayPredictions;
  budget: BudgetReport & {
    /** When bad events began (last clean sample) and were last seen, in series seconds; null without errors. */
    errorSpanSec: { start: number; end: number } | null;
    /** Share of the period's budget consumed between errorSpanSec.start and .end. */
    consumedDuringErrors: number | null;
    /** Per tier, on the series' timeline (seconds). */
    perTier: Record<string, TierReplayTiming>;
    /** The same per-tier times in real-equivalent seconds (× timeScale). */
    perTierReal: Record<string, TierReplayTiming>;
  };
}

/** Parses the `t,total,errors` CSV; errors name file, line and column. */
export function parseSeriesCsv(text: string, file = '<series>'): SeriesPoint[] {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').trim().toLowerCase().replace(/\s+/g, '');
  if (header !== 't,total,errors') {
    throw new InputError('FAULTLINE_SLO_SERIES', `expected the header 't,total,errors' (got '${lines[0] ?? ''}')`, { file, line: 1 });
  }
  const out: SeriesPoint[] = [];
  const cols = ['t', 'total', 'errors'] as const;
  for (let i = 1; i < lines.length; i++) {
    const raw = (lines[i] as string).trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const cells = raw.split(',').map((c) => c.trim());
    if (cells.length !== 3) throw new InputError('FAULTLINE_SLO_SERIES', `expected 3 columns t,total,errors (got ${cells.length})`, { file, line: i + 1 });
    const nums = cells.map((c, j) => {
      const v = Number(c);
      if (c === '' || !Number.isFinite(v) || v < 0) {
        throw new InputError('FAULTLINE_SLO_SERIES', `not a non-negative number: '${c}'`, { file, line: i + 1, field: cols[j] as string });
      }
      return v;
    });
    const [t, total, errors] = nums as [number, number, number];
    const prev = out[out.length - 1];
    if (prev && t <= prev.t) throw new InputError('FAULTLINE_SLO_SERIES', `t must increase (${t} after ${prev.t})`, { file, line: i + 1, field: 't' });
    out.push({ t, total, errors });
  }
  if (out.length === 0) throw new InputError('FAULTLINE_SLO_SERIES', 'the series has no data rows', { file, line: 2 });
  return out;
}

export function readSeriesCsv(file: string): SeriesPoint[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError('FAULTLINE_INPUT_FILE', `cannot read file: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file }, { cause: e });
  }
  return parseSeriesCsv(text, file);
}

/**
 * Evaluates the SLO's policy over the series at t = 0, ei, 2ei, … up to the last sample, where
 * ei = evalIntervalSec / timeScale, rounded to whole milliseconds.
 */
export function replaySeries(slo: SloDefinition, series: readonly SeriesPoint[], opts: ReplayOptions = {}): ReplayResult {
  const scale = opts.timeScale ?? 1;
  if (!(scale > 0)) throw new InputError('FAULTLINE_SLO_TIMESCALE', `timeScale must be > 0 (got ${scale})`, { field: 'time-scale' });
  const eiRaw = ((opts.evalIntervalSec ?? 60) * 1000) / scale;
  if (!(eiRaw > 0)) throw new InputError('FAULTLINE_SLO_EVAL_INTERVAL', 'eval interval must be positive', { field: 'eval-interval' });
  // Whole milliseconds, like the rule group's interval and Prometheus' evaluation timestamps.
  const ei = compressMs((opts.evalIntervalSec ?? 60) * 1000, scale);
  const samples: CounterSample[] = series.map((p) => ({ t: Math.round(p.t * 1000), total: p.total, errors: p.errors }));
  const policy = compressPolicy(slo.policy, scale);
  const evaluator = new PolicyEvaluator(policy, slo.errorBudget);
  const fastest = policy.reduce((a, t) => (t.longWindowMs < a.longWindowMs ? t : a), policy[0] as (typeof policy)[number]).name;
  const end = (samples[samples.length - 1] as CounterSample).t;
  let lastBurn: number | null = null;
  for (let k = 0; k * ei <= end; k++) {
    const snap = evaluator.evaluate(samples, k * ei);
    const b = snap.tiers.find((x) => x.tier === fastest)?.longBurn;
    lastBurn = b === undefined || Number.isNaN(b) ? null : b;
  }
  const intervals = evaluator.intervals();
  const span = errorSpan(samples);
  const timings = tierTimings(intervals, span ? span.start : null, span ? span.end : null);
  const sec = (ms: number | null, k = 1): number | null => (ms === null ? null : (ms * k) / 1000);
  const alerts: Record<string, Array<[number, number | null]>> = {};
  const perTier: Record<string, TierReplayTiming> = {};
  const perTierReal: Record<string, TierReplayTiming> = {};
  for (const [name, iv] of Object.entries(intervals)) {
    alerts[name] = iv.map(([a, b]) => [a / 1000, sec(b)]);
    const t = timings[name] as (typeof timings)[string];
    const at = (k: number): TierReplayTiming => ({
      episodes: t.episodes,
      firstFireSec: sec(t.firstFire, k),
      lastClearSec: sec(t.lastClear, k),
      timeToDetectSec: sec(t.timeToDetect, k),
      timeToClearSec: sec(t.timeToClear, k),
    });
    perTier[name] = at(1);
    perTierReal[name] = at(scale);
  }
  const first = samples[0] as CounterSample;
  const lastS = samples[samples.length - 1] as CounterSample;
  const predictions = opts.predict
    ? replayPredictions(
        forecastFromSamples({
          policy,
          errorBudget: slo.errorBudget,
          periodMs: slo.periodMs / scale,
          timeScale: scale,
          sampleIntervalMs: samples.length > 1 ? (samples[1] as CounterSample).t - first.t : ei,
          evalIntervalMs: ei,
          evalFrom: 0,
          samples,
          history: null,
          liveFrom: first.t,
          faultAt: span ? span.start : end,
          healAt: span ? span.end : end,
          endAt: end,
          intervals,
        }),
      )
    : undefined;
  const base = budgetReport(
    slo,
    scale,
    counterIncrease(samples.map((s) => s.total)),
    counterIncrease(samples.map((s) => s.errors)),
    Math.max(1, lastS.t - first.t),
    lastBurn,
  );
  return {
    alerts,
    budget: {
      ...base,
      errorSpanSec: span ? { start: span.start / 1000, end: span.end / 1000 } : null,
      consumedDuringErrors: span ? budgetConsumedBetween(samples, span.start, span.end, slo.errorBudget, slo.periodMs / scale) : null,
      perTier,
      perTierReal,
    },
    ...(predictions ? { predictions } : {}),
  };
}

function replayPredictions(f: SloForecast): ReplayPredictions {
  const sec = (ms: number | null): number | null => (ms === null ? null : ms / 1000);
  const tiers: Record<string, ReplayTierPrediction> = {};
  for (const t of f.tiers) {
    tiers[t.tier] = {
      predicted: {
        fire: sec(t.predicted.fireAt),
        clear: sec(t.predicted.clearAt),
        longCross: sec(t.predicted.longCrossAt),
        shortCross: sec(t.predicted.shortCrossAt),
        binding: t.predicted.binding,
        budgetAtFire: t.predicted.budgetAtFire,
      },
      observed: { fire: sec(t.observed.fireAt), clear: sec(t.observed.clearAt), budgetAtFire: t.observed.budgetAtFire },
    };
  }
  const fault = f.badFrom !== null && f.badUntil !== null && f.fault ? { from: f.badFrom / 1000, until: f.badUntil / 1000, ...f.fault } : null;
  return { fault, tiers };
}
