/**
 * The testcontainers provider: the primary ("eu") and replica ("us") run in two containers started
 * through the `testcontainers` package, with host networking on loopback ports (no bridge address),
 * replication through the drill's injector link and the writer endpoint behind the other, as with the
 * native provider. Faults act on the containers: kill = `docker kill` (SIGKILL to the postmaster, pid
 * 1: the container dies with every process), pause = `docker pause` (cgroup freezer), stop / restart =
 * `docker stop` / `docker start` of the same container (the stale primary comes back with its old
 * data), rewind / reclone = pg_rewind / pg_basebackup run by the node's own start-up wrapper the next
 * time the stopped container starts (its data volume stays with it).
 *
 * The image is a parameter (any image with the official postgres image's environment contract, e.g.
 * postgres:16); the default is the locally built one (local-image.ts). No Ryuk: every container is
 * labelled (dev.faultline.*), removed with its volumes at teardown, and the labelled leftovers of a
 * dead run (its pid gone) are reaped when the next run starts. The Ryuk reaper must be off
 * (TESTCONTAINERS_RYUK_DISABLED=true; the CLI sets it) when its image cannot be pulled.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import type { ContainerRuntimeClient, StartedTestContainer } from 'testcontainers';
import { FaultlineError, freePort, redact } from '../shared/index.ts';
import { ensureLocalPgImage, type LocalImage } from './local-image.ts';
import { FENCE_SCHEMA, query, waitFor } from './postgres.ts';
import type { Capability, ClusterNode, ClusterProvider, LinkProxy, ProvidedCluster, ProviderContext } from './provider.ts';

export interface TestcontainersProviderOptions {
  /** Any image honouring POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB and /docker-entrypoint-initdb.d (default: the local Debian build). */
  image?: string;
  /** Per container start (default 120 s). */
  startupTimeoutMs?: number;
}

/** Labels on every container faultline starts; the reaper finds a dead run's leftovers by them. */
export const CONTAINER_LABELS = { owner: 'dev.faultline.owner', pid: 'dev.faultline.pid', host: 'dev.faultline.host', run: 'dev.faultline.run', node: 'dev.faultline.node' } as const;
type Docker = ContainerRuntimeClient['container']['dockerode'];
type Container = ReturnType<Docker['getContainer']>;
type ContainerState = Awaited<ReturnType<Container['inspect']>>['State'];
const OWNER = 'faultline';
const DB = 'drill';
const PGDATA = '/var/lib/postgresql/data';
const REJOIN_FILE = '/faultline-rejoin.sh';

/** The primary's init scripts (the image runs them once, at initdb). */
const PRIMARY_INIT: Array<{ target: string; content: string; mode?: number }> = [
  {
    // In postgresql.conf, not `postgres -c`: pg_rewind's single-user crash recovery of a killed target
    // sees only the files (with wal_log_hints on the command line it records off and refuses).
    target: '/docker-entrypoint-initdb.d/10-faultline-replication.sh',
    content: `#!/bin/sh
set -e
echo "host replication \${POSTGRES_USER} 127.0.0.1/32 scram-sha-256" >> "$PGDATA/pg_hba.conf"
printf '\\nwal_log_hints = on\\nwal_keep_size = 512MB\\n' >> "$PGDATA/postgresql.conf"
`,
    mode: 0o755,
  },
  { target: '/docker-entrypoint-initdb.d/20-faultline-schema.sql', content: `${FENCE_SCHEMA}\ninsert into ha_fence values (1);\n` },
];

/**
 * The containers' entrypoint: a pending rejoin script (written into the stopped container) runs first,
 * a replica clones its primary on its first start, then the image's own entrypoint takes over (so
 * `docker kill` still hits the postmaster as pid 1).
 */
const NODE_WRAPPER = `set -eu
if [ -f ${REJOIN_FILE} ]; then sh ${REJOIN_FILE}; rm -f ${REJOIN_FILE}; fi
if [ -n "\${FAULTLINE_CLONE_FROM:-}" ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"; chown postgres:postgres "$PGDATA"; chmod 700 "$PGDATA"
  gosu postgres pg_basebackup --pgdata="$PGDATA" --write-recovery-conf --wal-method=stream --checkpoint=fast --dbname="$FAULTLINE_CLONE_FROM"
fi
exec docker-entrypoint.sh "$@"`;

