/**
 * The one validity rule for an open-loop run, used by `faultline load`, scenarios and the load
 * benchmark alike: a run is valid when it sent at least 99 % of its scheduled requests and requests
 * waited client-side (on the wire − intended send time) at most 50 ms at p99. When it is not, the
 * verdict says whether the generator or the target made it so, and which knob to turn.
 */
import type { Percentiles } from './percentiles.ts';

export const VALIDITY_RULE = {
  /** sent / scheduled must be at least this. */
  minSentShare: 0.99,
  /** Client-side queueing (on the wire − intended) p99 must be at most this (ms). */
  maxClientQueueP99Ms: 50,
} as const;

/**
 * Scheduling lag (fire time − intended send time, after the warm-up) p99 above which the generator was
 * short of CPU: its own event loop ran late. A slow or faulted target cannot cause it (that shows as
 * service time or client-side queueing), so it names faultline, not the target.
 */
export const GENERATOR_LAG_LIMIT_MS = 10;

/** What the rule looks at: a run's counts and histograms, and the generator settings that produced them. */
export interface ValidityInput {
  scheduled: number;
  sent: number;
  dropped: number;
  clientQueueMs: Percentiles;
  schedulingLagMs: Percentiles;
  /** Service time (completion − on the wire). */
  serviceMs: Percentiles;
  /** The schedule's highest planned rate (req/s). */
  peakRate: number;
  /** Connection cap of the target's pool (HTTP), if it has one. */
  connections?: number;
  maxInFlight: number;
  warmupMs: number;
  /** Seconds (from the start) in which more than 1 % of the requests queued client-side beyond the limit. */
  queueSecondsOver: number[];
  /** Length of the run in whole seconds (per-second buckets). */
  seconds: number;
}

export interface Validity {
  valid: boolean;
  /** Why it is invalid, one sentence per broken condition (empty when valid). */
  reasons: string[];
  /** Who made the run invalid: the generator (its settings or its CPU) or the target (too slow for the in-flight cap). */
  cause: 'generator' | 'target' | null;
  /** What to change, in flag terms, to get a valid run. */
  advice: string[];
}

const ms = (v: number | null): string => (v === null ? '-' : `${v} ms`);
const fmtDuration = (v: number): string => (v % 1000 === 0 ? `${v / 1000}s` : `${v}ms`);

/** Concurrency the target needs at `rate` req/s when a request takes `latencyMs` (Little's law), with 2× headroom. */
export function connectionsFor(rate: number, latencyMs: number): number {
  return Math.max(1, Math.ceil(((rate * Math.max(latencyMs, 1)) / 1000) * 2));
}

export function judgeValidity(i: ValidityInput): Validity {
  const reasons: string[] = [];
  const advice: string[] = [];
  let cause: Validity['cause'] = null;
  const servP99 = i.serviceMs.p99;
  const lagP99 = i.schedulingLagMs.p99;

  const q = i.clientQueueMs.p99;
  const queued = q !== null && q > VALIDITY_RULE.maxClientQueueP99Ms;

  if (i.scheduled > 0 && i.sent / i.scheduled < VALIDITY_RULE.minSentShare) {
    reasons.push(`only ${((i.sent / i.scheduled) * 100).toFixed(2)} % of scheduled requests were sent (< ${VALIDITY_RULE.minSentShare * 100} %)`);
    // Drops happen at the in-flight cap: either the target is slow (rate × its latency reaches the
    // cap) or the cap is too low for the rate even at a fast target's latency.
    const inFlight = servP99 === null ? null : Math.ceil((i.peakRate * servP99) / 1000);
    if (queued) {
      cause = 'generator';
      advice.push(`${i.dropped} requests were dropped at the in-flight cap (--max-in-flight ${i.maxInFlight}) because requests piled up in the generator's own queue`);
    } else if (servP99 !== null && servP99 > VALIDITY_RULE.maxClientQueueP99Ms && inFlight !== null && inFlight * 2 > i.maxInFlight) {
      cause = 'target';
      advice.push(
        `the target's service time p99 ${ms(servP99)} at ${i.peakRate} req/s keeps ≈ ${inFlight} requests in flight, at the cap of --max-in-flight ${i.maxInFlight}: that is the target's slowness; raise --max-in-flight to measure it without drops`,
      );
    } else {
      cause = 'generator';
      advice.push(
        `${i.dropped} requests were dropped at the generator's in-flight cap (--max-in-flight ${i.maxInFlight}) while the target answered in ${ms(servP99)} at p99: raise --max-in-flight (≥ ${connectionsFor(i.peakRate, servP99 ?? 1)})`,
      );
    }
  }

  if (queued) {
    reasons.push(
      `client-side queueing p99 ${q} ms > ${VALIDITY_RULE.maxClientQueueP99Ms} ms: requests waited in the generator before reaching the wire (too few connections or an overloaded generator)`,
    );
    cause = 'generator';
    const fast = servP99 !== null && servP99 <= VALIDITY_RULE.maxClientQueueP99Ms;
    if (fast) advice.push(`the target answered in ${ms(servP99)} at p99 once a request reached it: the wait was in the generator, not the target`);
    if (lagP99 !== null && lagP99 > GENERATOR_LAG_LIMIT_MS) {
      advice.push(`the generator ran late on its own schedule (scheduling lag p99 ${ms(lagP99)}): it is short of CPU; lower --rate or run it on a less loaded machine`);
    }
    // Only right after the warm-up, in a run that went on long enough to show it settled.
    const settled = Math.floor(i.warmupMs / 1000) + 1;
    const startOnly = i.queueSecondsOver.length > 0 && i.seconds > settled + 1 && i.queueSecondsOver.every((s) => s <= settled);
    if (startOnly) {
      advice.push(`the queueing was only in the first second after the warm-up (${i.queueSecondsOver.map((s) => `second ${s}`).join(', ')}): raise --warmup (now ${fmtDuration(i.warmupMs)})`);
    }
    if (i.connections !== undefined) {
      const want = connectionsFor(i.peakRate, (servP99 ?? 1) + (lagP99 ?? 0));
      if (want > i.connections) advice.push(`raise --connections (now ${i.connections}; ${i.peakRate} req/s × (service p99 + scheduling lag p99) needs ≈ ${want})`);
      else if (!startOnly && (lagP99 === null || lagP99 <= GENERATOR_LAG_LIMIT_MS)) advice.push(`raise --warmup (now ${fmtDuration(i.warmupMs)}) or --connections (now ${i.connections})`);
    }
  }
  return { valid: reasons.length === 0, reasons, cause: reasons.length === 0 ? null : cause, advice };
}
