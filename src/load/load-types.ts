/** The load generator's public types: options, SLI outcomes, progress and the result. */
import type { Clock, NetworkPolicy, Seed } from '../shared/index.ts';
import type { ScheduleShape } from './schedule.ts';
import type { TargetSpec } from './targets.ts';
import type { Percentiles } from './percentiles.ts';

export interface SliOutcome {
  /** Clock reading (ms) of the intended send time. */
  intendedAtMs: number;
  /** Clock reading (ms) when the outcome was known. */
  completedAtMs: number;
  /** Good under the load's SLI definition (status class, latency threshold, no error). */
  good: boolean;
  /** The request succeeded at the protocol level (no error, good status), regardless of latency. */
  ok: boolean;
  /** Corrected latency: completion − intended (ms). */
  latencyMs: number;
  /** Service time: completion − on the wire (ms); equals latencyMs when it never got on the wire. */
  serviceMs: number;
  errorClass?: string;
  status?: number;
  /** Who served it (the HTTP target's `servedByHeader`), when it was answered. */
  servedBy?: string;
}

/** Where SLI outcomes stream to (the scenario layer connects it to the SLO engine). */
export interface SliSink {
  record(o: SliOutcome): void;
}

export interface SliDefinition {
  /** Status classes counted as good, e.g. `2xx,3xx` (default: anything below 500). */
  goodStatus?: string;
  /** Slower than this (corrected latency) is bad. */
  latencyThresholdMs?: number;
}

export interface LoadPhase {
  name: string;
  /** Offsets from the load start (ms). */
  startMs: number;
  endMs: number;
}

export interface LoadProgress {
  elapsedMs: number;
  remainingMs: number;
  sentPerSec: number;
  completedPerSec: number;
  errorsPerSec: number;
  errorRate: number;
  p99Ms: number | null;
  inFlight: number;
}

export interface LoadOptions {
  target: TargetSpec;
  schedule: ScheduleShape;
  /** Per-request deadline (ms); a request still running then is a `timeout`. Default 2000. */
  timeoutMs?: number;
  /** Cap on requests in flight; later starts are dropped. Default 10,000. */
  maxInFlight?: number;
  /** Addresses outside loopback the target may be on (default: loopback only). */
  network?: NetworkPolicy;
  /** Requests intended in the first warmupMs are left out of the latency histograms and the validity rule (default 0; the CLI uses defaultWarmupMs). */
  warmupMs?: number;
  /** Connections to open before the clock starts (HTTP; no request is sent). Default 0; the CLI uses defaultPrewarmConnections. */
  prewarmConnections?: number;
  sli?: SliDefinition;
  sink?: SliSink;
  seed?: Seed;
  clock?: Clock;
  signal?: AbortSignal;
  onProgress?: (p: LoadProgress) => void;
  phases?: LoadPhase[];
}

export interface SecondBucket {
  second: number;
  sent: number;
  completed: number;
  good: number;
  bad: number;
  dropped: number;
  errors: Record<string, number>;
  latencyMs: Percentiles;
}

export interface PhaseSummary {
  name: string;
  startMs: number;
  endMs: number;
  scheduled: number;
  sent: number;
  good: number;
  bad: number;
  /** Requests sent / completed per second over the phase (by intended send time). */
  sentPerSec: number;
  completedPerSec: number;
  errors: Record<string, number>;
  latencyMs: { corrected: Percentiles; service: Percentiles };
}

export interface LoadResult {
  target: string;
  seed: string;
  schedule: ScheduleShape;
  aborted: boolean;
  scheduled: number;
  sent: number;
  dropped: number;
  completed: number;
  good: number;
  bad: number;
  /** The validity rule (validity.ts): ≥ 99 % sent and client-side queueing p99 ≤ 50 ms. */
  valid: boolean;
  invalidReasons: string[];
  /** Who made the run invalid: the generator (settings or CPU) or the target; null when valid. */
  invalidCause: 'generator' | 'target' | null;
  /** What to change (flags) to get a valid run; empty when valid. */
  advice: string[];
  durationMs: number;
  latencyMs: { corrected: Percentiles; service: Percentiles };
  /** How late the driver fired vs the plan (dispatch − intended). */
  schedulingLagMs: Percentiles;
  /** Client-side queueing: on the wire − intended. */
  clientQueueMs: Percentiles;
  errors: Record<string, number>;
  /** Little's law: mean concurrency L = λ·W (λ = completed/s, W = mean corrected latency in s). */
  littlesLaw: { throughputPerSec: number; meanLatencyMs: number | null; concurrency: number | null };
  /**
   * The generator's own settings and cost: process CPU (user + system) from the first request to the
   * last outcome, per request sent (`cpuUsPerRequest`: JIT compilation and connection growth in the
   * warm-up included), and the same from the end of the warm-up on (`steadyCpuUsPerRequest`).
   */
  generator: { warmupMs: number; prewarmedConnections: number; connections?: number; cpuMs: number; cpuUsPerRequest: number | null; steadyCpuUsPerRequest: number | null };
  perSecond: SecondBucket[];
  phases: PhaseSummary[];
}
