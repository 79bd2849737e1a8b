/**
 * The scenario's abort rules (`aborts.errorRate`, `aborts.probeFailures`) as pure decisions: each
 * returns the abort cause when the rule trips, otherwise undefined. The runner feeds them; the
 * maximum duration is a timer in the runner.
 */
import type { PhaseName } from './model.ts';
import type { ProbeSample } from './probes.ts';
import type { ScenarioSpec } from './spec.ts';

export type ErrorRateRule = NonNullable<ScenarioSpec['aborts']['errorRate']>;
export type ProbeFailureRule = NonNullable<ScenarioSpec['aborts']['probeFailures']>;

/** The outcomes the error-rate rule judges: those of the current phase within the rule's window. */
export interface ErrorWindow {
  count: number;
  badCount: number;
}

/** Trips when, in one of the rule's phases, at least `minRequests` outcomes are in the window and the bad ratio is above `above`. */
export function errorRateAbort(rule: ErrorRateRule, phase: PhaseName, window: ErrorWindow): string | undefined {
  if (!(rule.phases as string[]).includes(phase)) return undefined;
  if (window.count < rule.minRequests) return undefined;
  const ratio = window.badCount / window.count;
  if (!(ratio > rule.above)) return undefined;
  return `error ratio ${(ratio * 100).toFixed(1)} % over the last ${rule.window / 1000}s above ${(rule.above * 100).toFixed(1)} % at ${phase}`;
}

/** Trips when a probe (any, or one of the rule's `probes`) has failed `after` times in a row in one of the rule's phases. */
export function probeFailureAbort(rule: ProbeFailureRule, sample: Pick<ProbeSample, 'probe' | 'phase' | 'consecutiveFailures' | 'detail'>): string | undefined {
  if (!(rule.phases as string[]).includes(sample.phase)) return undefined;
  if ('probes' in rule && rule.probes && !rule.probes.includes(sample.probe)) return undefined;
  if (sample.consecutiveFailures < rule.after) return undefined;
  return `probe ${sample.probe} failed ${sample.consecutiveFailures} times in a row at ${sample.phase}: ${sample.detail}`;
}
