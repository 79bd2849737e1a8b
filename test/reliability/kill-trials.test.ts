/**
 * SIGKILL of `faultline drill failover` (a CI runner's hard timeout) at random points while both
 * PostgreSQL servers run: afterwards no process of the run is left and no working copy either. The
 * benchmark (`npm run bench -- kill`) runs many more trials; the suite runs a few.
 */
import { describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/shared/index.ts';
import { killTrial } from '../helpers/kill-trial.ts';

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
});
