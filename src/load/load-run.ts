/**
 * One open-loop run's hot path: the scheduler fires requests at their intended times, a FIFO of
 * deadlines expires late ones, and each outcome is recorded into HDR histograms and counters (no
 * allocation beyond one Exchange per request). driver.ts builds the result from a finished run.
 */
import { latencyHistogramUs, type Clock, type LatencyHistogram } from '../shared/index.ts';
import { arrivalOffsets, type ScheduleShape } from './schedule.ts';
import { classifyError, type Abortable, type Target } from './targets.ts';
import { VALIDITY_RULE } from './validity.ts';
import { percentiles } from './percentiles.ts';
import type { LoadOptions, LoadPhase, LoadProgress, SliOutcome, SliSink } from './load-types.ts';

const histogram = latencyHistogramUs;

const usOf = (ms: number): number => Math.max(1, Math.round(ms * 1000));

/** The process's CPU time so far (user + system, µs). */
export function cpuNowUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** One second of the run (by intended send time). */
export interface Bucket {
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

export interface PhaseAcc {
  phase: LoadPhase;
  scheduled: number;
  sent: number;
  good: number;
  bad: number;
  errors: Record<string, number>;
  corrected: LatencyHistogram;
  service: LatencyHistogram;
}

/**
 * One request in flight: its times and where it is counted. A class (not a set of closures) so a
 * request costs one small object on the driver's side; it is the target's callbacks itself.
 */
class Exchange {
  onSocketAt = -1;
  settled = false;
  handle: Abortable | undefined = undefined;

  constructor(
    private readonly run: LoadRun,
    readonly offset: number,
    readonly intendedAt: number,
    readonly dispatchedAt: number,
    /** intendedAt + timeout: ascending in send order, so in-flight requests form a FIFO of deadlines. */
    readonly deadlineAt: number,
    readonly bucket: Bucket,
    readonly phase: PhaseAcc | undefined,
  ) {}

  onSocket(): void {
    this.run.onSocket(this);
  }

  done(err: Error | undefined, status?: number, servedBy?: string): void {
    this.run.settle(this, err, status, servedBy);
  }
}

export class LoadRun {
  readonly corrected = histogram();
  readonly service = histogram();
  readonly lag = histogram();
  readonly queue = histogram();
  readonly errors: Record<string, number> = {};
  readonly buckets: Bucket[] = [];
  readonly phases: PhaseAcc[];
  scheduled = 0;
  sent = 0;
  dropped = 0;
  completed = 0;
  good = 0;
  bad = 0;
  inFlight = 0;
  latencySumMs = 0;
  aborted = false;
  readonly start: number;
  private readonly timeoutMs: number;
  private readonly warmupMs: number;
  private readonly goodStatus: (status: number) => boolean;
  private readonly latencyThreshold: number | undefined;
  private readonly sink: SliSink | undefined;
  private readonly queueLimitUs = VALIDITY_RULE.maxClientQueueP99Ms * 1000;
  /** Requests in flight in send order (= deadline order); entries before `head` are done. */
  private readonly pending: Array<Exchange | undefined> = [];
  private head = 0;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private doneScheduling = false;
  private allSettled: (() => void) | undefined;
  /** Process CPU time (µs) and requests sent when the first request after the warm-up fired. */
  steadyFrom: { cpuUs: number; sent: number } | undefined = undefined;

  constructor(
    private readonly target: Target,
    private readonly clock: Clock,
    readonly maxInFlight: number,
    opts: Pick<LoadOptions, 'timeoutMs' | 'warmupMs' | 'sli' | 'sink' | 'phases'>,
    goodStatus: (status: number) => boolean,
  ) {
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.warmupMs = opts.warmupMs ?? 0;
    this.goodStatus = goodStatus;
    this.latencyThreshold = opts.sli?.latencyThresholdMs;
    this.sink = opts.sink;
    this.phases = (opts.phases ?? []).map((phase) => ({ phase, scheduled: 0, sent: 0, good: 0, bad: 0, errors: {}, corrected: histogram(), service: histogram() }));
    this.start = clock.now();
  }

  bucket(offsetMs: number): Bucket {
    const s = Math.max(0, Math.floor(offsetMs / 1000));
    while (this.buckets.length <= s) this.buckets.push({ sent: 0, completed: 0, good: 0, bad: 0, dropped: 0, queueOver: 0, errors: {}, hist: histogram() });
    return this.buckets[s] as Bucket;
  }

  private phaseOf(offsetMs: number): PhaseAcc | undefined {
    for (const p of this.phases) if (offsetMs >= p.phase.startMs && offsetMs < p.phase.endMs) return p;
    return undefined;
  }

