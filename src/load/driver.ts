/**
 * The open-loop driver: fires requests at their scheduled (intended) times and never waits for
 * responses. Latency is recorded from the intended send time (coordinated omission corrected, as wrk2
 * does) with plain recordValue; service time is recorded from the moment the request got on the wire.
 * A cap on requests in flight turns late starts into counted drops (like k6's dropped_iterations).
 */
import { latencyHistogramUs, realClock, redact, summariseLatencyUs, type Clock, type LatencyHistogram, type NetworkPolicy, type Seed } from '../shared/index.ts';
import { arrivalOffsets, scheduleDurationMs, type ScheduleShape } from './schedule.ts';
import { classifyError, createTarget, statusPredicate, type Target, type TargetSpec } from './targets.ts';

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
  /** Requests intended in the first warmupMs are left out of the latency histograms. */
  warmupMs?: number;
  sli?: SliDefinition;
  sink?: SliSink;
  seed?: Seed;
  clock?: Clock;
  signal?: AbortSignal;
  onProgress?: (p: LoadProgress) => void;
  phases?: LoadPhase[];
}

export interface Percentiles {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
  mean: number | null;
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
  valid: boolean;
  invalidReasons: string[];
  durationMs: number;
  latencyMs: { corrected: Percentiles; service: Percentiles };
  /** How late the driver fired vs the plan (dispatch − intended). */
  schedulingLagMs: Percentiles;
  /** Client-side queueing: on the wire − intended. */
  clientQueueMs: Percentiles;
  errors: Record<string, number>;
  /** Little's law: mean concurrency L = λ·W (λ = completed/s, W = mean corrected latency in s). */
  littlesLaw: { throughputPerSec: number; meanLatencyMs: number | null; concurrency: number | null };
  perSecond: SecondBucket[];
  phases: PhaseSummary[];
}

const histogram = latencyHistogramUs;

const usOf = (ms: number): number => Math.max(1, Math.round(ms * 1000));

export function percentiles(h: LatencyHistogram): Percentiles {
  if (h.totalCount === 0) return { count: 0, p50: null, p90: null, p99: null, p999: null, max: null, mean: null };
  return summariseLatencyUs(h);
}

interface Bucket {
  sent: number;
  completed: number;
  good: number;
  bad: number;
  dropped: number;
  errors: Record<string, number>;
  hist: LatencyHistogram;
}

interface PhaseAcc {
  phase: LoadPhase;
  scheduled: number;
  sent: number;
  good: number;
  bad: number;
  errors: Record<string, number>;
  corrected: LatencyHistogram;
  service: LatencyHistogram;
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const clock = opts.clock ?? realClock;
  const timeoutMs = opts.timeoutMs ?? 2000;
  const maxInFlight = opts.maxInFlight ?? 10_000;
  const warmupMs = opts.warmupMs ?? 0;
  const goodStatus = statusPredicate(opts.sli?.goodStatus);
  const latencyThreshold = opts.sli?.latencyThresholdMs;
  const seed = String(opts.seed ?? 0);
  const target: Target = createTarget(opts.target, { maxInFlight, ...(opts.network ? { network: opts.network } : {}) });
  const totalMs = scheduleDurationMs(opts.schedule);

  const corrected = histogram();
  const service = histogram();
  const lag = histogram();
  const queue = histogram();
  const errors: Record<string, number> = {};
  const buckets: Bucket[] = [];
  const phases: PhaseAcc[] = (opts.phases ?? []).map((phase) => ({
    phase,
    scheduled: 0,
    sent: 0,
    good: 0,
    bad: 0,
    errors: {},
    corrected: histogram(),
    service: histogram(),
  }));
  let scheduled = 0;
  let sent = 0;
  let dropped = 0;
  let completed = 0;
  let good = 0;
  let bad = 0;
  let inFlight = 0;
  let latencySumMs = 0;
  let aborted = false;

  const bucket = (offsetMs: number): Bucket => {
    const s = Math.max(0, Math.floor(offsetMs / 1000));
    while (buckets.length <= s) buckets.push({ sent: 0, completed: 0, good: 0, bad: 0, dropped: 0, errors: {}, hist: histogram() });
    return buckets[s] as Bucket;
  };
  const phaseOf = (offsetMs: number): PhaseAcc | undefined => phases.find((p) => offsetMs >= p.phase.startMs && offsetMs < p.phase.endMs);

