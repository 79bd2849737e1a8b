import { describe, expect, it } from 'vitest';
import { latencyHistogramUs, meanOf, summariseLatencyUs } from './latency-histogram.ts';
import { Rng } from './rng.ts';

describe('latency histogram summary', () => {
  it("reports the same mean as hdr-histogram-js, bit for bit, over shapes from sub-millisecond to partition timeouts", () => {
    const rng = Rng.fromSeed('latency-mean');
    for (let k = 0; k < 200; k++) {
      const h = latencyHistogramUs();
      const n = 1 + rng.int(3000);
      const scale = [50, 2_000, 60_000, 10_000_000][k % 4]!;
      for (let i = 0; i < n; i++) h.recordValue(1 + Math.floor(rng.next() * rng.next() * scale));
      expect(meanOf(h)).toBe(h.mean);
      expect(summariseLatencyUs(h).mean).toBe(Math.round(h.mean) / 1000);
    }
    expect(meanOf(latencyHistogramUs())).toBe(0);
  });
});
