import { describe, expect, it } from 'vitest';
import { defaultFollowUp, faultSchedule } from './drill-options.ts';

describe('drill options', () => {
  it('the fault schedule drawn from a seed is pinned (replay across versions)', () => {
    expect(faultSchedule('step-1')).toEqual({ baselineMs: 740, stallMs: 620, partitionMs: 1462, resumeDelayMs: 320 });
  });

  it('the stale ex-primary is restarted after kill and pause by default, left alone otherwise', () => {
    expect((['kill', 'pause', 'partition', 'partition-clients', 'partition-replica', 'switchover'] as const).map(defaultFollowUp)).toEqual(['restart', 'restart', 'none', 'none', 'none', 'none']);
  });
});
