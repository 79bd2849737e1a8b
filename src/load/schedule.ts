/**
 * Arrival schedules as pure functions of (shape, seed): the intended send offsets (ms from start).
 * Shapes are data (they appear in scenario files): constant, ramp, steps, spike, poisson, soak.
 * Deterministic shapes place the i-th arrival where the integral of the rate reaches i; Poisson draws
 * exponential gaps from the seeded Rng.
 */
import { z } from 'zod';
import { Rng, type Seed, msOrDurationSchema } from '../shared/index.ts';

// Schedules are built by code (the CLI parses its flags first): milliseconds or a string with a unit.
const duration = msOrDurationSchema;
const rate = z.number().nonnegative('rate is requests per second, >= 0');

export const scheduleSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('constant'), rate, duration }).strict(),
  z.object({ type: z.literal('soak'), rate, duration }).strict(),
  z.object({ type: z.literal('poisson'), rate, duration }).strict(),
  z.object({ type: z.literal('ramp'), from: rate, to: rate, duration }).strict(),
  z.object({ type: z.literal('steps'), steps: z.array(z.object({ rate, duration }).strict()).min(1) }).strict(),
  z
    .object({
      type: z.literal('spike'),
      rate,
      multiplier: z.number().positive(),
      duration,
      spikeAt: duration,
      spikeDuration: duration,
    })
    .strict(),
]);

export type ScheduleShape = z.output<typeof scheduleSchema>;
export type ScheduleInput = z.input<typeof scheduleSchema>;

/** A piece of a piecewise-linear rate function: rate goes from r0 to r1 (req/s) over durationMs. */
interface Piece {
  startMs: number;
  durationMs: number;
  r0: number;
  r1: number;
}

function pieces(shape: ScheduleShape): Piece[] {
  switch (shape.type) {
    case 'constant':
    case 'soak':
    case 'poisson':
      return [{ startMs: 0, durationMs: shape.duration, r0: shape.rate, r1: shape.rate }];
    case 'ramp':
      return [{ startMs: 0, durationMs: shape.duration, r0: shape.from, r1: shape.to }];
    case 'steps': {
      let t = 0;
      return shape.steps.map((s) => {
        const p = { startMs: t, durationMs: s.duration, r0: s.rate, r1: s.rate };
        t += s.duration;
        return p;
      });
    }
    case 'spike': {
      const spikeStart = Math.min(shape.spikeAt, shape.duration);
      const spikeEnd = Math.min(shape.duration, spikeStart + shape.spikeDuration);
      const high = shape.rate * shape.multiplier;
      return [
        { startMs: 0, durationMs: spikeStart, r0: shape.rate, r1: shape.rate },
        { startMs: spikeStart, durationMs: spikeEnd - spikeStart, r0: high, r1: high },
        { startMs: spikeEnd, durationMs: shape.duration - spikeEnd, r0: shape.rate, r1: shape.rate },
      ].filter((p) => p.durationMs > 0);
    }
  }
}

export function scheduleDurationMs(shape: ScheduleShape): number {
  return pieces(shape).reduce((a, p) => a + p.durationMs, 0);
}

/** Planned rate (req/s) at offset t. */
export function rateAt(shape: ScheduleShape, t: number): number {
  for (const p of pieces(shape)) {
    if (t >= p.startMs && t < p.startMs + p.durationMs) return p.r0 + ((p.r1 - p.r0) * (t - p.startMs)) / p.durationMs;
  }
  return 0;
}

/** Expected number of arrivals (the integral of the rate). */
export function expectedArrivals(shape: ScheduleShape): number {
  return pieces(shape).reduce((a, p) => a + ((p.r0 + p.r1) / 2) * (p.durationMs / 1000), 0);
}

/**
 * Intended send offsets (ms, ascending) for the shape. Deterministic shapes are seed-independent;
 * Poisson uses `seed`. Lazily generated, so a long soak costs no memory.
 */
export function* arrivalOffsets(shape: ScheduleShape, seed: Seed = 0): Generator<number> {
  if (shape.type === 'poisson') {
    if (shape.rate <= 0) return;
    const rng = Rng.fromSeed(seed).fork('arrivals');
    let t = rng.exponential(shape.rate / 1000);
    while (t < shape.duration) {
      yield t;
      t += rng.exponential(shape.rate / 1000);
    }
    return;
  }
  // Arrival i happens where the cumulative integral of the rate N(t) reaches i (i = 0, 1, 2, …).
  let nStart = 0;
  for (const p of pieces(shape)) {
    const a = p.r0 / 1000; // arrivals per ms at the piece start
    const b = (p.r1 - p.r0) / 1000 / p.durationMs; // change of that per ms
    const total = a * p.durationMs + (b * p.durationMs * p.durationMs) / 2;
    for (let i = Math.ceil(nStart - 1e-9); ; i++) {
      const target = Math.max(0, i - nStart);
      if (target >= total - 1e-12) break;
      const t = Math.abs(b) < 1e-15 ? target / a : (-a + Math.sqrt(Math.max(0, a * a + 2 * b * target))) / b;
      if (!(t < p.durationMs)) break;
      yield p.startMs + t;
    }
    nStart += total;
  }
}

export function countArrivals(shape: ScheduleShape, seed: Seed = 0): number {
  let n = 0;
  for (const _ of arrivalOffsets(shape, seed)) n++;
  return n;
}
