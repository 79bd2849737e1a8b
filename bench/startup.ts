/**
 * CLI start-up benchmark: wall time of `faultline --help` (target < 150 ms), `--version` and
 * `validate` of the self-test scenario, each from spawn to exit through bin/faultline.mjs (the
 * compiled CLI in dist/; `npm run bench` builds it first), against bare `node -e 0` on the same machine.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { percentile } from '../src/shared/index.ts';
import { r2, reportRatio, writeBench } from './helpers.ts';

const QUICK = process.argv.includes('--quick');
const RUNS = QUICK ? 10 : 30;

/**
 * CPU time (user + system, ms) of this process's waited-for children so far: /proc/self/stat's cutime
 * and cstime, in clock ticks (100 per second on Linux). Wall time swings on a shared machine; a child's
 * CPU time does not. Undefined where /proc is missing.
 */
function childrenCpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return undefined;
  }
}

function timeRuns(args: string[]): { medianMs: number; p90Ms: number; minMs: number; cpuMs: number | null } {
  const ms: number[] = [];
  spawnSync(process.execPath, args); // warm the OS file cache
  const cpu0 = childrenCpuMs();
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
    ms.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}`);
  }
  const cpu1 = childrenCpuMs();
  const cpuMs = cpu0 === undefined || cpu1 === undefined ? null : (cpu1 - cpu0) / RUNS;
  return { medianMs: percentile(ms, 50) ?? NaN, p90Ms: percentile(ms, 90) ?? NaN, minMs: Math.min(...ms), cpuMs };
}

export default async function bench(): Promise<void> {
  const cases = [
    { name: 'node -e 0 (bare Node)', args: ['-e', '0'] },
    { name: 'faultline --help', args: ['bin/faultline.mjs', '--help'] },
    { name: 'faultline --version', args: ['bin/faultline.mjs', '--version'] },
    { name: 'faultline validate scenarios/chaos-selftest.yaml', args: ['bin/faultline.mjs', 'validate', 'scenarios/chaos-selftest.yaml'] },
  ].map((c) => ({ ...c, ...timeRuns(c.args) }));
  const help = cases[1];
  const json = { runs: RUNS, cases, help: { medianMs: help?.medianMs, targetMs: 150 } };
  const md = `# CLI start-up benchmark (${RUNS} runs each, spawn to exit)

| command | median ms | p90 ms | min ms | CPU ms per run (user + sys) |
|---|---|---|---|---|
${cases.map((c) => `| \`${c.name}\` | ${r2(c.medianMs)} | ${r2(c.p90Ms)} | ${r2(c.minMs)} | ${r2(c.cpuMs)} |`).join('\n')}

Target: \`faultline --help\` under 150 ms. The CLI is compiled JavaScript and loads a command's
modules only when that command runs, so help and version cost little more than bare Node.
`;
  const helpMs = help?.medianMs ?? null;
  reportRatio({ suite: 'startup', name: 'faultline --help median ms', value: helpMs, target: '< 150', met: helpMs === null ? false : helpMs < 150 });
  writeBench(QUICK ? 'startup-quick' : 'startup', { ...json, quick: QUICK }, md);
}
