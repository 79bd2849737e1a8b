/**
 * `npm run bench -- kill`: SIGKILL trials (a CI runner's hard timeout) at random, seeded points of
 * (1) `faultline drill failover`, 0–6 s after its PostgreSQL working copy appears (both servers up), and
 * (2) `faultline selftest`, anywhere over its whole run (reference service, proxies, load, four
 * experiments, then the failover drill on real PostgreSQL; one uncut run first measures how long that
 * is on this machine now, ~90 s idle). Counts, 30 s after each kill, the run's
 * processes still alive (its process tree sampled while it ran, and anything carrying the trial's
 * private TMPDIR: postgres, the lifeline, helpers) and the files left in that TMPDIR (targets: 0 and 0).
 *
 * Flags (parsed here): `--trials N` or `--trials=N` per suite (default 50; FAULTLINE_KILL_TRIALS too),
 * `--only drill|selftest`, `--seed S` (another set of kill points), `--in-drill` (self-test kill points 0–6 s after its drill's working copy
 * appears, the phase with PostgreSQL running). `--quick`: one trial of each, the self-test killed in its first 10 s.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/shared/index.ts';
import { killTrial, selftestKillTrial, type KillTrialResult } from '../test/helpers/kill-trial.ts';
import { flagValue, writeBench } from './helpers.ts';

/** Without `--quick`, the self-test suite first runs one self-test to its end: its length on this machine now is the range of kill points. */
const SELFTEST_CAP_MS = 300_000;

const cmdline = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').slice(0, 200);
  } catch {
    return '(gone)';
  }
};

interface Row {
  suite: 'drill' | 'selftest';
  delayMs: number;
  runningAtKill: number;
  drillAtKill: boolean;
  finishedFirst: boolean;
  processesLeft: number;
  filesLeft: number;
}

const calibration = new Map<string, { ms: number; processesLeft: number; filesLeft: number }>();

