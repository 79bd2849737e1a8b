/**
 * The failover drill: a real PostgreSQL primary ("eu") and replica ("us"), replication through a
 * link proxy, clients reaching the writer through a second proxy (the writer endpoint, i.e. the
 * cluster's DNS name). A controller owns a durable, monotonic epoch; the writer under test fences on
 * it. Every operation is recorded; the checker judges the history against the final state.
 *
 * src/failover imports only src/shared: the proxies come in through the LinkProxyFactory.
 */
import { mkdirSync, mkdtempSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { FaultlineError, Rng, redact, type Seed } from '../shared/index.ts';
import {
  chownForServer,
  connString,
  copyGoldenPair,
  ensureGoldenPair,
  findPgBinaries,
  freePort,
  killNode,
  nodePids,
  processState,
  query,
  signalAll,
  startNode,
  stopNode,
  waitFor,
  type PgBinaries,
  type PgNode,
} from './postgres.ts';
import { checkHistory, type CheckResult, type DrillFacts, type FinalState, type HistoryOp, type ReadinessSample, type TimelineMarks } from './checker.ts';

/** A TCP link the drill can partition and re-point (implemented with the injector by the caller). */
export interface LinkProxy {
  readonly host: string;
  readonly port: number;
  partition(mode: 'blackhole' | 'reset' | 'refuse'): void;
  heal(): void;
  setUpstream(hostPort: string): void;
  resetConnections(): void;
  stats(): unknown;
  stop(): Promise<void>;
}
export type LinkProxyFactory = (name: string, upstream: string, seed: Seed) => Promise<LinkProxy>;

export type DrillFault = 'kill' | 'partition' | 'pause' | 'switchover';
export type WriterKind = 'fenced' | 'unfenced' | 'role-only';

export interface DrillOptions {
  mode: 'sync' | 'async';
  fault: DrillFault;
  writer?: WriterKind;
  seed: Seed;
  links: LinkProxyFactory;
  /** Where the evidence bundle goes. */
  dir: string;
  /** Writer probe interval (ms). */
  probeIntervalMs?: number;
  /** Telemetry store backup cadence = its RPO (ms), reported beside the durable-state RPO. */
  telemetryBackupRpoMs?: number;
  /** After the failover: restart the stale ex-primary with its old data (kill/pause only). */
  restartStale?: boolean;
  /** Readiness views are served from here (e.g. by the reference service). */
  onReadiness?: (view: ReadinessView) => void;
}

export interface ReadinessView {
  status: 'ready';
  cluster: {
    topology: { region: string };
    writer: { role: 'writer' | 'reader'; node: string; endpoint: string; epoch: number; probe_age_ms: number | null };
    writes_usable: boolean;
    retry_after_ms: number;
    state: 'stable' | 'flipping';
    reads_usable: boolean;
    ingest: { spooled: number; drained: number };
  };
}

export interface DrillResult {
  runDir: string;
  seed: string;
  mode: 'sync' | 'async';
  fault: DrillFault;
  writer: WriterKind;
  check: CheckResult;
  timeline: TimelineMarks;
  facts: DrillFacts;
  final: FinalState;
  evidence: Record<string, unknown>;
}

const now = (): number => performance.now();

/** The controller's durable epoch: written tmp → fsync → rename; it only increases. */
class EpochStore {
  constructor(private readonly file: string) {}
  read(): number {
    return (JSON.parse(readFileSync(this.file, 'utf8')) as { epoch: number }).epoch;
  }
  write(epoch: number, extra: Record<string, unknown>): void {
    const cur = (() => {
      try {
        return this.read();
      } catch {
        return 0;
      }
    })();
    if (epoch < cur) throw new FaultlineError('FAULTLINE_FAILOVER_EPOCH', `refusing to lower the epoch from ${cur} to ${epoch}`);
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ epoch, ...extra }));
    const fd = openSync(tmp, 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.file);
  }
}

function withDeadline<T>(p: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_r, reject) => {
      timer = setTimeout(() => {
        onTimeout();
        reject(Object.assign(new Error(`deadline ${ms} ms`), { name: 'TimeoutError' }));
      }, ms);
    }),
  ]);
}

