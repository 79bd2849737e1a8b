/** The failover step's result (a leaf: run events and the step both use it). */
import type { ScenarioSpec } from './spec.ts';
import type { Verdict } from './verdict.ts';

export type FailoverDrillSpec = NonNullable<ScenarioSpec['failoverDrill']>;

/** One GET /readyz as the failover step's poller saw it over HTTP (t: ms since the step started). Not the drill's own ReadinessSample (src/failover), which records the view the writer computed. */
export interface ReadyzPoll {
  t: number;
  http: number | null;
  status: string | null;
  writesUsable: boolean | null;
  role: string | null;
  epoch: number | null;
  error?: string;
}

export interface DrillStepResult {
  status: 'passed' | 'failed' | 'skipped' | 'error';
  /** Why it was skipped or errored, or the checker's one-line reason. */
  reason: string;
  fault: FailoverDrillSpec['fault'];
  mode: FailoverDrillSpec['mode'];
  seed: string;
  wallMs: number;
  serviceUrl?: string;
  evidenceDir?: string;
  check?: {
    verdict: 'pass' | 'fail' | 'inconclusive';
    reason: string;
    violations: Array<{ invariant: string; message: string }>;
    rpo: { lostAcknowledgedWrites: number; windowMs: number | null };
    rto: { ms: number | null };
    writes: { ok: number; fail: number; unknown: number };
  };
  timeline?: Record<string, number | undefined>;
  /** /readyz as polled over HTTP during the drill: every change of (http, status, writes_usable, role, epoch). */
  readiness: { polls: number; non200: number; notReady: number; changes: ReadyzPoll[] };
  verdicts: Verdict[];
}
