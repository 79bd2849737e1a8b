/**
 * Per-fault statistics: counters every link the fault is attached to records into (chunks, bytes,
 * drops, stalls, resets, closes, refused connections), the achieved delay (HDR histogram and
 * Prometheus-style buckets) and the achieved bandwidth.
 */
import { latencyHistogramUs, summariseLatencyUs, type LatencyHistogram } from '../shared/index.ts';
import type { FaultInfo, FaultRecorder } from './faults.ts';

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Prometheus-style cumulative buckets of achieved delay: `count` chunks took at most `leMs` ms. */
export type DelayHistogram = Array<{ leMs: number | '+Inf'; count: number }>;

/** Upper bounds (ms) of the achieved-delay histogram buckets; the last bucket is +Inf. */
export const DELAY_BUCKETS_MS = [0.5, 1, 2, 5, 10, 20, 30, 40, 45, 50, 55, 60, 75, 100, 150, 200, 300, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000, Infinity];

export interface FaultStats extends FaultInfo {
  active: boolean;
  /** Connections on which the fault applied to at least one link (toxicity drawn per link). */
  connections: number;
  /** Links (connection × direction) the fault was attached to, and how many drew "not applied" by toxicity. */
  linksApplied: number;
  linksSkipped: number;
  chunks: number;
  bytes: number;
  droppedBytes: number;
  stalls: number;
  stallMs: number;
  resets: number;
  closes: number;
  refusedConnections: number;
  /** Achieved delay from read to write (ms) of chunks that went through the fault (latency, loss). */
  achievedDelayMs?: LatencySummary;
  achievedDelayHistogram?: DelayHistogram;
  /** Bandwidth: bytes the limiter let through per ms of pipe time it actually took (KB/s, 1 KB = 1000 B). */
  achievedRateKBps?: number;
  /** What was asked for, in the same units, for comparison. */
  requested: Record<string, unknown>;
  addedAt: number;
  removedAt?: number;
}

type Counters = Omit<FaultStats, keyof FaultInfo | 'achievedDelayMs' | 'achievedDelayHistogram' | 'achievedRateKBps' | 'requested'>;

/** The achieved-delay summary (ms) of a µs histogram. */
export function summariseHistogramUs(h: LatencyHistogram): LatencySummary {
  const { count, p50, p90, p99, max, mean } = summariseLatencyUs(h);
  return { count, p50, p90, p99, max, mean };
}

export class FaultStatistics {
  readonly counters: Counters;
  /** Achieved delay (µs), for the fault types that measure it (latency, loss). */
  private hist: LatencyHistogram | undefined;
  /** A retired fault's achieved-delay summary (its histogram is released). */
  private retiredSummary: LatencySummary | undefined;
  private readonly buckets: number[] | undefined;
  private readonly paced = { bytes: 0, busyMs: 0 };

  constructor(measuresDelay: boolean) {
    if (measuresDelay) {
      this.hist = latencyHistogramUs();
      this.buckets = DELAY_BUCKETS_MS.map(() => 0);
    }
    this.counters = {
      active: true,
      connections: 0,
      linksApplied: 0,
      linksSkipped: 0,
      chunks: 0,
      bytes: 0,
      droppedBytes: 0,
      stalls: 0,
      stallMs: 0,
      resets: 0,
      closes: 0,
      refusedConnections: 0,
      addedAt: Date.now(),
    };
  }

  /** One chunk's achieved delay from read to write (µs). */
  recordDelay(delayUs: number): void {
    if (!this.buckets) return;
    this.hist?.recordValue(delayUs);
    const ms = delayUs / 1000;
    let i = 0;
    while (ms > (DELAY_BUCKETS_MS[i] as number)) i++;
    this.buckets[i] = (this.buckets[i] as number) + 1;
  }

  /** What a stage records into (shared by every link of the fault). */
  recorder(): FaultRecorder {
    const s = this.counters;
    return {
      chunk: (b) => {
        s.chunks++;
        s.bytes += b;
      },
      delay: (ms) => this.recordDelay(Math.max(1, Math.round(ms * 1000))),
      paced: (bytes, busyMs) => {
        this.paced.bytes += bytes;
        this.paced.busyMs += busyMs;
      },
      stall: (ms) => {
        s.stalls++;
        s.stallMs += ms;
      },
      drop: (b) => (s.droppedBytes += b),
      reset: () => s.resets++,
      close: () => s.closes++,
    };
  }

  /**
   * The fault was removed: keep its achieved-delay summary and bucket counts, release the HDR histogram
   * (≈ 100 KB each; a long-lived `serve` toggling faults for days would otherwise grow without bound).
   * A chunk still in a stage when the fault is removed counts in the buckets only.
   */
  retire(): void {
    if (!this.hist) return;
    if (this.hist.totalCount > 0) this.retiredSummary = summariseHistogramUs(this.hist);
    this.hist = undefined;
  }

  /** The fault's statistics as reported (ProxyStats.faults). */
  snapshot(info: FaultInfo): FaultStats {
    const out: FaultStats = { ...info, ...this.counters, requested: { ...info.attributes, toxicity: info.toxicity } };
    const summary = this.hist && this.hist.totalCount > 0 ? summariseHistogramUs(this.hist) : this.retiredSummary;
    if (summary && this.buckets) {
      out.achievedDelayMs = summary;
      let cumulative = 0;
      out.achievedDelayHistogram = this.buckets.map((c, i) => {
        const le = DELAY_BUCKETS_MS[i] as number;
        return { leMs: Number.isFinite(le) ? le : '+Inf', count: (cumulative += c) };
      });
    }
    if (this.paced.busyMs > 0) out.achievedRateKBps = Math.round((this.paced.bytes / this.paced.busyMs) * 100) / 100;
    return out;
  }
}
