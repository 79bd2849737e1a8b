/**
 * SIGKILL trials (a CI runner's hard timeout): what a killed `faultline drill failover` or `faultline
 * selftest` leaves behind — processes (its process tree as sampled while it ran, anything carrying
 * the trial's private TMPDIR in its command line or environment: postgres, the lifeline, helpers) and
 * files in that TMPDIR (the golden pair's cache, kept between runs on purpose, aside).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from './until.ts';

const bin = fileURLToPath(new URL('../../bin/faultline.mjs', import.meta.url));

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** `pid (comm) state ppid …` → [state, ppid, start time]; undefined when gone. */
function stat(pid: number): { state: string; ppid: number; start: string } | undefined {
  const s = read(`/proc/${pid}/stat`);
  if (!s) return undefined;
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { state: f[0] as string, ppid: Number(f[1]), start: f[19] as string };
}

const pids = (): number[] => readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number);

/** Live (not zombie) pids whose command line or environment mentions `text` (the trial's private temp root). */
export function processesMentioning(text: string): number[] {
  const env = `TMPDIR=${text}\0`;
  return pids().filter((pid) => {
    if (pid === process.pid) return false;
    const st = stat(pid);
    if (!st || st.state === 'Z') return false;
    return (read(`/proc/${pid}/cmdline`) ?? '').includes(text) || (read(`/proc/${pid}/environ`) ?? '').includes(env);
  });
}

/** Every descendant of `root` now, keyed by pid, with its start time (so a recycled pid is never counted). */
function descendants(root: number): Map<number, string> {
  const children = new Map<number, number[]>();
  const starts = new Map<number, string>();
  for (const pid of pids()) {
    const st = stat(pid);
    if (!st) continue;
    starts.set(pid, st.start);
    children.set(st.ppid, [...(children.get(st.ppid) ?? []), pid]);
  }
  const out = new Map<number, string>();
  const todo = [...(children.get(root) ?? [])];
  while (todo.length > 0) {
    const pid = todo.pop() as number;
    if (out.has(pid)) continue;
    out.set(pid, starts.get(pid) ?? '');
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

export const workingCopies = (root: string): string[] => readdirSync(root).filter((e) => e.startsWith('faultline-pg-run-'));

/** Files and directories left in the trial's TMPDIR: everything but the golden pair's cache, plus its half-finished builds. */
export function filesLeft(root: string): string[] {
  const cache = 'faultline-pg-cache';
  const builds = (() => {
    try {
      return readdirSync(join(root, cache)).filter((e) => e.startsWith('building-')).map((e) => `${cache}/${e}`);
    } catch {
      return [];
    }
  })();
  return [...readdirSync(root).filter((e) => e !== cache), ...builds];
}

export interface KillTrialResult {
  /** Processes of the run still alive 30 s after the kill (pids). */
  processes: number[];
  /** Working copies (drill) or any file (self-test) left in the TMPDIR. */
  copies: string[];
  started: boolean;
  /** The run's processes (its tree, postgres included) alive at the kill. */
  runningAtKill: number;
  /** Whether a PostgreSQL working copy existed at the kill (the drill part was under way). */
  drillAtKill: boolean;
  /** faultline had already exited on its own before the kill point. */
  finishedFirst: boolean;
  /** When it finished first: its exit code and the end of its output. */
  exitCode?: number | null;
  output?: string;
}

/**
 * Runs `args` with TMPDIR=root, SIGKILLs it `delayMs` after `startAt` resolves, then waits up to 30 s for
 * everything of the run to be gone. The process tree is sampled every 100 ms while it runs, so children
 * re-parented after the kill (the lifeline, postgres) are still recognised as the run's.
 */
async function trial(args: string[], root: string, delayMs: number, startAt: (exited: () => boolean) => Promise<boolean>, left: (root: string) => string[]): Promise<KillTrialResult> {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, TMPDIR: root, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid as number;
  let output = '';
  const keep = (d: Buffer): void => void (output = (output + String(d)).slice(-4000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = false;
  let exitCode: number | null = null;
  const gone = new Promise<void>((r) =>
    child.once('exit', (code) => {
      exited = true;
      exitCode = code;
      r();
    }),
  );
  const tree = new Map<number, string>();
  const sampler = setInterval(() => {
    for (const [p, s] of descendants(pid)) tree.set(p, s);
  }, 100);
  try {
    const started = await startAt(() => exited);
    await Promise.race([new Promise((r) => setTimeout(r, delayMs)), gone]);
    const finishedFirst = exited;
    for (const [p, s] of descendants(pid)) tree.set(p, s);
    const aliveOfRun = (): number[] => [...new Set([...[...tree].filter(([p, s]) => stat(p)?.start === s && stat(p)?.state !== 'Z').map(([p]) => p), ...processesMentioning(root)])];
    const runningAtKill = aliveOfRun().length;
    const drillAtKill = workingCopies(root).length > 0;
    clearInterval(sampler);
    if (!exited) child.kill('SIGKILL');
    await gone;
    // The lifeline gives PostgreSQL 3 s for an immediate shutdown, then kill -9; a busy machine takes longer.
    await until(() => aliveOfRun().length === 0 && left(root).length === 0, 30_000);
    return { processes: aliveOfRun(), copies: left(root), started, runningAtKill, drillAtKill, finishedFirst, ...(finishedFirst ? { exitCode, output } : {}) };
  } finally {
    clearInterval(sampler);
    if (!exited) child.kill('SIGKILL');
  }
}

/** One drill trial: SIGKILL `delayMs` after its working copy appears. */
export function killTrial(root: string, delayMs: number, reportDir: string): Promise<KillTrialResult> {
  return trial(['drill', 'failover', '--report-dir', reportDir], root, delayMs, (exited) => until(() => workingCopies(root).length > 0 || exited(), 120_000), workingCopies);
}

/**
 * One self-test trial: SIGKILL `delayMs` after the start (the self-test takes about 90 s: reference
 * service, proxies and load for four experiments, then the failover drill on real PostgreSQL), or
 * `delayMs` after the drill's working copy appears when `inDrill`. `reportDir` must lie outside `root`.
 */
export function selftestKillTrial(root: string, delayMs: number, reportDir: string, inDrill = false): Promise<KillTrialResult> {
  const startAt = inDrill ? (exited: () => boolean) => until(() => workingCopies(root).length > 0 || exited(), 240_000) : () => Promise.resolve(true);
  return trial(['selftest', '--report-dir', reportDir], root, delayMs, startAt, filesLeft);
}
