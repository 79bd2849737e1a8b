/**
 * Alert policy as data. The default is the SRE Workbook / Sloth 30-day catalog; for other periods the
 * factors follow the budget-consumed rule: factor = budgetPercent × period / longWindow / 100.
 */
import { formatDuration } from '../shared/index.ts';

export interface AlertTier {
  /** e.g. `page-fast`. */
  name: string;
  severity: 'page' | 'ticket';
  /** Burn-rate factor: the tier fires when both windows' error ratio > factor × (1 − objective). */
  factor: number;
  longWindowMs: number;
  shortWindowMs: number;
  /** Share of the period's error budget consumed when the long window reaches the factor. */
  budgetPercent: number;
  /** Prometheus `for:` (0 = none). */
  forMs: number;
  /** Prometheus `keep_firing_for:` (0 = none). */
  keepFiringForMs: number;
}

const H = 3_600_000;
const M = 60_000;
const D = 24 * H;

export const DEFAULT_PERIOD_MS = 30 * D;

/** The SRE Workbook / Sloth 30-day catalog (pinned by a unit test). */
export const DEFAULT_ALERT_POLICY = [
  { name: 'page-fast', severity: 'page', factor: 14.4, longWindowMs: 1 * H, shortWindowMs: 5 * M, budgetPercent: 2, forMs: 0, keepFiringForMs: 0 },
  { name: 'page-slow', severity: 'page', factor: 6, longWindowMs: 6 * H, shortWindowMs: 30 * M, budgetPercent: 5, forMs: 0, keepFiringForMs: 0 },
  { name: 'ticket-fast', severity: 'ticket', factor: 3, longWindowMs: 1 * D, shortWindowMs: 2 * H, budgetPercent: 10, forMs: 0, keepFiringForMs: 0 },
  { name: 'ticket-slow', severity: 'ticket', factor: 1, longWindowMs: 3 * D, shortWindowMs: 6 * H, budgetPercent: 10, forMs: 0, keepFiringForMs: 0 },
] as const satisfies readonly AlertTier[];

/** Burn-rate factor from the share of budget a tier may consume over its long window. */
export function factorFor(budgetPercent: number, periodMs: number, longWindowMs: number): number {
  return (budgetPercent * (periodMs / H)) / 100 / (longWindowMs / H);
}

/** The default catalog for any period: same windows and budget shares, factors re-derived. */
export function defaultPolicyFor(periodMs: number): AlertTier[] {
  return DEFAULT_ALERT_POLICY.map((t) => ({
    ...t,
    factor: periodMs === DEFAULT_PERIOD_MS ? t.factor : factorFor(t.budgetPercent, periodMs, t.longWindowMs),
  }));
}

/** Every distinct window of a policy, ascending. */
export function policyWindows(policy: readonly AlertTier[]): number[] {
  return [...new Set(policy.flatMap((t) => [t.shortWindowMs, t.longWindowMs]))].sort((a, b) => a - b);
}

/** Prometheus duration text for a window, e.g. `1h`, `5m`, `833ms`. */
export function promDuration(ms: number): string {
  const r = Math.round(ms);
  const units: Array<[string, number]> = [
    ['d', D],
    ['h', H],
    ['m', M],
    ['s', 1000],
    ['ms', 1],
  ];
  for (const [u, size] of units) if (r % size === 0 && r >= size) return `${r / size}${u}`;
  return formatDuration(r);
}
