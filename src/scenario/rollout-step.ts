/**
 * The rollout drill (IO shell): N replicas (the built-in reference service as real processes, or your
 * own commands) behind the injector's readiness-gated balancer, open-loop load through it throughout,
 * then replace them one at a time, ring by ring: SIGTERM the old one, watch its drain (/healthz and
 * /readyz polled on fresh connections), wait for it to exit, start the replacement, admit it when its
 * /readyz is 200, next. After each ring a health gate looks at the new replicas' requests over a window;
 * a failing gate halts the rollout and rolls the ring back. Everything listens on loopback; every
 * process is started and stopped by pid. The verdict rows come from rollout-checks.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { errorMessage, freePort } from '../shared/index.ts';
import { httpStatusOnce, TcpProxy, type Upstream } from '../injector/index.ts';
import { startLoadProcess, type LoadProcess } from './rollout-load.ts';
import { classifyRequests, judgeGate, judgeRollout, type DrainPoll, type ReplicaRecord, type RingRecord, type RolloutRequest, type RolloutResult } from './rollout-checks.ts';
import { parseRings, type ReleaseSpec, type RolloutSpec } from './rollout-spec.ts';

/**
 * How to start a built-in replica: the compiled reference service next to the compiled CLI (dist/),
 * or its TypeScript source through bin/run-ts.mjs when faultline runs from source (tests).
 */
const REFERENCE_ARGV: readonly string[] = import.meta.url.endsWith('.js')
  ? [process.execPath, fileURLToPath(new URL('../../fixtures/reference-service/main.js', import.meta.url))]
  : [process.execPath, fileURLToPath(new URL('../../bin/run-ts.mjs', import.meta.url)), fileURLToPath(new URL('../../fixtures/reference-service/main.ts', import.meta.url))];
/** The reference service names the replica that answered in this header. */
export const REPLICA_HEADER = 'x-faultline-replica';

export interface RolloutOptions {
  spec: RolloutSpec;
  seed: string;
  signal?: AbortSignal;
  /** One line per step, for a live log. */
  onStep?: (line: string) => void;
}

