/**
 * The open-loop driver: fires requests at their scheduled (intended) times and never waits for
 * responses. Latency is recorded from the intended send time (coordinated omission corrected, as wrk2
 * does) with plain recordValue; service time is recorded from the moment the request got on the wire.
 * A cap on requests in flight turns late starts into counted drops (like k6's dropped_iterations).
 */
import { realClock, redact } from '../shared/index.ts';
import { scheduleDurationMs, type ScheduleShape } from './schedule.ts';
import { createTarget, statusPredicate, type Target } from './targets.ts';
import { judgeValidity } from './validity.ts';
import { percentiles } from './percentiles.ts';
import { cpuNowUs, LoadRun, type Bucket, type PhaseAcc } from './load-run.ts';
import type { LoadOptions, LoadResult, PhaseSummary, SecondBucket } from './load-types.ts';

export type { LoadOptions, LoadPhase, LoadProgress, LoadResult, PhaseSummary, SecondBucket, SliDefinition, SliOutcome, SliSink } from './load-types.ts';

/** The highest planned rate of a schedule (req/s). */
function peakRateOf(shape: ScheduleShape): number {
  switch (shape.type) {
    case 'ramp':
      return Math.max(shape.from, shape.to);
    case 'steps':
      return Math.max(0, ...shape.steps.map((s) => s.rate));
    case 'spike':
      return shape.rate * Math.max(1, shape.multiplier);
    default:
      return shape.rate;
  }
}

/**
 * Default warm-up for a schedule: 20 % of the run, at most 2 s. Requests intended in it are sent and
 * counted but left out of the latency histograms and of the validity rule: they pay for JIT
 * compilation and connection set-up, not for the target.
 */
export function defaultWarmupMs(shape: ScheduleShape): number {
  return Math.min(2000, Math.round(scheduleDurationMs(shape) * 0.2));
}

/**
 * Default number of connections to open before the run: the concurrency the peak rate needs at 2 ms
 * per request (a loopback service time plus a timer tick), at least 8, at most the pool's cap.
 */
export function defaultPrewarmConnections(shape: ScheduleShape): number {
  return Math.max(8, Math.ceil((peakRateOf(shape) * 2) / 1000));
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const clock = opts.clock ?? realClock;
  const maxInFlight = opts.maxInFlight ?? 10_000;
  const seed = String(opts.seed ?? 0);
  const target: Target = createTarget(opts.target, { maxInFlight, ...(opts.network ? { network: opts.network } : {}) });
  const prewarmed = opts.prewarmConnections ? await target.prewarm(opts.prewarmConnections) : 0;
  const run = new LoadRun(target, clock, maxInFlight, opts, statusPredicate(opts.sli?.goodStatus));
  const cpuAtStart = cpuNowUs();
  const stopProgress = opts.onProgress ? run.reportProgress(opts.onProgress, scheduleDurationMs(opts.schedule)) : undefined;
  await run.schedule(opts.schedule, seed, opts.signal);
  await run.drain();
  stopProgress?.();
  const cpuAtEnd = cpuNowUs();
  await target.close().catch(() => {});
  const durationMs = clock.now() - run.start;
  const cpuMs = (cpuAtEnd - cpuAtStart) / 1000;
  const steady = run.steadyFrom;
  const steadySent = steady ? run.sent - steady.sent : 0;
  const steadyCpuUsPerRequest = steady && steadySent > 0 ? (cpuAtEnd - steady.cpuUs) / steadySent : null;
  return buildResult(run, opts, { target, seed, prewarmed, durationMs, cpuMs, steadyCpuUsPerRequest });
}

/** The validity verdict of a finished run (validity.ts: the CLI's rule). */
function verdictOf(run: LoadRun, opts: LoadOptions, target: Target): ReturnType<typeof judgeValidity> {
  return judgeValidity({
    scheduled: run.scheduled,
    sent: run.sent,
    dropped: run.dropped,
    clientQueueMs: percentiles(run.queue),
    schedulingLagMs: percentiles(run.lag),
    serviceMs: percentiles(run.service),
    peakRate: peakRateOf(opts.schedule),
    ...(target.connections !== undefined ? { connections: target.connections } : {}),
    maxInFlight: run.maxInFlight,
    warmupMs: opts.warmupMs ?? 0,
    queueSecondsOver: run.buckets.flatMap((b, second) => (b.queueOver > 0 && b.queueOver > b.sent * 0.01 ? [second] : [])),
    seconds: run.buckets.length,
  });
}

function buildResult(run: LoadRun, opts: LoadOptions, info: { target: Target; seed: string; prewarmed: number; durationMs: number; cpuMs: number; steadyCpuUsPerRequest: number | null }): LoadResult {
  const { target, durationMs, cpuMs } = info;
  const verdict = verdictOf(run, opts, target);
  const meanLatency = run.corrected.totalCount > 0 ? run.latencySumMs / run.corrected.totalCount : null;
  const throughput = durationMs > 0 ? run.completed / (durationMs / 1000) : 0;
  return {
    target: redact(target.description),
    seed: info.seed,
    schedule: opts.schedule,
    aborted: run.aborted,
    scheduled: run.scheduled,
    sent: run.sent,
    dropped: run.dropped,
    completed: run.completed,
    good: run.good,
    bad: run.bad,
    valid: verdict.valid,
    invalidReasons: verdict.reasons,
    invalidCause: verdict.cause,
    advice: verdict.advice,
    durationMs,
    latencyMs: { corrected: percentiles(run.corrected), service: percentiles(run.service) },
    schedulingLagMs: percentiles(run.lag),
    clientQueueMs: percentiles(run.queue),
    errors: run.errors,
    littlesLaw: { throughputPerSec: throughput, meanLatencyMs: meanLatency, concurrency: meanLatency === null ? null : throughput * (meanLatency / 1000) },
    generator: {
      warmupMs: opts.warmupMs ?? 0,
      prewarmedConnections: info.prewarmed,
      ...(target.connections !== undefined ? { connections: target.connections } : {}),
      cpuMs,
      cpuUsPerRequest: run.sent > 0 ? (cpuMs * 1000) / run.sent : null,
      steadyCpuUsPerRequest: info.steadyCpuUsPerRequest,
    },
    perSecond: run.buckets.map(secondSummary),
    phases: run.phases.map(phaseSummary),
  };
}

function secondSummary(b: Bucket, second: number): SecondBucket {
  return { second, sent: b.sent, completed: b.completed, good: b.good, bad: b.bad, dropped: b.dropped, errors: b.errors, latencyMs: percentiles(b.hist) };
}

function phaseSummary(p: PhaseAcc): PhaseSummary {
  const secs = Math.max(1e-3, (p.phase.endMs - p.phase.startMs) / 1000);
  return {
    name: p.phase.name,
    startMs: p.phase.startMs,
    endMs: p.phase.endMs,
    scheduled: p.scheduled,
    sent: p.sent,
    good: p.good,
    bad: p.bad,
    sentPerSec: p.sent / secs,
    // Outcomes less drops (every scheduled request was either sent or dropped).
    completedPerSec: (p.good + p.bad - (p.scheduled - p.sent)) / secs,
    errors: p.errors,
    latencyMs: { corrected: percentiles(p.corrected), service: percentiles(p.service) },
  };
}
