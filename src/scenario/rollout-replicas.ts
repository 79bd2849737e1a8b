/**
 * The rollout's replica lifecycle (IO shell): start a replica process (the built-in reference service
 * or your own command), wait for its /readyz 200, stop it by signal while watching its drain (/healthz
 * and /readyz polled on fresh connections) until it exits (SIGKILL after the drain timeout), and stop
 * every process still running at the end. Every process is started and stopped by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { errorMessage, freePort, sleep } from '../shared/index.ts';
import { httpStatusOnce } from '../injector/index.ts';
import type { DrainPoll, ReplicaRecord } from './rollout-checks.ts';
import type { ReleaseSpec, RolloutSpec } from './rollout-spec.ts';

/**
 * How to start a built-in replica: the compiled reference service next to the compiled CLI (dist/),
 * or its TypeScript source through bin/run-ts.mjs when faultline runs from source (tests).
 */
const REFERENCE_ARGV: readonly string[] = import.meta.url.endsWith('.js')
  ? [process.execPath, fileURLToPath(new URL('../../fixtures/reference-service/main.js', import.meta.url))]
  : [process.execPath, fileURLToPath(new URL('../../bin/run-ts.mjs', import.meta.url)), fileURLToPath(new URL('../../fixtures/reference-service/main.ts', import.meta.url))];

export interface Live {
  rec: ReplicaRecord;
  child: ChildProcess;
  exited: Promise<void>;
}

/** GET on a fresh connection: the status, or null with the error code. */
async function probe(url: string, timeoutMs: number): Promise<{ status: number | null; error?: string }> {
  const r = await httpStatusOnce(url, timeoutMs);
  return typeof r === 'number' ? { status: r } : { status: null, error: r };
}

export const fill = (s: string, v: Record<string, string>): string => s.replace(/\{(port|replica|version)\}/g, (_m, k: string) => v[k] as string);

const kill = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone: the exit handler records it.
  }
};

export interface FleetOptions {
  spec: RolloutSpec;
  /** ms since the drill started. */
  now: () => number;
  step: (line: string) => void;
  signal?: AbortSignal;
}

/** The argv of a replica: your command template, or the reference service with the release's switches. */
export function replicaArgv(spec: RolloutSpec, release: ReleaseSpec, role: ReplicaRecord['role'], vars: { port: string; replica: string; version: string }): string[] {
  if (spec.commands) {
    const tmpl = role === 'replacement' && spec.commands.startNew ? spec.commands.startNew : spec.commands.start;
    return tmpl.map((a) => fill(a, vars));
  }
  const argv = [...REFERENCE_ARGV, '--port', vars.port, '--replica', vars.replica, '--version', release.version, '--warmup', String(spec.warmup), '--drain-grace', String(spec.drainGrace)];
  if (release.errorRatio !== undefined) argv.push('--error-ratio', String(release.errorRatio));
  const latency = spec.serviceTime + (release.extraLatency ?? 0);
  if (latency > 0) argv.push('--extra-latency', String(latency));
  if (release.noDrain) argv.push('--no-drain');
  if (release.readyzNeverFlips) argv.push('--readyz-never-flips');
  return argv;
}

/** A replica's record as it starts: nothing observed yet. */
export function newReplicaRecord(name: string, slot: number, release: Pick<ReleaseSpec, 'version'>, role: ReplicaRecord['role'], ring: string | null, port: number, at: number): ReplicaRecord {
  return {
    name,
    slot,
    version: release.version,
    ring,
    role,
    port,
    pid: null,
    startedAt: at,
    readyAt: null,
    admittedAt: null,
    sigtermAt: null,
    outOfRotationAt: null,
    listenerClosedAt: null,
    exitedAt: null,
    exit: null,
    killed: false,
    polls: [],
    balancer: { firstRoutedAt: null, lastRoutedAt: null, connections: 0, brokenInFlight: 0, connectFailures: 0, brokenAt: [] },
  };
}

export class ReplicaFleet {
  readonly records: ReplicaRecord[] = [];
  /** The replica serving each slot now. */
  readonly live = new Map<number, Live>();
  private readonly all: Live[] = [];

  constructor(private readonly o: FleetOptions) {}

  /** The slot's port: fixed when your load balancer knows the replicas by address, else a free one. */
  private async portFor(slot: number): Promise<number> {
    return this.o.spec.loadBalancer?.ports[slot] ?? (await freePort());
  }