interface Live {
  rec: ReplicaRecord;
  child: ChildProcess;
  exited: Promise<void>;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** GET on a fresh connection: the status, or null with the error code. */
async function probe(url: string, timeoutMs: number): Promise<{ status: number | null; error?: string }> {
  const r = await httpStatusOnce(url, timeoutMs);
  return typeof r === 'number' ? { status: r } : { status: null, error: r };
}

const fill = (s: string, v: Record<string, string>): string => s.replace(/\{(port|replica|version)\}/g, (_m, k: string) => v[k] as string);

export async function runRollout(o: RolloutOptions): Promise<RolloutResult> {
  const { spec } = o;
  const t0 = performance.now();
  const now = (): number => Math.round((performance.now() - t0) * 10) / 10;
  const step = (line: string): void => o.onStep?.(`[${(now() / 1000).toFixed(2)}s] ${line}`);
  const rings = parseRings(spec.rings, spec.replicas);
  const records: ReplicaRecord[] = [];
  const live = new Map<number, Live>();
  const all: Live[] = [];
  const requests: RolloutRequest[] = [];
  const ringRecords: RingRecord[] = [];
  const result: Omit<RolloutResult, 'verdicts' | 'status' | 'reason'> & { status?: RolloutResult['status']; reason?: string } = {
    seed: o.seed,
    wallMs: 0,
    rollout: { startedAt: null, endedAt: null },
    from: spec.from.version,
    to: spec.to.version,
    rings: ringRecords,
    halted: null,
    replicas: records,
    balancer: { url: '', policy: spec.balancer.policy, healthCheck: spec.balancer.healthCheck, intervalMs: spec.balancer.interval, refused: 0 },
    load: { rate: spec.load.rate, sent: 0, completed: 0, good: 0, bad: 0, dropped: 0, p99Ms: null, valid: false, invalidReasons: [] },
    perSecond: [],
    classification: { total: 0, good: 0, dropped: 0, badByReplica: {}, unattributed: {}, goodByReplica: {}, badBeforeRollout: 0 },
  };
  let proxy: TcpProxy | undefined;
  /** The balancer's upstream of each replica (kept after removal: its accounting stays readable). */
  const upstreams = new Map<string, Upstream>();
  let load: LoadProcess | undefined;
  let error: string | undefined;

  const rel = (t: number | null): number | null => (t === null ? null : Math.round((t - t0) * 10) / 10);
  const syncBalancer = (rec: ReplicaRecord): void => {
    const u = upstreams.get(rec.name);
    if (!u) return;
    const brokenAt = u.brokenAt;
    rec.balancer = {
      firstRoutedAt: rel(u.firstRoutedAt),
      lastRoutedAt: rel(u.lastRoutedAt),
      connections: u.connections.total,
      brokenInFlight: u.connections.brokenInFlight,
      connectFailures: u.connections.connectFailures,
      brokenAt: brokenAt.map((t) => rel(t) as number),
      transitions: u.transitions.map((t) => ({ t: rel(t.t) as number, to: t.to, reason: t.reason })),
    };
    const admitted = u.transitions.find((t) => t.to === 'up');
    if (admitted) {
      rec.admittedAt = rel(admitted.t);
      // The balancer's passing check is a /readyz 200 too (it may come before the drill's own poll).
      if (spec.balancer.healthCheck && (rec.readyAt === null || (rel(admitted.t) as number) < rec.readyAt)) rec.readyAt = rel(admitted.t);
    }
    const out = u.transitions.find((t) => rec.sigtermAt !== null && (t.to === 'down' || t.to === 'removed') && (rel(t.t) as number) >= (rec.sigtermAt as number));
    if (out) {
      rec.outOfRotationAt = rel(out.t);
      rec.outOfRotationBy = out.to === 'removed' ? 'removed' : 'check';
      if (out.checkMs !== undefined) rec.outOfRotationCheckMs = out.checkMs;
    }
  };

  const startReplica = async (slot: number, release: ReleaseSpec, role: ReplicaRecord['role'], ring: string | null): Promise<Live> => {
    const port = await freePort();
    const name = `r${slot + 1}-v${release.version}${role === 'rollback' ? '-rb' : ''}`;
    const vars = { port: String(port), replica: name, version: release.version };
    let argv: string[];
    if (spec.commands) {
      const tmpl = role === 'replacement' && spec.commands.startNew ? spec.commands.startNew : spec.commands.start;
      argv = tmpl.map((a) => fill(a, vars));
    } else {
      argv = [...REFERENCE_ARGV, '--port', String(port), '--replica', name, '--version', release.version, '--warmup', String(spec.warmup), '--drain-grace', String(spec.drainGrace)];
      if (release.errorRatio !== undefined) argv.push('--error-ratio', String(release.errorRatio));
      const latency = spec.serviceTime + (release.extraLatency ?? 0);
      if (latency > 0) argv.push('--extra-latency', String(latency));
      if (release.noDrain) argv.push('--no-drain');
      if (release.readyzNeverFlips) argv.push('--readyz-never-flips');
    }
    const rec: ReplicaRecord = {
      name,
      slot,
      version: release.version,
      ring,
      role,
      port,
      pid: null,
      startedAt: now(),
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
    records.push(rec);
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
        rec.exitedAt = now();
        rec.exit = { code, signal };
        resolve();
      });
      child.once('error', (e) => {
        keep(Buffer.from(`spawn error: ${errorMessage(e)}\n`));
        rec.exitedAt ??= now();
        rec.exit ??= { code: null, signal: null };
        resolve();
      });
    });
    const l: Live = { rec, child, exited };
    all.push(l);
    live.set(slot, l);
    step(`started ${name} (pid ${rec.pid ?? '-'}, port ${port})`);
    return l;
  };

  const urls = (rec: ReplicaRecord): { readyz: string; healthz: string } => {
    const vars = { port: String(rec.port), replica: rec.name, version: rec.version };
    return spec.commands ? { readyz: fill(spec.commands.readinessUrl, vars), healthz: fill(spec.commands.livenessUrl, vars) } : { readyz: `http://127.0.0.1:${rec.port}/readyz`, healthz: `http://127.0.0.1:${rec.port}/healthz` };
  };

  /** Polls /readyz until 200 (the drill's own view), the process exits, or the start timeout. */
  const waitReady = async (l: Live): Promise<boolean> => {
    const { readyz } = urls(l.rec);
    const deadline = performance.now() + spec.startTimeout;
    while (performance.now() < deadline && l.rec.exitedAt === null && !o.signal?.aborted) {
      const t = now();
      const r = await probe(readyz, 1000);
      if (r.status === 200) {
        if (l.rec.readyAt === null || t < l.rec.readyAt) l.rec.readyAt = t;
        return true;
      }
      await sleep(spec.pollInterval, o.signal);
    }
    return false;
  };

  /** Waits until the balancer has the upstream in rotation. */
  const waitAdmitted = async (l: Live): Promise<boolean> => {
    const deadline = performance.now() + spec.startTimeout;
    while (performance.now() < deadline && !o.signal?.aborted) {
      if (upstreams.get(l.rec.name)?.state === 'up') {
        syncBalancer(l.rec);
        return true;
      }
      await sleep(10, o.signal);
    }
    return false;
  };

  /** SIGTERM, watch the drain until the process exits (SIGKILL after the drain timeout), take it out of the pool. */
  const stopReplica = async (l: Live): Promise<void> => {
    const { rec } = l;
    const { readyz, healthz } = urls(rec);
    rec.sigtermAt = now();
    step(`${spec.commands?.stopSignal ?? 'SIGTERM'} ${rec.name} (pid ${rec.pid ?? '-'})`);
    if (rec.exitedAt === null && rec.pid !== null) {
      try {
        process.kill(rec.pid, spec.commands?.stopSignal ?? 'SIGTERM');
      } catch {
        // Already gone: the exit handler records it.
      }
    }
    let polling = true;
    const poll = async (path: 'healthz' | 'readyz', url: string): Promise<void> => {
      while (polling && rec.exitedAt === null) {
        const t = now();
        const r = await probe(url, 1000);
        const p: DrainPoll = { t, path, status: r.status };
        if (r.error) p.error = r.error;
        rec.polls.push(p);
        if (r.status === null && r.error === 'ECONNREFUSED') {
          rec.listenerClosedAt ??= t;
          return;
        }
        await sleep(spec.pollInterval);
      }
    };
    const pollers = Promise.all([poll('healthz', healthz), poll('readyz', readyz)]);
    const killer = setTimeout(() => {
      if (rec.exitedAt === null && rec.pid !== null) {
        rec.killed = true;
        try {
          process.kill(rec.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }, spec.drainTimeout);
    await l.exited;
    clearTimeout(killer);
    polling = false;
    await pollers;
    if (proxy?.balancer?.has(rec.name)) proxy.balancer.remove(rec.name);
    syncBalancer(rec);
    step(`${rec.name} exited ${rec.exitedAt !== null && rec.sigtermAt !== null ? `${Math.round(rec.exitedAt - rec.sigtermAt)} ms` : '?'} after SIGTERM (code ${rec.exit?.code ?? '-'}, signal ${rec.exit?.signal ?? '-'})${rec.killed ? ' — SIGKILLed after the drain timeout' : ''}`);
    live.delete(rec.slot);
  };

  /** Replaces the replica in `slot` with `release` (stop first, then start and admit). */
  const replace = async (slot: number, release: ReleaseSpec, role: 'replacement' | 'rollback', ring: string): Promise<boolean> => {
    const old = live.get(slot);
    if (old) await stopReplica(old);
    const l = await startReplica(slot, release, role, ring);
    const u = proxy?.balancer?.add({ name: l.rec.name, address: `127.0.0.1:${l.rec.port}` });
    if (u) upstreams.set(l.rec.name, u);
    const ready = await waitReady(l);
    const admitted = ready && (await waitAdmitted(l));
    syncBalancer(l.rec);
    step(`${l.rec.name} ${ready ? `ready ${Math.round((l.rec.readyAt as number) - l.rec.startedAt)} ms after start` : 'never ready'}${admitted ? `, in rotation at ${((l.rec.admittedAt as number) / 1000).toFixed(2)}s` : ''}`);
    return ready && admitted;
  };

  try {
    // 1. The old release on every slot, ready before the balancer starts.
    const initial = await Promise.all(Array.from({ length: spec.replicas }, (_, i) => startReplica(i, spec.from, 'initial', rings.find((r) => r.slots.includes(i))?.name ?? null)));
    const readies = await Promise.all(initial.map((l) => waitReady(l)));
    if (!readies.every(Boolean)) throw new Error(`initial replicas not ready within ${spec.startTimeout} ms: ${initial.filter((_, i) => !readies[i]).map((l) => `${l.rec.name} (${(l.rec.output ?? '').trim().split('\n').pop() ?? ''})`).join(', ')}`);
    proxy = new TcpProxy({
      name: 'rollout-lb',
      seed: o.seed,
      balancer: {
        upstreams: initial.map((l) => ({ name: l.rec.name, address: `127.0.0.1:${l.rec.port}` })),
        policy: spec.balancer.policy,
        healthCheck: spec.balancer.healthCheck ? { path: spec.commands ? new URL(fill(spec.commands.readinessUrl, { port: '1', replica: '', version: '' })).pathname : '/readyz', intervalMs: spec.balancer.interval, timeoutMs: spec.balancer.timeout } : false,
      },
    });
    for (const l of initial) {
      const u = proxy.balancer?.pool.find(l.rec.name);
      if (u) upstreams.set(l.rec.name, u);
    }
    await proxy.start();
    result.balancer.url = `http://${proxy.listen}`;
    for (const l of initial) if (!(await waitAdmitted(l))) throw new Error(`balancer did not admit ${l.rec.name}`);
    step(`balancer ${proxy.listen} (${spec.balancer.policy}, ${spec.balancer.healthCheck ? `check ${spec.balancer.interval} ms` : 'no health check'}) over ${initial.map((l) => l.rec.name).join(', ')}`);

    // 2. Open-loop load throughout.
    load = startLoadProcess(
      {
        target: { kind: 'http', url: `http://${proxy.listen}${spec.load.path}`, connections: spec.load.connections, maxRequestsPerConnection: spec.load.requestsPerConnection, servedByHeader: REPLICA_HEADER },
        schedule: { type: 'constant', rate: spec.load.rate, duration: 24 * 3_600_000 },
        timeoutMs: spec.load.timeout,
        seed: o.seed,
      },
      performance.timeOrigin + t0,
      requests,
      (message) => (error ??= message),
    );
    // The baseline starts once requests flow (starting the generator's process takes a while under load).
    await Promise.race([load.flowing, sleep(spec.startTimeout, o.signal)]);
    step(`load ${spec.load.rate} req/s on ${spec.load.path} (pid ${load.pid ?? '-'}); baseline ${spec.baseline} ms`);
    await sleep(spec.baseline, o.signal);

    // 3. Ring by ring, one replica at a time; the gate after each ring.
    result.rollout.startedAt = now();
    for (const ring of rings) {
      if (o.signal?.aborted) break;
      if (ring.slots.length === 0) continue;
      const rr: RingRecord = { name: ring.name, slots: ring.slots, startedAt: now(), endedAt: 0, rolledBack: false };
      ringRecords.push(rr);
      step(`ring ${ring.name}: slots ${ring.slots.map((s) => s + 1).join(', ')}`);
      let ok = true;
      const fresh: string[] = [];
      for (const slot of ring.slots) {
        if (o.signal?.aborted) break;
        ok = await replace(slot, spec.to, 'replacement', ring.name);
        fresh.push(live.get(slot)?.rec.name ?? '');
        if (!ok) break;
      }
      const gateFrom = now();
      await sleep(spec.gate.window, o.signal);
      const gateTo = now();
      for (const r of records) syncBalancer(r);
      rr.gate = judgeGate(ring.name, requests, fresh, gateFrom, gateTo, { maxErrorRatio: spec.gate.maxErrorRatio, p99Below: spec.gate.p99Below }, (qs) => classifyRequests(qs, records, 0));
      if (!ok) {
        rr.gate.passed = false;
        rr.gate.reason = `a replacement never became ready; ${rr.gate.reason}`;
      }
      step(`gate ${ring.name}: ${rr.gate.passed ? 'pass' : 'FAIL'} — ${rr.gate.reason}`);
      if (!rr.gate.passed) {
        result.halted = { ring: ring.name, reason: rr.gate.reason };
        step(`halt: rolling ring ${ring.name} back to ${spec.from.version}`);
        for (const slot of [...ring.slots].reverse()) {
          const cur = live.get(slot);
          if (cur && cur.rec.version === spec.to.version) await replace(slot, spec.from, 'rollback', ring.name);
          else if (!cur) await replace(slot, spec.from, 'rollback', ring.name);
        }
        rr.rolledBack = true;
        rr.endedAt = now();
        break;
      }
      rr.endedAt = now();
    }
    result.rollout.endedAt = now();
    await sleep(spec.settle, o.signal);
  } catch (e) {
    error = errorMessage(e);
    step(`error: ${error}`);
  } finally {
    const lr = load ? await load.stop() : null;
    for (const r of records) syncBalancer(r);
    if (proxy) {
      result.balancer.refused = proxy.stats().connections.refused;
      await proxy.stop();
    }
    // Every process we started, by pid: SIGTERM, then SIGKILL if it lingers.
    for (const l of all) {
      if (l.rec.exitedAt === null && l.rec.pid !== null) {
        l.rec.stoppedAtEnd = true;
        try {
          process.kill(l.rec.pid, 'SIGTERM');
        } catch {
          // gone
        }
      }
    }
    await Promise.race([Promise.all(all.map((l) => l.exited)), sleep(Math.min(spec.drainTimeout, 5000))]);
    for (const l of all) {
      if (l.rec.exitedAt === null && l.rec.pid !== null) {
        try {
          process.kill(l.rec.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    await Promise.all(all.map((l) => l.exited));
    if (lr) {
      result.load = {
        rate: spec.load.rate,
        ...lr,
      };
    }
  }
  const secs = new Map<number, { requests: number; bad: number }>();
  for (const q of requests) {
    const s = Math.floor(q.done / 1000);
    const b = secs.get(s) ?? { requests: 0, bad: 0 };
    b.requests++;
    if (!q.ok) b.bad++;
    secs.set(s, b);
  }
  result.perSecond = [...secs.entries()].sort((a, b) => a[0] - b[0]).map(([second, v]) => ({ second, ...v }));
  result.classification = classifyRequests(requests, records, result.rollout.startedAt);
  result.wallMs = Math.round(now());
  const verdicts = judgeRollout(result, {
    intervalMs: spec.balancer.interval,
    healthCheck: spec.balancer.healthCheck,
    latencyP99Below: spec.latencySlo.p99Below,
    drainTimeoutMs: spec.drainTimeout,
    to: spec.to.version,
    totalReplicas: spec.replicas,
  });
  const status: RolloutResult['status'] = error !== undefined ? 'error' : verdicts.every((v) => v.passed) ? 'passed' : 'failed';
  const failed = verdicts.filter((v) => !v.passed);
  return { ...result, status, reason: error ?? (failed.length ? `failed: ${failed.map((v) => v.id).join(', ')}` : 'every check held'), verdicts } as RolloutResult;
}
