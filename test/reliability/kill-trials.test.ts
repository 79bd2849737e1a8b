/**
 * SIGKILL of `faultline drill failover` (a CI runner's hard timeout) at random points while both
 * PostgreSQL servers run, and of `faultline selftest` while its experiments run and during its drill:
 * afterwards no process of the run is left (its process tree, anything carrying the trial's TMPDIR)
 * and no working copy or other file in the TMPDIR either. The benchmark (`npm run bench -- kill`)
 * runs many more trials; the suite runs a few.
 */
import { describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/shared/index.ts';
import { killTrial, selftestKillTrial } from '../helpers/kill-trial.ts';

describe('SIGKILL trials: nothing outlives faultline', () => {
  it('a drill killed with SIGKILL at random points leaves 0 processes and 0 working copies', async () => {
    const root = mkdtempSync(join(tmpdir(), 'faultline-kill-'));
    // The PostgreSQL server runs as its own OS user when tests run as root: it must traverse the root.
    chmodSync(root, 0o755);
    const rng = Rng.fromSeed('kill-trials');
    let withServersRunning = 0;
    for (let i = 0; i < 3; i++) {
      const delay = Math.round(rng.uniform(1000, 4000));
      const r = await killTrial(root, delay, join(root, 'reports'));
      if (r.runningAtKill > 0) withServersRunning++;
      expect(r.started, `trial ${i}`).toBe(true);
      expect({ trial: i, delay, processes: r.processes, copies: r.copies }).toEqual({ trial: i, delay, processes: [], copies: [] });
    }
    // Not vacuous: PostgreSQL servers were running when faultline was killed.
    expect(withServersRunning).toBeGreaterThan(0);
  }, 300_000);

  it('the self-test killed with SIGKILL while its experiments run and during its drill leaves 0 processes and 0 files', async () => {
    // A short root: the golden pair's build puts PostgreSQL's socket under it (a 107-byte limit).
    const root = mkdtempSync(join(tmpdir(), 'fl-ks-'));
    chmodSync(root, 0o755);
    const reports = mkdtempSync(join(tmpdir(), 'fl-ks-reports-'));
    const rng = Rng.fromSeed('kill-trials-selftest');
    // Experiments: reference service, proxies, load and probes running in faultline's process.
    const early = Math.round(rng.uniform(2000, 15_000));
    const a = await selftestKillTrial(root, early, reports);
    expect({ delay: early, finishedFirst: a.finishedFirst, processes: a.processes, files: a.copies }).toEqual({ delay: early, finishedFirst: false, processes: [], files: [] });
    // The drill: both PostgreSQL servers (and the lifeline) running as children.
    // Early in the drill (its working copy, lifeline and servers appear within the first seconds; the
    // whole drill can be over in ~4 s on an idle machine).
    const late = Math.round(rng.uniform(300, 2000));
    const b = await selftestKillTrial(root, late, reports, true);
    expect(b.started, `exit ${b.exitCode}:\n${b.output}`).toBe(true);
    expect(b.drillAtKill, `the self-test ended before its drill (exit ${b.exitCode}):\n${b.output}`).toBe(true);
    expect(b.runningAtKill, 'faultline and its lifeline at least').toBeGreaterThan(1);
    expect({ delay: late, processes: b.processes, files: b.copies }).toEqual({ delay: late, processes: [], files: [] });
  }, 400_000);
});
