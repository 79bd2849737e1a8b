/**
 * Assumed window history: what a long-running Prometheus already holds in its windows when an
 * experiment starts. Without it every window starts empty and a long window holds only the few
 * seconds of baseline — alerts fire far sooner than production would see them.
 *
 * The history is computed, not waited for: counter samples on the engine's sampling grid before
 * engine time 0, at a constant rate and error ratio, long enough to fill the longest window of every
 * tier. Modes (`slo.history` in a scenario):
 *   - `assume: baseline` (default): the rate and error ratio measured during the experiment's baseline;
 *   - `assume: stated`: a stated `rate` (requests/s on the experiment's clock) and `errorRatio`;
 *   - `assume: none`: no history — what a freshly started Prometheus sees (windows truncated at the start).
 */
import { z } from 'zod';
import type { CounterSample } from './evaluator.ts';

export const historySchema = z
  .object({
    assume: z.enum(['baseline', 'stated', 'none']).default('baseline'),
    /** With assume: stated — requests per second on the experiment's clock (the unit of load.rate). */
    rate: z.number().positive().optional(),
    /** With assume: stated — the share of bad events, 0..1. */
    errorRatio: z.number().min(0).max(1).optional(),
  })
  .strict()
  .refine((h) => h.assume !== 'stated' || (h.rate !== undefined && h.errorRatio !== undefined), {
    message: 'assume: stated needs rate (requests/s) and errorRatio (0..1)',
    path: ['assume'],
  })
  .refine((h) => h.assume === 'stated' || (h.rate === undefined && h.errorRatio === undefined), {
    message: 'rate and errorRatio go with assume: stated',
    path: ['assume'],
  });

export type HistorySpec = z.output<typeof historySchema>;
export type HistoryMode = HistorySpec['assume'];

export const DEFAULT_HISTORY: HistorySpec = { assume: 'baseline' };

/** An assumed history as the engine holds it (engine time: compressed ms since the engine's start). */
export interface AssumedHistory {
  mode: 'baseline' | 'stated';
  /** Events per second on the engine's clock. */
  ratePerSec: number;
  /** Share of bad events, 0..1. */
  errorRatio: number;
  /** Engine time of the first synthetic sample (counters 0 there). */
  fromT: number;
  /** Engine time the history ends: recorded outcomes begin here (the end of the load's warm-up). */
  untilT: number;
}

/** Cumulative counters of the assumed history at engine time t (flat before fromT and after untilT). */
export function historyCounts(h: AssumedHistory, t: number): { total: number; errors: number } {
  const span = Math.min(Math.max(t, h.fromT), h.untilT) - h.fromT;
  const total = (h.ratePerSec * span) / 1000;
  return { total, errors: total * h.errorRatio };
}

/** The synthetic samples at grid times k·stepMs (k integer) with fromT ≤ t < endT. */
export function historySamples(h: AssumedHistory, stepMs: number, endT: number): CounterSample[] {
  const out: CounterSample[] = [];
  for (let k = Math.ceil(h.fromT / stepMs - 1e-9); k * stepMs < endT; k++) {
    const t = k * stepMs;
    out.push({ t, ...historyCounts(h, t) });
  }
  return out;
}

/**
 * Where the history must begin so that every window is full at the first evaluation it serves:
 * the grid point at least `longestWindowMs + leadMs` before 0 (plus one step of margin).
 */
export function historyStart(longestWindowMs: number, leadMs: number, stepMs: number): number {
  return -(Math.ceil((longestWindowMs + leadMs) / stepMs - 1e-9) + 1) * stepMs;
}

/** Rate and error ratio from event counts over a span (null without traffic or time). */
export function measuredRates(total: number, errors: number, spanMs: number): { ratePerSec: number; errorRatio: number } | null {
  if (!(total > 0) || !(spanMs > 0)) return null;
  return { ratePerSec: (total * 1000) / spanMs, errorRatio: errors / total };
}
