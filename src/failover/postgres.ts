/**
 * Native PostgreSQL processes for the failover drill: binaries discovery, the golden pair (built once,
 * copied per run), nodes started directly (not via pg_ctl) so faultline owns and reaps every pid, and
 * process-level faults (kill -9 / SIGSTOP / SIGCONT of the postmaster AND every child, by pid).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { FaultlineError, freePort, startLifeline, type Lifeline } from '../shared/index.ts';
import { GOLDEN_BUILD_PREFIX, GOLDEN_CACHE_DIR, writeOwner } from './debris.ts';

export interface PgBinaries {
  bindir: string;
  version: string;
  /** OS user the server runs as (PostgreSQL refuses to run as root). */
  uid: number;
  gid: number;
  user: string;
}

const bin = (b: PgBinaries, name: string): string => join(b.bindir, name);

/** What faultline says when no PostgreSQL server is installed: where it looked and how to install one. */
export const NO_POSTGRES_MESSAGE =
  'PostgreSQL server binaries not found (looked on PATH, pg_config --bindir and /usr/lib/postgresql/*/bin). Install them, e.g. `apt-get install postgresql-15` on Debian/Ubuntu, `dnf install postgresql-server` on Fedora, `brew install postgresql@15` on macOS (.ci/run does this).';

/** Finds server binaries via PATH, `pg_config --bindir`, or /usr/lib/postgresql/<v>/bin. */
export function findPgBinaries(env: Record<string, string | undefined> = process.env): PgBinaries {
  const candidates: string[] = [];
  for (const dir of (env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'initdb'))) candidates.push(dir);
  const pgc = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (pgc.status === 0) candidates.push(pgc.stdout.trim());
  if (existsSync('/usr/lib/postgresql')) {
    for (const v of readdirSync('/usr/lib/postgresql').sort().reverse()) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  }
  const bindir = candidates.find((d) => existsSync(join(d, 'postgres')) && existsSync(join(d, 'initdb')) && existsSync(join(d, 'pg_basebackup')));
  if (!bindir) {
    throw new FaultlineError('FAULTLINE_FAILOVER_NO_POSTGRES', NO_POSTGRES_MESSAGE);
  }
  const version = execFileSync(join(bindir, 'postgres'), ['--version'], { encoding: 'utf8' }).trim();
  let uid = process.getuid?.() ?? 1000;
  let gid = process.getgid?.() ?? 1000;
  let user = 'current user';
  if (uid === 0) {
    const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    if (id.status !== 0) {
      throw new FaultlineError(
        'FAULTLINE_FAILOVER_NO_PG_USER',
        "running as root, and there is no 'postgres' OS user to run the server as (PostgreSQL refuses root). Installing the postgresql package creates it; or run faultline as a normal user.",
      );
    }
    uid = Number(id.stdout.trim());
    gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    user = 'postgres';
  }
  return { bindir, version, uid, gid, user };
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (statSync(path).isDirectory()) for (const e of readdirSync(path)) chownTree(join(path, e), uid, gid);
}

export { freePort };

