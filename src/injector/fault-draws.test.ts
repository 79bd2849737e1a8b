/** Known answers for the injector's seeded draws: the same seed must give the same delays and losses in every version. */
import { describe, expect, it } from 'vitest';
import { Rng } from '../shared/index.ts';
import { drawLatency, drawLossStall } from './faults.ts';

describe('fault draws known answers', () => {
  it('latency draws per distribution', () => {
    const r = Rng.fromSeed(9);
    expect([drawLatency(r, 50, 10, 'uniform'), drawLatency(r, 50, 10, 'normal'), drawLatency(r, 50, 10, 'pareto')]).toEqual([56.219365580499876, 50.78471199794788, 65.61448664413719]);
  });

  it('loss stalls (retransmission back-off) in sequence', () => {
    const r = Rng.fromSeed(9);
    const draws = Array.from({ length: 6 }, () => drawLossStall(r, { probability: 0.5, correlation: 0.25, rto: 200, maxRto: 60_000 }));
    expect(draws.map((d) => d.stallMs)).toEqual([0, 200, 600, 200, 0, 200]);
    expect(draws.map((d) => d.losses)).toEqual([0, 1, 2, 1, 0, 1]);
  });
});
