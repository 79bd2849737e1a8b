import { describe, expect, it } from 'vitest';
import { sleep as abortableSleep } from '../shared/index.ts';
import { DrillRecord } from './drill-record.ts';
import type { ClusterNode } from './provider.ts';
import { startWorkloads } from './workloads.ts';
import type { WriterUnderTest } from './writer.ts';

describe('drill workloads', () => {
  it('end by themselves once the drill is aborted, even while every write is refused without IO (fenced)', async () => {
    const record = new DrillRecord();
    let refused = 0;
    // A fenced writer while writes are not usable: write() records a refusal and returns without any IO.
    const writer = {
      fenced: true,
      write: async () => void refused++,
      probe: async () => {},
      ingest: async () => {},
    } as unknown as WriterUnderTest;
    const nobody: ClusterNode[] = [];
    const ac = new AbortController();
    const w = startWorkloads(writer, nobody, record, 100, ac.signal);
    await abortableSleep(30);
    ac.abort();
    const refusedAtAbort = refused;
    // The loops end without stop(): a timer still runs, and no refusal piles up after the abort.
    let timerRan = false;
    await new Promise<void>((r) => setTimeout(() => ((timerRan = true), r()), 20));
    expect(timerRan).toBe(true);
    expect(refused - refusedAtAbort).toBeLessThanOrEqual(1);
    await w.stop();
  });
});
