/**
 * Cluster providers for the failover drill. The drill (controller, writer, checker) only talks to a
 * ProvidedCluster: two nodes reachable over loopback plus the process/infrastructure operations a
 * fault or follow-up needs. `native` starts PostgreSQL server binaries itself (the embedded default);
 * `external` drives infrastructure the user already runs (game days) through connection strings and
 * the shell commands they supply. A testcontainers provider can implement the same interface later.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode, FaultlineError, InputError, redact, startLifeline, type Lifeline, type Seed } from '../shared/index.ts';
import { WORKING_COPY_PREFIX, writeOwner } from './debris.ts';
import {
  chownForServer,
  copyGoldenPair,
  currentLsn,
  ensureGoldenPair,
  FENCE_SCHEMA,
  findPgBinaries,
  freePort,
  killNode,
  nativeTarget,
  nodePids,
  processState,
  query,
  recloneNode,
  replayedUpTo,
  rewindNode,
  signalAll,
  startNode,
  stopNode,
  waitFor,
  type PgBinaries,
  type PgNode,
  type PgTarget,
} from './postgres.ts';

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

/** What a provider can do to its nodes; the drill refuses a fault or follow-up that needs a missing one. */
export type Capability = 'kill' | 'pause' | 'partition-replication' | 'stop' | 'restart' | 'rewind' | 'reclone';

export interface ClusterNode {
  readonly name: string;
  readonly region: string;
  readonly target: PgTarget;
}

export interface ProviderContext {
  runDir: string;
  seed: string;
  mode: 'sync' | 'async';
  /** Synchronous mode's synchronous_commit level (default on; remote_apply also waits for replay). */
  syncCommit?: 'on' | 'remote_apply';
  links: LinkProxyFactory;
  /** The drill's abort signal: user commands still running are killed (whole process group) on abort. */
  signal?: AbortSignal;
}

export interface ProvidedCluster {
  readonly provider: string;
  readonly version: string;
  /** Region "eu", the writer at the start. */
  readonly primary: ClusterNode;
  /** Region "us", the streaming replica and failover candidate. */
  readonly replica: ClusterNode;
  /** The controller's epoch at the start (the primary's ha_fence stamp). */
  readonly initialEpoch: number;
  kill(node: ClusterNode): Promise<Record<string, unknown>>;
  pause(node: ClusterNode): Promise<Record<string, unknown>>;
  resume(node: ClusterNode): Promise<Record<string, unknown>>;
  partitionReplication(): Promise<Record<string, unknown>>;
  healReplication(): Promise<void>;
  /** Clean stop (a no-op for a node that is already down). */
  stop(node: ClusterNode): Promise<void>;
  /** Starts a stopped node with its old data and configuration: a stale primary comes back as a primary. */
  restart(node: ClusterNode): Promise<Record<string, unknown>>;
  /** Makes `node` a streaming replica of `source`: pg_rewind (after the caller's CHECKPOINT) or a re-clone. */
  rejoin(node: ClusterNode, source: ClusterNode, how: 'rewind' | 'reclone'): Promise<Record<string, unknown>>;
  /** Optional custom promotion (the drill verifies it); without it the drill calls pg_promote(). */
  promote?(node: ClusterNode): Promise<Record<string, unknown>>;
  /** Extra evidence for the bundle (pids, proxy counters, command outputs; never secrets). */
  evidence(): Record<string, unknown>;
  /** Stops everything this provider started. Idempotent; runs on success, failure and abort. */
  teardown(): Promise<void>;
}

export interface ClusterProvider {
  readonly name: string;
  readonly capabilities: ReadonlySet<Capability>;
  start(ctx: ProviderContext): Promise<ProvidedCluster>;
}

// --- native -----------------------------------------------------------------------------------------

export interface NativeProviderOptions {
  /** Parent of the per-run cluster copy (default: the OS temp dir). Must be traversable by the server user. */
  workDir?: string;
}

/** PostgreSQL server binaries started directly as children; the golden pair copied per run. */
export function nativeProvider(o: NativeProviderOptions = {}): ClusterProvider {
  return {
    name: 'native',
    capabilities: new Set<Capability>(['kill', 'pause', 'partition-replication', 'stop', 'restart', 'rewind', 'reclone']),
    start: (ctx) => startNative(ctx, o),
  };
}

/**
 * SIGSTOPs a node: the postmaster first (it can fork no new backend then), then every child; repeated
 * until the set is stable. Every child is a session leader: a process-group signal would freeze only the postmaster.
 */
