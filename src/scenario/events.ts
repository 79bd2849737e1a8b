/** Run events: the runner emits them; reporters (src/report) subscribe. */
import type { FaultInfo, ProxyStats } from '../injector/index.ts';
import type { LoadResult } from '../load/index.ts';
import type { HarnessCheck } from './harness-check.ts';
import type { AlertTransition, BudgetReport, HistoryMode, SloForecast, SloSnapshot } from '../slo/index.ts';
import type { ExperimentPlan, PhaseName, ScenarioPlan } from './model.ts';
import type { ProbeSample } from './probes.ts';
import type { DrillStepResult } from './failover-step-result.ts';
import type { Verdict } from './verdict.ts';
import type { RolloutResult } from './rollout-checks.ts';
import type { ObservedReport } from './observed-verdict.ts';
import type { Observation } from './observed-alerts.ts';

/** The live progress line's load numbers, over the outcomes completed in the last second. */
export interface LoadTick {
  completedPerSec: number;
  errorRatio: number;
  p99Ms: number | null;
}

/** The assumed window history of one experiment (times: compressed ms since the experiment start). */
export interface ExperimentHistory {
  mode: HistoryMode;
  /** Events per second on the experiment's clock, and the share of bad events (null with mode none). */
  ratePerSec: number | null;
  errorRatio: number | null;
  /** The synthetic samples span [fromT, untilT): fromT < 0, untilT = where recorded outcomes begin. */
  fromT: number | null;
  untilT: number | null;
}

export interface ExperimentResult {
  name: string;
  description?: string;
  plan: ExperimentPlan;
  /** Wall-clock epoch ms at the experiment start. */
  startedAt: number;
  aborted: boolean;
  load: LoadResult;
  slo: {
    timeScale: number;
    /** Per tier: [fire, clear | null] in ms since the experiment start (compressed). */
    intervals: Record<string, Array<[number, number | null]>>;
    transitions: AlertTransition[];
    /** Evaluation snapshots (downsampled to at most ~600 points); t < 0 is over the assumed history. */
    series: SloSnapshot[];
    budget: BudgetReport;
    /** What the windows held when the experiment started (`slo.history`): assumed, not measured. */
    history: ExperimentHistory;
    /** Per tier: fire and clear times predicted by the burn-rate maths vs observed, budget before detection. */
    forecast: SloForecast | null;
  };
  /** The phase timeline as it happened: when each phase began (ms since the experiment start). */
  timeline: Array<{ phase: PhaseName; t: number }>;
  injections: Array<{ t: number; fault: FaultInfo }>;
  heals: Array<{ t: number; faults: string[]; verified: boolean }>;
  injector: ProxyStats;
  probes: ProbeSample[];
  verdicts: Verdict[];
  passed: boolean;
  /** Whether faultline's own load generator kept its schedule (harness-check.ts); absent in results from before it existed. */
  harness?: HarnessCheck;
  /** Alerts observed in real monitoring (scenario `monitoring:` + `expect.observed`). */
  observed?: ObservedReport;
}

/** `skipped`: nothing failed, but a part did not run (its own verdict and exit code 5 unless skips are allowed). */
export type RunStatus = 'passed' | 'failed' | 'aborted' | 'error' | 'skipped';

export interface RunResult {
  scenario: string;
  file: string;
  seed: string;
  timeScale: number;
  status: RunStatus;
  exitCode: number;
  startedAt: number;
  endedAt: number;
  wallMs: number;
  abort?: { cause: string; experiment?: string; t?: number };
  error?: string;
  experiments: ExperimentResult[];
  /** Parts that did not run, each with the reason (a run with any ends SKIPPED, exit 5, unless skips were allowed). */
  skipped?: string[];
  /** The scenario as given (secrets redacted). */
  spec: unknown;
  /** After the run: faults still present on the injector once everything was healed (must be 0). */
  cleanup: { faultsLeft: number; verified: boolean };
  /** The failover step (scenario `failoverDrill`), when the scenario has one. */
  drill?: DrillStepResult;
  /** The rollout drill (scenario `rollout`, or `faultline drill rollout`), when there is one. */
  rollout?: RolloutResult;
}

export type RunEvent =
  | { type: 'run-start'; plan: ScenarioPlan; file: string; startedAt: number }
  | { type: 'metrics-listening'; url: string }
  | { type: 'experiment-start'; experiment: string; plan: ExperimentPlan }
  | { type: 'phase'; experiment: string; phase: PhaseName; t: number }
  | { type: 'fault-injected'; experiment: string; t: number; fault: FaultInfo }
  | { type: 'fault-healed'; experiment: string; t: number; faults: string[]; verified: boolean }
  | { type: 'probe'; experiment: string; sample: ProbeSample }
  | { type: 'tick'; experiment: string; t: number; phase: PhaseName; totalMs: number; load: LoadTick; slo: SloSnapshot }
  | { type: 'alert'; experiment: string; transition: AlertTransition }
  | { type: 'observation'; experiment: string; observation: Observation }
  /** After an experiment with `expect.observed`: the monitoring rows judged (after experiment-end, once watching settled). */
  | { type: 'observed-end'; experiment: string; verdicts: Verdict[]; passed: boolean; watchedAfterEndMs: number }
  | { type: 'abort'; experiment?: string; cause: string; t?: number }
  | { type: 'experiment-end'; result: ExperimentResult }
  | { type: 'drill-start'; fault: string; mode: string; seed: string; readyzUrl: string }
  | { type: 'drill-skipped'; reason: string }
  | { type: 'drill-end'; result: DrillStepResult }
  | { type: 'run-end'; result: RunResult };

export type RunListener = (e: RunEvent) => void;

export class RunEvents {
  private listeners: RunListener[] = [];
  on(fn: RunListener): () => void {
    this.listeners.push(fn);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== fn);
    };
  }
  emit(e: RunEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // A broken reporter must not break the run (or its heal).
      }
    }
  }
}
