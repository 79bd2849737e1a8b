/** Timing for the injector's stages and datagrams. */
const nowMs = (): number => performance.now();

/**
 * Calls `fn` once `performance.now()` has reached `target`, never early: Node timers run on a cached
 * millisecond loop clock and can fire up to ~1 ms before the monotonic clock reaches the target, so the
 * remainder is waited again (sub-millisecond remainders via setImmediate). Returns a cancel function.
 */
export function atMonotonic(target: number, fn: () => void): () => void {
  let t: NodeJS.Timeout | undefined;
  let im: NodeJS.Immediate | undefined;
  const wait = (): void => {
    t = undefined;
    im = undefined;
    const left = target - nowMs();
    if (left <= 0) fn();
    else if (left >= 1) t = setTimeout(wait, Math.floor(left));
    else im = setImmediate(wait);
  };
  wait();
  return () => {
    if (t) clearTimeout(t);
    if (im) clearImmediate(im);
  };
}

/** Sleeps `ms` on the monotonic clock, never waking early (see atMonotonic). Ends early (resolving) when `signal` aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted || ms <= 0) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      cancel();
      resolve();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const cancel = atMonotonic(nowMs() + ms, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
