/**
 * The controller's decisions against a fake cluster: no PostgreSQL, a fake clock that the
 * controller's sleeps advance, and every action recorded in order.
 */
import { describe, expect, it } from 'vitest';
import { FailoverController, type ControllerActions, type ControllerOptions } from './controller.ts';
import { DrillRecord } from './drill-record.ts';
import type { ClusterNode } from './provider.ts';

const eu: ClusterNode = { name: 'pg-eu', region: 'eu', target: { host: '127.0.0.1', port: 1, user: 'postgres', database: 'postgres' } };
const us: ClusterNode = { name: 'pg-us', region: 'us', target: { host: '127.0.0.1', port: 2, user: 'postgres', database: 'postgres' } };

interface Fake {
  controller: FailoverController;
  calls: string[];
  epochWrites: Array<{ epoch: number; writer: unknown; state: unknown }>;
  record: DrillRecord;
  clock: { now: number };
}

/** `probes` answers the writer probes in turn (the last answer repeats); each probe takes 5 ms of fake time. */
function fake(o: Partial<ControllerOptions> & { probes?: boolean[]; activeFence?: boolean; promoteFails?: boolean } = {}): Fake {
  const clock = { now: 0 };
  const record = new DrillRecord(() => clock.now);
  const calls: string[] = [];
  const epochWrites: Fake['epochWrites'] = [];
  const probes = o.probes ?? [false];
  let probeN = 0;
  const actions: ControllerActions = {
    probeWriter: async () => {
      calls.push('probe');
      clock.now += 5;
      return probes[Math.min(probeN++, probes.length - 1)] as boolean;
    },
    fenceOldPrimary: async () => {
      calls.push('fence-old-primary');
      return o.activeFence ?? true;
    },
    promoteCandidate: async () => {
      // The fence comes first: the epoch is bumped and durable before the candidate is promoted.
      calls.push(`promote (epoch ${epochWrites.at(-1)?.epoch} ${String(epochWrites.at(-1)?.state)}, state ${controller.state})`);
      clock.now += 50;
      if (o.promoteFails) throw new Error('promotion not verified');
    },
    stampCandidate: async (epoch) => {
      calls.push(`stamp ${epoch}`);
    },
    cutEndpoint: () => {
      calls.push('cut');
    },
    settleNewPrimary: async () => {
      calls.push('settle');
    },
    healReplication: async () => {
      calls.push('heal-replication');
    },
    stopOldPrimary: async () => {
      calls.push('stop-old-primary');
    },
  };
  const controller: FailoverController = new FailoverController({
    fault: 'kill',
    followUp: 'none',
    primary: eu,
    candidate: us,
    initialEpoch: 1,
    epochStore: { write: (epoch, extra) => epochWrites.push({ epoch, writer: extra.writer, state: extra.state }) },
    record,
    actions,
    sleep: async (ms) => {
      clock.now += ms;
    },
    checkAborted: () => {},
    ...o,
  });
  return { controller, calls, epochWrites, record, clock };
}