/** A pg client with a deadline on connect and an error listener (an unhandled 'error' would crash). */
async function connect(port: number, deadlineMs: number): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: connString(port), connectionTimeoutMillis: deadlineMs });
  c.on('error', () => {});
  await withDeadline(c.connect(), deadlineMs, () => void c.end().catch(() => {}));
  return c;
}

function destroy(c: pg.Client | undefined): void {
  if (!c) return;
  const stream = (c as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
  stream?.destroy();
  void c.end().catch(() => {});
}

export async function runFailoverDrill(opts: DrillOptions): Promise<DrillResult> {
  const writerKind = opts.writer ?? 'fenced';
  const seed = String(opts.seed);
  const rng = Rng.fromSeed(seed).fork('failover');
  const probeInterval = opts.probeIntervalMs ?? 100;
  const runDir = opts.dir;
  mkdirSync(runDir, { recursive: true });
  const b: PgBinaries = findPgBinaries();
  const golden = await ensureGoldenPair(b);
  // The cluster's working copy lives in its own temp dir owned by the server user: a report dir may sit
  // under a path the server user cannot traverse (e.g. a 0700 mkdtemp dir when faultline runs as root).
  const dataDir = mkdtempSync(join(tmpdir(), 'faultline-pg-run-'));
  const dirs = copyGoldenPair(b, golden, dataDir);
  const socketDir = dataDir;
  const t0 = now();
  const rel = (): number => Math.round((now() - t0) * 10) / 10;
  const history: HistoryOp[] = [];
  const tl: TimelineMarks = {};
  const epochs: Array<{ t: number; epoch: number }> = [];
  const readiness: ReadinessSample[] = [];
  const A: PgNode = { name: 'pg-eu', region: 'eu', dir: dirs.A, port: await freePort(), proc: undefined, logFile: join(runDir, 'pg-eu.log') };
  const B: PgNode = { name: 'pg-us', region: 'us', dir: dirs.B, port: await freePort(), proc: undefined, logFile: join(runDir, 'pg-us.log') };
  for (const n of [A, B]) {
    writeFileSync(n.logFile, '');
    chownForServer(b, n.logFile);
  }
  const nodeByPort = (p: number): string => (p === A.port ? A.name : p === B.port ? B.name : `port:${p}`);
  const evidence: Record<string, unknown> = { postgres: b.version, runAs: b.user };
  let repl: LinkProxy | undefined;
  let endpoint: LinkProxy | undefined;
  const stoppers: Array<() => Promise<void>> = [];

  try {
    // --- cluster up ---------------------------------------------------------------------------
    const syncExtra: Record<string, string> = opts.mode === 'sync' ? { synchronous_standby_names: 'us', synchronous_commit: 'on' } : {};
    await startNode(b, A, socketDir, syncExtra);
    repl = await opts.links('replication', `127.0.0.1:${A.port}`, seed);
    endpoint = await opts.links('writer-endpoint', `127.0.0.1:${A.port}`, seed);
    await startNode(b, B, socketDir, { primary_conninfo: `host=127.0.0.1 port=${repl.port} user=postgres application_name=us` });
    await waitFor('the replica to stream', async () => (await query<{ state: string }>(A.port, 'select state from pg_stat_replication')).some((r) => r.state === 'streaming'));
    // The controller's durable epoch lives with this run's cluster copy (a new cluster starts at epoch 1).
    const epochStore = new EpochStore(join(dataDir, 'controller-epoch.json'));
    let epoch = 1;
    epochStore.write(epoch, { writer: A.name });
    epochs.push({ t: rel(), epoch });
    let writerNode = A;
    let state: 'stable' | 'flipping' = 'stable';
    evidence.setupMs = Math.round(now() - t0);

    // --- the writer under test -----------------------------------------------------------------
    let running = true;
    let nextId = 1;
    let gate = { usable: false, at: -Infinity, epoch: 0, rec: true, node: '' };
    const staleAddress = A.port; // unfenced/role-only controls keep the original primary's address (stale DNS / pool)
    let conn: pg.Client | undefined;
    let connPort = 0;
    const retryAfterMs = Math.max(probeInterval * 2, 200);

    const probe = async (): Promise<void> => {
      let c: pg.Client | undefined;
      try {
        c = await connect(endpoint!.port, 300);
        const r = await withDeadline(
          c.query<{ rec: boolean; epoch: string; port: number }>('select pg_is_in_recovery() as rec, (select epoch from ha_fence) as epoch, inet_server_port() as port'),
          300,
          () => destroy(c),
        );
        const row = r.rows[0]!;
        const controllerEpoch = epochStore.read();
        gate = { usable: !row.rec && Number(row.epoch) === controllerEpoch, at: now(), epoch: Number(row.epoch), rec: row.rec, node: nodeByPort(row.port) };
      } catch {
        gate = { ...gate, usable: false, at: now() };
      } finally {
        destroy(c);
      }
      const view = readinessView();
      readiness.push({ t: rel(), writesUsable: view.cluster.writes_usable, epoch: view.cluster.writer.epoch, role: view.cluster.writer.role });
      opts.onReadiness?.(view);
    };
    const usable = (): boolean => gate.usable && now() - gate.at < 2 * probeInterval + 50;
    const spool = { spooled: 0, drained: 0 };
    const readinessView = (): ReadinessView => ({
      status: 'ready',
      cluster: {
        topology: { region: writerNode.region },
        writer: { role: !gate.rec && gate.epoch === epoch ? 'writer' : 'reader', node: gate.node || writerNode.name, endpoint: `127.0.0.1:${endpoint!.port}`, epoch, probe_age_ms: Number.isFinite(gate.at) ? Math.round(now() - gate.at) : null },
        writes_usable: writerKind === 'fenced' ? usable() : true,
        retry_after_ms: retryAfterMs,
        state,
        reads_usable: true,
        ingest: { ...spool },
      },
    });

    const writeOnce = async (): Promise<void> => {
      const id = nextId++;
      history.push({ type: 'invoke', f: 'write', id, t: rel() });
      if (writerKind === 'fenced' && !usable()) {
        history.push({ type: 'fail', f: 'write', id, t: rel(), error: 'writes not usable (fenced)', retryAfterMs });
        return;
      }
      const e0 = epochStore.read();
      try {
        const port = writerKind === 'fenced' ? endpoint!.port : staleAddress;
        if (!conn || connPort !== port) {
          destroy(conn);
          conn = await connect(port, 300);
          connPort = port;
        }
        let syncCancelled = false;
        const onNotice = (n: { message?: string }): void => {
          if (/canceling wait for synchronous replication/i.test(n.message ?? '')) syncCancelled = true;
        };
        conn.on('notice', onNotice);
        const c = conn;
        const sql =
          writerKind === 'fenced'
            ? 'insert into events (id, epoch, node_port) select $1, $2, inet_server_port() where not pg_is_in_recovery() and (select epoch from ha_fence) = $2 returning node_port'
            : writerKind === 'role-only'
              ? 'insert into events (id, epoch, node_port) select $1, $2, inet_server_port() where not pg_is_in_recovery() returning node_port'
              : 'insert into events (id, epoch, node_port) values ($1, $2, inet_server_port()) returning node_port';
        const r = await withDeadline(c.query<{ node_port: number }>(sql, [id, e0]), 500, () => {
          destroy(c);
          conn = undefined;
        });
        c.off('notice', onNotice);
        if (r.rowCount === 0) {
          history.push({ type: 'fail', f: 'write', id, t: rel(), error: 'guard refused (role or epoch)', retryAfterMs });
          gate.usable = false;
          return;
        }
        const e1 = epochStore.read();
        const node = nodeByPort(r.rows[0]!.node_port);
        if (writerKind === 'fenced' && (e1 !== e0 || syncCancelled)) {
          history.push({ type: 'info', f: 'write', id, t: rel(), node, epoch: e0, error: syncCancelled ? 'sync replication wait cancelled' : 'epoch moved during commit' });
          return;
        }
        history.push({ type: 'ok', f: 'write', id, t: rel(), node, epoch: writerKind === 'fenced' ? e0 : undefined });
      } catch (e) {
        destroy(conn);
        conn = undefined;
        gate.usable = false;
        history.push({ type: 'info', f: 'write', id, t: rel(), error: (e as Error).message.slice(0, 120) });
      }
    };

    const loops: Array<Promise<void>> = [];
    loops.push(
      (async () => {
        while (running) {
          await writeOnce();
          await new Promise((r) => setTimeout(r, 4));
        }
      })(),
    );
    if (writerKind === 'fenced') {
      loops.push(
        (async () => {
          while (running) {
            await probe();
            await new Promise((r) => setTimeout(r, probeInterval));
          }
        })(),
      );
    }
    // Reads: any healthy node, labelled with staleness.
    loops.push(
      (async () => {
        while (running) {
          let done = false;
          for (const n of [B, A]) {
            if (done) break;
            try {
              const rows = await query<{ stale: number | null }>(n.port, "select extract(epoch from (clock_timestamp() - coalesce(pg_last_xact_replay_timestamp(), clock_timestamp()))) * 1000 as stale", [], 300);
              history.push({ type: 'ok', f: 'read', t: rel(), node: n.name, staleMs: Math.round(Number(rows[0]?.stale ?? 0)) });
              done = true;
            } catch {
              // try the next node
            }
          }
          if (!done) history.push({ type: 'fail', f: 'read', t: rel(), error: 'no healthy node' });
          await new Promise((r) => setTimeout(r, 50));
        }
      })(),
    );
    // Telemetry ingest: spooled locally, never pauses; drained when writes are usable.
    loops.push(
      (async () => {
        while (running) {
          spool.spooled++;
          history.push({ type: 'ok', f: 'ingest', t: rel() });
          if ((writerKind !== 'fenced' || usable()) && spool.spooled > spool.drained) {
            try {
              await query(endpoint!.port, 'insert into telemetry (items) values ($1)', [spool.spooled - spool.drained], 300);
              spool.drained = spool.spooled;
            } catch {
              // stays spooled
            }
          }
          await new Promise((r) => setTimeout(r, 25));
        }
      })(),
    );

    // --- healthy baseline, then the fault --------------------------------------------------------
    await new Promise((r) => setTimeout(r, 600 + rng.int(400)));
    const lagBytes = async (): Promise<number | null> => {
      try {
        const r = await query<{ lag: string }>(A.port, "select coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), 0) as lag from pg_stat_replication", [], 300);
        return Number(r[0]?.lag ?? 0);
      } catch {
        return null;
      }
    };
    const faultEvidence: Record<string, unknown> = {};
    const lagBeforeFault = await lagBytes();
    tl.fault = rel();
    let pausedPids: number[] = [];
    if (opts.fault === 'kill') {
      const pids = await killNode(A);
      faultEvidence.killedPids = pids;
      faultEvidence.portRefuses = await query(A.port, 'select 1', [], 300).then(() => false, () => true);
    } else if (opts.fault === 'pause') {
      // Stop the postmaster first (it can fork no new backend then), then every child; repeat until
      // the set is stable. A backend that exited meanwhile is gone, not running.
      const stopped = new Set<number>();
      for (let round = 0; round < 5; round++) {
        const pids = nodePids(A).filter((p) => !stopped.has(p));
        if (pids.length === 0) break;
        signalAll(pids, 'SIGSTOP');
        for (const p of pids) stopped.add(p);
      }
      pausedPids = [...stopped];
      const isStopped = (p: number): boolean => {
        const st = processState(p);
        return st === undefined || st === 'T' || st === 't' || st === 'Z';
      };
      await waitFor('every paused pid to stop', async () => pausedPids.every(isStopped), 2000, 10).catch(() => {});
      faultEvidence.pausedPids = pausedPids;
      faultEvidence.allStopped = pausedPids.length > 0 && ['T', 't'].includes(processState(pausedPids[0]!) ?? '') && pausedPids.every(isStopped);
    } else if (opts.fault === 'partition') {
      // Region loss as it happens: the replication link goes first, clients follow after a stall.
      repl.partition('blackhole');
      tl.replicationStall = tl.fault;
      const stallMs = 300 + rng.int(500);
      faultEvidence.stallMs = stallMs;
      await new Promise((r) => setTimeout(r, stallMs));
      faultEvidence.lagAtClientCut = await lagBytes();
      endpoint.partition('blackhole');
      faultEvidence.clientsCutAt = rel();
    }
    const predictedLag = opts.fault === 'partition' ? (faultEvidence.lagAtClientCut as number | null) : lagBeforeFault;

    // --- controller: detect, decide, fence, promote, stamp, cut -------------------------------------
    const promoteB = async (): Promise<void> => {
      const before = await query<{ tli: string }>(B.port, "select timeline_id as tli from pg_control_checkpoint()");
      const r = await query<{ p: boolean }>(B.port, 'select pg_promote(true, 60) as p', [], 65_000);
      if (!r[0]?.p) throw new FaultlineError('FAULTLINE_FAILOVER_PROMOTE', 'pg_promote returned false');
      const after = await query<{ rec: boolean; tli: string }>(B.port, "select pg_is_in_recovery() as rec, ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int as tli");
      faultEvidence.timeline = { before: Number(before[0]?.tli), after: Number(after[0]?.tli) };
      if (after[0]?.rec !== false || Number(after[0]?.tli) !== Number(before[0]?.tli) + 1) {
        throw new FaultlineError('FAULTLINE_FAILOVER_PROMOTE', `promotion not verified: ${JSON.stringify(after[0])}`);
      }
    };
    const fence = (): void => {
      state = 'flipping';
      epoch += 1;
      epochStore.write(epoch, { writer: B.name, state: 'flipping' });
      epochs.push({ t: rel(), epoch });
      tl.fenced = rel();
    };
    const stampAndCut = async (): Promise<void> => {
      await query(B.port, 'update ha_fence set epoch = $1', [epoch]);
      tl.stamped = rel();
      endpoint!.heal(); // the client-side partition was between clients and region eu, not us
      endpoint!.setUpstream(`127.0.0.1:${B.port}`);
      endpoint!.resetConnections();
      writerNode = B;
      state = 'stable';
      epochStore.write(epoch, { writer: B.name, state: 'stable' });
      tl.endpointCut = rel();
      await query(B.port, 'checkpoint');
    };

    if (opts.fault === 'switchover') {
      tl.detect = rel();
      tl.decide = rel();
      fence();
      await query(A.port, "alter system set default_transaction_read_only = on; select pg_reload_conf(); select pg_terminate_backend(pid) from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()").catch(() => {});
      const lsn = (await query<{ lsn: string }>(A.port, 'select pg_current_wal_lsn() as lsn'))[0]!.lsn;
      await waitFor('the replica to replay the old primary', async () => (await query<{ ok: boolean }>(B.port, 'select pg_last_wal_replay_lsn() >= $1::pg_lsn as ok', [lsn]))[0]!.ok, 10_000, 10);
      await promoteB();
      tl.promoted = rel();
      await stampAndCut();
      await stopNode(A);
    } else {
      // Detect: 3 consecutive failed probes of the writer target through the writer endpoint.
      let misses = 0;
      while (misses < 3) {
        const okProbe = await query(endpoint.port, 'select 1', [], 200).then(
          () => true,
          () => false,
        );
        misses = okProbe ? 0 : misses + 1;
        if (!okProbe) tl.detect ??= rel();
        if (okProbe) tl.detect = undefined;
        if (misses < 3) await new Promise((r) => setTimeout(r, 100));
        if (rel() - tl.fault > 15_000) throw new FaultlineError('FAULTLINE_FAILOVER_DETECT', 'the controller did not detect the fault within 15 s');
      }
      tl.decide = rel();
      fence();
      await promoteB();
      tl.promoted = rel();
      await stampAndCut();
    }

    // --- follow-ups: the zombie / stale primary comes back -------------------------------------------
    if (opts.fault === 'pause') {
      await new Promise((r) => setTimeout(r, 200));
      signalAll(pausedPids, 'SIGCONT');
      faultEvidence.resumedAt = rel();
    }
    if (opts.restartStale && opts.fault === 'kill') {
      await startNode(b, A, socketDir, syncExtra).catch((e) => (faultEvidence.restartError = (e as Error).message));
      faultEvidence.staleRestartedAt = rel();
    }

    // Keep writing for a while after the cut, then quiesce.
    const after = tl.fenced ?? tl.fault;
    await waitFor('the first acknowledged write after the failover', async () => history.some((o) => o.f === 'write' && o.type === 'ok' && o.t > after), writerKind === 'fenced' ? 10_000 : 1500, 20).catch(() => {});
    tl.firstWrite = history.find((o) => o.f === 'write' && o.type === 'ok' && o.t > after)?.t;
    await new Promise((r) => setTimeout(r, 800));
    running = false;
    await Promise.all(loops);
    destroy(conn);
    tl.end = rel();
    if (opts.fault === 'partition') {
      repl.heal();
    }
    // Reconverged: the new primary serves the writer endpoint with the current epoch.
    const stamped = await query<{ epoch: string }>(endpoint.port, 'select epoch from ha_fence', [], 2000);
    if (Number(stamped[0]?.epoch) === epoch) tl.reconverged = rel();

    // --- final state from the authoritative node --------------------------------------------------------
    const idsOf = async (n: PgNode): Promise<number[] | null> => {
      try {
        return (await query<{ id: string }>(n.port, 'select id from events order by id', [], 3000)).map((r) => Number(r.id));
      } catch {
        return null;
      }
    };
    const final: FinalState = { authoritative: writerNode.name, ids: (await idsOf(writerNode)) ?? [], perNode: { [A.name]: await idsOf(A), [B.name]: await idsOf(B) } };
    const facts: DrillFacts = {
      mode: opts.mode,
      fault: opts.fault,
      writer: writerKind,
      timeline: tl,
      epochs,
      readiness,
      predictedLagBytes: predictedLag,
      telemetryBackupRpoMs: opts.telemetryBackupRpoMs ?? 300_000,
    };
    evidence.fault = faultEvidence;
    evidence.proxies = { replication: repl.stats(), writerEndpoint: endpoint.stats() };
    evidence.ingest = { ...spool };
    const check = checkHistory(history, final, facts);
    writeEvidence(runDir, history, final, facts, check, evidence);
    return { runDir, seed, mode: opts.mode, fault: opts.fault, writer: writerKind, check, timeline: tl, facts, final, evidence };
  } finally {
    for (const n of [A, B]) {
      signalAll(nodePids(n), 'SIGCONT');
      await stopNode(n).catch(() => {});
    }
    await repl?.stop().catch(() => {});
    await endpoint?.stop().catch(() => {});
    for (const s of stoppers) await s().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Writes the evidence bundle: history.jsonl, timeline.json, final state, check, server logs stay beside. */
export function writeEvidence(runDir: string, history: HistoryOp[], final: FinalState, facts: DrillFacts, check: CheckResult, evidence: Record<string, unknown>): void {
  writeFileSync(join(runDir, 'history.jsonl'), history.map((o) => JSON.stringify(o)).join('\n') + '\n');
  writeFileSync(join(runDir, 'timeline.json'), `${JSON.stringify({ timeline: facts.timeline, epochs: facts.epochs }, null, 2)}\n`);
  writeFileSync(join(runDir, 'facts.json'), `${JSON.stringify(facts, null, 2)}\n`);
  writeFileSync(join(runDir, 'final-state.json'), `${JSON.stringify(final, null, 2)}\n`);
  writeFileSync(join(runDir, 'check.json'), `${JSON.stringify(check, null, 2)}\n`);
  writeFileSync(join(runDir, 'evidence.json'), redact(`${JSON.stringify(evidence, null, 2)}\n`));
}

/** Re-runs the checker offline on an evidence bundle. */
export function recheck(runDir: string): CheckResult {
  const read = <T>(f: string): T => {
    try {
      return JSON.parse(readFileSync(join(runDir, f), 'utf8')) as T;
    } catch (e) {
      throw new FaultlineError('FAULTLINE_FAILOVER_BUNDLE', `cannot read ${join(runDir, f)}: ${(e as Error).message}`, { exitCode: 2 });
    }
  };
  const historyText = (() => {
    try {
      return readFileSync(join(runDir, 'history.jsonl'), 'utf8');
    } catch (e) {
      throw new FaultlineError('FAULTLINE_FAILOVER_BUNDLE', `cannot read ${join(runDir, 'history.jsonl')}: ${(e as Error).message}`, { exitCode: 2 });
    }
  })();
  const history = historyText.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as HistoryOp);
  return checkHistory(history, read<FinalState>('final-state.json'), read<DrillFacts>('facts.json'));
}
