/**
 * Injected time. Pure cores take a `Clock`; IO shells pass `realClock`, tests pass a `VirtualClock`.
 * `now()` is monotonic milliseconds (fractional); `wallNow()` is epoch milliseconds for reports.
 */
export interface Clock {
  /** Monotonic milliseconds since an arbitrary origin. */
  now(): number;
  /** Wall-clock epoch milliseconds (for timestamps in reports only; never for durations). */
  wallNow(): number;
  /** Resolves after `ms`; rejects with the signal's reason if aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

interface Sleeper {
  at: number;
  seq: number;
  resolve: () => void;
}

/** A clock that moves only when told to. `advance` wakes sleepers in time order. */
export class VirtualClock implements Clock {
  #now: number;
  #wallOrigin: number;
  #seq = 0;
  #sleepers: Sleeper[] = [];

  constructor(startMs = 0, wallOriginMs = 0) {
    this.#now = startMs;
    this.#wallOrigin = wallOriginMs;
  }

  now(): number {
    return this.#now;
  }

  wallNow(): number {
    return this.#wallOrigin + this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const sleeper: Sleeper = { at: this.#now + Math.max(0, ms), seq: this.#seq++, resolve };
      this.#sleepers.push(sleeper);
      signal?.addEventListener(
        'abort',
        () => {
          this.#sleepers = this.#sleepers.filter((s) => s !== sleeper);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  /** Moves time forward by `ms`, resolving due sleepers in order (awaiting microtasks between them). */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      this.#sleepers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.#sleepers[0];
      if (!next || next.at > target) break;
      this.#sleepers.shift();
      this.#now = next.at;
      next.resolve();
      await new Promise<void>((r) => setImmediate(r));
    }
    this.#now = target;
  }

  set(ms: number): void {
    this.#now = ms;
  }
}
