/**
 * Front door of src/slo: multi-window, multi-burn-rate SLO alerts that agree with Prometheus.
 *
 *   const slo = loadSloFile('scenarios/slo-example.yaml');
 *   const engine = createSloEngine({ slo, timeScale: 360 });
 *   engine.recordOutcome(ok, latencyMs);  …  engine.evaluate();  engine.alertIntervals();
 */
export { DEFAULT_ALERT_POLICY, DEFAULT_PERIOD_MS, defaultPolicyFor, factorFor, policyWindows, promDuration } from './policy.ts';
export type { AlertTier } from './policy.ts';
export { sloSchema, sloFileSchema, tierSchema, toSloDefinition, loadSloFile, parseSloText, isGood, errorBudgetOf } from './slo-spec.ts';
export type { SloDefinition, SloSpec } from './slo-spec.ts';
export { promRate, promSum, goDurationSeconds, windowRatio, windowRatioOfSeries, above, thresholdLiteral, tierThreshold, AlertStateMachine, PolicyEvaluator } from './evaluator.ts';
export type { CounterSample, AlertState, EvaluationSnapshot, TierSnapshot } from './evaluator.ts';
export { SloEngine, createSloEngine, compressMs, compressPolicy, windowLabel } from './engine.ts';
export type { SloEngineOptions, SloSnapshot, TierState, AlertTransition } from './engine.ts';
export { budgetReport, budgetConsumedBetween, counterIncrease, errorSpan, tierTimings } from './budget.ts';
export type { BudgetReport, ErrorSpan, TierTiming } from './budget.ts';
export { replaySeries, parseSeriesCsv, readSeriesCsv } from './replay.ts';
export type { SeriesPoint, ReplayOptions, ReplayResult, TierReplayTiming, ReplayPredictions, ReplayTierPrediction } from './replay.ts';
export { generatePrometheusRules, prometheusRules, promtoolTestDoc, alertName, recordName } from './rules.ts';
export type { RulesOptions, PromtoolTimeline } from './rules.ts';
export { alertmanagerRoute, generateAlertmanagerRoute, DEFAULT_RECEIVER_NAME } from './alertmanager-route.ts';
export type { AlertmanagerRouteOptions, AlertmanagerConfigDoc } from './alertmanager-route.ts';
export { historySchema, historyCounts, historySamples, historyStart, measuredRates, DEFAULT_HISTORY } from './history.ts';
export type { AssumedHistory, HistorySpec, HistoryMode } from './history.ts';
export { predictTiers, fluidBudgetBetween, FluidCounters } from './predict.ts';
export type { RateSegment, TierPrediction, PredictionOptions } from './predict.ts';
export { forecastFromSamples } from './forecast.ts';
export type { SloForecast, TierForecast, ObservedTier, ForecastInput } from './forecast.ts';
