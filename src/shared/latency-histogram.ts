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
    mean: ms(h.mean),
  };
}
