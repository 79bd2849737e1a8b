/**
 * The bandwidth fault's pipe on an injected clock whose sleeps wake late, as timers do on a busy
 * machine: the requested rate is delivered, idleness is not credited, and a stall is caught up by at
 * most one slice.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../shared/index.ts';
import { FAULT_TYPES, type Chunk, type FaultRecorder, type Stage } from './faults.ts';

/** A link whose clock only moves when it sleeps (or `idle`), each sleep waking `lateMs` (or `lateOnce`) late. */
function pipe(rateKBps: number, lateMs: number, lateOnce?: { at: number; ms: number }) {
  let clock = 0;
  let sleeps = 0;
  const released: Array<{ at: number; bytes: number }> = [];
  const paced = { bytes: 0, busyMs: 0 };
  const rec: FaultRecorder = {
    chunk() {},
    delay() {},
    stall() {},
    paced(bytes, busyMs) {
      paced.bytes += bytes;
      paced.busyMs += busyMs;
    },
    drop() {},
    reset() {},
    close() {},
  };
  const link = {
    direction: 'downstream' as const,
    connectionId: 1,
    now: () => clock,
    sleep: async (ms: number) => {
      sleeps++;
      clock += ms + (lateOnce && sleeps === lateOnce.at ? lateOnce.ms : lateMs);
    },
    reset() {},
    close() {},
  };
  const make = FAULT_TYPES.bandwidth.stage as NonNullable<(typeof FAULT_TYPES)['bandwidth']['stage']>;
  const stage: Stage = make({ link, attrs: { rate: rateKBps, scope: 'connection' }, rng: Rng.fromSeed(1), rec, shared: new Map() });
  return {
    /** Sends `bytes` read at `readAt` through the stage; records when each slice left. */
    async send(bytes: number, readAt = clock): Promise<void> {
      const c: Chunk = { data: Buffer.alloc(bytes), readAt };
      for (const out of await stage.process(c)) released.push({ at: clock, bytes: out.data.length });
    },
    idle(ms: number): void {
      clock += ms;
    },
    get clock() {
      return clock;
    },
    released,
    achievedKBps: () => paced.bytes / paced.busyMs,
  };
}

describe('bandwidth fault pacing', () => {
  it('delivers the requested rate although every timer wakes 3 ms late', async () => {
    const p = pipe(1000, 3); // 1000 KB/s = 1000 bytes/ms: slices of 100,000 bytes, 100 ms each
    for (let i = 0; i < 4; i++) await p.send(250_000, 0); // a bulk download: every chunk was read at once
    // 1,000,000 bytes at 1000 KB/s take 1000 ms; only the last wake-up's lateness shows (before: 12 × 3 ms lost).
    expect(p.clock).toBe(1003);
    expect(p.released.reduce((n, r) => n + r.bytes, 0)).toBe(1_000_000);
    expect(p.achievedKBps()).toBeCloseTo(1_000_000 / 1003, 5);
  });

  it('does not count idle time as credit: bytes that arrive after the pipe went idle wait their own transmission time', async () => {
    const p = pipe(1000, 0);
    await p.send(50_000); // 50 ms
    expect(p.clock).toBe(50);
    p.idle(500);
    await p.send(50_000); // read at 550: leaves at 600, not at once
    expect(p.released.at(-1)?.at).toBe(600);
    expect(p.achievedKBps()).toBeCloseTo(1000, 5);
  });

  it('catches up a stall of the process by at most one slice (100 ms worth), never bursting the whole backlog', async () => {
    const p = pipe(1000, 0, { at: 1, ms: 300 }); // the first sleep wakes 300 ms late
    await p.send(500_000, 0); // five slices of 100 ms
    // Slice 1 was due at 100 and left at 400; slice 2 starts 100 ms back (at 300) and leaves at once; slices 3–5 then take 100 ms each.
    expect(p.clock).toBe(700);
    const achieved = p.achievedKBps();
    expect(achieved).toBeCloseTo(500_000 / 700, 5);
  });
});
