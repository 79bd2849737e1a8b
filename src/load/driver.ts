/**
 * The open-loop driver: fires requests at their scheduled (intended) times and never waits for
 * responses. Latency is recorded from the intended send time (coordinated omission corrected, as wrk2
 * does) with plain recordValue; service time is recorded from the moment the request got on the wire.
 * A cap on requests in flight turns late starts into counted drops (like k6's dropped_iterations).
 */
import { latencyHistogramUs, realClock, redact, type Clock, type LatencyHistogram, type NetworkPolicy, type Seed } from '../shared/index.ts';
import { arrivalOffsets, scheduleDurationMs, type ScheduleShape } from './schedule.ts';
import { classifyError, createTarget, statusPredicate, type Abortable, type Target, type TargetSpec } from './targets.ts';
import { judgeValidity, VALIDITY_RULE } from './validity.ts';
import { percentiles, type Percentiles } from './percentiles.ts';

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
  /** The generator's own settings and cost (CPU of this process over the run). */
  generator: { warmupMs: number; prewarmedConnections: number; connections?: number; cpuMs: number; cpuUsPerRequest: number | null };
  perSecond: SecondBucket[];
  phases: PhaseSummary[];
}

const histogram = latencyHistogramUs;

const usOf = (ms: number): number => Math.max(1, Math.round(ms * 1000));


interface Bucket {
  sent: number;
  completed: number;
  good: number;
  bad: number;
  dropped: number;
  /** Requests (after the warm-up) that queued client-side beyond the validity limit. */
  queueOver: number;
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

/** What the driver does when a request gets on the wire or ends (one per run, shared by its requests). */
interface ExchangeSink {
  onSocket(ex: Exchange): void;
  settle(ex: Exchange, err: Error | undefined, status?: number, servedBy?: string): void;
}

/**
 * One request in flight: its times and where it is counted. A class (not a set of closures) so a
 * request costs one small object on the driver's side.
 */
class Exchange {
  onSocketAt = -1;
  settled = false;
  handle: Abortable | undefined = undefined;

  constructor(
    private readonly sink: ExchangeSink,
    readonly offset: number,
    readonly intendedAt: number,
    readonly dispatchedAt: number,
    /** intendedAt + timeout: ascending in send order, so in-flight requests form a FIFO of deadlines. */
    readonly deadlineAt: number,
    readonly bucket: Bucket,
    readonly phase: PhaseAcc | undefined,
  ) {}

  onSocket(): void {
    this.sink.onSocket(this);
  }

  done(err: Error | undefined, status?: number, servedBy?: string): void {
    this.sink.settle(this, err, status, servedBy);
  }
}

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
  const timeoutMs = opts.timeoutMs ?? 2000;
  const maxInFlight = opts.maxInFlight ?? 10_000;
  const warmupMs = opts.warmupMs ?? 0;
  const goodStatus = statusPredicate(opts.sli?.goodStatus);
  const latencyThreshold = opts.sli?.latencyThresholdMs;
  const seed = String(opts.seed ?? 0);
  const target: Target = createTarget(opts.target, { maxInFlight, ...(opts.network ? { network: opts.network } : {}) });
  const totalMs = scheduleDurationMs(opts.schedule);
  const prewarmed = opts.prewarmConnections ? await target.prewarm(opts.prewarmConnections) : 0;
  const sink = opts.sink;

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
  const queueLimitUs = VALIDITY_RULE.maxClientQueueP99Ms * 1000;

  const bucket = (offsetMs: number): Bucket => {
    const s = Math.max(0, Math.floor(offsetMs / 1000));
    while (buckets.length <= s) buckets.push({ sent: 0, completed: 0, good: 0, bad: 0, dropped: 0, queueOver: 0, errors: {}, hist: histogram() });
    return buckets[s] as Bucket;
  };
  const phaseOf = (offsetMs: number): PhaseAcc | undefined => {
    for (let i = 0; i < phases.length; i++) {
      const p = phases[i] as PhaseAcc;
      if (offsetMs >= p.phase.startMs && offsetMs < p.phase.endMs) return p;
    }
    return undefined;
  };

