/**
 * Alert expectations judged against the observed alert intervals and, where the scenario asks, against
 * the burn-rate prediction (`fires: { within: predicted, tolerance: 15% }`). Pure.
 *
 * Every alert verdict shows the prediction next to what happened, with the share of the error budget
 * consumed before detection. The tolerance is relative to the predicted time (fire: after inject;
 * clear: after heal) and never narrower than one evaluation interval, the resolution of any alert time.
 * `fires: false` also needs the prediction to agree: a tier the maths says must fire cannot pass as quiet.
 */
import { formatDuration } from '../shared/index.ts';
import type { SloForecast, TierForecast } from '../slo/index.ts';
import type { ExperimentPlan, PlannedExpectation } from './model.ts';

export interface AlertObservations {
  /** Per tier: [fire, clear | null] ms since the experiment start. */
  intervals: Record<string, Array<[number, number | null]>>;
  timeScale: number;
  /** Predicted vs observed per tier; absent when the experiment produced none (e.g. aborted early). */
  forecast?: SloForecast;
}

type AlertVerdict = { passed: boolean; expected: string; observed: string };

/** A duration, with its real-equivalent when compressed. */
export const both = (ms: number, scale: number): string => (scale === 1 ? formatDuration(ms) : `${formatDuration(ms)} (${formatDuration(ms * scale)} real-equivalent)`);
const share = (f: number | null): string => (f === null ? 'n/a' : `${(f * 100).toFixed(2)} %`);

function tierOf(obs: AlertObservations, tier: string | undefined): TierForecast | undefined {
  return tier === undefined ? undefined : obs.forecast?.tiers.find((t) => t.tier === tier);
}

/** The allowed deviation from a predicted span: tolerance × |span|, at least one evaluation interval. */
export function toleranceMs(spanMs: number, tolerance: number, evalIntervalMs: number): number {
  return Math.max(tolerance * Math.abs(spanMs), evalIntervalMs);
}

/** One phrase for the prediction of a tier's fire time (relative to inject). */
export function predictedFireText(plan: ExperimentPlan, f: TierForecast | undefined, scale: number): string {
  if (!f) return 'no prediction';
  const p = f.predicted;
  if (p.firingAtFault) return 'predicted: already firing before inject (the assumed history is above the threshold)';
  if (p.fireAt === null) return 'predicted: never fires (the burn-rate maths does not reach the threshold in the run)';
  return `predicted: fires ${both(p.fireAt - plan.injectAtMs, scale)} after inject (${p.binding ?? '?'} window binds), budget consumed before detection ${share(p.budgetAtFire)}`;
}

function episodeOf(plan: ExperimentPlan, iv: ReadonlyArray<readonly [number, number | null]>): readonly [number, number | null] | undefined {
  return iv.find(([a]) => a >= plan.injectAtMs);
}

export function judgeAlertFires(plan: ExperimentPlan, e: PlannedExpectation, obs: AlertObservations): AlertVerdict {
  const iv = obs.intervals[e.tier ?? ''] ?? [];
  const f = tierOf(obs, e.tier);
  const s = obs.timeScale;
  const first = episodeOf(plan, iv) ?? iv[0];
  const budget = f ? `; budget consumed before detection ${share(f.observed.budgetAtFire)} (predicted ${share(f.predicted.budgetAtFire)})` : '';
  if (e.tolerance === undefined) {
    const expected = e.withinMs !== undefined ? `fires ≤ ${both(e.withinMs, s)} after inject` : 'fires';
    if (!first) return { passed: false, expected, observed: `never fired; ${predictedFireText(plan, f, s)}` };
    const dt = first[0] - plan.injectAtMs;
    const passed = dt >= 0 && (e.withinMs === undefined || dt <= e.withinMs);
    const what = dt < 0 ? `fired ${both(-dt, s)} before inject` : `fired after ${both(dt, s)}`;
    return { passed, expected, observed: `${what}${budget}; ${predictedFireText(plan, f, s)}` };
  }
  if (!f || !obs.forecast) return { passed: false, expected: 'fires as predicted', observed: 'no prediction was made for this experiment' };
  const p = f.predicted;
  const observedEpisode = episodeOf(plan, iv);
  if (p.fireAt === null) {
    const expected = p.firingAtFault ? 'already firing before inject, as predicted (assumed history above the threshold)' : 'does not fire (predicted: the burn-rate maths does not reach the threshold in the run)';
    const passed = p.firingAtFault ? f.observed.firingAtFault : observedEpisode === undefined;
    const observed = observedEpisode ? `fired after ${both(observedEpisode[0] - plan.injectAtMs, s)}${budget}` : f.observed.firingAtFault ? 'already firing before inject' : 'never fired';
    return { passed, expected, observed };
  }
  const predicted = p.fireAt - plan.injectAtMs;
  const tol = toleranceMs(predicted, e.tolerance, obs.forecast.evalIntervalMs);
  const expected = `fires ${both(predicted, s)} after inject ± ${both(tol, s)} (predicted, ${p.binding ?? '?'} window binds)`;
  if (!observedEpisode) return { passed: false, expected, observed: 'never fired' };
  const dt = observedEpisode[0] - plan.injectAtMs;
  const off = predicted === 0 ? '' : ` (${dt >= predicted ? '+' : ''}${(((dt - predicted) / predicted) * 100).toFixed(1)} % vs predicted)`;
  return { passed: Math.abs(dt - predicted) <= tol, expected, observed: `fired after ${both(dt, s)}${off}${budget}` };
}