  private count(b: Bucket, ph: PhaseAcc | undefined, isGood: boolean, errorClass: string | undefined): void {
    if (isGood) {
      this.good++;
      b.good++;
      if (ph) ph.good++;
      return;
    }
    this.bad++;
    b.bad++;
    if (ph) ph.bad++;
    const cls = errorClass ?? 'slow';
    this.errors[cls] = (this.errors[cls] ?? 0) + 1;
    b.errors[cls] = (b.errors[cls] ?? 0) + 1;
    if (ph) ph.errors[cls] = (ph.errors[cls] ?? 0) + 1;
  }

  /** Client-side queueing of a request (after the warm-up): intended → on the wire, or → its deadline. */
  private recordQueue(ex: Exchange, at: number): void {
    if (ex.offset < this.warmupMs) return;
    const q = usOf(at - ex.intendedAt);
    this.queue.recordValue(q);
    if (q > this.queueLimitUs) ex.bucket.queueOver++;
  }

  onSocket(ex: Exchange): void {
    ex.onSocketAt = this.clock.now();
    this.recordQueue(ex, ex.onSocketAt);
  }

  settle(ex: Exchange, err: Error | undefined, status?: number, servedBy?: string): void {
    if (ex.settled) return;
    ex.settled = true;
    this.inFlight--;
    const now = this.clock.now();
    const latencyMs = now - ex.intendedAt;
    const serviceMs = now - (ex.onSocketAt >= 0 ? ex.onSocketAt : ex.dispatchedAt);
    const errorClass = classifyError(err, status, this.goodStatus);
    const ok = errorClass === undefined;
    const isGood = ok && (this.latencyThreshold === undefined || latencyMs <= this.latencyThreshold);
    const b = ex.bucket;
    const ph = ex.phase;
    b.completed++;
    this.completed++;
    this.count(b, ph, isGood, errorClass);
    const latencyUs = usOf(latencyMs);
    b.hist.recordValue(latencyUs);
    if (ex.offset >= this.warmupMs) {
      const serviceUs = usOf(serviceMs);
      this.corrected.recordValue(latencyUs);
      this.service.recordValue(serviceUs);
      this.latencySumMs += latencyMs;
      if (ph) {
        ph.corrected.recordValue(latencyUs);
        ph.service.recordValue(serviceUs);
      }
    }
    if (this.sink) this.sink.record(outcome(ex.intendedAt, now, isGood, ok, latencyMs, serviceMs, errorClass, status, servedBy));
    this.maybeAllSettled();
  }

  /** Starts the request intended at `offset` (ms from the start), or drops it at the in-flight cap. */
  private fire(offset: number): void {
    const intendedAt = this.start + offset;
    this.scheduled++;
    const ph = this.phases.length > 0 ? this.phaseOf(offset) : undefined;
    if (ph) ph.scheduled++;
    const b = this.bucket(offset);
    if (this.inFlight >= this.maxInFlight) {
      // A request dropped at the in-flight cap never went out: it is bad, but not completed.
      this.dropped++;
      b.dropped++;
      this.count(b, ph, false, 'drop');
      if (this.sink) {
        const now = this.clock.now();
        this.sink.record({ intendedAtMs: intendedAt, completedAtMs: now, good: false, ok: false, latencyMs: now - intendedAt, serviceMs: 0, errorClass: 'drop' });
      }
      return;
    }
    const dispatchedAt = this.clock.now();
    if (offset >= this.warmupMs) {
      this.lag.recordValue(usOf(dispatchedAt - intendedAt));
      this.steadyFrom ??= { cpuUs: cpuNowUs(), sent: this.sent };
    }
    this.sent++;
    b.sent++;
    if (ph) ph.sent++;
    this.inFlight++;
    const ex = new Exchange(this, offset, intendedAt, dispatchedAt, intendedAt + this.timeoutMs, b, ph);
    this.pending.push(ex);
    ex.handle = this.target.send(ex);
  }

  /**
   * Deadlines. Intended times ascend, so deadlines (intended + timeout) ascend in send order: the
   * requests in flight form a FIFO, and one timer armed for its oldest live entry replaces a timer
   * (and an AbortController) per request.
   */
  private expire(now: number): void {
    const pending = this.pending;
    while (this.head < pending.length) {
      const ex = pending[this.head] as Exchange;
      if (!ex.settled) {
        if (ex.deadlineAt > now) break;
        // The deadline is measured from the intended send time: a request the client could not start
        // on time has used part of its budget.
        const reason = new DOMException(`deadline of ${this.timeoutMs} ms exceeded`, 'TimeoutError');
        // A request that never left the generator's queue waited there for its whole budget: that is
        // client-side queueing too (without it an overloaded generator would show no queue at all).
        if (ex.onSocketAt < 0) this.recordQueue(ex, now);
        ex.handle?.abort(reason);
        this.settle(ex, reason);
      }
      pending[this.head++] = undefined;
    }
    if (this.head === pending.length) {
      pending.length = 0;
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > pending.length) {
      pending.splice(0, this.head);
      this.head = 0;
    }
  }