describe('failover controller', () => {
  it('kill: three failed probes, then fence (epoch up, durable, flipping) → promote → stamp → cut → stable on the candidate', async () => {
    const f = fake({ fault: 'kill' });
    f.clock.now = 1000;
    const decision = await f.controller.handle({ at: 1000 });
    expect(decision).toEqual({ failover: true, fence: 'logical' });
    expect(f.calls).toEqual(['probe', 'probe', 'probe', 'promote (epoch 2 flipping, state flipping)', 'stamp 2', 'cut', 'settle']);
    expect(f.epochWrites).toEqual([
      { epoch: 1, writer: 'pg-eu', state: 'stable' },
      { epoch: 2, writer: 'pg-us', state: 'flipping' },
      { epoch: 2, writer: 'pg-us', state: 'stable' },
    ]);
    expect(f.record.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect([f.controller.epoch, f.controller.writer.name, f.controller.state]).toEqual([2, 'pg-us', 'stable']);
    const tl = f.record.timeline;
    // detect = the first failed probe of the streak; two 100 ms pauses between the three probes.
    expect(tl.detect).toBe(1005);
    expect(tl.decide).toBe(1215);
    expect(tl.fenced).toBe(1215);
    expect(tl.promoted).toBe(1265);
    expect(tl.stamped).toBe(1265);
    expect(tl.endpointCut).toBe(1265);
  });

  it('a successful probe resets the streak and the detect mark', async () => {
    const f = fake({ probes: [false, false, true, false, false, false] });
    await f.controller.handle({ at: 0 });
    expect(f.calls.filter((c) => c === 'probe')).toHaveLength(6);
    // The fourth probe (after 3 probes and 3 pauses: 3 × 105 + 5) starts the streak that counts.
    expect(f.record.timeline.detect).toBe(320);
  });

  it('partition-clients: the reachable old primary is fenced actively before the promotion', async () => {
    const f = fake({ fault: 'partition-clients', activeFence: true });
    expect(await f.controller.handle({ at: 0 })).toEqual({ failover: true, fence: 'active' });
    expect(f.calls.slice(3, 5)).toEqual(['fence-old-primary', 'promote (epoch 2 flipping, state flipping)']);
  });

  it('partition-clients: an active fence that fails falls back to the logical fence and still fails over', async () => {
    const f = fake({ fault: 'partition-clients', activeFence: false });
    expect(await f.controller.handle({ at: 0 })).toEqual({ failover: true, fence: 'logical' });
    expect(f.calls).toContain('cut');
  });

  it('kill and partition never try an active fence (the old primary is gone or unreachable)', async () => {
    for (const fault of ['kill', 'partition', 'pause'] as const) {
      const f = fake({ fault });
      await f.controller.handle({ at: 0 });
      expect(f.calls).not.toContain('fence-old-primary');
    }
  });

  it('partition-replica: a writer healthy through the watch means no failover — replication is healed, the epoch stays', async () => {
    const f = fake({ fault: 'partition-replica', probes: [true] });
    const decision = await f.controller.handle({ at: 0, observeMs: 1000 });
    expect(decision).toEqual({ failover: false, note: 'no failover: the writer stayed reachable and healthy to clients' });
    expect(f.calls.at(-1)).toBe('heal-replication');
    expect(f.calls.filter((c) => c === 'probe').length).toBeGreaterThanOrEqual(9);
    expect(f.calls.some((c) => c.startsWith('promote') || c === 'cut')).toBe(false);
    expect(f.epochWrites).toEqual([{ epoch: 1, writer: 'pg-eu', state: 'stable' }]);
    expect([f.controller.epoch, f.controller.writer.name]).toEqual([1, 'pg-eu']);
    expect(f.record.timeline.detect).toBeUndefined();
    expect(f.record.timeline.reconverged).toBeGreaterThanOrEqual(1000);
  });

  it('partition-replica: a writer that goes down during the watch is failed over', async () => {
    const f = fake({ fault: 'partition-replica', probes: [true, true, false] });
    expect(await f.controller.handle({ at: 0, observeMs: 1000 })).toEqual({ failover: true, fence: 'logical' });
  });

  it('switchover: no detection; active fence, promote, stamp, cut; the old primary is stopped when no follow-up needs it', async () => {
    const f = fake({ fault: 'switchover', followUp: 'none' });
    expect(await f.controller.handle({ at: 0 })).toEqual({ failover: true, fence: 'active' });
    expect(f.calls).toEqual(['fence-old-primary', 'promote (epoch 2 flipping, state flipping)', 'stamp 2', 'cut', 'settle', 'stop-old-primary']);
    expect(f.record.timeline.detect).toBe(f.record.timeline.decide);
    const g = fake({ fault: 'switchover', followUp: 'reclone' });
    await g.controller.handle({ at: 0 });
    expect(g.calls).not.toContain('stop-old-primary');
  });

  it('a failed promotion leaves the writer fenced: the endpoint is not cut, the epoch stays up and flipping', async () => {
    const f = fake({ promoteFails: true });
    await expect(f.controller.handle({ at: 0 })).rejects.toThrow('promotion not verified');
    expect(f.calls).not.toContain('cut');
    expect([f.controller.epoch, f.controller.writer.name, f.controller.state]).toEqual([2, 'pg-eu', 'flipping']);
  });

  it('a fault never detected is an error after the deadline', async () => {
    const f = fake({ fault: 'kill', probes: [true], detectDeadlineMs: 2000 });
    await expect(f.controller.handle({ at: 0 })).rejects.toMatchObject({ code: 'FAULTLINE_FAILOVER_DETECT' });
    expect(f.clock.now).toBeGreaterThan(2000);
    expect(f.clock.now).toBeLessThan(2200);
  });

  it('stops probing when the drill is aborted', async () => {
    let n = 0;
    const f = fake({
      checkAborted: () => {
        if (++n > 2) throw new Error('aborted');
      },
    });
    await expect(f.controller.handle({ at: 0 })).rejects.toThrow('aborted');
    expect(f.calls).toEqual(['probe', 'probe']);
  });
});
