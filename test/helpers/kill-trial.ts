/** SIGKILL trials of `faultline drill failover`: what a killed run leaves behind (processes, working copies). */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { until } from './until.ts';

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

export const workingCopies = (root: string): string[] => readdirSync(root).filter((e) => e.startsWith('faultline-pg-run-'));


/** One trial: start a drill with its own temp root, SIGKILL it `delayMs` after its working copy appears; what is left? */
export async function killTrial(root: string, delayMs: number, reportDir: string): Promise<{ processes: number[]; copies: string[]; started: boolean; runningAtKill: number }> {
  const child = spawn(process.execPath, [bin, 'drill', 'failover', '--report-dir', reportDir], { env: { ...process.env, TMPDIR: root }, stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const started = await until(() => workingCopies(root).length > 0 || child.exitCode !== null, 120_000);
  await new Promise((r) => setTimeout(r, delayMs));
  const runningAtKill = processesMentioning(root).length;
  child.kill('SIGKILL');
  await exited;
  // The lifeline gives PostgreSQL 3 s for an immediate shutdown, then kill -9; a busy machine takes longer.
  await until(() => processesMentioning(root).length === 0 && workingCopies(root).length === 0, 30_000);
  return { processes: processesMentioning(root), copies: workingCopies(root), started, runningAtKill };
}

