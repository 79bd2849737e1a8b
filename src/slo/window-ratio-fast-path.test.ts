/**
 * The engine's window ratio reads a monotonic series with two binary searches instead of a pass over
 * its samples: it must give the same float64 as the full Prometheus computation, bit for bit.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../shared/index.ts';
import { windowRatio, type CounterSample } from './evaluator.ts';

const MIN = 60_000;

function monotonicSeries(rng: Rng, n: number): CounterSample[] {
  const out: CounterSample[] = [];
  let total = rng.next() * 1e6;
  let errors = total * rng.next() * 0.01;
  for (let i = 0; i < n; i++) {
    // Irregular scrape times, bursts and quiet stretches, fractional counts (an assumed history has them).
    const served = rng.next() < 0.1 ? 0 : rng.next() * 5000;
    total += served;
    errors += served * (rng.next() < 0.2 ? rng.next() : rng.next() * 0.001);
    out.push({ t: i * MIN + Math.floor(rng.next() * 2000), total, errors });
  }
  return out;
}

describe('window ratio of a monotonic series', () => {
  it('equals the full computation bit for bit over 2,000 random windows', () => {
    const rng = Rng.fromSeed(17);
    const samples = monotonicSeries(rng, 2000);
    let compared = 0;
    for (let k = 0; k < 2000; k++) {
      const t = Math.floor(rng.next() * 2000 * MIN);
      const range = [5, 30, 60, 360, 1440][k % 5]! * MIN;
      const from = Math.max(0, Math.floor((t - range) / MIN) - 3);
      const full = windowRatio(samples, t, range);
      const fast = windowRatio(samples, t, range, from, true);
      expect(Object.is(fast, full)).toBe(true);
      if (full !== undefined) compared++;
    }
    expect(compared).toBeGreaterThan(1500);
  });

  it('a series with a counter reset still gets the reset correction on the default path', () => {
    const reset: CounterSample[] = [
      { t: 0, total: 100, errors: 10 },
      { t: MIN, total: 150, errors: 15 },
      { t: 2 * MIN, total: 50, errors: 5 },
    ];
    // increase 150 + 50 = 200 requests and 20 errors over the window, as Prometheus counts it.
    expect(windowRatio(reset, 2 * MIN, 2 * MIN)).toBeCloseTo(20 / 200, 12);
  });
});
