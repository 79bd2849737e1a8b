/**
 * Replay: a recorded series of cumulative counters (t seconds, total, errors) → alert intervals and
 * budget, with the same pure core as the live engine. Deterministic: same input, same output bytes.
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../shared/index.ts';
import { PolicyEvaluator, type CounterSample } from './evaluator.ts';
import { budgetReport, compressPolicy, type BudgetReport } from './engine.ts';
import type { SloDefinition } from './slo-spec.ts';

export interface SeriesPoint {
  /** Seconds from the start. */
  t: number;
  total: number;
  errors: number;
}

export interface ReplayOptions {
  /** Evaluation interval in seconds (default 60). */
  evalIntervalSec?: number;
  /** Divides windows, period and for: (the series times are taken as compressed seconds). */
  timeScale?: number;
}

export interface ReplayResult {
  /** Per tier: [fire, clear | null] in seconds. */
  alerts: Record<string, Array<[number, number | null]>>;
  budget: BudgetReport & { perTier: Record<string, { firstFireSec: number | null; lastClearSec: number | null; episodes: number }> };
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

/** Evaluates the SLO's policy over the series at t = 0, ei, 2ei, … up to the last sample. */
export function replaySeries(slo: SloDefinition, series: readonly SeriesPoint[], opts: ReplayOptions = {}): ReplayResult {
  const scale = opts.timeScale ?? 1;
  const ei = (opts.evalIntervalSec ?? 60) * 1000;
  if (!(ei > 0)) throw new InputError('FAULTLINE_SLO_EVAL_INTERVAL', 'eval interval must be positive', { field: 'eval-interval' });
  const samples: CounterSample[] = series.map((p) => ({ t: Math.round(p.t * 1000), total: p.total, errors: p.errors }));
  const evaluator = new PolicyEvaluator(compressPolicy(slo.policy, scale), slo.errorBudget);
  const end = (samples[samples.length - 1] as CounterSample).t;
  let lastBurn: number | null = null;
  for (let k = 0; k * ei <= end; k++) {
    const snap = evaluator.evaluate(samples, k * ei);
    const b = snap.tiers[0]?.longBurn;
    lastBurn = b === undefined || Number.isNaN(b) ? null : b;
  }
  const alerts: Record<string, Array<[number, number | null]>> = {};
  const perTier: ReplayResult['budget']['perTier'] = {};
  for (const [name, intervals] of Object.entries(evaluator.intervals())) {
    alerts[name] = intervals.map(([a, b]) => [a / 1000, b === null ? null : b / 1000]);
    const last = intervals[intervals.length - 1];
    perTier[name] = {
      firstFireSec: intervals[0] ? intervals[0][0] / 1000 : null,
      lastClearSec: last && last[1] !== null ? last[1] / 1000 : null,
      episodes: intervals.length,
    };
  }
  const first = samples[0] as CounterSample;
  const lastS = samples[samples.length - 1] as CounterSample;
  const base = budgetReport(
    slo,
    scale,
    counterIncrease(samples.map((s) => s.total)),
    counterIncrease(samples.map((s) => s.errors)),
    Math.max(1, lastS.t - first.t),
    lastBurn,
  );
  return { alerts, budget: { ...base, perTier } };
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
