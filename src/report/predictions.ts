/**
 * Predicted vs observed alert timing per tier, and the assumed window history, as text rows shared by
 * the verdict table, report.md and report.html. Fire times are from inject, clear times from heal,
 * each compressed and real-equivalent; budget = share of the period's error budget consumed between
 * the first bad event and the alert firing.
 */
import { formatDuration } from '../shared/index.ts';
import type { ExperimentResult } from '../scenario/index.ts';

export interface ForecastRow {
  tier: string;
  predictedFire: string;
  observedFire: string;
  predictedClear: string;
  observedClear: string;
  binding: string;
  predictedBudget: string;
  observedBudget: string;
}

const pct = (f: number | null | undefined, digits = 2): string => (f === null || f === undefined ? '—' : `${(f * 100).toFixed(digits)} %`);

/** `18.25s (3h39m)`: compressed, then real-equivalent when the run was compressed. */
export function timeBoth(ms: number, scale: number): string {
  const sign = ms < 0 ? '−' : '';
  const a = Math.abs(ms);
  return scale === 1 ? `${sign}${formatDuration(a)}` : `${sign}${formatDuration(a)} (${sign}${formatDuration(a * scale)})`;
}

/** One line: which history the windows started from. */
export function historyText(x: ExperimentResult): string {
  const h = x.slo.history;
  if (h.mode === 'none') return 'SLO history: none — windows start empty (a freshly started Prometheus)';
  const longest = h.fromT === null || h.untilT === null ? null : h.untilT - h.fromT;
  const span = longest === null ? '' : `, ${formatDuration(longest)} of samples (${formatDuration(longest * x.slo.timeScale)} real-equivalent) before the experiment`;
  return `SLO history: assumed (${h.mode}) — ${(h.ratePerSec ?? 0).toFixed(1)} events/s at ${pct(h.errorRatio, 3)} errors${span}; computed, not measured`;
}

export function forecastRows(x: ExperimentResult): ForecastRow[] {
  const f = x.slo.forecast;
  if (!f) return [];
  const s = x.slo.timeScale;
  const inject = x.plan.injectAtMs;
  const heal = x.plan.healAtMs;
  return f.tiers.map((t) => {
    const p = t.predicted;
    const o = t.observed;
    const pFire = p.firingAtFault ? 'firing before inject' : p.fireAt === null ? 'never' : timeBoth(p.fireAt - inject, s);
    const oFire = o.fireAt !== null ? timeBoth(o.fireAt - inject, s) : o.firingAtFault ? 'firing before inject' : 'never';
    const fired = p.fireAt !== null || p.firingAtFault;
    const pClear = !fired ? '—' : p.clearAt === null ? 'not before its windows turn over' : `${timeBoth(p.clearAt - heal, s)}${p.clearAt > x.plan.totalMs ? ' (after the run)' : ''}`;
    const oFired = o.fireAt !== null || o.firingAtFault;
    const oClear = !oFired ? '—' : o.clearAt === null ? 'still firing at the end' : timeBoth(o.clearAt - heal, s);
    return {
      tier: t.tier,
      predictedFire: pFire,
      observedFire: oFire,
      predictedClear: pClear,
      observedClear: oClear,
      binding: p.binding ?? '—',
      predictedBudget: pct(p.budgetAtFire),
      observedBudget: pct(o.budgetAtFire),
    };
  });
}

/** The fault as the SLO saw it (measured), for the heading of the predictions table. */
export function faultText(x: ExperimentResult): string {
  const f = x.slo.forecast;
  if (!f || !f.fault) return 'no bad events during the fault';
  const lag = f.badFrom === null ? '' : `, first bad event ${timeBoth(Math.max(0, f.badFrom - x.plan.injectAtMs), x.slo.timeScale)} after inject`;
  return `measured during the fault: ${pct(f.fault.errorRatio, 3)} errors at ${f.fault.ratePerSec.toFixed(1)} events/s${lag}`;
}

export const FORECAST_HEADER = ['tier', 'fire after inject: predicted', 'observed', 'clear after heal: predicted', 'observed', 'binding window', 'budget before detection: predicted', 'observed'];

export function forecastCells(r: ForecastRow): string[] {
  return [r.tier, r.predictedFire, r.observedFire, r.predictedClear, r.observedClear, r.binding, r.predictedBudget, r.observedBudget];
}
