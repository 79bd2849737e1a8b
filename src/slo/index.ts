/**
 * Front door of src/slo: multi-window, multi-burn-rate SLO alerts that agree with Prometheus.
 *
 *   const slo = loadSloFile('scenarios/slo-example.yaml');
 *   const engine = createSloEngine({ slo, timeScale: 360 });
 *   engine.recordOutcome(ok, latencyMs);  …  engine.evaluate();  engine.alertIntervals();
 */
export { promDuration } from './policy.ts';
export { sloSchema, toSloDefinition, loadSloFile } from './slo-spec.ts';
export type { SloDefinition } from './slo-spec.ts';
export { SloEngine, createSloEngine, compressMs, compressPolicy } from './engine.ts';
export type { SloSnapshot, AlertTransition } from './engine.ts';
export type { BudgetReport } from './budget.ts';
export { replaySeries, readSeriesCsv } from './replay.ts';
export type { ReplayResult } from './replay.ts';
export { generatePrometheusRules, alertName } from './rules.ts';
export { generateAlertmanagerRoute } from './alertmanager-route.ts';
export { historySchema, DEFAULT_HISTORY } from './history.ts';
export type { HistorySpec, HistoryMode } from './history.ts';
export { predictTiers } from './predict.ts';
export type { TierPrediction } from './predict.ts';
export type { SloForecast, TierForecast } from './forecast.ts';
