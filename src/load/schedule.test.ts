import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { arrivalOffsets, countArrivals, expectedArrivals, scheduleSchema, type ScheduleShape } from './schedule.ts';

const collect = (s: ScheduleShape, seed = 1): number[] => [...arrivalOffsets(s, seed)];

describe('arrival schedules', () => {
  it('constant: the count matches rate × duration and spacing is exactly 1/rate', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 100, max: 5000 }), (rate, duration) => {
        const xs = collect({ type: 'constant', rate, duration });
        expect(Math.abs(xs.length - (rate * duration) / 1000)).toBeLessThanOrEqual(1);
        for (let i = 1; i < xs.length; i++) expect((xs[i] as number) - (xs[i - 1] as number)).toBeCloseTo(1000 / rate, 6);
        expect(xs.every((x) => x >= 0 && x < duration)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('ramp, steps and spike: ascending offsets whose count matches the integral of the rate', () => {
    const shapes = fc.oneof(
      fc.record({ type: fc.constant('ramp' as const), from: fc.integer({ min: 0, max: 500 }), to: fc.integer({ min: 0, max: 500 }), duration: fc.integer({ min: 100, max: 4000 }) }),
      fc.record({
        type: fc.constant('steps' as const),
        steps: fc.array(fc.record({ rate: fc.integer({ min: 0, max: 500 }), duration: fc.integer({ min: 50, max: 2000 }) }), { minLength: 1, maxLength: 5 }),
      }),
      fc.record({
        type: fc.constant('spike' as const),
        rate: fc.integer({ min: 1, max: 300 }),
        multiplier: fc.integer({ min: 2, max: 10 }),
        duration: fc.integer({ min: 1000, max: 5000 }),
        spikeAt: fc.integer({ min: 0, max: 2000 }),
        spikeDuration: fc.integer({ min: 100, max: 2000 }),
      }),
    );
    fc.assert(
      fc.property(shapes, (s) => {
        const shape = s as ScheduleShape;
        const xs = collect(shape);
        for (let i = 1; i < xs.length; i++) expect(xs[i]).toBeGreaterThanOrEqual(xs[i - 1] as number);
        expect(Math.abs(xs.length - expectedArrivals(shape))).toBeLessThanOrEqual(1.000001);
      }),
      { numRuns: 100 },
    );
  });

  it('poisson: same seed, same arrivals; count within 4 standard deviations of rate × duration', () => {
    fc.assert(
      fc.property(fc.integer({ min: 50, max: 2000 }), fc.integer({ min: 0, max: 1e6 }), (rate, seed) => {
        const s: ScheduleShape = { type: 'poisson', rate, duration: 2000 };
        const a = collect(s, seed);
        expect(collect(s, seed)).toEqual(a);
        const mean = rate * 2;
        expect(Math.abs(a.length - mean)).toBeLessThan(4 * Math.sqrt(mean) + 1);
      }),
      { numRuns: 30 },
    );
  });

  it('soak is a long constant: identical arrivals, generated lazily', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 100, max: 5000 }), (rate, duration) => {
        expect(collect({ type: 'soak', rate, duration })).toEqual(collect({ type: 'constant', rate, duration }));
      }),
      { numRuns: 30 },
    );
    // 24 h at 10k req/s: the first arrivals come without materialising 864 million offsets.
    const it = arrivalOffsets({ type: 'soak', rate: 10_000, duration: 86_400_000 });
    expect([it.next().value, it.next().value, it.next().value]).toEqual([0, 0.1, 0.2]);
  });

  it('steps: within each step the spacing is 1/rate and its arrivals fall inside the step', () => {
    const steps = fc.array(fc.record({ rate: fc.integer({ min: 1, max: 500 }), duration: fc.integer({ min: 200, max: 2000 }) }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(steps, (st) => {
        const xs = collect({ type: 'steps', steps: st });
        let start = 0;
        for (const step of st) {
          const inStep = xs.filter((x) => x >= start && x < start + step.duration);
          expect(Math.abs(inStep.length - (step.rate * step.duration) / 1000)).toBeLessThanOrEqual(1);
          for (let i = 1; i < inStep.length; i++) expect((inStep[i] as number) - (inStep[i - 1] as number)).toBeCloseTo(1000 / step.rate, 6);
          start += step.duration;
        }
      }),
      { numRuns: 60 },
    );
  });

  it('poisson: gaps are positive with mean 1/rate, and arrivals stay inside the duration', () => {
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 2000 }), fc.integer({ min: 0, max: 1e6 }), (rate, seed) => {
        const xs = collect({ type: 'poisson', rate, duration: 5000 }, seed);
        const gaps = xs.slice(1).map((x, i) => x - (xs[i] as number));
        expect(gaps.every((g) => g >= 0)).toBe(true);
        expect(xs.every((x) => x >= 0 && x < 5000)).toBe(true);
        const mean = gaps.reduce((a, g) => a + g, 0) / gaps.length;
        // Mean of n exponential gaps: standard error (1/rate)/sqrt(n); allow 5 of them.
        expect(Math.abs(mean - 1000 / rate)).toBeLessThan((5 * (1000 / rate)) / Math.sqrt(gaps.length));
        // Exponential gaps: the coefficient of variation is about 1 (a constant schedule has 0).
        const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length);
        expect(sd / mean).toBeGreaterThan(0.8);
        expect(sd / mean).toBeLessThan(1.2);
      }),
      { numRuns: 30 },
    );
  });

  it('schedules are data: parsed from scenario-style durations', () => {
    const s = scheduleSchema.parse({ type: 'spike', rate: 10, multiplier: 5, duration: '10s', spikeAt: '2s', spikeDuration: '1s' });
    expect(countArrivals(s)).toBe(10 * 9 + 50);
    expect(() => scheduleSchema.parse({ type: 'constant', rate: -1, duration: '1s' })).toThrow();
  });
});

describe('arrival schedule known answers', () => {
  it('a seeded Poisson schedule replays the same offsets across versions (pinned)', () => {
    expect(collect({ type: 'poisson', rate: 100, duration: 100 }, 7)).toEqual([
      3.1052110333494674, 25.791813949214816, 29.802064191678383, 29.855839162964347, 38.907988157548886, 50.157935537400725, 57.572383560235274, 64.62562143208928,
      84.08153121177729,
    ]);
  });
});