export function testcontainersProvider(o: TestcontainersProviderOptions = {}): ClusterProvider {
  return {
    name: 'testcontainers',
    capabilities: new Set<Capability>(['kill', 'pause', 'partition-replication', 'stop', 'restart', 'rewind', 'reclone']),
    start: (ctx) => startContainers(ctx, o),
  };
}

/** Removes the labelled containers (and their anonymous volumes) of faultline runs on this host whose process is gone. */
export async function reapLeftoverContainers(docker: Docker): Promise<string[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${CONTAINER_LABELS.owner}=${OWNER}`, `${CONTAINER_LABELS.host}=${hostname()}`] } });
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
  const reaped: string[] = [];
  for (const c of list) {
    const pid = Number(c.Labels[CONTAINER_LABELS.pid]);
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) continue;
    await removeContainer(docker.getContainer(c.Id));
    reaped.push(c.Id.slice(0, 12));
  }
  return reaped;
}

async function removeContainer(c: Container): Promise<void> {
  const info = await c.inspect().catch(() => undefined);
  if (!info) return;
  if (info.State.Paused) await c.unpause().catch(() => {});
  await c.remove({ force: true, v: true });
}

interface Node extends ClusterNode {
  readonly port: number;
  started?: StartedTestContainer;
  id?: string;
}
const node = (name: string, region: string, port: number, password: string): Node => ({ name, region, port, target: { host: '127.0.0.1', port, user: DB, password, database: DB } });

/** What one pair's containers share: the runtime, the image, the password, and what goes into the evidence. */
interface ContainerSetup {
  tc: typeof import('testcontainers');
  docker: Docker;
  image: string;
  password: string;
  startupTimeoutMs: number;
  runDir: string;
  ev: Record<string, unknown>;
  volumes: string[];
}

/** Writes a node's container log (redacted) beside the evidence. */
async function saveLogs(docker: Docker, runDir: string, n: Node): Promise<void> {
  if (!n.id) return;
  const buf = (await docker.getContainer(n.id).logs({ stdout: true, stderr: true, follow: false }).catch(() => undefined)) as Buffer | undefined;
  // The multiplexed stream: 8-byte frame headers before each chunk.
  let out = '';
  for (let i = 0; buf && i + 8 <= buf.length; ) {
    const len = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + len).toString();
    i += 8 + len;
  }
  writeFileSync(join(runDir, `${n.name}.log`), redact(out));
}

/** Starts a node's container (labelled, host network) and waits until it answers over TCP; records its start time and data volume. */
async function startNode(s: ContainerSetup, n: Node, env: Record<string, string>, command: string[], copy: typeof PRIMARY_INIT = []): Promise<void> {
  const { tc, docker, image } = s;
  const c = new tc.GenericContainer(image)
    .withNetworkMode('host')
    .withLabels({ [CONTAINER_LABELS.owner]: OWNER, [CONTAINER_LABELS.pid]: String(process.pid), [CONTAINER_LABELS.host]: hostname(), [CONTAINER_LABELS.run]: basename(s.runDir), [CONTAINER_LABELS.node]: n.name })
    .withEnvironment({ POSTGRES_USER: DB, POSTGRES_DB: DB, POSTGRES_PASSWORD: s.password, PGPASSWORD: s.password, ...env })
    .withEntrypoint(['/bin/sh', '-c', NODE_WRAPPER, 'faultline-node'])
    .withCommand(['postgres', '-c', `port=${n.port}`, '-c', 'listen_addresses=127.0.0.1', '-c', `cluster_name=${n.name}`, ...command])
    .withCopyContentToContainer(copy)
    // Over TCP: the image's init-time server listens on the Unix socket only.
    .withWaitStrategy(tc.Wait.forSuccessfulCommand(`pg_isready -q -h 127.0.0.1 -p ${n.port} -U ${DB} -d ${DB}`))
    .withStartupTimeout(s.startupTimeoutMs);
  const t = performance.now();
  try {
    n.started = await c.start();
  } catch (e) {
    // A container that failed its wait strategy is left by testcontainers: find it by its labels.
    const left = await docker.listContainers({ all: true, filters: { label: [`${CONTAINER_LABELS.pid}=${process.pid}`, `${CONTAINER_LABELS.node}=${n.name}`] } }).catch(() => []);
    n.id = left[0]?.Id;
    throw new FaultlineError('FAULTLINE_FAILOVER_CONTAINER', `${n.name} (${image}) did not start: ${(e as Error).message}`, { cause: e });
  }
  n.id = n.started.getId();
  s.ev[`${n.name}StartMs`] = Math.round(performance.now() - t);
  // The data volume (anonymous with the default image) goes with the container at teardown; recorded so a test can check.
  const mounts = (await docker.getContainer(n.id).inspect()).Mounts;
  s.volumes.push(...mounts.filter((m) => m.Type === 'volume' && m.Name).map((m) => m.Name!));
}

/** The pair replicating: the primary, the replication link to it, the replica cloned through the link, synchronous when asked. */
async function startPair(ctx: ProviderContext, s: ContainerSetup, A: Node, B: Node, held: { repl?: LinkProxy }): Promise<void> {
  await startNode(s, A, {}, [], PRIMARY_INIT);
  held.repl = await ctx.links('replication', `127.0.0.1:${A.port}`, ctx.seed);
  await startNode(s, B, { FAULTLINE_CLONE_FROM: `host=127.0.0.1 port=${held.repl.port} user=${DB} dbname=${DB} application_name=us` }, ['-c', 'hot_standby=on']);
  await waitFor('the replica to stream', async () => (await query<{ state: string }>(A.target, 'select state from pg_stat_replication')).some((r) => r.state === 'streaming'));
  if (ctx.mode === 'sync') {
    // After the replica streams (an init-time server with these settings would wait for a standby that
    // does not exist yet); in postgresql.auto.conf, so a restarted stale primary keeps them.
    await query(A.target, `alter system set synchronous_standby_names = 'us'`);
    await query(A.target, `alter system set synchronous_commit = '${ctx.syncCommit ?? 'on'}'`);
    await query(A.target, 'select pg_reload_conf()');
    await waitFor('the replica to become synchronous', async () => (await query<{ s: string }>(A.target, 'select sync_state as s from pg_stat_replication')).some((r) => r.s === 'sync'));
  }
}

/** docker pause, retried: runc's cgroup-v1 freezer can give up ("unable to freeze") while the postmaster forks backends for new connections; the freeze is all-or-nothing, so retrying is safe. Returns the attempts (they go into the evidence). */
async function pauseRetrying(c: Container): Promise<number> {
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      await c.pause();
      return attempts;
    } catch (e) {
      if (attempts >= 5 || !/unable to freeze/.test((e as Error).message)) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** What the node's start-up wrapper runs before postgres to rejoin `from`: pg_rewind, or an emptied PGDATA and pg_basebackup. */
function rejoinScript(how: 'rewind' | 'reclone', from: string): string {
  const script =
    how === 'rewind'
      ? `gosu postgres pg_rewind --target-pgdata="$PGDATA" --write-recovery-conf --source-server="${from}"\n`
      : `find "$PGDATA" -mindepth 1 -delete\ngosu postgres pg_basebackup --pgdata="$PGDATA" --write-recovery-conf --wal-method=stream --checkpoint=fast --dbname="${from}"\n`;
  return `set -eu\necho "faultline: ${how}"\n${script}`;
}

type NodeOps = Pick<ProvidedCluster, 'kill' | 'pause' | 'resume' | 'stop' | 'restart' | 'rejoin'>;

/** The faults and follow-ups on the pair's containers: docker kill, pause/unpause, stop, start, and a rejoin script run at the next start. */
function containerOps(docker: Docker, A: Node, B: Node): NodeOps {
  const nodeOf = (n: ClusterNode): Node => (n.name === A.name ? A : B);
  const containerOf = (n: ClusterNode): Container => {
    const id = nodeOf(n).id;
    if (!id) throw new FaultlineError('FAULTLINE_FAILOVER_CONTAINER', `${n.name} has no container`);
    return docker.getContainer(id);
  };
  const state = async (n: ClusterNode): Promise<ContainerState> => (await containerOf(n).inspect()).State;
  const ready = (n: Node, what: string): Promise<void> => waitFor(`${n.name} to ${what}`, async () => (await query(n.target, 'select 1', [], 500).then(() => true, () => false)), 60_000, 100);
  const down = (n: ClusterNode): Promise<boolean> => query(n.target, 'select 1', [], 300).then(() => false, () => true);
  const stopContainer = async (n: ClusterNode): Promise<void> => {
    const s = await state(n);
    if (s.Paused) await containerOf(n).unpause();
    if (s.Running) await containerOf(n).stop({ t: 10 });
  };
  return {
    async kill(n) {
      await containerOf(n).kill({ signal: 'SIGKILL' });
      const s = await state(n);
      return { container: containerOf(n).id.slice(0, 12), dockerKill: 'SIGKILL', running: s.Running, exitCode: s.ExitCode, portRefuses: await down(n) };
    },
    async pause(n) {
      const attempts = await pauseRetrying(containerOf(n));
      const s = await state(n);
      return { container: containerOf(n).id.slice(0, 12), dockerPause: true, pauseAttempts: attempts, paused: s.Paused, allStopped: s.Paused };
    },
    async resume(n) {
      await containerOf(n).unpause();
      return { container: containerOf(n).id.slice(0, 12), resumed: !(await state(n)).Paused };
    },
    stop: stopContainer,
    async restart(n) {
      await containerOf(n).start();
      await ready(nodeOf(n), 'accept connections again');
      return { restartedContainer: containerOf(n).id.slice(0, 12) };
    },
    async rejoin(n, source, how) {
      await stopContainer(n);
      const from = `host=127.0.0.1 port=${nodeOf(source).port} user=${DB} dbname=${DB} application_name=${n.region}`;
      const t = performance.now();
      // Docker copies into a stopped container too; its start-up wrapper runs the script before postgres.
      await nodeOf(n).started!.copyContentToContainer([{ content: rejoinScript(how, from), target: REJOIN_FILE }]);
      await containerOf(n).start();
      await ready(nodeOf(n), `accept connections after the ${how}`);
      return { how, toolMs: Math.round(performance.now() - t), container: containerOf(n).id.slice(0, 12) };
    },
  };
}

async function startContainers(ctx: ProviderContext, o: TestcontainersProviderOptions): Promise<ProvidedCluster> {
  const tc = await import('testcontainers');
  const client = await tc.getContainerRuntimeClient();
  const docker = client.container.dockerode;
  const reaped = await reapLeftoverContainers(docker);
  let localImage: LocalImage | undefined;
  const image = o.image ?? (localImage = await ensureLocalPgImage()).image;
  const password = randomBytes(12).toString('hex');
  const A = node('pg-eu', 'eu', await freePort(), password);
  const B = node('pg-us', 'us', await freePort(), password);
  const ev: Record<string, unknown> = { image, ...(localImage ? { localImage } : {}), ...(reaped.length ? { reapedLeftovers: reaped } : {}), network: 'host (loopback ports only)' };
  const setup: ContainerSetup = { tc, docker, image, password, startupTimeoutMs: o.startupTimeoutMs ?? 120_000, runDir: ctx.runDir, ev, volumes: [] };
  const held: { repl?: LinkProxy } = {};
  let torn = false;
  const teardown = async (): Promise<void> => {
    if (torn) return;
    torn = true;
    for (const n of [A, B]) {
      await saveLogs(docker, ctx.runDir, n).catch(() => {});
      if (n.id) await removeContainer(docker.getContainer(n.id)).catch(() => {});
    }
    await held.repl?.stop().catch(() => {});
  };
  try {
    await startPair(ctx, setup, A, B, held);
  } catch (e) {
    await teardown();
    throw e;
  }
  const version = (await query<{ v: string }>(A.target, "select current_setting('server_version') as v"))[0]!.v;
  const link = held.repl!;
  return {
    provider: 'testcontainers',
    version,
    primary: A,
    replica: B,
    initialEpoch: 1,
    ...containerOps(docker, A, B),
    async partitionReplication() {
      link.partition('blackhole');
      return { replicationLink: 'blackhole' };
    },
    async healReplication() {
      link.heal();
    },
    evidence: () => ({ ...ev, containers: { [A.name]: A.id?.slice(0, 12), [B.name]: B.id?.slice(0, 12) }, ports: { [A.name]: A.port, [B.name]: B.port }, volumes: setup.volumes, replicationLink: link.stats(), pgdata: PGDATA }),
    teardown,
  };
}