async function pauseNode(node: PgNode): Promise<{ pausedPids: number[]; allStopped: boolean }> {
  const stopped = new Set<number>();
  for (let round = 0; round < 5; round++) {
    const pids = nodePids(node).filter((p) => !stopped.has(p));
    if (pids.length === 0) break;
    signalAll(pids, 'SIGSTOP');
    for (const p of pids) stopped.add(p);
  }
  const pausedPids = [...stopped];
  const isStopped = (p: number): boolean => ['T', 't', 'Z', undefined].includes(processState(p));
  await waitFor('every paused pid to stop', async () => pausedPids.every(isStopped), 2000, 10).catch(() => {});
  return { pausedPids, allStopped: pausedPids.length > 0 && ['T', 't'].includes(processState(pausedPids[0]!) ?? '') && pausedPids.every(isStopped) };
}

/** Stops the node, rewinds or re-clones it from `src`, and starts it again as `src`'s replica (`adopted` runs once the tool has succeeded). */
async function rejoinNode(b: PgBinaries, node: PgNode, src: PgNode, how: 'rewind' | 'reclone', dataDir: string, extra: Record<string, string>, adopted: () => void): Promise<Record<string, unknown>> {
  await stopNode(node);
  const t = performance.now();
  const out = how === 'rewind' ? await rewindNode(b, node, src.port) : await recloneNode(b, node, src.port);
  const toolMs = Math.round(performance.now() - t);
  adopted();
  await startNode(b, node, dataDir, extra);
  return { how, toolMs, tool: redact(out.trim().split('\n').slice(-4).join(' | ')) };
}

/** kill -9 of a node's processes, and whether its port then refuses connections. */
async function killAndCheck(node: PgNode): Promise<{ killedPids: number[]; portRefuses: boolean }> {
  const killedPids = await killNode(node);
  const portRefuses = await query(node.port, 'select 1', [], 300).then(
    () => false,
    () => true,
  );
  return { killedPids, portRefuses };
}

/** The two nodes on a fresh copy of the golden pair (each with its log file), watched by the lifeline; on failure the copy is removed and the lifeline released. */
async function workingNodes(b: PgBinaries, golden: Parameters<typeof copyGoldenPair>[1], dataDir: string, runDir: string, life: Lifeline): Promise<[PgNode, PgNode]> {
  life.watchPath(dataDir);
  try {
    writeOwner(dataDir);
    const dirs = await copyGoldenPair(b, golden, dataDir);
    const A: PgNode = { name: 'pg-eu', region: 'eu', dir: dirs.A, port: await freePort(), proc: undefined, logFile: join(runDir, 'pg-eu.log'), lifeline: life };
    const B: PgNode = { name: 'pg-us', region: 'us', dir: dirs.B, port: await freePort(), proc: undefined, logFile: join(runDir, 'pg-us.log'), lifeline: life };
    for (const n of [A, B]) {
      writeFileSync(n.logFile, '');
      chownForServer(b, n.logFile);
    }
    return [A, B];
  } catch (e) {
    // Nothing started yet: only the working copy to remove.
    rmSync(dataDir, { recursive: true, force: true });
    life.release();
    throw e;
  }
}

