/**
 * SIGKILL of `faultline drill failover` (a CI runner's hard timeout) at random points while both
 * PostgreSQL servers run: afterwards no process of the run is left and no working copy either. The
 * benchmark (`npm run bench -- kill`) runs many more trials; the suite runs a few.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/shared/index.ts';
import { until } from '../helpers/until.ts';

const bin = fileURLToPath(new URL('../../bin/faultline.mjs', import.meta.url));

/** Pids whose command line mentions `text` (the trial's private temp root: postgres -D carries it). */
export function processesMentioning(text: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (/^\d+ \([^)]*\) Z/.test(stat)) continue;
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(text)) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const workingCopies = (root: string): string[] => readdirSync(root).filter((e) => e.startsWith('faultline-pg-run-'));


/** One trial: start a drill with its own temp root, SIGKILL it `delayMs` after its working copy appears; what is left? */
export async function killTrial(root: string, delayMs: number, reportDir: string): Promise<{ processes: number[]; copies: string[]; started: boolean; runningAtKill: number }> {
  const child = spawn(process.execPath, [bin, 'drill', 'failover', '--report-dir', reportDir], { env: { ...process.env, TMPDIR: root }, stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const started = await until(() => workingCopies(root).length > 0 || child.exitCode !== null, 120_000);
  await new Promise((r) => setTimeout(r, delayMs));
  const runningAtKill = processesMentioning(root).length;
  child.kill('SIGKILL');
  await exited;
  await until(() => processesMentioning(root).length === 0 && workingCopies(root).length === 0, 15_000);
  return { processes: processesMentioning(root), copies: workingCopies(root), started, runningAtKill };
}

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
