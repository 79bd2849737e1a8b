/**
 * `npm run bench -- kill`: SIGKILL trials of `faultline drill failover` at random points (seeded) while
 * its PostgreSQL servers run; counts the processes and working copies left (target: 0 and 0).
 * FAULTLINE_KILL_TRIALS sets the number of trials (default 50).
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/shared/index.ts';
import { killTrial } from '../test/helpers/kill-trial.ts';
import { writeBench } from './helpers.ts';

const cmdline = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '(gone)';
  }
};

export default async function kill(): Promise<void> {
  const trials = Number(process.env.FAULTLINE_KILL_TRIALS ?? 50);
  const root = mkdtempSync(join(tmpdir(), 'faultline-bench-kill-'));
  chmodSync(root, 0o755);
  const rng = Rng.fromSeed('bench-kill');
  const rows: Array<{ delayMs: number; runningAtKill: number; processesLeft: number; copiesLeft: number }> = [];
  try {
    for (let i = 0; i < trials; i++) {
      const delayMs = Math.round(rng.uniform(0, 6000));
      const r = await killTrial(root, delayMs, join(root, 'reports'));
      rows.push({ delayMs, runningAtKill: r.runningAtKill, processesLeft: r.processes.length, copiesLeft: r.copies.length });
      console.log(`   trial ${i + 1}/${trials}: killed ${delayMs} ms after the working copy appeared, ${r.runningAtKill} server processes running → ${r.processes.length} processes, ${r.copies.length} copies left`);
      for (const pid of r.processes) console.log(`     left: ${pid} ${cmdline(pid)}`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const left = rows.reduce((a, r) => a + r.processesLeft, 0);
  const copies = rows.reduce((a, r) => a + r.copiesLeft, 0);
  const md = [
    '# SIGKILL trials (faultline drill failover)',
    '',
    `${rows.length} trials, SIGKILL 0–6 s after the working copy appeared, leftovers counted 30 s after the kill; ${rows.filter((r) => r.runningAtKill > 0).length} with PostgreSQL processes running at the kill.`,
    '',
    `| processes left | working copies left |`,
    `|---|---|`,
    `| ${left} | ${copies} |`,
    '',
  ].join('\n');
  writeBench(trials >= 50 ? 'kill' : 'kill-quick', { trials: rows.length, processesLeft: left, copiesLeft: copies, rows }, md);
}