async function startNative(ctx: ProviderContext, o: NativeProviderOptions): Promise<ProvidedCluster> {
  const b: PgBinaries = findPgBinaries();
  const golden = await ensureGoldenPair(b);
  // The cluster's working copy lives in its own temp dir owned by the server user: a report dir may sit
  // under a path the server user cannot traverse (e.g. a 0700 mkdtemp dir when faultline runs as root).
  const dataDir = mkdtempSync(join(o.workDir ?? tmpdir(), WORKING_COPY_PREFIX));
  // If faultline dies (SIGKILL included), the lifeline stops both servers and removes the copy; the
  // owner file lets the next faultline reap it should even the lifeline fail.
  const life = startLifeline();
  const [A, B] = await workingNodes(b, golden, dataDir, ctx.runDir, life);
  const extraOf = new Map<PgNode, Record<string, string>>();
  const syncExtra: Record<string, string> = ctx.mode === 'sync' ? { synchronous_standby_names: 'us', synchronous_commit: ctx.syncCommit ?? 'on' } : {};
  let repl: LinkProxy | undefined;
  const pgOf = (n: ClusterNode): PgNode => (n.name === A.name ? A : B);
  const paused = new Map<PgNode, number[]>();
  const ev: Record<string, unknown> = { runAs: b.user };
  let torn = false;
  const teardown = async (): Promise<void> => {
    if (torn) return;
    torn = true;
    for (const n of [A, B]) {
      signalAll(nodePids(n), 'SIGCONT');
      await stopNode(n).catch(() => {});
    }
    await repl?.stop().catch(() => {});
    // Asynchronously: removing the ~110 MB working copy blocked the event loop for ~200 ms.
    await rm(dataDir, { recursive: true, force: true });
    life.release();
  };
  try {
    extraOf.set(A, syncExtra);
    await startNode(b, A, dataDir, syncExtra);
    repl = await ctx.links('replication', `127.0.0.1:${A.port}`, ctx.seed);
    extraOf.set(B, { primary_conninfo: `host=127.0.0.1 port=${repl.port} user=postgres application_name=us` });
    await startNode(b, B, dataDir, extraOf.get(B));
    await waitFor('the replica to stream', async () => (await query<{ state: string }>(A.port, 'select state from pg_stat_replication')).some((r) => r.state === 'streaming'));
  } catch (e) {
    await teardown();
    throw e;
  }
  const link = repl;
  return {
    provider: 'native',
    version: b.version,
    primary: { name: A.name, region: A.region, target: nativeTarget(A.port) },
    replica: { name: B.name, region: B.region, target: nativeTarget(B.port) },
    initialEpoch: 1,
    kill: (n) => killAndCheck(pgOf(n)),
    async pause(n) {
      const node = pgOf(n);
      const r = await pauseNode(node);
      paused.set(node, r.pausedPids);
      return r;
    },
    async resume(n) {
      const node = pgOf(n);
      const pids = paused.get(node) ?? [];
      signalAll(pids, 'SIGCONT');
      paused.delete(node);
      return { resumedPids: pids };
    },
    async partitionReplication() {
      link.partition('blackhole');
      return { replicationLink: 'blackhole' };
    },
    async healReplication() {
      link.heal();
    },
    async stop(n) {
      await stopNode(pgOf(n));
    },
    async restart(n) {
      const node = pgOf(n);
      await startNode(b, node, dataDir, extraOf.get(node));
      return { restartedPid: node.proc?.pid };
    },
    async rejoin(n, source, how) {
      const node = pgOf(n);
      const extra = { primary_conninfo: `host=127.0.0.1 port=${pgOf(source).port} user=postgres application_name=${node.region}` };
      return rejoinNode(b, node, pgOf(source), how, dataDir, extra, () => extraOf.set(node, extra));
    },
    evidence: () => ({ ...ev, pids: { [A.name]: nodePids(A), [B.name]: nodePids(B) }, replicationLink: link.stats(), dataDir }),
    teardown,
  };
}

// --- external ---------------------------------------------------------------------------------------

export interface ExternalCommands {
  /** Stops the primary abruptly (kill fault) or for a follow-up, e.g. `docker kill pg-eu`. */
  stopPrimary?: string;
  /** Starts the (stale) primary again with its old data: the `restart` follow-up. */
  startPrimary?: string;
  pausePrimary?: string;
  resumePrimary?: string;
  /** Cuts / restores the replication link between the regions (partition and partition-replica). */
  partitionReplication?: string;
  healReplication?: string;
  /** Promotes the replica; default: `select pg_promote(true, 60)` over its connection. */
  promoteReplica?: string;
  /** Make the old primary a streaming replica of the new one (follow-ups rewind / reclone). */
  rewindPrimary?: string;
  reclonePrimary?: string;
}

export interface ExternalProviderConfig {
  /** postgresql://user[:password]@host:port/db — loopback only (use a port-forward for remote nodes). */
  primary: string;
  replica: string;
  commands?: ExternalCommands;
  /** Deadline per command (default 60 s). */
  commandTimeoutMs?: number;
}

const LOOPBACK = /^(127(\.\d{1,3}){3}|localhost|::1|\[::1\])$/;

