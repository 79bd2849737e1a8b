/**
 * Debris of dead runs: a native cluster's working copy (`faultline-pg-run-*` in the temp dir) carries
 * an owner file naming the faultline process (pid and its kernel start time). At start faultline reaps
 * the copies whose owner is gone — stopping any postgres still running on them (checked by its data
 * directory in /proc) and removing the directory — and says what it reaped. A copy whose owner still
 * runs (a concurrent faultline) is never touched.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const WORKING_COPY_PREFIX = 'faultline-pg-run-';
/** The golden pair's cache in the temp dir (kept between runs on purpose) and its builds in progress. */
export const GOLDEN_CACHE_DIR = 'faultline-pg-cache';
export const GOLDEN_BUILD_PREFIX = 'building-';
const OWNER_FILE = 'faultline-owner.json';

/** The kernel start time of a process (clock ticks since boot), or undefined when it does not exist. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

/** Marks `dir` as this process's working copy. */
export function writeOwner(dir: string): void {
  writeFileSync(join(dir, OWNER_FILE), `${JSON.stringify({ pid: process.pid, start: processStartTime(process.pid) })}\n`);
}

function ownerAlive(dir: string): boolean {
  try {
    const o = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as { pid?: unknown; start?: unknown };
    return typeof o.pid === 'number' && processStartTime(o.pid) !== undefined && processStartTime(o.pid) === o.start;
  } catch {
    // No owner file: a copy whose setup died before writing it, or one being set up right now (it is
    // written within milliseconds of the directory). Only a copy older than a minute is debris.
    try {
      return Date.now() - statSync(dir).mtimeMs < 60_000;
    } catch {
      return true;
    }
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** Postgres postmasters running on a data directory under `dir` (from each postmaster.pid, checked in /proc). */
function postmastersUnder(dir: string): number[] {
  const out: number[] = [];
  for (const sub of readdirSync(dir, { withFileTypes: true })) {
    if (!sub.isDirectory()) continue;
    const pidFile = join(dir, sub.name, 'postmaster.pid');
    if (!existsSync(pidFile)) continue;
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (Number.isInteger(pid) && pid > 0 && cmdline(pid).includes(join(dir, sub.name))) out.push(pid);
  }
  return out;
}

function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function entriesOf(dir: string, prefix: string): string[] {
  try {
    return readdirSync(dir)
      .filter((e) => e.startsWith(prefix))
      .map((e) => join(dir, e));
  } catch {
    return [];
  }
}

/**
 * Reaps the working copies of dead runs under `root`, and the golden pair's half-finished builds in
 * its cache (`faultline-pg-cache/building-*`); returns one line per directory reaped.
 */
export function reapDebris(root = tmpdir()): string[] {
  const reaped: string[] = [];
  for (const dir of [...entriesOf(root, WORKING_COPY_PREFIX), ...entriesOf(join(root, GOLDEN_CACHE_DIR), GOLDEN_BUILD_PREFIX)]) {
    try {
      if (ownerAlive(dir)) continue;
      const pms = postmastersUnder(dir);
      for (const pm of pms) {
        for (const pid of [pm, ...childrenOf(pm)]) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
      rmSync(dir, { recursive: true, force: true });
      reaped.push(`${dir}${pms.length ? ` (stopped postgres pid ${pms.join(', ')})` : ''}`);
    } catch {
      // Not ours to judge (permissions, a race with its owner's own cleanup): leave it.
    }
  }
  return reaped;
}