async function suite(name: Row['suite'], trials: number, quick: boolean): Promise<Row[]> {
  const root = mkdtempSync(join(tmpdir(), `faultline-bench-kill-${name}-`));
  // The PostgreSQL server runs as its own OS user when faultline runs as root: it must traverse the root.
  chmodSync(root, 0o755);
  const reports = mkdtempSync(join(tmpdir(), `faultline-bench-kill-${name}-reports-`));
  // `--seed S` draws another set of kill points (a second batch with the default seed repeats the first's).
  const seed = flagValue('seed');
  const rng = Rng.fromSeed(seed === undefined ? `bench-kill-${name}` : `bench-kill-${name}-${seed}`);
  const rows: Row[] = [];
  let rangeMs = name === 'drill' ? 6000 : 10_000;
  try {
    const inDrill = name === 'selftest' && process.argv.includes('--in-drill');
    if (inDrill) rangeMs = 6000;
    if (name === 'selftest' && !quick && !inDrill) {
      // Calibration: a whole self-test, not killed — how long it takes here, and that a clean run leaves nothing either.
      const t0 = Date.now();
      const r = await selftestKillTrial(root, SELFTEST_CAP_MS, reports);
      rangeMs = Date.now() - t0;
      console.log(`   selftest calibration: a whole run took ${(rangeMs / 1000).toFixed(0)} s${r.finishedFirst ? '' : ' (capped)'} → ${r.processes.length} processes, ${r.copies.length} files left; kill points 0–${(rangeMs / 1000).toFixed(0)} s`);
      calibration.set(name, { ms: rangeMs, processesLeft: r.processes.length, filesLeft: r.copies.length });
    }
    for (let i = 0; i < trials; i++) {
      const delayMs = Math.round(rng.uniform(0, rangeMs));
      const t0 = Date.now();
      const r: KillTrialResult = name === 'drill' ? await killTrial(root, delayMs, reports) : await selftestKillTrial(root, delayMs, reports, inDrill);
      rows.push({ suite: name, delayMs, runningAtKill: r.runningAtKill, drillAtKill: r.drillAtKill, finishedFirst: r.finishedFirst, processesLeft: r.processes.length, filesLeft: r.copies.length });
      const when = name === 'drill' || inDrill ? `${delayMs} ms after the ${inDrill ? 'drill\'s ' : ''}working copy appeared${r.finishedFirst ? ` (it had finished: exit ${r.exitCode})` : ''}` : `${(delayMs / 1000).toFixed(1)} s in${r.drillAtKill ? ' (during the failover drill)' : ''}${r.finishedFirst ? ` (it had finished: exit ${r.exitCode})` : ''}`;
      console.log(`   ${name} trial ${i + 1}/${trials}: SIGKILL ${when}, ${r.runningAtKill} processes of the run alive → ${r.processes.length} processes, ${r.copies.length} files left (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      for (const pid of r.processes) console.log(`     left: ${pid} ${cmdline(pid)}`);
      for (const f of r.copies) console.log(`     left: ${join(root, f)}`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(reports, { recursive: true, force: true });
  }
  return rows;
}

function selftestPoints(): string {
  if (process.argv.includes('--in-drill')) return 'SIGKILL 0–6 s after its drill\'s working copy appeared';
  const c = calibration.get('selftest');
  if (!c) return 'SIGKILL 0–10 s after the start';
  return `SIGKILL 0–${(c.ms / 1000).toFixed(0)} s after the start (the length of one whole run just measured; it left ${c.processesLeft} processes and ${c.filesLeft} files)`;
}

export default async function kill(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const trials = Number(flagValue('trials') ?? process.env.FAULTLINE_KILL_TRIALS ?? (quick ? 1 : 50));
  if (!Number.isInteger(trials) || trials < 1) throw new Error(`bench kill: --trials must be a positive integer (got ${flagValue('trials')})`);
  const only = flagValue('only');
  if (only !== undefined && only !== 'drill' && only !== 'selftest') throw new Error(`bench kill: --only must be drill or selftest (got ${only})`);
  const suites = (['drill', 'selftest'] as const).filter((s) => only === undefined || s === only);
  const rows: Row[] = [];
  for (const s of suites) rows.push(...(await suite(s, trials, quick)));
  const of = (s: Row['suite']): Row[] => rows.filter((r) => r.suite === s);
  const sum = (rs: Row[], k: 'processesLeft' | 'filesLeft'): number => rs.reduce((a, r) => a + r[k], 0);
  const line = (s: Row['suite'], what: string): string => {
    const rs = of(s);
    return rs.length === 0 ? '' : `| ${s} | ${rs.length} | ${what} | ${rs.filter((r) => r.drillAtKill).length} | ${rs.filter((r) => r.finishedFirst).length} | ${sum(rs, 'processesLeft')} | ${sum(rs, 'filesLeft')} |`;
  };
  const md = [
    '# SIGKILL trials',
    '',
    'Leftovers counted up to 30 s after each kill: processes of the run (its sampled process tree, anything with the trial TMPDIR in its command line or environment) and files in that TMPDIR (the golden pair cache aside, its unfinished builds counted).',
    '',
    '| suite | trials | kill points | killed during the drill | finished before the kill | processes left | files left |',
    '|---|---|---|---|---|---|---|',
    ...[line('drill', 'SIGKILL 0–6 s after the working copy appeared'), line('selftest', selftestPoints())].filter((l) => l !== ''),
    '',
  ].join('\n');
  const full = trials >= 50 && only === undefined;
  writeBench(full ? 'kill' : 'kill-quick', { trials, drill: { trials: of('drill').length, processesLeft: sum(of('drill'), 'processesLeft'), filesLeft: sum(of('drill'), 'filesLeft') }, selftest: { calibration: calibration.get('selftest') ?? null, trials: of('selftest').length, processesLeft: sum(of('selftest'), 'processesLeft'), filesLeft: sum(of('selftest'), 'filesLeft') }, rows }, md);
}