/** Parses a connection string for the external provider; throws InputError naming the field. */
export function parsePgUrl(url: string, field: string): PgTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InputError('FAULTLINE_FAILOVER_PROVIDER', 'not a connection string (expected postgresql://user@host:port/db)', { field });
  }
  if (u.protocol !== 'postgresql:' && u.protocol !== 'postgres:') throw new InputError('FAULTLINE_FAILOVER_PROVIDER', `scheme must be postgresql:// (got ${u.protocol}//)`, { field });
  const host = u.hostname;
  if (!LOOPBACK.test(host)) throw new InputError('FAULTLINE_FAILOVER_PROVIDER', `host '${host}' is not loopback: faultline connects only to 127.0.0.0/8 or ::1 (put a port-forward in front of remote nodes)`, { field });
  const target: PgTarget = {
    host: host === 'localhost' ? '127.0.0.1' : host.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username) || 'postgres',
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres',
  };
  if (u.password) target.password = decodeURIComponent(u.password);
  return target;
}

/** Which capabilities a set of external commands provides. */
export function externalCapabilities(c: ExternalCommands = {}): Set<Capability> {
  const caps = new Set<Capability>();
  if (c.stopPrimary) caps.add('kill').add('stop');
  if (c.stopPrimary && c.startPrimary) caps.add('restart');
  if (c.pausePrimary && c.resumePrimary) caps.add('pause');
  if (c.partitionReplication && c.healReplication) caps.add('partition-replication');
  if (c.rewindPrimary) caps.add('rewind');
  if (c.reclonePrimary) caps.add('reclone');
  return caps;
}

/**
 * Runs a user-supplied shell command with a deadline; output goes to the evidence (redacted). The
 * command runs in its own process group, so a deadline or an abort (SIGINT/SIGTERM of the drill)
 * kills the whole group — `a && b` pipelines included — not only the shell.
 */
export function runProviderCommand(name: string, command: string, timeoutMs: number, signal?: AbortSignal): Promise<{ command: string; ms: number; output: string }> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    if (signal?.aborted) {
      reject(new FaultlineError('FAULTLINE_FAILOVER_ABORTED', `${name}: aborted before it started`, { exitCode: ExitCode.aborted }));
      return;
    }
    const p = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    // The group dies with faultline even on SIGKILL.
    const life = startLifeline();
    if (p.pid !== undefined) life.watchGroup(p.pid);
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    let ended: 'timeout' | 'aborted' | undefined;
    const killGroup = (why: 'timeout' | 'aborted'): void => {
      ended ??= why;
      try {
        if (p.pid !== undefined) process.kill(-p.pid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    };
    const timer = setTimeout(() => killGroup('timeout'), timeoutMs);
    const onAbort = (): void => killGroup('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    const cleanup = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      life.release();
    };
    p.once('error', (e) => {
      cleanup();
      reject(new FaultlineError('FAULTLINE_FAILOVER_COMMAND', `${name}: ${e.message}`));
    });
    // 'close', not 'exit': every byte of output has been read by then.
    p.once('close', (code) => {
      cleanup();
      const output = redact(out.trim().slice(-2000));
      if (code === 0 && ended === undefined) resolve({ command: redact(command), ms: Math.round(performance.now() - t), output });
      else if (ended === 'aborted') reject(new FaultlineError('FAULTLINE_FAILOVER_ABORTED', `${name}: stopped, the drill was aborted`, { exitCode: ExitCode.aborted }));
      else reject(new FaultlineError('FAULTLINE_FAILOVER_COMMAND', `${name} ${ended === 'timeout' ? `timed out after ${timeoutMs} ms` : `exited ${code}`}${output ? `: ${output.split('\n').slice(-3).join(' | ')}` : ''}`));
    });
  });
}

/** Infrastructure the user runs; faultline only connects (loopback) and runs the commands they gave. */
export function externalProvider(config: ExternalProviderConfig): ClusterProvider {
  const primary = parsePgUrl(config.primary, 'provider.primary');
  const replica = parsePgUrl(config.replica, 'provider.replica');
  if (primary.host === replica.host && primary.port === replica.port) throw new InputError('FAULTLINE_FAILOVER_PROVIDER', 'primary and replica are the same address', { field: 'provider.replica' });
  const commands = config.commands ?? {};
  for (const [k, v] of Object.entries(commands)) {
    if (typeof v !== 'string' || v.trim() === '') throw new InputError('FAULTLINE_FAILOVER_PROVIDER', 'a command must be a non-empty string', { field: `provider.commands.${k}` });
  }
  const timeoutMs = config.commandTimeoutMs ?? 60_000;
  return {
    name: 'external',
    capabilities: externalCapabilities(commands),
    start: (ctx) => startExternal(ctx, primary, replica, commands, timeoutMs),
  };
}

