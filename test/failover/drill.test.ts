/**
 * The failover drill against real PostgreSQL processes (server binaries from the machine; .ci/run
 * installs postgresql-15 when missing). Includes the honesty controls: writers that must be caught.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { externalProvider, runFailoverDrill, type DrillResult } from '../../src/failover/index.ts';
import { checkHistory, type HistoryOp } from '../../src/failover/checker.ts';
import { faultSchedule, type DrillOptions } from '../../src/failover/drill-options.ts';
import { nativeProvider } from '../../src/failover/provider.ts';
import { copyGoldenPair, ensureGoldenPair, findPgBinaries, freePort, startNode, stopNode, type PgNode } from '../../src/failover/postgres.ts';
import { injectorLinks } from '../../src/scenario/index.ts';
import { pollUntil } from '../helpers/until.ts';

const exec = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/faultline.mjs', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'faultline-drill-test-'));
chmodSync(root, 0o755); // the server user must traverse it (cluster copies live under it)
let n = 0;
const drill = (o: Partial<DrillOptions> & Pick<DrillOptions, 'mode' | 'fault'>): Promise<DrillResult> =>
  runFailoverDrill({ seed: `t${++n}`, links: injectorLinks, dir: join(root, `run-${n}`), probeIntervalMs: 100, provider: nativeProvider({ workDir: root }), ...o });

/** postgres processes whose command line names a path under `dir` (others on the machine are not ours). */
function postgresUnder(dir: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      if (cmd[0]?.endsWith('postgres') && cmd.some((a) => a.startsWith(dir))) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

/** Whether a process is stopped (SIGSTOP: state T in /proc/PID/stat). */
function isStopped(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T');
  } catch {
    return false;
  }
}

afterAll(() => {
  // No postgres process outlives the drills (every drill and the external "infrastructure" ran under root).
  expect(postgresUnder(root)).toEqual([]);
});