  private armDeadline(): void {
    if (this.deadlineTimer !== undefined || this.head >= this.pending.length) return;
    const next = this.pending[this.head] as Exchange;
    this.deadlineTimer = setTimeout(this.onDeadlineTimer, Math.max(1, next.deadlineAt - this.clock.now()));
  }

  private readonly onDeadlineTimer = (): void => {
    this.deadlineTimer = undefined;
    this.expire(this.clock.now());
    this.armDeadline();
  };

  /**
   * The scheduler: one ≥1 ms timer wake-up fires every request whose intended time has passed (a
   * batch per wake-up at high rates) and expires requests past their deadline. Resolves when every
   * request is fired (or the signal aborts).
   */
  schedule(shape: ScheduleShape, seed: string, signal: AbortSignal | undefined): Promise<void> {
    const it = arrivalOffsets(shape, seed);
    let next = it.next();
    return new Promise<void>((resolve) => {
      const onAbort = (): void => {
        this.aborted = true;
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const tick = (): void => {
        const elapsed = this.clock.now() - this.start;
        while (!next.done && next.value <= elapsed && !this.aborted) {
          this.fire(next.value);
          next = it.next();
        }
        this.expire(this.clock.now());
        this.armDeadline();
        if (next.done || this.aborted) {
          signal?.removeEventListener('abort', onAbort);
          resolve();
          return;
        }
        const wait = next.value - (this.clock.now() - this.start);
        setTimeout(tick, Math.max(1, Math.min(wait, 50)));
      };
      tick();
    });
  }

  private maybeAllSettled(): void {
    if (this.doneScheduling && this.inFlight === 0) this.allSettled?.();
  }

  /** After scheduling: waits for the requests in flight (they end by their own deadlines; bounded). */
  async drain(): Promise<void> {
    this.doneScheduling = true;
    const idle = new Promise<void>((r) => (this.allSettled = r));
    this.maybeAllSettled();
    let boundTimer: NodeJS.Timeout | undefined;
    await Promise.race([idle, new Promise<void>((r) => (boundTimer = setTimeout(r, this.timeoutMs + 1000)))]);
    clearTimeout(boundTimer);
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
  }

  /** Progress about once a second (over the last full second); returns the stop function. */
  reportProgress(onProgress: (p: LoadProgress) => void, totalMs: number): () => void {
    let last = { at: this.start, sent: 0, completed: 0, outcomes: 0, bad: 0 };
    const timer = setInterval(() => {
      const now = this.clock.now();
      const dt = Math.max(1, now - last.at) / 1000;
      const outcomes = this.completed + this.dropped;
      onProgress({
        elapsedMs: now - this.start,
        remainingMs: Math.max(0, totalMs - (now - this.start)),
        sentPerSec: (this.sent - last.sent) / dt,
        completedPerSec: (this.completed - last.completed) / dt,
        errorsPerSec: (this.bad - last.bad) / dt,
        // Over every outcome of the second: completed requests and drops (a drop is bad).
        errorRate: outcomes - last.outcomes > 0 ? (this.bad - last.bad) / (outcomes - last.outcomes) : 0,
        p99Ms: percentiles(this.bucket(Math.max(0, now - this.start - 1000)).hist).p99,
        inFlight: this.inFlight,
      });
      last = { at: now, sent: this.sent, completed: this.completed, outcomes, bad: this.bad };
    }, 1000);
    return () => clearInterval(timer);
  }
}

/** The SLI outcome of a settled request. */
function outcome(
  intendedAtMs: number,
  completedAtMs: number,
  good: boolean,
  ok: boolean,
  latencyMs: number,
  serviceMs: number,
  errorClass: string | undefined,
  status: number | undefined,
  servedBy: string | undefined,
): SliOutcome {
  const o: SliOutcome = { intendedAtMs, completedAtMs, good, ok, latencyMs, serviceMs };
  if (errorClass !== undefined) o.errorClass = errorClass;
  else if (!good) o.errorClass = 'slow';
  if (status !== undefined && status > 0) o.status = status;
  if (servedBy !== undefined) o.servedBy = servedBy;
  return o;
}
