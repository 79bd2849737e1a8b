/**
 * Timers that can hold any delay. Node's setTimeout stores the delay in a signed 32-bit integer: past
 * 2^31 − 1 ms (≈ 24.8 days) it fires after 1 ms instead (a 30-day lease healing at once). A long
 * timer waits in chunks of at most that size and checks a monotonic deadline on every wake.
 *
 * Also the one abortable `sleep` (see its comment for the abort semantics) and `atMonotonic`, which
 * never fires before its monotonic target.
 */
import { InputError } from './errors.ts';

/** The longest delay one Node timer holds (ms). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimer {
  clear(): void;
  /** Monotonic time (performance.now()) at which it fires. */
  readonly deadline: number;
}

/** Like setTimeout, for any finite non-negative delay; `unref` (default true) keeps it from holding the process open. */
export function setLongTimeout(fn: () => void, ms: number, opts: { unref?: boolean; now?: () => number } = {}): LongTimer {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new InputError('FAULTLINE_INPUT_TIMER', `a timer needs a finite, non-negative delay (got ${String(ms)})`);
  }
  const now = opts.now ?? (() => performance.now());
  const deadline = now() + ms;
  let handle: NodeJS.Timeout | undefined;
  let cleared = false;
  const arm = (left: number): void => {
    handle = setTimeout(tick, Math.min(Math.max(0, Math.ceil(left)), MAX_TIMER_MS));
    if (opts.unref !== false) handle.unref();
  };
  const tick = (): void => {
    if (cleared) return;
    const left = deadline - now();
    if (left > 0) return arm(left);
    handle = undefined;
    fn();
  };
  arm(ms);
  return {
    deadline,
    clear() {
      if (cleared) return;
      cleared = true;
      if (handle) clearTimeout(handle);
    },
  };
}

/**
 * Calls `fn` once `performance.now()` has reached `target`, never early: Node timers run on a cached
 * millisecond loop clock and can fire up to ~1 ms before the monotonic clock reaches the target, so the
 * remainder is waited again (sub-millisecond remainders via setImmediate; delays past MAX_TIMER_MS in
 * chunks). The timer holds the process open. Returns a cancel function.
 */
export function atMonotonic(target: number, fn: () => void): () => void {
  let t: NodeJS.Timeout | undefined;
  let im: NodeJS.Immediate | undefined;
  const wait = (): void => {
    t = undefined;
    im = undefined;
    const left = target - performance.now();
    if (left <= 0) fn();
    else if (left >= 1) t = setTimeout(wait, Math.min(Math.floor(left), MAX_TIMER_MS));
    else im = setImmediate(wait);
  };
  wait();
  return () => {
    if (t) clearTimeout(t);
    if (im) clearImmediate(im);
  };
}

/**
 * faultline's one abortable sleep. Semantics:
 * - resolves once `ms` have passed on the monotonic clock, never earlier (see atMonotonic); any
 *   delay is held (chunked past MAX_TIMER_MS), and `ms <= 0` resolves at once;
 * - when `signal` aborts — before the call or during the wait — it resolves at once and never
 *   rejects: the caller checks `signal.aborted` (a drill throws its typed abort error, a link stops
 *   writing, a poll loop ends);
 * - "at once" is the event loop's next turn (setImmediate), never the same run of microtasks: a loop
 *   that awaits an aborted sleep and a step that completes without IO would otherwise never yield, so
 *   no timer, socket or signal handler runs again — the process spins at 100 % CPU and never reaches
 *   the code that would end the loop (a SIGTERM'd drill hung that way with its primary SIGSTOPped);
 * - it leaves nothing behind: the abort listener is removed when the time is up, the timer when aborted.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted || !(ms > 0)) {
      setImmediate(resolve);
      return;
    }
    const onAbort = (): void => {
      cancel();
      resolve();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const cancel = atMonotonic(performance.now() + ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
