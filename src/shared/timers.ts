/**
 * Timers that can hold any delay. Node's setTimeout stores the delay in a signed 32-bit integer: past
 * 2^31 − 1 ms (≈ 24.8 days) it fires after 1 ms instead (a 30-day lease healing at once). A long
 * timer waits in chunks of at most that size and checks a monotonic deadline on every wake.
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
