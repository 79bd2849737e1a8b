/**
 * Good/bad outcomes over a sliding time window: how many, how many bad, their ratio and their
 * latencies. The runner keeps two — the live progress line's last second and the error-rate abort's
 * `aborts.errorRate.window` — and both slide the same way: an outcome at time t stays in the window
 * while t ≥ now − windowMs.
 */
interface Entry {
  t: number;
  good: boolean;
  latencyMs: number;
}

export class SlidingRatio {
  private entries: Entry[] = [];
  /** Index of the oldest entry still in the window (entries before it are dropped lazily). */
  private head = 0;
  private bad = 0;

  constructor(readonly windowMs: number) {}

  /** Outcomes in the window. */
  get count(): number {
    return this.entries.length - this.head;
  }

  /** Bad outcomes in the window. */
  get badCount(): number {
    return this.bad;
  }

  /** Bad / all in the window; 0 when empty. */
  get ratio(): number {
    const n = this.count;
    return n > 0 ? this.bad / n : 0;
  }

  /** Adds an outcome completed at `t` (ms; outcomes arrive in completion order). */
  add(t: number, good: boolean, latencyMs = 0): void {
    this.entries.push({ t, good, latencyMs });
    if (!good) this.bad++;
  }

  /** Drops the outcomes older than `now − windowMs` (in arrival order, like a queue). */
  slideTo(now: number): void {
    const oldest = now - this.windowMs;
    while (this.head < this.entries.length && (this.entries[this.head] as Entry).t < oldest) {
      if (!(this.entries[this.head] as Entry).good) this.bad--;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** Empties the window. */
  clear(): void {
    this.entries = [];
    this.head = 0;
    this.bad = 0;
  }

  /** The latencies in the window, ascending. */
  sortedLatencies(): number[] {
    const out: number[] = [];
    for (let i = this.head; i < this.entries.length; i++) out.push((this.entries[i] as Entry).latencyMs);
    return out.sort((a, b) => a - b);
  }
}
