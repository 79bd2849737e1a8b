/**
 * HDR histograms of latencies in microseconds (1 µs .. 1 h, 3 significant digits) and their
 * summary in milliseconds — the injector's achieved delays and the load generator's latencies.
 */
import * as hdr from 'hdr-histogram-js';

export type LatencyHistogram = hdr.Histogram;

export function latencyHistogramUs(): LatencyHistogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

export interface LatencySummaryMs {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** The histogram's count and its percentiles, max and mean in ms (to 1 µs). */
export function summariseLatencyUs(h: LatencyHistogram): LatencySummaryMs {
  const ms = (us: number): number => Math.round(us) / 1000;
  // A percentile is the highest value of its HDR bucket, which can lie above the largest value
  // recorded: never report a percentile above the maximum.
  const max = h.maxValue;
  const at = (p: number): number => ms(Math.min(h.getValueAtPercentile(p), max));
  return {
    count: h.totalCount,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    max: ms(max),
    mean: ms(meanOf(h)),
  };
}

/**
 * The histogram's mean, bit for bit what hdr-histogram-js's `mean` returns (the same terms summed in
 * the same order: each recorded bucket's median-equivalent value times its count), in one pass over
 * the counts. The library's getter walks an iterator that allocates and recomputes bucket values at
 * every index: ~1 ms per histogram, which made the per-second summary of a 76 s run block the
 * harness's event loop for ~100 ms. Falls back to the getter for a histogram that is not the JS one.
 */
export function meanOf(h: LatencyHistogram): number {
  if (!(h instanceof hdr.JsHistogram)) return h.mean;
  const total = h.totalCount;
  if (total === 0) return 0;
  let sum = 0;
  let seen = 0;
  for (let i = 0; seen < total && i < h.countsArrayLength; i++) {
    const c = h.getCountAtIndex(i);
    if (c === 0) continue;
    sum += h.medianEquivalentValue(h.highestEquivalentValue(h.valueFromIndex(i))) * c;
    seen += c;
  }
  return sum / total;
}
