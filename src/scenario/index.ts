/**
 * Front door of src/scenario: spec → validate → plan → run, composing injector, load and SLO.
 *
 *   const model = loadScenario('scenarios/chaos-selftest.yaml');
 *   const plan = planScenario(model, seed);
 *   const result = await runScenario(model, plan, { events, signal });
 */

export { loadScenario, planScenario } from './model.ts';
export { runScenario } from './runner.ts';
export { RunEvents } from './events.ts';
export type { RunEvent, RunListener, RunResult, ExperimentResult } from './events.ts';
export type { Verdict } from './verdict.ts';
export { checkBundle, describeFinding } from './bundle-check.ts';
export type { BundleCheckSpec, BundleLimits, SecretSource } from './bundle-check.ts';
export { parseMetricsAddress } from './metrics.ts';
export { injectorLinks } from './failover-links.ts';
export type { DrillStepResult } from './failover-step-result.ts';
export { rolloutSchema, rolloutFileSchema, parseRings } from './rollout-spec.ts';
export type { RolloutSpec } from './rollout-spec.ts';
export { runRollout } from './rollout-step.ts';
export type { RolloutResult, ReplicaRecord } from './rollout-checks.ts';
export type { Observation } from './observed-alerts.ts';
export type { ObservedTimeline } from './observed-verdict.ts';
export { gameDayPlan, gameDayPlanText } from './gameday-plan.ts';