  async start(slot: number, release: ReleaseSpec, role: ReplicaRecord['role'], ring: string | null): Promise<Live> {
    const port = await this.portFor(slot);
    const name = `r${slot + 1}-v${release.version}${role === 'rollback' ? '-rb' : ''}`;
    const argv = replicaArgv(this.o.spec, release, role, { port: String(port), replica: name, version: release.version });
    const rec = newReplicaRecord(name, slot, release, role, ring, port, this.o.now());
    this.records.push(rec);
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    rec.pid = child.pid ?? null;
    let tail = '';
    const keep = (d: Buffer): void => {
      tail = (tail + d.toString('utf8')).slice(-2000);
      rec.output = tail;
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        rec.exitedAt = this.o.now();
        rec.exit = { code, signal };
        resolve();
      });
      child.once('error', (e) => {
        keep(Buffer.from(`spawn error: ${errorMessage(e)}\n`));
        rec.exitedAt ??= this.o.now();
        rec.exit ??= { code: null, signal: null };
        resolve();
      });
    });
    const l: Live = { rec, child, exited };
    this.all.push(l);
    this.live.set(slot, l);
    this.o.step(`started ${name} (pid ${rec.pid ?? '-'}, port ${port})`);
    return l;
  }

  urls(rec: ReplicaRecord): { readyz: string; healthz: string } {
    const c = this.o.spec.commands;
    const vars = { port: String(rec.port), replica: rec.name, version: rec.version };
    return c ? { readyz: fill(c.readinessUrl, vars), healthz: fill(c.livenessUrl, vars) } : { readyz: `http://127.0.0.1:${rec.port}/readyz`, healthz: `http://127.0.0.1:${rec.port}/healthz` };
  }

  /** Polls /readyz until 200 (the drill's own view), the process exits, or the start timeout. */
  async waitReady(l: Live): Promise<boolean> {
    const { readyz } = this.urls(l.rec);
    const deadline = performance.now() + this.o.spec.startTimeout;
    while (performance.now() < deadline && l.rec.exitedAt === null && !this.o.signal?.aborted) {
      const t = this.o.now();
      const r = await probe(readyz, 1000);
      if (r.status === 200) {
        if (l.rec.readyAt === null || t < l.rec.readyAt) l.rec.readyAt = t;
        return true;
      }
      // Not ready when this poll was answered: traffic answered before it was sent came too early.
      l.rec.notReadyPollAt = t;
      await sleep(this.o.spec.pollInterval, this.o.signal);
    }
    return false;
  }

  /** Signals the replica and watches its drain until it exits (SIGKILL after the drain timeout). */
  async stop(l: Live): Promise<void> {
    const { rec } = l;
    const stopSignal = this.o.spec.commands?.stopSignal ?? 'SIGTERM';
    rec.sigtermAt = this.o.now();
    this.o.step(`${stopSignal} ${rec.name} (pid ${rec.pid ?? '-'})`);
    if (rec.exitedAt === null && rec.pid !== null) kill(rec.pid, stopSignal);
    const watching = { on: true };
    const { readyz, healthz } = this.urls(rec);
    const pollers = Promise.all([this.pollDrain(rec, 'healthz', healthz, watching), this.pollDrain(rec, 'readyz', readyz, watching)]);
    const killer = setTimeout(() => {
      if (rec.exitedAt === null && rec.pid !== null) {
        rec.killed = true;
        kill(rec.pid, 'SIGKILL');
      }
    }, this.o.spec.drainTimeout);
    await l.exited;
    clearTimeout(killer);
    watching.on = false;
    await pollers;
    this.o.step(`${rec.name} exited ${rec.exitedAt !== null && rec.sigtermAt !== null ? `${Math.round(rec.exitedAt - rec.sigtermAt)} ms` : '?'} after SIGTERM (code ${rec.exit?.code ?? '-'}, signal ${rec.exit?.signal ?? '-'})${rec.killed ? ' — SIGKILLed after the drain timeout' : ''}`);
    this.live.delete(rec.slot);
  }

  private async pollDrain(rec: ReplicaRecord, path: DrainPoll['path'], url: string, watching: { on: boolean }): Promise<void> {
    while (watching.on && rec.exitedAt === null) {
      const t = this.o.now();
      const r = await probe(url, 1000);
      const p: DrainPoll = { t, path, status: r.status };
      if (r.error) p.error = r.error;
      rec.polls.push(p);
      if (r.status === null && r.error === 'ECONNREFUSED') {
        rec.listenerClosedAt ??= t;
        return;
      }
      await sleep(this.o.spec.pollInterval);
    }
  }

  /** Every process still running, by pid: SIGTERM, then SIGKILL if it lingers. */
  async stopAll(): Promise<void> {
    for (const l of this.all) {
      if (l.rec.exitedAt === null && l.rec.pid !== null) {
        l.rec.stoppedAtEnd = true;
        kill(l.rec.pid, 'SIGTERM');
      }
    }
    await Promise.race([Promise.all(this.all.map((l) => l.exited)), sleep(Math.min(this.o.spec.drainTimeout, 5000))]);
    for (const l of this.all) if (l.rec.exitedAt === null && l.rec.pid !== null) kill(l.rec.pid, 'SIGKILL');
    await Promise.all(this.all.map((l) => l.exited));
  }
}