export function judgeAlertClears(plan: ExperimentPlan, e: PlannedExpectation, obs: AlertObservations): AlertVerdict {
  const iv = obs.intervals[e.tier ?? ''] ?? [];
  const s = obs.timeScale;
  if (e.tolerance === undefined) {
    const expected = e.withinMs !== undefined ? `clears ≤ ${both(e.withinMs, s)} after heal` : 'clears before the end';
    if (iv.length === 0) return { passed: false, expected, observed: 'never fired, so never cleared' };
    if (iv.some(([, b]) => b === null)) return { passed: false, expected, observed: 'still firing at the end' };
    const clearAfterHeal = iv.map(([, b]) => b as number).find((b) => b >= plan.healAtMs);
    // Every episode cleared before heal (e.g. a short window dropped during inject): cleared.
    if (clearAfterHeal === undefined) return { passed: true, expected, observed: 'cleared before heal' };
    const dt = clearAfterHeal - plan.healAtMs;
    return { passed: e.withinMs === undefined || dt <= e.withinMs, expected, observed: `cleared after ${both(dt, s)}` };
  }
  const f = tierOf(obs, e.tier);
  if (!f || !obs.forecast) return { passed: false, expected: 'clears as predicted', observed: 'no prediction was made for this experiment' };
  const p = f.predicted;
  const episode = episodeOf(plan, iv) ?? iv.find(([a, b]) => a < plan.injectAtMs && (b === null || b > plan.injectAtMs));
  const observedClear = episode ? episode[1] : null;
  const observed = !episode ? 'never fired' : observedClear === null ? 'still firing at the end' : `cleared ${observedClear >= plan.healAtMs ? `${both(observedClear - plan.healAtMs, s)} after heal` : `${both(plan.healAtMs - observedClear, s)} before heal`}`;
  if (p.fireAt === null && !p.firingAtFault) return { passed: !episode, expected: 'nothing to clear (predicted not to fire)', observed };
  const predicted = p.clearAt === null ? null : p.clearAt - plan.healAtMs;
  const tol = toleranceMs(predicted ?? 0, e.tolerance, obs.forecast.evalIntervalMs);
  if (p.clearAt === null || p.clearAt > plan.totalMs) {
    const when = predicted === null ? 'not before its windows turn over' : `${both(predicted, s)} after heal`;
    const expected = `still firing at the end (predicted clear: ${when}, after the run)`;
    // Open at the end, or closed no earlier than the tolerance allows.
    const passed = episode !== undefined && (observedClear === null || (p.clearAt !== null && observedClear >= p.clearAt - tol));
    return { passed, expected, observed };
  }
  const expected = `clears ${both(predicted as number, s)} after heal ± ${both(tol, s)} (predicted)`;
  if (!episode || observedClear === null) return { passed: false, expected, observed };
  return { passed: Math.abs(observedClear - plan.healAtMs - (predicted as number)) <= tol, expected, observed };
}

export function judgeAlertQuiet(plan: ExperimentPlan, e: PlannedExpectation, obs: AlertObservations): AlertVerdict {
  const iv = obs.intervals[e.tier ?? ''] ?? [];
  const f = tierOf(obs, e.tier);
  const s = obs.timeScale;
  const predictedQuiet = !f || (f.predicted.fireAt === null && !f.predicted.firingAtFault);
  const seen = iv.length === 0 ? 'never fired' : `fired ${iv.length}× (first after ${both(iv[0]![0] - plan.injectAtMs, s)} from inject)`;
  const why = f ? `; ${predictedFireText(plan, f, s)}${predictedQuiet ? '' : ' — the expectation contradicts the burn-rate maths'}` : '';
  return { passed: iv.length === 0 && predictedQuiet, expected: f ? 'never fires (and predicted never to fire)' : 'never fires', observed: `${seen}${why}` };
}