  const start = clock.now();
  let allFired!: () => void;
  const idle = new Promise<void>((r) => (allFired = r));
  let doneScheduling = false;
  const maybeIdle = (): void => {
    if (doneScheduling && inFlight === 0) allFired();
  };

  const outcome = (offset: number, o: SliOutcome): void => {
    const b = bucket(offset);
    const ph = phaseOf(offset);
    // A request dropped at the in-flight cap never went out: it is bad, but not completed.
    if (o.errorClass !== 'drop') {
      b.completed++;
      completed++;
    }
    if (o.good) {
      good++;
      b.good++;
      if (ph) ph.good++;
    } else {
      bad++;
      b.bad++;
      if (ph) ph.bad++;
      const cls = o.errorClass ?? 'slow';
      errors[cls] = (errors[cls] ?? 0) + 1;
      b.errors[cls] = (b.errors[cls] ?? 0) + 1;
      if (ph) ph.errors[cls] = (ph.errors[cls] ?? 0) + 1;
    }
    if (o.errorClass !== 'drop') {
      b.hist.recordValue(usOf(o.latencyMs));
      if (offset >= warmupMs) {
        corrected.recordValue(usOf(o.latencyMs));
        service.recordValue(usOf(o.serviceMs));
        latencySumMs += o.latencyMs;
        if (ph) {
          ph.corrected.recordValue(usOf(o.latencyMs));
          ph.service.recordValue(usOf(o.serviceMs));
        }
      }
    }
    opts.sink?.record(o);
  };

  const fire = (offset: number): void => {
    const intendedAt = start + offset;
    scheduled++;
    const ph = phaseOf(offset);
    if (ph) ph.scheduled++;
    const b = bucket(offset);
    if (inFlight >= maxInFlight) {
      dropped++;
      b.dropped++;
      const now = clock.now();
      outcome(offset, { intendedAtMs: intendedAt, completedAtMs: now, good: false, ok: false, latencyMs: now - intendedAt, serviceMs: 0, errorClass: 'drop' });
      return;
    }
    const dispatchedAt = clock.now();
    if (offset >= warmupMs) lag.recordValue(usOf(dispatchedAt - intendedAt));
    sent++;
    b.sent++;
    if (ph) ph.sent++;
    inFlight++;
    let onSocketAt: number | undefined;
    let settled = false;
    const settle = (err: Error | undefined, status?: number, servedBy?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      inFlight--;
      const now = clock.now();
      const latencyMs = now - intendedAt;
      const serviceMs = now - (onSocketAt ?? dispatchedAt);
      let errorClass = classifyError(err, status, goodStatus);
      const ok = errorClass === undefined;
      if (ok && latencyThreshold !== undefined && latencyMs > latencyThreshold) errorClass = undefined;
      const isGood = ok && (latencyThreshold === undefined || latencyMs <= latencyThreshold);
      const o: SliOutcome = { intendedAtMs: intendedAt, completedAtMs: now, good: isGood, ok, latencyMs, serviceMs };
      if (errorClass !== undefined) o.errorClass = errorClass;
      else if (!isGood) o.errorClass = 'slow';
      if (status !== undefined && status > 0) o.status = status;
      if (servedBy !== undefined) o.servedBy = servedBy;
      outcome(offset, o);
      maybeIdle();
    };
    // The deadline is an AbortSignal the target honours (undici's own timeouts are coarse). It is measured
    // from the intended send time: a request the client could not start on time has used part of its budget.
    const deadline = new AbortController();
    const timer = setTimeout(() => {
      const reason = new DOMException(`deadline of ${timeoutMs} ms exceeded`, 'TimeoutError');
      deadline.abort(reason);
      settle(reason);
    }, Math.max(1, intendedAt + timeoutMs - clock.now()));
    target.send(
      {
        onSocket: () => {
          onSocketAt = clock.now();
          if (offset >= warmupMs) queue.recordValue(usOf(onSocketAt - intendedAt));
        },
        done: settle,
      },
      deadline.signal,
    );
  };

