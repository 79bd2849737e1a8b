/** Shared helpers for benchmarks: child processes started and stopped by pid, ports, output files. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

export { freePort } from '../src/shared/index.ts';

/** Starts `node -e code` and resolves with the first stdout line (e.g. a port) and the child. */
export async function nodeChild(code: string): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout?.once('data', (d: Buffer) => resolve(String(d).trim().split('\n')[0] as string));
    child.once('exit', (c) => reject(new Error(`child exited early (${c})`)));
  });
  return { child, line };
}

export function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  const pid = child.pid;
  return new Promise((r) => {
    const timer = setTimeout(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      r();
    });
    process.kill(pid, 'SIGTERM');
  });
}

/** Ensures a Debian package's binary exists, installing it with apt-get when missing. */
export function ensureBinary(bin: string, pkg: string): string | undefined {
  const which = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  if (which.status === 0) return which.stdout.trim();
  console.log(`bench: ${bin} missing; installing Debian package ${pkg}`);
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) return undefined;
  const again = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return again.status === 0 ? again.stdout.trim() : undefined;
}

export function writeBench(name: string, json: unknown, markdown: string): void {
  mkdirSync('reports/bench', { recursive: true });
  writeFileSync(`reports/bench/${name}.json`, `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(`reports/bench/${name}.md`, markdown);
  console.log(markdown);
  console.log(`bench: wrote reports/bench/${name}.json and .md`);
}

/** The median of the finite values (the mean of the middle two for an even count); null when there is none. */
export function median(xs: readonly (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

export const r2 = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(2));

/** A figure a suite compares against its target; `npm run bench` prints them all at the end. */
export interface Ratio {
  suite: string;
  name: string;
  value: number | null;
  /** The target, as text (e.g. '≥ 0.9'). */
  target: string;
  met: boolean | null;
}

const ratios: Ratio[] = [];

export function reportRatio(r: Ratio): void {
  ratios.push(r);
  console.log(`RATIO ${r.suite}: ${r.name} = ${r2(r.value)} (target ${r.target})${r.met === null ? '' : r.met ? ' met' : ' NOT met'}`);
}

export function reportedRatios(): readonly Ratio[] {
  return ratios;
}

/** A suite's own flag, `--name V` or `--name=V`, from this process's arguments (suites parse their own flags). */
export function flagValue(name: string, argv: readonly string[] = process.argv): string | undefined {
  for (const [i, a] of argv.entries()) {
    if (a === `--${name}`) return argv[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

/** The machine's CPU counters (/proc/stat, all CPUs, in clock ticks); null where there is no /proc. */
function cpuTicks(): { busy: number; steal: number; total: number } | null {
  try {
    const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] as string).trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already counted in user)
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
    return { busy: user + nice + system + irq + softirq, steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
  } catch {
    return null;
  }
}

/** How busy the machine was around a measurement: a run on a busy machine is not comparable with one on an idle machine. */
export interface MachineLoad {
  /** One-minute load average when the measurement started and when it ended. */
  loadAverageAtStart: number;
  loadAverageAtEnd: number;
  /** Share of all CPUs busy (user, system, interrupts) over the measurement, in percent: this process and everything else. */
  busyPct: number | null;
  /** Share of CPU time the hypervisor gave to other guests (steal), in percent. */
  stealPct: number | null;
}

/** Starts watching the machine's load; the returned function ends the watch and reports it. */
export function watchMachineLoad(): () => MachineLoad {
  const start = cpuTicks();
  const loadAverageAtStart = loadavg()[0] as number;
  return () => {
    const end = cpuTicks();
    const total = start && end ? end.total - start.total : 0;
    const share = (key: 'busy' | 'steal'): number | null => (start && end && total > 0 ? (100 * (end[key] - start[key])) / total : null);
    return { loadAverageAtStart, loadAverageAtEnd: loadavg()[0] as number, busyPct: share('busy'), stealPct: share('steal') };
  };
}

/** One line for a report: the load averages, the core count, CPU busy and stolen over the run. */
export function describeMachineLoad(m: MachineLoad): string {
  return `machine load: 1-min load average ${m.loadAverageAtStart.toFixed(2)} at the start, ${m.loadAverageAtEnd.toFixed(2)} at the end (${cpus().length} cores); CPUs ${r2(m.busyPct)} % busy over the run (this bench included), ${r2(m.stealPct)} % stolen by the hypervisor`;
}