/** Common server settings: on the command line, so copies and rewinds never carry another node's port. */
export function serverArgs(dir: string, port: number, socketDir: string, extra: Record<string, string> = {}): string[] {
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    wal_level: 'replica',
    wal_log_hints: 'on',
    wal_keep_size: '256MB',
    max_wal_senders: '8',
    hot_standby: 'on',
    fsync: 'off',
    synchronous_commit: 'on',
    full_page_writes: 'on',
    shared_buffers: '32MB',
    max_connections: '50',
    logging_collector: 'off',
    ...extra,
  };
  return ['-D', dir, '-p', String(port), '-k', unixSocketDir(socketDir, port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
}

/**
 * The Unix-socket directory for a server, or '' (no Unix socket) when the socket's path would pass the
 * kernel's 107-byte limit (a long TMPDIR): postgres would refuse to start, and faultline and the server
 * tools connect over TCP to 127.0.0.1 anyway.
 */
export function unixSocketDir(socketDir: string, port: number): string {
  return Buffer.byteLength(join(socketDir, `.s.PGSQL.${port}.lock`)) > 107 ? '' : socketDir;
}

export interface PgNode {
  readonly name: string;
  readonly region: string;
  readonly dir: string;
  port: number;
  proc: ChildProcess | undefined;
  logFile: string;
  /** Stops the postmaster if faultline dies, SIGKILL included (see shared/lifeline.ts). */
  lifeline?: Lifeline;
}

export function connString(port: number, db = 'postgres'): string {
  return `postgresql://postgres@127.0.0.1:${port}/${db}`;
}

/** Where a PostgreSQL server is reached (native nodes: 127.0.0.1, user postgres, trust auth). */
export interface PgTarget {
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
}

export function nativeTarget(port: number): PgTarget {
  return { host: '127.0.0.1', port, user: 'postgres', database: 'postgres' };
}

/** node-postgres client settings for a target (never `target_session_attrs`: pg ignores it). */
export function clientConfig(t: number | PgTarget, timeoutMs: number): pg.ClientConfig {
  const target = typeof t === 'number' ? nativeTarget(t) : t;
  return { host: target.host, port: target.port, user: target.user, database: target.database, password: target.password, connectionTimeoutMillis: timeoutMs };
}

export async function query<T = Record<string, unknown>>(target: number | PgTarget, sql: string, params: unknown[] = [], timeoutMs = 2000): Promise<T[]> {
  const c = new pg.Client({ ...clientConfig(target, timeoutMs), query_timeout: timeoutMs });
  c.on('error', () => {});
  try {
    await c.connect();
    const r = await c.query(sql, params);
    return r.rows as T[];
  } finally {
    await endClient(c);
  }
}

/**
 * Says goodbye to a client; destroys its socket when the server has not closed its side within `ms`.
 * pg's end() waits for the server to close, and a SIGSTOPped or `docker pause`d server never does:
 * a drill aborted mid-pause waited on it for ever, before the teardown that would have resumed it.
 */
export async function endClient(c: pg.Client, ms = 500): Promise<void> {
  await withDeadline(c.end(), ms, () => destroy(c)).catch(() => {});
}

export async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs = 20_000, everyMs = 50): Promise<void> {
  const until = performance.now() + timeoutMs;
  let last: unknown;
  while (performance.now() < until) {
    try {
      if (await fn()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new FaultlineError('FAULTLINE_FAILOVER_TIMEOUT', `timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** The server's identity as a node reports it (cluster_name, else address:port). */
export const IDENTITY_SQL = "coalesce(nullif(current_setting('cluster_name'), ''), host(inet_server_addr()) || ':' || inet_server_port())";

/** Races `p` against a deadline; on expiry runs `onTimeout` (e.g. destroys the connection) and rejects with a TimeoutError. */
export function withDeadline<T>(p: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
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
export async function connect(target: PgTarget, deadlineMs: number): Promise<pg.Client> {
  const c = new pg.Client(clientConfig(target, deadlineMs));
  c.on('error', () => {});
  await withDeadline(c.connect(), deadlineMs, () => destroy(c));
  return c;
}

/** Closes a client at once (its socket first: a hung server never answers the goodbye). */
export function destroy(c: pg.Client | undefined): void {
  if (!c) return;
  const stream = (c as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
  stream?.destroy();
  void c.end().catch(() => {});
}

/** The node's identity (IDENTITY_SQL). */
export async function nodeIdentity(t: PgTarget): Promise<string> {
  return (await query<{ id: string }>(t, `select ${IDENTITY_SQL} as id`))[0]!.id;
}

/** The primary's current WAL position. */
export async function currentLsn(t: number | PgTarget, timeoutMs = 2000): Promise<string> {
  return (await query<{ lsn: string }>(t, 'select pg_current_wal_lsn() as lsn', [], timeoutMs))[0]!.lsn;
}

/** Whether a replica has replayed WAL up to `lsn`. */
export async function replayedUpTo(t: number | PgTarget, lsn: string): Promise<boolean> {
  return (await query<{ ok: boolean }>(t, 'select pg_last_wal_replay_lsn() >= $1::pg_lsn as ok', [lsn]))[0]!.ok;
}

/** The primary's largest replication lag in bytes (0 without replicas), or null when unreachable. */
export async function replicationLagBytes(primary: PgTarget): Promise<number | null> {
  try {
    const r = await query<{ lag: string }>(primary, 'select coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), 0) as lag from pg_stat_replication', [], 300);
    return Number(r[0]?.lag ?? 0);
  } catch {
    return null;
  }
}

/** The ids of the drill's `events` rows, ascending, or null when the node cannot be read. */
export async function eventIds(t: PgTarget): Promise<number[] | null> {
  try {
    return (await query<{ id: string }>(t, 'select id from events order by id', [], 3000)).map((r) => Number(r.id));
  } catch {
    return null;
  }
}

/** Starts `postgres` directly as a child (so faultline owns and reaps its pid). */
export async function startNode(b: PgBinaries, node: PgNode, socketDir: string, extra: Record<string, string> = {}): Promise<void> {
  const fd = openSync(node.logFile, 'a');
  const proc = spawn(bin(b, 'postgres'), serverArgs(node.dir, node.port, socketDir, { cluster_name: node.name, ...extra }), { uid: b.uid, gid: b.gid, stdio: ['ignore', fd, fd] });
  // The child has its own copy of the log descriptor: keep none open here (one per start would leak).
  closeSync(fd);
  node.proc = proc;
  // Its command line carries the data directory: the lifeline never signals a recycled pid.
  if (proc.pid !== undefined) node.lifeline?.watchPid(proc.pid, node.dir);
  let exited = false;
  proc.once('exit', () => (exited = true));
  await waitFor(`${node.name} to accept connections`, async () => {
    if (exited) throw new Error(`postgres exited; see ${node.logFile}`);
    await query(node.port, 'select 1', [], 500);
    return true;
  });
}

/** The postmaster's children, from /proc (every child is a session leader: signal each pid). */
export function childPids(ppid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) out.push(Number(e));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

export function nodePids(node: PgNode): number[] {
  const pm = node.proc?.pid;
  if (pm === undefined || node.proc?.exitCode !== null || node.proc?.signalCode !== null) return [];
  return [pm, ...childPids(pm)];
}

export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

export function signalAll(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

/** kill -9 of the postmaster and every child; resolves when the postmaster is reaped. Returns the pids. */
export async function killNode(node: PgNode): Promise<number[]> {
  const pids = nodePids(node);
  const proc = node.proc;
  const reaped = proc && proc.exitCode === null && proc.signalCode === null ? new Promise<void>((r) => proc.once('exit', () => r())) : Promise.resolve();
  signalAll(pids, 'SIGKILL');
  await reaped;
  // Children are reparented and die from SIGKILL; wait until none is left.
  await waitFor(`${node.name}'s processes to exit`, async () => pids.every((p) => processState(p) === undefined || processState(p) === 'Z'), 5000, 20);
  return pids;
}

/** Fast shutdown (SIGINT) and reap; falls back to kill -9 after the deadline. */
export async function stopNode(node: PgNode, timeoutMs = 10_000): Promise<void> {
  const proc = node.proc;
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  signalAll([proc.pid as number], 'SIGCONT');
  signalAll(childPids(proc.pid as number), 'SIGCONT');
  const done = new Promise<void>((r) => proc.once('exit', () => r()));
  signalAll([proc.pid as number], 'SIGINT');
  // killNode rejects when a pid outlives kill -9 by 5 s: never an unhandled rejection from a timer.
  const timer = setTimeout(() => void killNode(node).catch(() => {}), timeoutMs);
  await done;
  clearTimeout(timer);
}

/** The drill's tables: the epoch stamp, the writer's rows (harness ids), the telemetry spool drains. */
export const FENCE_SCHEMA = `create table if not exists ha_fence (epoch bigint not null);
  create table if not exists events (id bigint primary key, epoch bigint not null, node_port int not null, at timestamptz not null default clock_timestamp());
  create table if not exists telemetry (id bigserial primary key, items int not null, at timestamptz not null default clock_timestamp());`;

export interface GoldenPair {
  dir: string;
  primary: string;
  replica: string;
}

const GOLDEN_VERSION = 'v2';

/**
 * The golden pair: initdb + schema on the primary, a base backup for the replica; both stopped
 * cleanly and kept under the cache dir, copied per run (about a second instead of initdb each time).
 */
export async function ensureGoldenPair(b: PgBinaries, cacheRoot = join(tmpdir(), GOLDEN_CACHE_DIR)): Promise<GoldenPair> {
  const tag = b.version.replace(/[^0-9.]/g, '');
  const dir = join(cacheRoot, `golden-${GOLDEN_VERSION}-${tag}`);
  const pair = { dir, primary: join(dir, 'A'), replica: join(dir, 'B') };
  if (existsSync(join(dir, 'READY'))) return pair;
  // Built in a private directory, then renamed into place: concurrent first runs (parallel test
  // workers on a fresh machine) each build their own and the first rename wins; no run ever sees a
  // half-built pair or deletes another's.
  mkdirSync(cacheRoot, { recursive: true });
  chownSync(cacheRoot, b.uid, b.gid);
  const work = mkdtempSync(join(cacheRoot, GOLDEN_BUILD_PREFIX));
  // Killed mid-build (SIGKILL included), the lifeline stops the build's server and removes the
  // half-built pair; the owner file lets the next faultline reap it should even the lifeline fail.
  const life = startLifeline();
  life.watchPath(work);
  writeOwner(work);
  const wip = { primary: join(work, 'A'), replica: join(work, 'B') };
  chownTree(work, b.uid, b.gid);
  const run = (name: string, args: string[]): void => {
    const r = spawnSync(bin(b, name), args, { uid: b.uid, gid: b.gid, encoding: 'utf8' });
    if (r.status !== 0) throw new FaultlineError('FAULTLINE_FAILOVER_SETUP', `${name} failed: ${r.stderr || r.stdout}`);
  };
  try {
    run('initdb', ['-D', wip.primary, '-U', 'postgres', '-N', '--auth=trust', '-E', 'UTF8', '--locale=C']);
    const node: PgNode = { name: 'golden-A', region: 'eu', dir: wip.primary, port: await freePort(), proc: undefined, logFile: join(work, 'golden-A.log'), lifeline: life };
    writeFileSync(node.logFile, '');
    chownSync(node.logFile, b.uid, b.gid);
    await startNode(b, node, work);
    try {
      await query(node.port, `${FENCE_SCHEMA} insert into ha_fence values (1);`);
      run('pg_basebackup', ['-D', wip.replica, '-h', '127.0.0.1', '-p', String(node.port), '-U', 'postgres', '-X', 'stream', '-c', 'fast', '--no-sync']);
    } finally {
      await stopNode(node);
    }
    writeFileSync(join(work, 'READY'), new Date().toISOString());
    // A directory without READY is left over from an interrupted build by an older version: stale.
    if (existsSync(dir) && !existsSync(join(dir, 'READY'))) rmSync(dir, { recursive: true, force: true });
    try {
      renameSync(work, dir);
    } catch (e) {
      // Another run finished first (the target exists and is not empty): use theirs.
      if (!existsSync(join(dir, 'READY'))) throw e;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    life.release();
  }
  return pair;
}

/**
 * Copies the golden pair into a run directory (owned by the server user). Asynchronously: the copy
 * (about 110 MB) blocked the harness's event loop for 0.6-1 s, and with it everything else a
 * scenario runs beside the drill (load, probes, the SLO engine).
 */
export async function copyGoldenPair(b: PgBinaries, pair: GoldenPair, runDir: string): Promise<{ A: string; B: string }> {
  mkdirSync(runDir, { recursive: true });
  const A = join(runDir, 'A');
  const B = join(runDir, 'B');
  await Promise.all([cp(pair.primary, A, { recursive: true }), cp(pair.replica, B, { recursive: true })]);
  writeFileSync(join(B, 'standby.signal'), '');
  // pg_rewind runs crash recovery in single-user mode with the file settings only, and then needs
  // wal_log_hints in pg_control: put it in the files too, not only on the command line.
  for (const d of [A, B]) appendFileSync(join(d, 'postgresql.conf'), '\n# faultline: pg_rewind needs hint bits WAL-logged\nwal_log_hints = on\n');
  chownTree(runDir, b.uid, b.gid);
  return { A, B };
}

export function chownForServer(b: PgBinaries, path: string): void {
  chownTree(path, b.uid, b.gid);
}

/**
 * Runs a server binary as the server user; resolves with its output, rejects with a typed error. With
 * `watch`, the lifeline stops it should faultline die meanwhile (its command line carries `marker`).
 */
export function runServerTool(b: PgBinaries, name: string, args: string[], timeoutMs = 60_000, watch?: { lifeline: Lifeline | undefined; marker: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin(b, name), args, { uid: b.uid, gid: b.gid, stdio: ['ignore', 'pipe', 'pipe'] });
    if (p.pid !== undefined) watch?.lifeline?.watchPid(p.pid, watch.marker);
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.once('error', (e) => {
      clearTimeout(timer);
      reject(new FaultlineError('FAULTLINE_FAILOVER_TOOL', `${name}: ${e.message}`));
    });
    p.once('exit', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new FaultlineError('FAULTLINE_FAILOVER_TOOL', `${name} failed (${sig ?? code}): ${out.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

/**
 * pg_rewind the stale ex-primary from the new primary (which must have run a CHECKPOINT since its
 * promotion: on PostgreSQL <= 15 pg_rewind otherwise wrongly reports "no rewind required").
 */
export async function rewindNode(b: PgBinaries, target: PgNode, sourcePort: number): Promise<string> {
  const out = await runServerTool(b, 'pg_rewind', ['-D', target.dir, `--source-server=host=127.0.0.1 port=${sourcePort} user=postgres dbname=postgres`, '--no-sync'], undefined, { lifeline: target.lifeline, marker: target.dir });
  writeFileSync(join(target.dir, 'standby.signal'), '');
  chownSync(join(target.dir, 'standby.signal'), b.uid, b.gid);
  return out;
}

/** Re-clones a node from the new primary with pg_basebackup (its old data is discarded). */
export async function recloneNode(b: PgBinaries, target: PgNode, sourcePort: number): Promise<string> {
  rmSync(target.dir, { recursive: true, force: true });
  mkdirSync(target.dir, { mode: 0o700 });
  chownSync(target.dir, b.uid, b.gid);
  const out = await runServerTool(b, 'pg_basebackup', ['-D', target.dir, '-h', '127.0.0.1', '-p', String(sourcePort), '-U', 'postgres', '-X', 'stream', '-c', 'fast', '--no-sync'], undefined, { lifeline: target.lifeline, marker: target.dir });
  writeFileSync(join(target.dir, 'standby.signal'), '');
  chownSync(join(target.dir, 'standby.signal'), b.uid, b.gid);
  return out;
}