  const start = clock.now();
  const cpuAtStart = process.cpuUsage();
  let allFired!: () => void;
  const idle = new Promise<void>((r) => (allFired = r));
  let doneScheduling = false;
  const maybeIdle = (): void => {
    if (doneScheduling && inFlight === 0) allFired();
  };

  const count = (b: Bucket, ph: PhaseAcc | undefined, isGood: boolean, errorClass: string | undefined): void => {
    if (isGood) {
      good++;
      b.good++;
      if (ph) ph.good++;
      return;
    }
    bad++;
    b.bad++;
    if (ph) ph.bad++;
    const cls = errorClass ?? 'slow';
    errors[cls] = (errors[cls] ?? 0) + 1;
    b.errors[cls] = (b.errors[cls] ?? 0) + 1;
    if (ph) ph.errors[cls] = (ph.errors[cls] ?? 0) + 1;
  };

  // Deadlines. Intended times ascend, so deadlines (intended + timeout) ascend in send order: the
  // requests in flight form a FIFO, and one timer armed for its oldest live entry replaces a timer
  // (and an AbortController) per request.
  const pending: Array<Exchange | undefined> = [];
  let head = 0;
  let deadlineTimer: NodeJS.Timeout | undefined;
  const expire = (now: number): void => {
    while (head < pending.length) {
      const ex = pending[head] as Exchange;
      if (!ex.settled) {
        if (ex.deadlineAt > now) break;
        // The deadline is measured from the intended send time: a request the client could not start
        // on time has used part of its budget.
        const reason = new DOMException(`deadline of ${timeoutMs} ms exceeded`, 'TimeoutError');
        // A request that never left the generator's queue waited there for its whole budget: that is
        // client-side queueing too (without it an overloaded generator would show no queue at all).
        if (ex.onSocketAt < 0 && ex.offset >= warmupMs) {
          const q = usOf(now - ex.intendedAt);
          queue.recordValue(q);
          if (q > queueLimitUs) ex.bucket.queueOver++;
        }
        ex.handle?.abort(reason);
        hooks.settle(ex, reason);
      }
      pending[head++] = undefined;
    }
    if (head === pending.length) {
      pending.length = 0;
      head = 0;
    } else if (head > 4096 && head * 2 > pending.length) {
      pending.splice(0, head);
      head = 0;
    }
  };
  const armDeadline = (): void => {
    if (deadlineTimer !== undefined || head >= pending.length) return;
    const next = pending[head] as Exchange;
    deadlineTimer = setTimeout(onDeadlineTimer, Math.max(1, next.deadlineAt - clock.now()));
  };
  const onDeadlineTimer = (): void => {
    deadlineTimer = undefined;
    expire(clock.now());
    armDeadline();
  };

  const hooks: ExchangeSink = {
    onSocket(ex) {
      ex.onSocketAt = clock.now();
      if (ex.offset >= warmupMs) {
        const q = usOf(ex.onSocketAt - ex.intendedAt);
        queue.recordValue(q);
        if (q > queueLimitUs) ex.bucket.queueOver++;
      }
    },
    settle(ex, err, status, servedBy) {
      if (ex.settled) return;
      ex.settled = true;
      inFlight--;
      const now = clock.now();
      const latencyMs = now - ex.intendedAt;
      const serviceMs = now - (ex.onSocketAt >= 0 ? ex.onSocketAt : ex.dispatchedAt);
      const errorClass = classifyError(err, status, goodStatus);
      const ok = errorClass === undefined;
      const isGood = ok && (latencyThreshold === undefined || latencyMs <= latencyThreshold);
      const b = ex.bucket;
      const ph = ex.phase;
      b.completed++;
      completed++;
      count(b, ph, isGood, errorClass);
      const latencyUs = usOf(latencyMs);
      b.hist.recordValue(latencyUs);
      if (ex.offset >= warmupMs) {
        const serviceUs = usOf(serviceMs);
        corrected.recordValue(latencyUs);
        service.recordValue(serviceUs);
        latencySumMs += latencyMs;
        if (ph) {
          ph.corrected.recordValue(latencyUs);
          ph.service.recordValue(serviceUs);
        }
      }
      if (sink) {
        const o: SliOutcome = { intendedAtMs: ex.intendedAt, completedAtMs: now, good: isGood, ok, latencyMs, serviceMs };
        if (errorClass !== undefined) o.errorClass = errorClass;
        else if (!isGood) o.errorClass = 'slow';
        if (status !== undefined && status > 0) o.status = status;
        if (servedBy !== undefined) o.servedBy = servedBy;
        sink.record(o);
      }
      maybeIdle();
    },
  };

