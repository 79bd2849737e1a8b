/**
 * The failover drill against real PostgreSQL processes (server binaries from the machine; .ci/run
 * installs postgresql-15 when missing). Includes the honesty controls: writers that must be caught.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { checkHistory, runFailoverDrill, type DrillOptions, type DrillResult, type HistoryOp } from '../../src/failover/index.ts';
import { injectorLinks } from '../../src/scenario/index.ts';

const exec = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/faultline.mjs', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'faultline-drill-test-'));
let n = 0;
const drill = (o: Partial<DrillOptions> & Pick<DrillOptions, 'mode' | 'fault'>): Promise<DrillResult> =>
  runFailoverDrill({ seed: `t${++n}`, links: injectorLinks, dir: join(root, `run-${n}`), probeIntervalMs: 100, ...o });

async function postgresPids(): Promise<string[]> {
  const r = await exec('pgrep', ['-x', 'postgres']).catch(() => ({ stdout: '' }));
  return r.stdout.split('\n').filter(Boolean);
}

afterAll(async () => {
  // No postgres process outlives the drills (other processes on the machine are not ours to judge,
  // so compare with what ran before is not possible here; the drills stop theirs by pid).
  expect(await postgresPids()).toEqual([]);
});

describe('failover drill, fenced writer', () => {
  let killed: DrillResult;
  it('kill -9 of the primary (async): promotes, fences, no invariant violated, writes resume', async () => {
    killed = await drill({ mode: 'async', fault: 'kill', restartStale: true });
    expect(killed.check.violations).toEqual([]);
    expect(killed.check.verdict).toBe('pass');
    expect(killed.check.rto.ms).toBeGreaterThan(0);
    expect(killed.check.rto.ms).toBeLessThan(5000);
    expect((killed.evidence.fault as { portRefuses: boolean }).portRefuses).toBe(true);
    expect((killed.evidence.fault as { timeline: { before: number; after: number } }).timeline).toEqual({ before: 1, after: 2 });
    for (const f of ['history.jsonl', 'timeline.json', 'final-state.json', 'check.json', 'evidence.json', 'pg-eu.log', 'pg-us.log']) expect(existsSync(join(killed.runDir, f))).toBe(true);
    // Fail closed: zero acknowledged writes between the fence and the cut, and readiness said so.
    const { fenced, endpointCut } = killed.timeline;
    const history = readFileSync(join(killed.runDir, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as HistoryOp);
    expect(history.filter((o) => o.f === 'write' && o.type === 'ok' && o.t > fenced! && o.t < endpointCut!)).toEqual([]);
    expect(killed.facts.readiness.filter((r) => r.t > fenced! && r.t < endpointCut! && r.writesUsable)).toEqual([]);
  }, 60_000);

  it('an asynchronous partition loses acknowledged writes only inside the stall window (RPO > 0)', async () => {
    const r = await drill({ mode: 'async', fault: 'partition' });
    expect(r.check.verdict).toBe('pass');
    expect(r.check.rpo.lostAcknowledgedWrites).toBeGreaterThan(0);
    expect(r.check.rpo.predictedLagBytes).toBeGreaterThan(0);
    const stall = (r.evidence.fault as { stallMs: number }).stallMs;
    expect(r.check.rpo.windowMs).toBeLessThanOrEqual(stall + 50);
  }, 60_000);

  it('synchronous replication loses nothing under the same partition (RPO = 0)', async () => {
    const r = await drill({ mode: 'sync', fault: 'partition' });
    expect(r.check.verdict).toBe('pass');
    expect(r.check.rpo.lostAcknowledgedWrites).toBe(0);
  }, 60_000);

  it('a planned switchover loses nothing; a paused primary resumed as a zombie cannot take writes back', async () => {
    const sw = await drill({ mode: 'async', fault: 'switchover' });
    expect(sw.check.verdict).toBe('pass');
    expect(sw.check.rpo.lostAcknowledgedWrites).toBe(0);
    const pause = await drill({ mode: 'async', fault: 'pause' });
    expect((pause.evidence.fault as { allStopped: boolean }).allStopped).toBe(true);
    expect(pause.check.verdict).toBe('pass');
    expect(pause.check.rpo.lostAcknowledgedWrites).toBe(0);
  }, 90_000);

  it('the checker flags a mutated final state (deleted acknowledged row, unknown row)', () => {
    const history = readFileSync(join(killed.runDir, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as HistoryOp);
    const acked = history.find((o) => o.f === 'write' && o.type === 'ok')!.id!;
    const deleted = checkHistory(history, { ...killed.final, ids: killed.final.ids.filter((id) => id !== acked) }, killed.facts);
    // In async mode a loss outside the stall window is a violation; this row was acked before the fault.
    expect(deleted.verdict).toBe('fail');
    expect(deleted.rpo.lostIds).toContain(acked);
    const added = checkHistory(history, { ...killed.final, ids: [...killed.final.ids, 99_999_999] }, killed.facts);
    expect(added.verdict).toBe('fail');
    expect(added.unexpected).toEqual([99_999_999]);
  });
});

describe('honesty controls: writers that must be caught', () => {
  it('an unfenced writer loses acknowledged writes to the restarted stale primary', async () => {
    const r = await drill({ mode: 'async', fault: 'kill', writer: 'unfenced', restartStale: true });
    expect(r.check.verdict).toBe('fail');
    expect(r.check.rpo.lostAcknowledgedWrites).toBeGreaterThan(0);
  }, 60_000);

  it('a role-only writer is fooled by the resumed zombie primary', async () => {
    const r = await drill({ mode: 'async', fault: 'pause', writer: 'role-only' });
    expect(r.check.verdict).toBe('fail');
    expect(r.check.rpo.lostAcknowledgedWrites).toBeGreaterThan(0);
  }, 60_000);
});

describe('faultline drill failover (CLI)', () => {
  it('exits 1 for the unfenced control, and --check re-runs the checker offline on the bundle', async () => {
    const reportDir = join(root, 'cli');
    const json = join(root, 'cli.json');
    const bad = (await exec(process.execPath, [bin, 'drill', 'failover', '--fault', 'kill', '--unfenced', '--seed', '5', '--report-dir', reportDir, '--json', json]).catch((e) => e)) as {
      code: number;
      stdout: string;
    };
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('verdict: FAIL');
    const summary = JSON.parse(readFileSync(json, 'utf8')) as { verdict: string; rpo: { lostAcknowledgedWrites: number }; rto: { ms: number | null }; violations: unknown[]; evidence: string[] };
    expect(summary.verdict).toBe('fail');
    expect(summary.rpo.lostAcknowledgedWrites).toBeGreaterThan(0);
    expect(summary.violations.length).toBeGreaterThan(0);
    const again = (await exec(process.execPath, [bin, 'drill', 'failover', '--check', summary.evidence[0] as string]).catch((e) => e)) as { code: number; stdout: string };
    expect(again.code).toBe(1);
    expect(again.stdout).toContain('verdict: FAIL');
    const missing = (await exec(process.execPath, [bin, 'drill', 'failover', '--check', join(root, 'nope')]).catch((e) => e)) as { code: number; stderr: string };
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('FAULTLINE_FAILOVER_BUNDLE');
  }, 60_000);
});
