/**
 * The failover drill: a PostgreSQL primary ("eu") and replica ("us") from a provider (native processes
 * or the user's infrastructure), replication through a link the provider can partition, clients
 * reaching the writer through a proxy (the writer endpoint, i.e. the cluster's DNS name). A controller
 * owns a durable, monotonic epoch; the writer under test fences on it. Every operation is recorded;
 * the checker judges the history against the final state.
 *
 * src/failover imports only src/shared: the proxies come in through the LinkProxyFactory.
 */
import { mkdirSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { ExitCode, FaultlineError, InputError, Rng, redact, type Seed } from '../shared/index.ts';
import { clientConfig, query, waitFor, type PgTarget } from './postgres.ts';
import { nativeProvider, type Capability, type ClusterNode, type ClusterProvider, type LinkProxy, type LinkProxyFactory, type ProvidedCluster } from './provider.ts';
import { checkHistory, type CheckResult, type DrillFacts, type FinalState, type HistoryOp, type ReadinessSample, type TimelineMarks } from './checker.ts';

export type { LinkProxy, LinkProxyFactory } from './provider.ts';

/**
 * kill: kill -9 of the primary (postmaster and every child). partition: the full region loss (the
 * replication link first, clients after a seeded stall). partition-clients: clients cannot reach the
 * primary, replication still flows (the controller fences the reachable primary actively). partition-replica:
 * the replication link is blackholed while clients still reach the primary (a healthy writer: no failover).
 * pause: SIGSTOP of every pid, SIGCONT after the promotion (the zombie). switchover: planned.
 */
export type DrillFault = 'kill' | 'partition' | 'partition-clients' | 'partition-replica' | 'pause' | 'switchover';
export const DRILL_FAULTS: readonly DrillFault[] = ['kill', 'partition', 'partition-clients', 'partition-replica', 'pause', 'switchover'];
export type WriterKind = 'fenced' | 'unfenced' | 'role-only';
/** After the failover: restart the stale ex-primary with its old data, rejoin it with pg_rewind, or re-clone it. */
export type FollowUp = 'none' | 'restart' | 'rewind' | 'reclone';
export const FOLLOW_UPS: readonly FollowUp[] = ['none', 'restart', 'rewind', 'reclone'];

export interface DrillOptions {
  mode: 'sync' | 'async';
  /** Synchronous mode: synchronous_commit on (default) or remote_apply (native provider). */
  syncCommit?: 'on' | 'remote_apply';
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
  /** Same as followUp: 'restart' (kept for compatibility). */
  restartStale?: boolean;
  /** What happens to the stale ex-primary after the failover (default none; ignored without a failover). */
  followUp?: FollowUp;
  /** Where the cluster comes from (default: native PostgreSQL processes). */
  provider?: ClusterProvider;
  /** Aborts the drill (SIGINT/SIGTERM in the CLI): everything started is stopped, then FAULTLINE_FAILOVER_ABORTED. */
  signal?: AbortSignal;
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
  followUp: FollowUp;
  provider: string;
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
async function connect(target: PgTarget, deadlineMs: number): Promise<pg.Client> {
  const c = new pg.Client(clientConfig(target, deadlineMs));
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

/** What each fault and follow-up needs from the provider. */
const NEEDS: Record<DrillFault | FollowUp, Capability[]> = {
  kill: ['kill'],
  partition: ['partition-replication'],
  'partition-clients': [],
  'partition-replica': ['partition-replication'],
  pause: ['pause'],
  switchover: [],
  none: [],
  restart: ['stop', 'restart'],
  rewind: ['rewind'],
  reclone: ['reclone'],
};

/** Refuses (exit 2) a fault or follow-up the provider cannot perform. */
export function checkProviderSupports(provider: ClusterProvider, fault: DrillFault, followUp: FollowUp): void {
  for (const [what, field] of [
    [fault, 'fault'],
    [followUp, 'followUp'],
  ] as const) {
    const missing = NEEDS[what].filter((c) => !provider.capabilities.has(c));
    if (missing.length) {
      throw new InputError('FAULTLINE_FAILOVER_PROVIDER', `the ${provider.name} provider cannot do '${what}': it needs ${missing.join(', ')} (for the external provider: supply the matching provider.commands)`, { field });
    }
  }
}

/** Every timing decision of a drill, drawn from its seed: the same seed replays the same schedule. */
export interface FaultSchedule {
  /** Healthy baseline before the fault. */
  baselineMs: number;
  /** partition: replication stalls this long before clients are cut too. */
  stallMs: number;
  /** partition-replica: how long the replication link stays blackholed. */
  partitionMs: number;
  /** pause: how long after the promotion the zombie is resumed. */
  resumeDelayMs: number;
}

export function faultSchedule(seed: Seed): FaultSchedule {
  const rng = Rng.fromSeed(String(seed)).fork('failover');
  return { baselineMs: 600 + rng.int(400), stallMs: 300 + rng.int(500), partitionMs: 1000 + rng.int(600), resumeDelayMs: 150 + rng.int(300) };
}

/** The server's identity as a node reports it (cluster_name, else address:port). */
const IDENTITY = "coalesce(nullif(current_setting('cluster_name'), ''), host(inet_server_addr()) || ':' || inet_server_port())";

export async function runFailoverDrill(opts: DrillOptions): Promise<DrillResult> {
  const writerKind = opts.writer ?? 'fenced';
  const followUp: FollowUp = opts.followUp ?? (opts.restartStale ? 'restart' : 'none');
  const provider = opts.provider ?? nativeProvider();
  checkProviderSupports(provider, opts.fault, followUp);
  const seed = String(opts.seed);
  const schedule = faultSchedule(seed);
  const probeInterval = opts.probeIntervalMs ?? 100;
  const runDir = opts.dir;
  mkdirSync(runDir, { recursive: true });
  const aborted = (): void => {
    if (opts.signal?.aborted) throw new FaultlineError('FAULTLINE_FAILOVER_ABORTED', 'the failover drill was aborted; every process it started was stopped', { exitCode: ExitCode.aborted });
  };
  const sleep = (ms: number): Promise<void> =>
    new Promise((r) => {
      const signal = opts.signal;
      if (!signal) {
        setTimeout(r, ms);
        return;
      }
      const onAbort = (): void => {
        clearTimeout(t);
        r();
      };
      const t = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        r();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  aborted();
  const t0 = now();
  const rel = (): number => Math.round((now() - t0) * 10) / 10;
  const history: HistoryOp[] = [];
  const tl: TimelineMarks = {};
  const epochs: Array<{ t: number; epoch: number }> = [];
  const readiness: ReadinessSample[] = [];
  const evidence: Record<string, unknown> = { provider: provider.name, schedule };
  let cluster: ProvidedCluster | undefined;
  let endpoint: LinkProxy | undefined;
  let running = false;
  const loops: Array<Promise<void>> = [];
  /** The writer's connection (kept open between writes); destroyed on every exit path. */
  let conn: pg.Client | undefined;

  try {
    // --- cluster up ---------------------------------------------------------------------------
    cluster = await provider.start({ runDir, seed, mode: opts.mode, links: opts.links, ...(opts.syncCommit ? { syncCommit: opts.syncCommit } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
    aborted();
    const A: ClusterNode = cluster.primary;
    const B: ClusterNode = cluster.replica;
    const cl = cluster;
    evidence.postgres = cl.version;
    endpoint = await opts.links('writer-endpoint', `${A.target.host}:${A.target.port}`, seed);
    const ep = endpoint;
    const endpointTarget: PgTarget = { ...A.target, host: ep.host, port: ep.port };
    const idOf = async (n: ClusterNode): Promise<string> => (await query<{ id: string }>(n.target, `select ${IDENTITY} as id`))[0]!.id;
    const identities = new Map([
      [await idOf(A), A.name],
      [await idOf(B), B.name],
    ]);
    if (identities.size !== 2) throw new FaultlineError('FAULTLINE_FAILOVER_IDENTITY', 'both nodes report the same identity: give each a distinct cluster_name', { exitCode: ExitCode.invalidInput });
    const nodeOf = (identity: string): string => identities.get(identity) ?? identity;
    // The controller's durable epoch (tmp → fsync → rename), beside the evidence; it starts at the primary's stamp.
    const epochStore = new EpochStore(join(runDir, 'controller-epoch.json'));
    let epoch = cl.initialEpoch;
    const firstEpoch = epoch;
    epochStore.write(epoch, { writer: A.name, state: 'stable' });
    epochs.push({ t: rel(), epoch });
    let writerNode = A;
    let state: 'stable' | 'flipping' = 'stable';
    evidence.setupMs = Math.round(now() - t0);

    // --- the writer under test -----------------------------------------------------------------
    running = true;
    let nextId = 1;
    let gate = { usable: false, at: -Infinity, epoch: 0, rec: true, node: '' };
    const staleTarget = A.target; // unfenced/role-only controls keep the original primary's address (stale DNS / pool)
    let connTarget: PgTarget | undefined;
    const retryAfterMs = Math.max(probeInterval * 2, 200);
    const spool = { spooled: 0, drained: 0, peak: 0 };

    const usable = (): boolean => gate.usable && now() - gate.at < 2 * probeInterval + 50;
    const readinessView = (): ReadinessView => ({
      status: 'ready',
      cluster: {
        topology: { region: writerNode.region },
        writer: {
          role: !gate.rec && gate.epoch === epoch ? 'writer' : 'reader',
          node: gate.node || writerNode.name,
          endpoint: `${ep.host}:${ep.port}`,
          epoch,
          probe_age_ms: Number.isFinite(gate.at) ? Math.round(now() - gate.at) : null,
        },
        writes_usable: writerKind === 'fenced' ? usable() : true,
        retry_after_ms: retryAfterMs,
        state,
        reads_usable: true,
        ingest: { spooled: spool.spooled, drained: spool.drained },
      },
    });
    const probe = async (): Promise<void> => {
      let c: pg.Client | undefined;
      try {
        c = await connect(endpointTarget, 300);
        const r = await withDeadline(
          c.query<{ rec: boolean; epoch: string; node: string }>(`select pg_is_in_recovery() as rec, (select max(epoch) from ha_fence) as epoch, ${IDENTITY} as node`),
          300,
          () => destroy(c),
        );
        const row = r.rows[0]!;
        const controllerEpoch = epochStore.read();
        gate = { usable: !row.rec && Number(row.epoch) === controllerEpoch, at: now(), epoch: Number(row.epoch), rec: row.rec, node: nodeOf(row.node) };
      } catch {
        gate = { ...gate, usable: false, at: now() };
      } finally {
        destroy(c);
      }
      const view = readinessView();
      readiness.push({ t: rel(), writesUsable: view.cluster.writes_usable, epoch: view.cluster.writer.epoch, stamp: gate.epoch, role: view.cluster.writer.role });
      opts.onReadiness?.(view);
    };

    const insertSql =
      writerKind === 'fenced'
        ? `insert into events (id, epoch, node_port) select $1, $2, inet_server_port() where not pg_is_in_recovery() and (select max(epoch) from ha_fence) = $2 returning (select ${IDENTITY}) as node`
        : writerKind === 'role-only'
          ? `insert into events (id, epoch, node_port) select $1, $2, inet_server_port() where not pg_is_in_recovery() returning (select ${IDENTITY}) as node`
          : `insert into events (id, epoch, node_port) values ($1, $2, inet_server_port()) returning (select ${IDENTITY}) as node`;
    const writeOnce = async (): Promise<void> => {
      const id = nextId++;
      history.push({ type: 'invoke', f: 'write', id, t: rel() });
      if (writerKind === 'fenced' && !usable()) {
        history.push({ type: 'fail', f: 'write', id, t: rel(), error: 'writes not usable (fenced)', retryAfterMs });
        return;
      }
      const e0 = epochStore.read();
      try {
        const target = writerKind === 'fenced' ? endpointTarget : staleTarget;
        if (!conn || connTarget !== target) {
          destroy(conn);
          conn = await connect(target, 300);
          connTarget = target;
        }
        let syncCancelled = false;
        const onNotice = (n: { message?: string }): void => {
          if (/canceling wait for synchronous replication/i.test(n.message ?? '')) syncCancelled = true;
        };
        conn.on('notice', onNotice);
        const c = conn;
        const r = await withDeadline(c.query<{ node: string }>(insertSql, [id, e0]), 500, () => {
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
        const node = nodeOf(r.rows[0]!.node);
        if (writerKind === 'fenced' && (e1 !== e0 || syncCancelled)) {
          history.push({ type: 'info', f: 'write', id, t: rel(), node, epoch: e0, error: syncCancelled ? 'sync replication wait cancelled' : 'epoch moved during commit' });
          return;
        }
        history.push({ type: 'ok', f: 'write', id, t: rel(), node, epoch: e0 });
      } catch (e) {
        destroy(conn);
        conn = undefined;
        gate.usable = false;
        history.push({ type: 'info', f: 'write', id, t: rel(), error: (e as Error).message.slice(0, 120) });
      }
    };
    const drainSpool = async (): Promise<void> => {
      if (spool.spooled <= spool.drained) return;
      try {
        const upTo = spool.spooled;
        await query(endpointTarget, 'insert into telemetry (items) values ($1)', [upTo - spool.drained], 300);
        spool.drained = upTo;
      } catch {
        // stays spooled
      }
    };

    loops.push(
      (async () => {
        while (running) {
          await writeOnce();
          await sleep(4);
        }
      })(),
    );
    if (writerKind === 'fenced') {
      loops.push(
        (async () => {
          while (running) {
            await probe();
            await sleep(probeInterval);
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
              const rows = await query<{ stale: number | null }>(n.target, 'select extract(epoch from (clock_timestamp() - coalesce(pg_last_xact_replay_timestamp(), clock_timestamp()))) * 1000 as stale', [], 300);
              history.push({ type: 'ok', f: 'read', t: rel(), node: n.name, staleMs: Math.round(Number(rows[0]?.stale ?? 0)) });
              done = true;
            } catch {
              // try the next node
            }
          }
          if (!done) history.push({ type: 'fail', f: 'read', t: rel(), error: 'no healthy node' });
          await sleep(50);
        }
      })(),
    );
    // Telemetry ingest: spooled locally, never pauses; drained when writes are usable.
    loops.push(
      (async () => {
        while (running) {
          spool.spooled++;
          spool.peak = Math.max(spool.peak, spool.spooled - spool.drained);
          history.push({ type: 'ok', f: 'ingest', t: rel() });
          if (writerKind !== 'fenced' || usable()) await drainSpool();
          await sleep(25);
        }
      })(),
    );

    // --- healthy baseline, then the fault --------------------------------------------------------
    await sleep(schedule.baselineMs);
    aborted();
    const lagBytes = async (): Promise<number | null> => {
      try {
        const r = await query<{ lag: string }>(A.target, 'select coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), 0) as lag from pg_stat_replication', [], 300);
        return Number(r[0]?.lag ?? 0);
      } catch {
        return null;
      }
    };
    const faultEvidence: Record<string, unknown> = {};
    const lagBeforeFault = await lagBytes();
    tl.fault = rel();
    let observeMs: number | undefined;
    if (opts.fault === 'kill') {
      Object.assign(faultEvidence, await cl.kill(A));
    } else if (opts.fault === 'pause') {
      Object.assign(faultEvidence, await cl.pause(A));
    } else if (opts.fault === 'partition') {
      // Region loss as it happens: the replication link goes first, clients follow after a seeded stall.
      Object.assign(faultEvidence, await cl.partitionReplication());
      tl.replicationStall = tl.fault;
      const stallMs = schedule.stallMs;
      faultEvidence.stallMs = stallMs;
      await sleep(stallMs);
      faultEvidence.lagAtClientCut = await lagBytes();
      ep.partition('blackhole');
      faultEvidence.clientsCutAt = rel();
    } else if (opts.fault === 'partition-clients') {
      ep.partition('blackhole');
      faultEvidence.clientsCut = 'writer endpoint blackholed; replication link untouched';
    } else if (opts.fault === 'partition-replica') {
      Object.assign(faultEvidence, await cl.partitionReplication());
      tl.replicationStall = tl.fault;
      observeMs = schedule.partitionMs;
      faultEvidence.partitionMs = observeMs;
    }
    const predictedLag = opts.fault === 'partition' ? (faultEvidence.lagAtClientCut as number | null) : lagBeforeFault;

    // --- controller: detect, decide, fence, promote, stamp, cut -------------------------------------
    const promoteB = async (): Promise<void> => {
      const before = await query<{ tli: string }>(B.target, 'select received_tli as tli from pg_stat_wal_receiver').catch(() => []);
      const beforeCk = await query<{ tli: string }>(B.target, 'select timeline_id as tli from pg_control_checkpoint()');
      const tliBefore = Number(before[0]?.tli ?? beforeCk[0]?.tli);
      if (cl.promote) {
        faultEvidence.promote = await cl.promote(B);
      } else {
        const r = await query<{ p: boolean }>(B.target, 'select pg_promote(true, 60) as p', [], 65_000);
        if (!r[0]?.p) throw new FaultlineError('FAULTLINE_FAILOVER_PROMOTE', 'pg_promote returned false');
      }
      let after: { rec: boolean; tli: string } | undefined;
      await waitFor('the promoted replica to leave recovery', async () => {
        after = (await query<{ rec: boolean; tli: string }>(B.target, "select pg_is_in_recovery() as rec, case when pg_is_in_recovery() then 0 else ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int end as tli"))[0];
        return after?.rec === false;
      }, 60_000);
      faultEvidence.timeline = { before: tliBefore, after: Number(after?.tli) };
      if (Number(after?.tli) !== tliBefore + 1) throw new FaultlineError('FAULTLINE_FAILOVER_PROMOTE', `promotion not verified: timeline ${tliBefore} → ${after?.tli}`);
    };
    const fence = (): void => {
      state = 'flipping';
      epoch += 1;
      epochStore.write(epoch, { writer: B.name, state: 'flipping' });
      epochs.push({ t: rel(), epoch });
      tl.fenced = rel();
    };
    // Active fence of a primary the controller can still reach: read-only, client backends terminated,
    // and the replica caught up with its last LSN (so nothing acknowledged is left behind).
    const activeFence = async (): Promise<boolean> => {
      try {
        await query(A.target, 'alter system set default_transaction_read_only = on', [], 1000);
        await query(A.target, 'select pg_reload_conf()', [], 1000);
        await query(A.target, "select pg_terminate_backend(pid) from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()", [], 1000);
        const lsn = (await query<{ lsn: string }>(A.target, 'select pg_current_wal_lsn() as lsn', [], 1000))[0]!.lsn;
        faultEvidence.oldPrimaryLsn = lsn;
        await waitFor('the replica to replay the old primary', async () => (await query<{ ok: boolean }>(B.target, 'select pg_last_wal_replay_lsn() >= $1::pg_lsn as ok', [lsn]))[0]!.ok, 5000, 10);
        return true;
      } catch (e) {
        faultEvidence.activeFenceError = (e as Error).message;
        return false;
      }
    };
    const stampAndCut = async (): Promise<void> => {
      await query(B.target, 'update ha_fence set epoch = $1', [epoch]);
      tl.stamped = rel();
      ep.heal(); // the client-side partition was between clients and region eu, not us
      ep.setUpstream(`${B.target.host}:${B.target.port}`);
      ep.resetConnections();
      writerNode = B;
      state = 'stable';
      epochStore.write(epoch, { writer: B.name, state: 'stable' });
      tl.endpointCut = rel();
      // A CHECKPOINT makes pg_control's timeline current (pg_rewind on PostgreSQL <= 15 needs it).
      await query(B.target, 'checkpoint', [], 30_000);
      const ck = await query<{ ck: number; wal: number }>(B.target, "select (select timeline_id from pg_control_checkpoint()) as ck, ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int as wal");
      faultEvidence.checkpointTimeline = ck[0];
    };

    let fenceMode: 'active' | 'logical' | undefined;
    let failover = true;
    if (opts.fault === 'switchover') {
      tl.detect = rel();
      tl.decide = rel();
      fence();
      fenceMode = (await activeFence()) ? 'active' : 'logical';
      await promoteB();
      tl.promoted = rel();
      await stampAndCut();
      if (followUp === 'none') await cl.stop(A).catch(() => {});
    } else {
      // Detect: 3 consecutive failed probes of the writer target through the writer endpoint. For a
      // partition of the replication link only, the writer stays healthy to clients: an SRE controller
      // does not fail over then; it watches for the partition's length and reports "no failover".
      let misses = 0;
      while (misses < 3) {
        aborted();
        const okProbe = await query(endpointTarget, 'select 1', [], 200).then(
          () => true,
          () => false,
        );
        misses = okProbe ? 0 : misses + 1;
        if (!okProbe) tl.detect ??= rel();
        if (okProbe) tl.detect = undefined;
        if (observeMs !== undefined && rel() - tl.fault >= observeMs && misses === 0) break;
        if (misses < 3) await sleep(100);
        if (rel() - tl.fault > 15_000) throw new FaultlineError('FAULTLINE_FAILOVER_DETECT', 'the controller did not detect the fault within 15 s');
      }
      if (misses >= 3) {
        tl.decide = rel();
        fence();
        // Region loss, kill and pause: the old primary is unreachable (or hung), the fence is logical
        // (the epoch). Clients-only partition: the controller still reaches it and fences it actively.
        fenceMode = opts.fault === 'partition-clients' && (await activeFence()) ? 'active' : 'logical';
        await promoteB();
        tl.promoted = rel();
        await stampAndCut();
      } else {
        failover = false;
        faultEvidence.controller = 'no failover: the writer stayed reachable and healthy to clients';
        await cl.healReplication();
        faultEvidence.healedAt = rel();
        const lsn = (await query<{ lsn: string }>(A.target, 'select pg_current_wal_lsn() as lsn'))[0]!.lsn;
        await waitFor('the replica to catch up after the heal', async () => (await query<{ ok: boolean }>(B.target, 'select pg_last_wal_replay_lsn() >= $1::pg_lsn as ok', [lsn]))[0]!.ok, 15_000, 20);
        tl.reconverged = rel();
      }
    }
    faultEvidence.fence = fenceMode ?? 'none';
    aborted();

    // --- follow-ups: the zombie / stale primary comes back, or rejoins -----------------------------
    const followUpEvidence: Record<string, unknown> = { kind: failover ? followUp : 'none' };
    let rejoin: DrillFacts['rejoin'];
    if (opts.fault === 'pause') {
      await sleep(schedule.resumeDelayMs);
      Object.assign(faultEvidence, await cl.resume(A));
      faultEvidence.resumedAt = rel();
    }
    if (failover && followUp === 'restart') {
      await cl.stop(A);
      try {
        Object.assign(followUpEvidence, await cl.restart(A));
        const r = await query<{ rec: boolean; stamp: string }>(A.target, 'select pg_is_in_recovery() as rec, (select max(epoch) from ha_fence) as stamp');
        followUpEvidence.staleNode = { inRecovery: r[0]?.rec, stamp: Number(r[0]?.stamp), controllerEpoch: epoch };
      } catch (e) {
        followUpEvidence.restartError = (e as Error).message;
      }
      followUpEvidence.at = rel();
    } else if (failover && (followUp === 'rewind' || followUp === 'reclone')) {
      const t = rel();
      Object.assign(followUpEvidence, await cl.rejoin(A, B, followUp));
      let streaming = false;
      await waitFor(`${A.name} to stream from ${B.name}`, async () => {
        const r = await query<{ state: string }>(B.target, 'select state from pg_stat_replication where application_name = $1', [A.region]);
        streaming = r.some((x) => x.state === 'streaming');
        return streaming;
      }, 20_000).catch(() => {});
      const r = (await query<{ rec: boolean; tli: number | null; stamp: string }>(A.target, 'select pg_is_in_recovery() as rec, (select received_tli from pg_stat_wal_receiver) as tli, (select max(epoch) from ha_fence) as stamp').catch(() => []))[0];
      rejoin = { how: followUp, node: A.name, inRecovery: r?.rec === true, streaming, timeline: r?.tli ?? null, expectedTimeline: (faultEvidence.timeline as { after: number }).after, stamp: r ? Number(r.stamp) : null };
      followUpEvidence.ms = Math.round(rel() - t);
      if (streaming) tl.reconverged = rel();
    }
    evidence.followUp = followUpEvidence;

    // Keep writing for a while after the cut, then quiesce.
    const after = tl.fenced ?? tl.fault;
    await waitFor('the first acknowledged write after the failover', async () => opts.signal?.aborted === true || history.some((o) => o.f === 'write' && o.type === 'ok' && o.t > after), writerKind === 'fenced' ? 10_000 : 1500, 20).catch(() => {});
    aborted();
    tl.firstWrite = history.find((o) => o.f === 'write' && o.type === 'ok' && o.t > after)?.t;
    await sleep(800);
    running = false;
    await Promise.all(loops);
    destroy(conn);
    conn = undefined;
    if (writerKind === 'fenced') await drainSpool();
    tl.end = rel();
    aborted();
    if (opts.fault === 'partition') await cl.healReplication();
    // Reconverged (when no rejoin says otherwise): the writer endpoint serves the current epoch.
    if (tl.reconverged === undefined) {
      const stamped = await query<{ epoch: string }>(endpointTarget, 'select max(epoch) as epoch from ha_fence', [], 2000).catch(() => []);
      if (Number(stamped[0]?.epoch) === epoch) tl.reconverged = rel();
    }
    if (rejoin) {
      // The rejoined node must have replayed everything before it is compared with the new primary.
      const lsn = (await query<{ lsn: string }>(B.target, 'select pg_current_wal_lsn() as lsn'))[0]!.lsn;
      rejoin.caughtUp = await waitFor('the rejoined node to catch up', async () => (await query<{ ok: boolean }>(A.target, 'select pg_last_wal_replay_lsn() >= $1::pg_lsn as ok', [lsn]))[0]!.ok, 10_000, 20).then(
        () => true,
        () => false,
      );
    }

    // --- final state from the authoritative node --------------------------------------------------------
    const idsOf = async (n: ClusterNode): Promise<number[] | null> => {
      try {
        return (await query<{ id: string }>(n.target, 'select id from events order by id', [], 3000)).map((r) => Number(r.id));
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
      failover,
      ...(fenceMode ? { fence: fenceMode } : {}),
      followUp: failover ? followUp : 'none',
      initialEpoch: firstEpoch,
      ingest: { ...spool },
      ...(rejoin ? { rejoin } : {}),
    };
    evidence.fault = faultEvidence;
    evidence.proxies = { writerEndpoint: ep.stats() };
    evidence.cluster = cl.evidence();
    evidence.ingest = { ...spool };
    const check = checkHistory(history, final, facts);
    writeEvidence(runDir, history, final, facts, check, evidence);
    return { runDir, seed, mode: opts.mode, fault: opts.fault, writer: writerKind, followUp: facts.followUp ?? 'none', provider: provider.name, check, timeline: tl, facts, final, evidence };
  } finally {
    running = false;
    await Promise.allSettled(loops);
    destroy(conn);
    await cluster?.teardown().catch(() => {});
    await endpoint?.stop().catch(() => {});
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
