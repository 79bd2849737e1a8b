/** Pure fault logic: jitter distributions and the TCP loss (RTO stall) model, with seeded draws. */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/shared/index.ts';
import { drawLatency, drawLossStall } from '../../src/injector/faults.ts';

const stats = (xs: number[]) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
  const sorted = [...xs].sort((a, b) => a - b);
  return { mean, sd, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, q: (p: number) => sorted[Math.floor(p * (sorted.length - 1))] as number };
};

describe('latency jitter distributions', () => {
  const n = 50_000;
  const draw = (dist: 'uniform' | 'normal' | 'pareto', latency: number, jitter: number, seed = 'jitter') => {
    const r = Rng.fromSeed(seed);
    return Array.from({ length: n }, () => drawLatency(r, latency, jitter, dist));
  };

  it('uniform: latency ± jitter, flat (Toxiproxy meaning)', () => {
    const s = stats(draw('uniform', 100, 20));
    expect(s.min).toBeGreaterThanOrEqual(80);
    expect(s.max).toBeLessThan(120);
    expect(s.mean).toBeCloseTo(100, 0);
    // Flat on [80, 120): sd = 40/√12 ≈ 11.55, quartiles at 90 and 110.
    expect(s.sd).toBeCloseTo(40 / Math.sqrt(12), 0);
    expect(s.q(0.25)).toBeCloseTo(90, 0);
    expect(s.q(0.75)).toBeCloseTo(110, 0);
  });

  it('normal: jitter is the standard deviation', () => {
    const s = stats(draw('normal', 100, 10));
    expect(s.mean).toBeCloseTo(100, 0);
    expect(Math.abs(s.sd - 10)).toBeLessThan(0.3);
    // ~95.4 % within ±2 sd.
    const xs = draw('normal', 100, 10);
    const within = xs.filter((x) => Math.abs(x - 100) <= 20).length / n;
    expect(Math.abs(within - 0.9545)).toBeLessThan(0.01);
  });

  it('pareto: latency is the minimum, mean extra delay is jitter, heavy tail', () => {
    const s = stats(draw('pareto', 50, 10));
    expect(s.min).toBeGreaterThanOrEqual(50);
    expect(Math.abs(s.mean - 60)).toBeLessThan(0.6);
    // Lomax(alpha 3, λ 20): P(extra > 40) = (1 + 40/20)^-3 = 1/27; a normal with the same sd would be far lighter.
    const tail = draw('pareto', 50, 10).filter((x) => x - 50 > 40).length / n;
    expect(Math.abs(tail - 1 / 27)).toBeLessThan(0.004);
    expect(s.max).toBeGreaterThan(200);
  });

  it('clamps negative draws to 0 and ignores the distribution when jitter is 0', () => {
    expect(Math.min(...draw('normal', 1, 50))).toBe(0);
    expect(new Set(draw('pareto', 7, 0))).toEqual(new Set([7]));
  });

  it('replays the same draws for the same seed and differs for another seed', () => {
    expect(draw('normal', 10, 3, 'a').slice(0, 50)).toEqual(draw('normal', 10, 3, 'a').slice(0, 50));
    expect(draw('normal', 10, 3, 'a').slice(0, 50)).not.toEqual(draw('normal', 10, 3, 'b').slice(0, 50));
  });
});

describe('TCP loss as retransmission stall', () => {
  const params = { probability: 0, correlation: 0, rto: 200, maxRto: 60_000 };

  it('delays by rto, doubling per consecutive loss: rto, 3·rto, 7·rto …, capped by max_rto', () => {
    const seen = new Map<number, number>();
    const r = Rng.fromSeed('loss');
    for (let i = 0; i < 20_000; i++) {
      const { stallMs, losses } = drawLossStall(r, { ...params, probability: 0.5 });
      let expected = 0;
      for (let k = 0; k < losses; k++) expected += Math.min(200 * 2 ** k, 60_000);
      expect(stallMs).toBe(expected);
      seen.set(losses, (seen.get(losses) ?? 0) + 1);
    }
    // Run length of losses is geometric: P(k) = 0.5^(k+1).
    expect((seen.get(0) ?? 0) / 20_000).toBeCloseTo(0.5, 1);
    expect((seen.get(1) ?? 0) / 20_000).toBeCloseTo(0.25, 1);
    expect((seen.get(2) ?? 0) / 20_000).toBeCloseTo(0.125, 1);
    const capped = drawLossStall(Rng.fromSeed(1), { probability: 1, correlation: 0, rto: 100, maxRto: 300 });
    // 100 + 200 + 300 + 300 + … up to the one-hour cap: never infinite.
    expect(capped.stallMs).toBe(3_600_000);
  });

  it('never stalls with probability 0; loss rate of first transmissions matches probability', () => {
    const r = Rng.fromSeed('rate');
    let lost = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      expect(drawLossStall(r, params).stallMs).toBe(0);
      if (drawLossStall(r, { ...params, probability: 0.1 }).losses > 0) lost++;
    }
    const half = 2.576 * Math.sqrt((0.1 * 0.9) / n);
    expect(Math.abs(lost / n - 0.1)).toBeLessThan(half);
  });

  it('burst correlation lengthens runs of consecutive losses', () => {
    const runs = (correlation: number) => {
      const r = Rng.fromSeed('burst');
      let lossy = 0;
      let multi = 0;
      for (let i = 0; i < 40_000; i++) {
        const { losses } = drawLossStall(r, { ...params, probability: 0.1, correlation });
        if (losses > 0) lossy++;
        if (losses > 1) multi++;
      }
      return multi / lossy;
    };
    // P(a retransmission is lost too) = p without correlation, p + correlation with it.
    expect(Math.abs(runs(0) - 0.1)).toBeLessThan(0.03);
    expect(Math.abs(runs(0.5) - 0.6)).toBeLessThan(0.03);
  });
});
