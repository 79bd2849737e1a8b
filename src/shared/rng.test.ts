/**
 * Known answers: the PRNG's actual output, pinned. Replay-by-seed across versions depends on these
 * exact streams — a change to the generator, the seed hashing or fork labels fails here, not silently
 * in someone's replay. (Changing them on purpose is a breaking change: say so in the release notes.)
 */
import { describe, expect, it } from 'vitest';
import { Rng } from './rng.ts';

describe('Rng known answers', () => {
  it('a numeric seed: the first words, floats and integers', () => {
    const words = Rng.fromSeed(42);
    expect([words.nextUint32(), words.nextUint32(), words.nextUint32()]).toEqual([2540213161, 89980957, 1510108507]);
    const r = Rng.fromSeed(42);
    expect([r.next(), r.next(), r.next(), r.int(1000), r.int(1000)]).toEqual([0.591439463354277, 0.3515995364492839, 0.7097364222607235, 820, 808]);
  });

  it('string seeds and sibling forks give independent, fixed streams', () => {
    expect([Rng.fromSeed('a').next(), Rng.fromSeed('b').next(), Rng.fromSeed(1).fork('x').next(), Rng.fromSeed(1).fork('y').next()]).toEqual([
      0.5850923598092093, 0.19750029788414292, 0.27626683237957117, 0.9667531853042001,
    ]);
  });

  it("the injector's toxicity stream (proxy → connection → direction → fault)", () => {
    const f = Rng.fromSeed('20261124').fork('proxy:api').fork('conn:1').fork('upstream').fork('toxicity:latency_downstream');
    expect([f.next(), f.next(), f.next()]).toEqual([0.6124528283987943, 0.1339631734687844, 0.3842966950788551]);
  });
});