  // Progress reporting, about once a second.
  let lastProgress = { at: start, sent: 0, completed: 0, outcomes: 0, bad: 0 };
  const progressTimer = opts.onProgress
    ? setInterval(() => {
        const now = clock.now();
        const dt = Math.max(1, now - lastProgress.at) / 1000;
        const cur = bucket(Math.max(0, now - start - 1000));
        const p = percentiles(cur.hist);
        opts.onProgress?.({
          elapsedMs: now - start,
          remainingMs: Math.max(0, totalMs - (now - start)),
          sentPerSec: (sent - lastProgress.sent) / dt,
          completedPerSec: (completed - lastProgress.completed) / dt,
          errorsPerSec: (bad - lastProgress.bad) / dt,
          // Over every outcome of the second: completed requests and drops (a drop is bad).
          errorRate: completed + dropped - lastProgress.outcomes > 0 ? (bad - lastProgress.bad) / (completed + dropped - lastProgress.outcomes) : 0,
          p99Ms: p.p99,
          inFlight,
        });
        lastProgress = { at: now, sent, completed, outcomes: completed + dropped, bad };
      }, 1000)
    : undefined;

  // The scheduler: a ≥1 ms timer tick fires every request whose intended time has passed.
  const it = arrivalOffsets(opts.schedule, seed);
  let next = it.next();
  await new Promise<void>((resolve) => {
    const onAbort = (): void => {
      aborted = true;
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const tick = (): void => {
      const elapsed = clock.now() - start;
      while (!next.done && next.value <= elapsed && !aborted) {
        fire(next.value);
        next = it.next();
      }
      if (next.done || aborted) {
        opts.signal?.removeEventListener('abort', onAbort);
        resolve();
        return;
      }
      const wait = next.value - (clock.now() - start);
      setTimeout(tick, Math.max(1, Math.min(wait, 50)));
    };
    tick();
  });
  doneScheduling = true;
  maybeIdle();
  // In-flight requests end by their own deadlines; this bounds the wait.
  await Promise.race([idle, new Promise<void>((r) => setTimeout(r, timeoutMs + 1000))]);
  if (progressTimer) clearInterval(progressTimer);
  await target.close().catch(() => {});
  const durationMs = clock.now() - start;

  const invalidReasons: string[] = [];
  if (scheduled > 0 && sent / scheduled < 0.99) invalidReasons.push(`only ${((sent / scheduled) * 100).toFixed(2)} % of scheduled requests were sent (< 99 %)`);
  const q = percentiles(queue);
  if (q.p99 !== null && q.p99 > 50) invalidReasons.push(
      `client-side queueing p99 ${q.p99} ms > 50 ms: requests waited in the generator before reaching the wire (too few connections or an overloaded generator)`,
    );
  const meanLatency = corrected.totalCount > 0 ? latencySumMs / corrected.totalCount : null;
  const throughput = durationMs > 0 ? completed / (durationMs / 1000) : 0;

  return {
    target: redact(target.description),
    seed,
    schedule: opts.schedule,
    aborted,
    scheduled,
    sent,
    dropped,
    completed,
    good,
    bad,
    valid: invalidReasons.length === 0,
    invalidReasons,
    durationMs,
    latencyMs: { corrected: percentiles(corrected), service: percentiles(service) },
    schedulingLagMs: percentiles(lag),
    clientQueueMs: q,
    errors,
    littlesLaw: {
      throughputPerSec: throughput,
      meanLatencyMs: meanLatency,
      concurrency: meanLatency === null ? null : throughput * (meanLatency / 1000),
    },
    perSecond: buckets.map((b, second) => ({
      second,
      sent: b.sent,
      completed: b.completed,
      good: b.good,
      bad: b.bad,
      dropped: b.dropped,
      errors: b.errors,
      latencyMs: percentiles(b.hist),
    })),
    phases: phases.map((p) => ({
      name: p.phase.name,
      startMs: p.phase.startMs,
      endMs: p.phase.endMs,
      scheduled: p.scheduled,
      sent: p.sent,
      good: p.good,
      bad: p.bad,
      sentPerSec: p.sent / Math.max(1e-3, (p.phase.endMs - p.phase.startMs) / 1000),
      // Outcomes less drops (every scheduled request was either sent or dropped).
      completedPerSec: (p.good + p.bad - (p.scheduled - p.sent)) / Math.max(1e-3, (p.phase.endMs - p.phase.startMs) / 1000),
      errors: p.errors,
      latencyMs: { corrected: percentiles(p.corrected), service: percentiles(p.service) },
    })),
  };
}
