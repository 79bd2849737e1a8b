import { describe, expect, it } from 'vitest';
import * as hdr from 'hdr-histogram-js';
import { percentiles } from './percentiles.ts';

describe('latency percentiles', () => {
  it('never reports a percentile above the largest value recorded (HDR buckets round up)', () => {
    const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
    for (let i = 0; i < 999; i++) h.recordValue(1000 + i);
    h.recordValue(123_457);
    const p = percentiles(h);
    expect(p.max).toBe(h.maxValue / 1000);
    for (const v of [p.p50, p.p90, p.p99, p.p999]) expect(v!).toBeLessThanOrEqual(p.max!);
    expect(p.p50).toBeCloseTo(1.5, 1);
  });
});