async function startExternal(ctx: ProviderContext, pt: PgTarget, rt: PgTarget, commands: ExternalCommands, timeoutMs: number): Promise<ProvidedCluster> {
  const A: ClusterNode = { name: 'pg-eu', region: 'eu', target: pt };
  const B: ClusterNode = { name: 'pg-us', region: 'us', target: rt };
  const ran: Array<Record<string, unknown>> = [];
  const run = async (key: keyof ExternalCommands): Promise<Record<string, unknown>> => {
    const cmd = commands[key];
    if (!cmd) throw new FaultlineError('FAULTLINE_FAILOVER_PROVIDER', `the external provider has no '${key}' command`, { exitCode: 2 });
    const r = await runProviderCommand(key, cmd, timeoutMs, ctx.signal);
    ran.push({ step: key, ...r });
    return { command: key, ms: r.ms };
  };
  const fail = (msg: string): never => {
    throw new FaultlineError('FAULTLINE_FAILOVER_EXTERNAL', msg);
  };
  const pRow = (await query<{ rec: boolean; v: string; ssn: string }>(pt, "select pg_is_in_recovery() as rec, current_setting('server_version') as v, current_setting('synchronous_standby_names') as ssn", [], 5000).catch((e: Error) =>
    fail(`cannot reach the primary (provider.primary): ${e.message}`),
  ))[0]!;
  const rRow = (await query<{ rec: boolean }>(rt, 'select pg_is_in_recovery() as rec', [], 5000).catch((e: Error) => fail(`cannot reach the replica (provider.replica): ${e.message}`)))[0]!;
  if (pRow.rec) fail('provider.primary is in recovery: it is not a primary');
  if (!rRow.rec) fail('provider.replica is not in recovery: it is not a streaming replica');
  if (ctx.mode === 'sync' && !pRow.ssn) fail("mode is sync but the primary's synchronous_standby_names is empty");
  if (ctx.mode === 'async' && pRow.ssn) fail(`mode is async but the primary has synchronous_standby_names = '${pRow.ssn}'`);
  const streaming = await query<{ n: string }>(pt, "select count(*) as n from pg_stat_replication where state = 'streaming'");
  if (Number(streaming[0]?.n) < 1) fail('the primary has no streaming replica (pg_stat_replication)');
  // A dedicated drill database: the drill's tables are created if missing and emptied per run.
  await query(pt, FENCE_SCHEMA, [], 10_000);
  await query(pt, 'truncate events, telemetry', [], 10_000);
  const stamp = await query<{ epoch: string }>(pt, 'select max(epoch) as epoch from ha_fence');
  let initialEpoch = Number(stamp[0]?.epoch ?? 0);
  if (!initialEpoch) {
    await query(pt, 'insert into ha_fence values (1)');
    initialEpoch = 1;
  }
  await query(pt, 'delete from ha_fence where epoch <> $1', [initialEpoch]);
  const lsn = await currentLsn(pt);
  await waitFor('the replica to replay the drill schema', () => replayedUpTo(rt, lsn), 20_000);
  const down = async (t: PgTarget): Promise<boolean> =>
    query(t, 'select 1', [], 500).then(
      () => false,
      () => true,
    );
  return {
    provider: 'external',
    version: pRow.v,
    primary: A,
    replica: B,
    initialEpoch,
    async kill(n) {
      const r = await run('stopPrimary');
      await waitFor(`${n.name} to stop answering`, () => down(n.target), 10_000, 50);
      return { ...r, portRefuses: await down(n.target) };
    },
    pause: () => run('pausePrimary'),
    resume: () => run('resumePrimary'),
    partitionReplication: () => run('partitionReplication'),
    async healReplication() {
      await run('healReplication');
    },
    async stop(n) {
      if (!(await down(n.target))) await run('stopPrimary');
    },
    async restart(n) {
      const r = await run('startPrimary');
      await waitFor(`${n.name} to accept connections`, async () => !(await down(n.target)), 30_000, 100);
      return r;
    },
    async rejoin(n, _source, how) {
      const r = await run(how === 'rewind' ? 'rewindPrimary' : 'reclonePrimary');
      await waitFor(`${n.name} to accept connections`, async () => !(await down(n.target)), 30_000, 100);
      return { how, ...r };
    },
    ...(commands.promoteReplica ? { promote: () => run('promoteReplica') } : {}),
    evidence: () => ({ commands: ran }),
    async teardown() {
      // External infrastructure is the user's: faultline started nothing there.
    },
  };
}
