/**
 * Front door of src/scenario: spec → validate → plan → run, composing injector, load and SLO.
 *
 *   const model = loadScenario('scenarios/chaos-selftest.yaml');
 *   const plan = planScenario(model, seed);
 *   const result = await runScenario(model, plan, { events, signal });
 */
export { scenarioSchema, experimentSchema, probeSchema, faultSchema, loadScenarioFile, parseScenarioText } from './spec.ts';
export type { ScenarioSpec, ExperimentSpec, ProbeSpec } from './spec.ts';
export { loadScenario, parseScenario, validateScenario, planScenario, toFaultSpec } from './model.ts';
export type { ScenarioModel, ScenarioPlan, ExperimentPlan, PlannedPhase, PlannedExpectation, PhaseName } from './model.ts';
export { runScenario, REFERENCE_SECRET_ENV } from './runner.ts';
export type { RunOptions } from './runner.ts';
export { RunEvents } from './events.ts';
export type { RunEvent, RunListener, RunResult, RunStatus, ExperimentResult, LoadTick } from './events.ts';
export type { Verdict } from './verdict.ts';
export { runProbe, ProbeRunner } from './probes.ts';
export type { ProbeResult, ProbeSample } from './probes.ts';
export { checkBundle, unpackBundle, scanFiles, describeFinding, BundleRefusedError, DEFAULT_BUNDLE_LIMITS } from './bundle-check.ts';
export type { BundleCheckSpec, BundleFinding, BundleReport, BundleLimits, SecretSource } from './bundle-check.ts';
export { judge, judgeAll } from './verdict.ts';
export { parseMetricsAddress, startMetricsServer } from './metrics.ts';
export { injectorLinks } from './failover-links.ts';
export { runFailoverStep, judgeDrillStep, DRILL_STEP } from './failover-step.ts';
export type { FailoverStepOptions } from './failover-step.ts';
export type { DrillStepResult, FailoverDrillSpec, ReadyzPoll } from './failover-step-result.ts';
export { rolloutSchema, rolloutFileSchema, releaseSchema, replicaCommandsSchema, parseRings } from './rollout-spec.ts';
export type { RolloutSpec, RolloutInput, ReleaseSpec, Ring } from './rollout-spec.ts';
export { runRollout, REPLICA_HEADER } from './rollout-step.ts';
export type { RolloutOptions } from './rollout-step.ts';
export { classifyRequests, judgeGate, judgeRollout, ROLLOUT_STEP } from './rollout-checks.ts';
export type { RolloutResult, ReplicaRecord, RingRecord, GateResult, RolloutRequest, DrainPoll, Classification, FiredAlert, RolloutSloRecord } from './rollout-checks.ts';
export { alertsInSpan, decideGate, rollbackSlots } from './rollout-gate.ts';
export { monitoringSchema, observedExpectationSchema } from './monitoring-spec.ts';
export type { MonitoringSpec, ObservedExpectationSpec } from './monitoring-spec.ts';
export { startMonitoring, fetchPrometheusRules, fetchScrapeInterval } from './monitoring.ts';
export type { MonitoringSession, ExperimentWatch } from './monitoring.ts';
export type { ObservedReport } from './observed-verdict.ts';
export { startAlertReceiver, parseWebhook } from './alert-receiver.ts';
export type { AlertReceiver, Notification, NotifiedAlert } from './alert-receiver.ts';
export { matchesLabels, matcherText, stageTimes, PrometheusAlertTracker, AlertmanagerAlertTracker } from './observed-alerts.ts';
export type { Observation, RuleInfo, StageTimes, Matchers } from './observed-alerts.ts';
export { judgeObserved, tierFor } from './observed-verdict.ts';
export type { ObservedTimeline, ObservedContext, ObservedJudgement } from './observed-verdict.ts';
export { gameDayPlan, gameDayPlanText, assumedErrorRatio } from './gameday-plan.ts';
export type { GameDayPlan, PlannedExperimentTimeline, PlannedAlert, PlannedObserved, AssumedRatio } from './gameday-plan.ts';
