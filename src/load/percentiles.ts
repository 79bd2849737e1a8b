/** A latency histogram's percentiles in ms — null while it holds no sample. */
import { summariseLatencyUs, type LatencyHistogram } from '../shared/index.ts';

export interface Percentiles {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
  mean: number | null;
}

export function percentiles(h: LatencyHistogram): Percentiles {
  if (h.totalCount === 0) return { count: 0, p50: null, p90: null, p99: null, p999: null, max: null, mean: null };
  return summariseLatencyUs(h);
}
