/** Timing for the injector's stages and datagrams. */
const nowMs = (): number => performance.now();

/**
 * Sleeps `ms` on the monotonic clock, never waking early: Node timers run on a cached millisecond loop
 * clock and can fire up to ~1 ms before `performance.now()` reaches the target, so the remainder is
 * slept again (sub-millisecond remainders via setImmediate). Ends early (resolving) when `signal` aborts.
 */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted || ms <= 0) {
      resolve();
      return;
    }
    const target = nowMs() + ms;
    let t: NodeJS.Timeout | undefined;
    let im: NodeJS.Immediate | undefined;
    const done = (): void => {
      if (t) clearTimeout(t);
      if (im) clearImmediate(im);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const wait = (): void => {
      t = undefined;
      im = undefined;
      const left = target - nowMs();
      if (left <= 0) done();
      else if (left >= 1) t = setTimeout(wait, Math.floor(left));
      else im = setImmediate(wait);
    };
    signal.addEventListener('abort', done, { once: true });
    wait();
  });
}