  const fire = (offset: number): void => {
    const intendedAt = start + offset;
    scheduled++;
    const ph = phases.length > 0 ? phaseOf(offset) : undefined;
    if (ph) ph.scheduled++;
    const b = bucket(offset);
    if (inFlight >= maxInFlight) {
      // A request dropped at the in-flight cap never went out: it is bad, but not completed.
      dropped++;
      b.dropped++;
      count(b, ph, false, 'drop');
      if (sink) {
        const now = clock.now();
        sink.record({ intendedAtMs: intendedAt, completedAtMs: now, good: false, ok: false, latencyMs: now - intendedAt, serviceMs: 0, errorClass: 'drop' });
      }
      return;
    }
    const dispatchedAt = clock.now();
    if (offset >= warmupMs) lag.recordValue(usOf(dispatchedAt - intendedAt));
    sent++;
    b.sent++;
    if (ph) ph.sent++;
    inFlight++;
    const ex = new Exchange(hooks, offset, intendedAt, dispatchedAt, intendedAt + timeoutMs, b, ph);
    pending.push(ex);
    ex.handle = target.send(ex);
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

  // The scheduler: one ≥1 ms timer wake-up fires every request whose intended time has passed (a
  // batch per wake-up at high rates) and expires requests past their deadline.
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
      expire(clock.now());
      armDeadline();
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
  let boundTimer: NodeJS.Timeout | undefined;
  await Promise.race([idle, new Promise<void>((r) => (boundTimer = setTimeout(r, timeoutMs + 1000)))]);
  clearTimeout(boundTimer);
  if (deadlineTimer !== undefined) clearTimeout(deadlineTimer);
  if (progressTimer) clearInterval(progressTimer);
  const cpu = process.cpuUsage(cpuAtStart);
  await target.close().catch(() => {});
  const durationMs = clock.now() - start;

  const q = percentiles(queue);
  const serviceP = percentiles(service);
  const lagP = percentiles(lag);
  const verdict = judgeValidity({
    scheduled,
    sent,
    dropped,
    clientQueueMs: q,
    schedulingLagMs: lagP,
    serviceMs: serviceP,
    peakRate: peakRateOf(opts.schedule),
    ...(target.connections !== undefined ? { connections: target.connections } : {}),
    maxInFlight,
    warmupMs,
    queueSecondsOver: buckets.flatMap((b, second) => (b.queueOver > 0 && b.queueOver > b.sent * 0.01 ? [second] : [])),
    seconds: buckets.length,
  });
  const meanLatency = corrected.totalCount > 0 ? latencySumMs / corrected.totalCount : null;
  const throughput = durationMs > 0 ? completed / (durationMs / 1000) : 0;
  const cpuMs = (cpu.user + cpu.system) / 1000;

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
    valid: verdict.valid,
    invalidReasons: verdict.reasons,
    invalidCause: verdict.cause,
    advice: verdict.advice,
    durationMs,
    latencyMs: { corrected: percentiles(corrected), service: serviceP },
    schedulingLagMs: lagP,
    clientQueueMs: q,
    errors,
    littlesLaw: {
      throughputPerSec: throughput,
      meanLatencyMs: meanLatency,
      concurrency: meanLatency === null ? null : throughput * (meanLatency / 1000),
    },
    generator: {
      warmupMs,
      prewarmedConnections: prewarmed,
      ...(target.connections !== undefined ? { connections: target.connections } : {}),
      cpuMs,
      cpuUsPerRequest: sent > 0 ? (cpuMs * 1000) / sent : null,
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
