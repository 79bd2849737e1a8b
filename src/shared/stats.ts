/** Small statistics shared by reports and verdicts (histograms live where the samples are recorded). */

/**
 * Nearest-rank percentile (`p` in 0..100) of samples sorted ascending: the smallest value with at
 * least p % of the samples at or below it. `null` for no samples.
 */
export function percentileOfSorted(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

/** Nearest-rank percentile of unsorted samples (copies and sorts). */
export function percentile(samples: readonly number[], p: number): number | null {
  return percentileOfSorted([...samples].sort((a, b) => a - b), p);
}
