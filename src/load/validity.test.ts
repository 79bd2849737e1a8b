import { describe, expect, it } from 'vitest';
import { defaultPrewarmConnections, defaultWarmupMs } from './driver.ts';
import type { Percentiles } from './percentiles.ts';
import { connectionsFor, judgeValidity, type ValidityInput } from './validity.ts';

const p99 = (v: number | null): Percentiles => ({ count: v === null ? 0 : 1000, p50: v, p90: v, p99: v, p999: v, max: v, mean: v });
const run = (over: Partial<ValidityInput>): ValidityInput => ({
  scheduled: 50_000,
  sent: 50_000,
  dropped: 0,
  clientQueueMs: p99(3),
  schedulingLagMs: p99(2),
  serviceMs: p99(1.5),
  peakRate: 5000,
  connections: 256,
  maxInFlight: 10_000,
  warmupMs: 2000,
  queueSecondsOver: [],
  seconds: 10,
  ...over,
});

describe('the validity rule', () => {
  it('accepts a run that sent everything without client-side queueing', () => {
    expect(judgeValidity(run({}))).toEqual({ valid: true, reasons: [], cause: null, advice: [] });
  });

  it('blames the generator, not the target, when requests queued client-side while the target answered fast', () => {
    const v = judgeValidity(run({ clientQueueMs: p99(82), connections: 4, queueSecondsOver: [3, 5, 7] }));
    expect(v.valid).toBe(false);
    expect(v.cause).toBe('generator');
    expect(v.reasons).toEqual([expect.stringMatching(/^client-side queueing p99 82 ms > 50 ms/)]);
    expect(v.advice.join('\n')).toMatch(/target answered in 1.5 ms at p99 .* the wait was in the generator, not the target/);
    // 5000 req/s × (1.5 + 2) ms × 2 headroom = 35 connections.
    expect(v.advice.join('\n')).toMatch(/raise --connections \(now 4; .* needs ≈ 35\)/);
  });

  it('advises a longer warm-up when the queueing was only right after the warm-up', () => {
    const v = judgeValidity(run({ clientQueueMs: p99(60), warmupMs: 1000, queueSecondsOver: [1, 2] }));
    expect(v.cause).toBe('generator');
    expect(v.advice.join('\n')).toMatch(/only in the first second after the warm-up \(second 1, second 2\): raise --warmup \(now 1s\)/);
    // Not in a run too short to show that it settled.
    expect(judgeValidity(run({ clientQueueMs: p99(60), warmupMs: 1000, queueSecondsOver: [1, 2], seconds: 3 })).advice.join('\n')).not.toMatch(/raise --warmup \(now 1s\)$/m);
  });

  it('says the generator is short of CPU when it ran late on its own schedule', () => {
    const v = judgeValidity(run({ clientQueueMs: p99(400), schedulingLagMs: p99(380), queueSecondsOver: [2, 3, 4, 5] }));
    expect(v.cause).toBe('generator');
    expect(v.advice.join('\n')).toMatch(/scheduling lag p99 380 ms\): it is short of CPU; lower --rate/);
  });

  it('blames the target when its latency fills the in-flight cap, and the generator when the target was fast', () => {
    const slow = judgeValidity(run({ sent: 40_000, dropped: 10_000, serviceMs: p99(2000), maxInFlight: 1000 }));
    expect(slow).toMatchObject({ valid: false, cause: 'target' });
    expect(slow.reasons[0]).toBe('only 80.00 % of scheduled requests were sent (< 99 %)');
    expect(slow.advice[0]).toMatch(/service time p99 2000 ms .* ≈ 10000 requests in flight, at the cap of --max-in-flight 1000/);
    // Drops while requests queue in the generator are the generator's, however slow the answers look.
    const wedged = judgeValidity(run({ sent: 40_000, dropped: 10_000, serviceMs: p99(2000), clientQueueMs: p99(2000), schedulingLagMs: p99(560), maxInFlight: 1000 }));
    expect(wedged).toMatchObject({ valid: false, cause: 'generator' });
    expect(wedged.advice[0]).toMatch(/piled up in the generator's own queue/);
    expect(wedged.advice.join('\n')).toMatch(/short of CPU/);
    const capped = judgeValidity(run({ sent: 40_000, dropped: 10_000, maxInFlight: 5 }));
    expect(capped).toMatchObject({ valid: false, cause: 'generator' });
    expect(capped.advice[0]).toMatch(/10000 requests were dropped at the generator's in-flight cap \(--max-in-flight 5\)/);
  });

  it("sizes connections by Little's law with 2× headroom", () => {
    expect(connectionsFor(20_000, 2)).toBe(80);
    expect(connectionsFor(100, 0.2)).toBe(1);
  });
});

describe('generator defaults', () => {
  it('warms up for 20 % of the run, at most 2 s', () => {
    expect(defaultWarmupMs({ type: 'constant', rate: 5000, duration: 10_000 })).toBe(2000);
    expect(defaultWarmupMs({ type: 'constant', rate: 100, duration: 2500 })).toBe(500);
    expect(defaultWarmupMs({ type: 'steps', steps: [{ rate: 10, duration: 1000 }, { rate: 20, duration: 1000 }] })).toBe(400);
  });

  it('opens the peak rate × 2 ms in connections ahead of the run, at least 8', () => {
    expect(defaultPrewarmConnections({ type: 'constant', rate: 5000, duration: 10_000 })).toBe(10);
    expect(defaultPrewarmConnections({ type: 'constant', rate: 100, duration: 10_000 })).toBe(8);
    expect(defaultPrewarmConnections({ type: 'ramp', from: 0, to: 20_000, duration: 10_000 })).toBe(40);
    expect(defaultPrewarmConnections({ type: 'spike', rate: 1000, multiplier: 10, duration: 10_000, spikeAt: 1000, spikeDuration: 1000 })).toBe(20);
  });
});