const ops = (r: DrillResult): HistoryOp[] => readFileSync(join(r.runDir, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as HistoryOp);

describe('failover drill, fenced writer', () => {
  let killed: DrillResult;
  it('kill -9 of the primary (async): promotes, fences, no invariant violated, writes resume', async () => {
    killed = await drill({ mode: 'async', fault: 'kill', followUp: 'restart' });
    expect(killed.check.violations).toEqual([]);
    expect(killed.check.verdict).toBe('pass');
    expect(killed.check.rto.ms).toBeGreaterThan(0);
    expect(killed.check.rto.ms).toBeLessThan(5000);
    expect((killed.evidence.fault as { portRefuses: boolean }).portRefuses).toBe(true);
    expect((killed.evidence.fault as { timeline: { before: number; after: number } }).timeline).toEqual({ before: 1, after: 2 });
    for (const f of ['history.jsonl', 'timeline.json', 'final-state.json', 'check.json', 'evidence.json', 'pg-eu.log', 'pg-us.log']) expect(existsSync(join(killed.runDir, f))).toBe(true);
    // Fail closed: zero acknowledged writes between the fence and the cut, and readiness said so.
    const { fenced, endpointCut } = killed.timeline;
    const history = ops(killed);
    expect(history.filter((o) => o.f === 'write' && o.type === 'ok' && o.t > fenced! && o.t < endpointCut!)).toEqual([]);
    expect(killed.facts.readiness.filter((r) => r.t > fenced! && r.t < endpointCut! && r.writesUsable)).toEqual([]);
    // The stale ex-primary came back read-write at the old epoch; the fence held (no write acknowledged there).
    expect((killed.evidence.followUp as { staleNode: unknown }).staleNode).toEqual({ inRecovery: false, stamp: 1, controllerEpoch: 2 });
    expect(history.filter((o) => o.f === 'write' && o.type === 'ok' && o.t > fenced! && o.node !== 'pg-us')).toEqual([]);
  }, 60_000);

  it('an asynchronous partition loses acknowledged writes only inside the stall window (RPO > 0)', async () => {
    const r = await drill({ mode: 'async', fault: 'partition' });
    expect(r.check.verdict).toBe('pass');
    expect(r.check.rpo.lostAcknowledgedWrites).toBeGreaterThan(0);
    expect(r.check.rpo.predictedLagBytes).toBeGreaterThan(0);
    const stall = (r.evidence.fault as { stallMs: number }).stallMs;
    expect(r.check.rpo.windowMs).toBeLessThanOrEqual(stall + 50);
  }, 60_000);

  it('synchronous replication (remote_apply) loses nothing under the same partition (RPO = 0)', async () => {
    const r = await drill({ mode: 'sync', syncCommit: 'remote_apply', fault: 'partition' });
    expect(r.check.verdict).toBe('pass');
    expect(r.check.rpo.lostAcknowledgedWrites).toBe(0);
  }, 60_000);

  it('a planned switchover loses nothing and the old primary is re-cloned; a paused primary resumed as a zombie cannot take writes back', async () => {
    const sw = await drill({ mode: 'async', fault: 'switchover', followUp: 'reclone' });
    expect(sw.check.violations).toEqual([]);
    expect(sw.check.verdict).toBe('pass');
    expect(sw.check.rpo.lostAcknowledgedWrites).toBe(0);
    expect(sw.facts.fence).toBe('active');
    expect(sw.facts.rejoin).toMatchObject({ how: 'reclone', inRecovery: true, streaming: true, timeline: 2, stamp: 2, caughtUp: true });
    expect(sw.final.perNode['pg-eu']).toEqual(sw.final.ids);
    const pause = await drill({ mode: 'async', fault: 'pause' });
    expect((pause.evidence.fault as { allStopped: boolean }).allStopped).toBe(true);
    expect(pause.check.verdict).toBe('pass');
    expect(pause.check.rpo.lostAcknowledgedWrites).toBe(0);
  }, 90_000);

  it('kill then pg_rewind (after a CHECKPOINT on the new primary): the ex-primary streams on the new timeline, fenced', async () => {
    const r = await drill({ mode: 'async', fault: 'kill', followUp: 'rewind' });
    expect(r.check.violations).toEqual([]);
    expect(r.check.verdict).toBe('pass');
    expect((r.evidence.fault as { checkpointTimeline: unknown }).checkpointTimeline).toEqual({ ck: 2, wal: 2 });
    expect(r.facts.rejoin).toMatchObject({ how: 'rewind', node: 'pg-eu', inRecovery: true, streaming: true, timeline: 2, caughtUp: true });
    // Rewound: every row the new primary holds, nothing it does not.
    expect(r.final.perNode['pg-eu']).toEqual(r.final.ids);
    expect(r.timeline.reconverged).toBeGreaterThan(r.timeline.endpointCut!);
    expect(ops(r).filter((o) => o.f === 'write' && o.type === 'ok' && o.t > r.timeline.fenced! && o.node !== 'pg-us')).toEqual([]);
  }, 60_000);

  it('partition from clients only (sync): the reachable primary is fenced actively, nothing is lost', async () => {
    const r = await drill({ mode: 'sync', fault: 'partition-clients' });
    expect(r.check.violations).toEqual([]);
    expect(r.check.verdict).toBe('pass');
    expect(r.check.failover).toBe(true);
    expect(r.facts.fence).toBe('active');
    expect(r.check.rpo.lostAcknowledgedWrites).toBe(0);
    expect(r.final.authoritative).toBe('pg-us');
  }, 60_000);

  it('partition from the replica only (async): clients still reach a healthy writer, so no failover and RPO 0', async () => {
    const r = await drill({ mode: 'async', fault: 'partition-replica' });
    expect(r.check.violations).toEqual([]);
    expect(r.check.verdict).toBe('pass');
    expect(r.check.failover).toBe(false);
    expect(r.timeline.fenced).toBeUndefined();
    expect(r.final.authoritative).toBe('pg-eu');
    expect(r.check.rpo.lostAcknowledgedWrites).toBe(0);
    expect(r.facts.epochs.map((e) => e.epoch)).toEqual([1]);
    // The replica caught up after the heal: it holds every row the primary holds.
    expect(r.final.perNode['pg-us']).toEqual(r.final.ids);
    expect((r.evidence.fault as { partitionMs: number }).partitionMs).toBe(faultSchedule(r.seed).partitionMs);
  }, 60_000);

  it('the checker flags a mutated final state (deleted acknowledged row, unknown row)', () => {
    const history = ops(killed);
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

describe('fault timing from the seed', () => {
  it('the same seed replays the same schedule; different seeds differ', () => {
    expect(faultSchedule('42-1')).toEqual(faultSchedule('42-1'));
    const many = new Set(Array.from({ length: 20 }, (_, i) => JSON.stringify(faultSchedule(`s-${i}`))));
    expect(many.size).toBeGreaterThan(15);
    const s = faultSchedule('x');
    expect(s.baselineMs).toBeGreaterThanOrEqual(600);
    expect(s.stallMs).toBeGreaterThanOrEqual(300);
  });
});

describe('external provider (game days): your nodes, your commands', () => {
  it('validates connection strings (loopback only) and refuses faults it has no command for', () => {
    expect(() => externalProvider({ primary: 'postgresql://u@10.1.2.3:5432/d', replica: 'postgresql://u@127.0.0.1:5433/d' })).toThrow(/provider\.primary.*not loopback/);
    expect(() => externalProvider({ primary: 'mysql://u@127.0.0.1/d', replica: 'postgresql://u@127.0.0.1:5433/d' })).toThrow(/scheme/);
    expect(() => externalProvider({ primary: 'postgresql://u@127.0.0.1:5432/d', replica: 'postgresql://u@127.0.0.1:5432/d' })).toThrow(/same address/);
    const p = externalProvider({ primary: 'postgresql://u:secret@127.0.0.1:5432/d', replica: 'postgresql://u@[::1]:5433/d', commands: { stopPrimary: 'true' } });
    expect([...p.capabilities].sort()).toEqual(['kill', 'stop']);
    return expect(runFailoverDrill({ mode: 'async', fault: 'pause', seed: 1, links: injectorLinks, dir: join(root, 'ext-refused'), provider: p })).rejects.toMatchObject({
      code: 'FAULTLINE_FAILOVER_PROVIDER',
      exitCode: 2,
      message: expect.stringMatching(/field 'fault'.*pause/),
    });
  });

  describe('against native processes started by the test acting as external infrastructure', () => {
    const b = findPgBinaries();
    const infra = join(root, 'infra');
    let A: PgNode;
    let B: PgNode;
    afterAll(async () => {
      for (const x of [A, B]) if (x) await stopNode(x);
    });

    it('kill via the stopPrimary command, pg_promote on the replica, fenced writer: pass; a failing command is reported', async () => {
      mkdirSync(infra, { recursive: true });
      const dirs = await copyGoldenPair(b, await ensureGoldenPair(b), infra);
      A = { name: 'ext-eu', region: 'eu', dir: dirs.A, port: await freePort(), proc: undefined, logFile: join(infra, 'eu.log') };
      B = { name: 'ext-us', region: 'us', dir: dirs.B, port: await freePort(), proc: undefined, logFile: join(infra, 'us.log') };
      await startNode(b, A, infra);
      await startNode(b, B, infra, { primary_conninfo: `host=127.0.0.1 port=${A.port} user=postgres application_name=us` });
      const url = (p: number): string => `postgresql://postgres@127.0.0.1:${p}/postgres`;
      // A failing command: typed error with its output, the cluster untouched.
      const broken = externalProvider({ primary: url(A.port), replica: url(B.port), commands: { stopPrimary: 'echo "no such vm" >&2; exit 3' } });
      await expect(runFailoverDrill({ mode: 'async', fault: 'kill', seed: 2, links: injectorLinks, dir: join(root, 'ext-broken'), provider: broken })).rejects.toMatchObject({
        code: 'FAULTLINE_FAILOVER_COMMAND',
        message: expect.stringMatching(/stopPrimary exited 3: no such vm/),
      });
      // Immediate shutdown (SIGQUIT) of the postmaster: the "infrastructure" kills its primary.
      const provider = externalProvider({ primary: url(A.port), replica: url(B.port), commands: { stopPrimary: `kill -QUIT ${A.proc!.pid}` } });
      const r = await runFailoverDrill({ mode: 'async', fault: 'kill', seed: 3, links: injectorLinks, dir: join(root, 'ext-kill'), provider });
      expect(r.provider).toBe('external');
      expect(r.check.violations).toEqual([]);
      expect(r.check.verdict).toBe('pass');
      expect((r.evidence.fault as { portRefuses: boolean }).portRefuses).toBe(true);
      expect((r.evidence.fault as { timeline: unknown }).timeline).toEqual({ before: 1, after: 2 });
      expect(r.final.authoritative).toBe('pg-us');
      expect(JSON.stringify(r.evidence)).toContain('stopPrimary');
    }, 60_000);
  });
});

describe('honesty controls: writers that must be caught', () => {
  it('an unfenced writer loses acknowledged writes to the restarted stale primary', async () => {
    const r = await drill({ mode: 'async', fault: 'kill', writer: 'unfenced', followUp: 'restart' });
    expect(r.check.verdict).toBe('fail');
    expect(r.check.rpo.lostAcknowledgedWrites).toBeGreaterThan(0);
    expect(r.check.violations.map((v) => v.invariant)).toContain('no-stale-writer');
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

  it('--runs N prints and writes p50/p95/max of RTO and RPO with every seed', async () => {
    const json = join(root, 'runs.json');
    const r = (await exec(process.execPath, [bin, 'drill', 'failover', '--fault', 'partition-replica', '--runs', '2', '--seed', '9', '--report-dir', join(root, 'runs'), '--json', json]).catch((e) => e)) as { code?: number; stdout: string };
    expect(r.code ?? 0).toBe(0);
    expect(r.stdout).toMatch(/2 runs: RTO p50 \d+ ms \/ p95 \d+ ms \/ max \d+ ms · RPO lost acknowledged writes p50 0 \/ p95 0 \/ max 0/);
    const summary = JSON.parse(readFileSync(json, 'utf8')) as { verdict: string; runs: number; rto: { p50: number; p95: number; max: number }; rpo: { p50: number; max: number }; perRun: Array<{ seed: string; failover: boolean }>; failedSeeds: string[] };
    expect(summary).toMatchObject({ verdict: 'pass', runs: 2, failedSeeds: [], rpo: { p50: 0, max: 0 } });
    expect(summary.rto.max).toBeGreaterThanOrEqual(summary.rto.p50);
    expect(summary.perRun.map((x) => [x.seed, x.failover])).toEqual([
      ['9-1', false],
      ['9-2', false],
    ]);
  }, 60_000);

  it('an invalid scenario exits 2 naming file, line and field', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/bad-drill.yaml', import.meta.url));
    const bad = (await exec(process.execPath, [bin, 'drill', 'failover', '--scenario', fixture]).catch((e) => e)) as { code: number; stderr: string };
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${fixture}:6 field 'fault'`);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const provider = fileURLToPath(new URL('./fixtures/bad-provider.yaml', import.meta.url));
    const p = (await exec(process.execPath, [bin, 'drill', 'failover', '--scenario', provider]).catch((e) => e)) as { code: number; stderr: string };
    expect(p.code).toBe(2);
    expect(p.stderr).toContain(`${provider}:8 field 'provider.primary'`);
    expect(p.stderr).toMatch(/not loopback/);
    expect(p.stderr).toContain(`${provider}:11 field 'provider.commands.stopPrimary'`);
  });

  it('SIGTERM mid-drill: exit 3 and no postgres process outlives the run', async () => {
    const tmp = join(root, 'sigterm-tmp');
    mkdirSync(tmp, { recursive: true });
    chmodSync(tmp, 0o755);
    symlinkSync(join(tmpdir(), 'faultline-pg-cache'), join(tmp, 'faultline-pg-cache')); // reuse the golden pair the tests above built
    const child = spawn(process.execPath, [bin, 'drill', 'failover', '--fault', 'pause', '--seed', '4', '--report-dir', join(root, 'sigterm')], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    // Wait until the drill is mid-fault — its servers run and the primary is paused (SIGSTOPped) — then terminate it.
    let terminated = false;
    const exitedEarly = exited.then((code) => {
      if (!terminated) throw new Error(`the drill exited ${code} before pausing its primary: ${out}`);
    });
    exitedEarly.catch(() => {}); // reported through the race below
    await Promise.race([pollUntil('the drill to pause its primary', () => postgresUnder(tmp).some(isStopped), 60_000), exitedEarly]);
    expect(postgresUnder(tmp).length).toBeGreaterThanOrEqual(2);
    terminated = true;
    child.kill('SIGTERM');
    expect(await exited).toBe(3);
    expect(out).toContain('FAULTLINE_FAILOVER_ABORTED');
    expect(postgresUnder(tmp)).toEqual([]);
  }, 90_000);
});
