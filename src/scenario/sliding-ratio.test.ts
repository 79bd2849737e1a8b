import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SlidingRatio } from './sliding-ratio.ts';

describe('SlidingRatio', () => {
  it('keeps outcomes at t ≥ now − window and drops older ones', () => {
    const w = new SlidingRatio(1000);
    w.add(0, false, 5);
    w.add(500, true, 1);
    w.add(1000, false, 9);
    w.slideTo(1000);
    expect([w.count, w.badCount]).toEqual([3, 2]);
    w.slideTo(1001);
    expect([w.count, w.badCount, w.ratio]).toEqual([2, 1, 0.5]);
    expect(w.sortedLatencies()).toEqual([1, 9]);
    w.slideTo(5000);
    expect([w.count, w.badCount, w.ratio]).toEqual([0, 0, 0]);
    expect(w.sortedLatencies()).toEqual([]);
  });

  it('clear empties the window', () => {
    const w = new SlidingRatio(5000);
    for (let t = 0; t < 10; t++) w.add(t, t % 2 === 0);
    w.clear();
    expect([w.count, w.badCount, w.ratio]).toEqual([0, 0, 0]);
    w.add(20, false);
    expect([w.count, w.badCount, w.ratio]).toEqual([1, 1, 1]);
  });

  it('agrees with a recount of the window after any sequence of adds and slides', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }),
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 400 }), good: fc.boolean(), slide: fc.boolean() }), { maxLength: 3000 }),
        (windowMs, steps) => {
          const w = new SlidingRatio(windowMs);
          const all: Array<{ t: number; good: boolean }> = [];
          let t = 0;
          let now = 0;
          for (const s of steps) {
            t += s.dt;
            w.add(t, s.good, t);
            all.push({ t, good: s.good });
            if (s.slide) {
              now = t;
              w.slideTo(now);
              const kept = all.filter((o) => o.t >= now - windowMs);
              expect(w.count).toBe(kept.length);
              expect(w.badCount).toBe(kept.filter((o) => !o.good).length);
              expect(w.sortedLatencies()).toEqual(kept.map((o) => o.t));
            }
          }
        },
      ),
      { numRuns: 50 },
    );
  });
});
