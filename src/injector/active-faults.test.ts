import { describe, expect, it } from 'vitest';
import { ActiveFaults, RETAINED_REMOVED_FAULTS } from './active-faults.ts';
import { normaliseFault } from './faults.ts';

const latency = (name: string) => normaliseFault({ type: 'latency', name, attributes: { latency: 50 } });

describe('a proxy’s fault history', () => {
  it('a removed latency fault still reports its achieved delay (its histogram is released)', () => {
    const faults = new ActiveFaults(() => {});
    const f = faults.add(latency('slow'));
    for (const ms of [50, 50.2, 50.4, 51, 53]) f.stats.recorder().delay(ms);
    const before = f.stats.snapshot(f.info);
    faults.remove('slow');
    const after = faults.history()[0]!.stats.snapshot(f.info);
    expect(after.active).toBe(false);
    expect(after.achievedDelayMs).toEqual(before.achievedDelayMs);
    expect(after.achievedDelayMs?.count).toBe(5);
    expect(after.achievedDelayHistogram).toEqual(before.achievedDelayHistogram);
  });

  it(`keeps every active fault and the last ${RETAINED_REMOVED_FAULTS} removed ones (a long-lived serve toggling faults stays bounded)`, () => {
    const faults = new ActiveFaults(() => {});
    faults.add(latency('kept-active'));
    for (let i = 0; i < RETAINED_REMOVED_FAULTS + 5; i++) {
      faults.add(latency(`t${i}`));
      faults.remove(`t${i}`);
    }
    const names = faults.history().map((f) => f.info.name);
    expect(names).toHaveLength(RETAINED_REMOVED_FAULTS + 1);
    expect(names[0]).toBe('kept-active');
    expect(names[1]).toBe('t5');
    expect(names.at(-1)).toBe(`t${RETAINED_REMOVED_FAULTS + 4}`);
    expect(faults.forgotten).toBe(5);
  });
});
