import { describe, expect, it } from 'vitest';
import { harnessCheck } from './harness-check.ts';

const lag = (p99: number | null) => ({ schedulingLagMs: { count: p99 === null ? 0 : 100, p50: p99, p90: p99, p99, p999: p99, max: p99, mean: p99 } });

describe('harness check: did faultline keep its own load schedule', () => {
  it('a failed experiment whose generator ran late says a failing row may be faultline\'s doing', () => {
    const h = harnessCheck(lag(31.5), false);
    expect(h.starved).toBe(true);
    expect(h.note).toBe(
      "the load generator ran late on its own schedule (scheduling lag p99 31.5 ms > 10 ms): faultline was short of CPU, so the latencies it measured include its own delay, and a failing latency or burn-rate row may be faultline's doing, not the target's — re-run on a less loaded machine or with a lower load.rate",
    );
  });

  it('a passed experiment with a late generator still says so, and that the expectations held', () => {
    const h = harnessCheck(lag(12), true);
    expect(h.starved).toBe(true);
    expect(h.note).toMatch(/scheduling lag p99 12 ms > 10 ms\).*the expectations held all the same$/);
  });

  it('a generator on schedule (up to the limit), or with nothing sent after the warm-up, gets no note', () => {
    for (const p99 of [0.4, 10, null]) {
      const h = harnessCheck(lag(p99), false);
      expect(h).toEqual({ schedulingLagP99Ms: p99, limitMs: 10, starved: false });
    }
  });
});
