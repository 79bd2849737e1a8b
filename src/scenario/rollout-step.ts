/**
 * The rollout drill (IO shell): N replicas (the built-in reference service as real processes, or your
 * own commands) behind the injector's readiness-gated balancer or your own load balancer, open-loop
 * load through it throughout, then replace them one at a time, ring by ring: signal the old one, watch
 * its drain, wait for it to exit, start the replacement, admit it when its /readyz is 200, next. After
 * each ring a health gate looks at the new replicas' requests over a window and at the SLO engine's
 * burn-rate alerts fed by the same load; a failing gate halts the rollout and rolls the ring back.
 * Everything listens on loopback; every process is started and stopped by pid (rollout-replicas.ts).
 * The decisions are pure (rollout-gate.ts); the verdict rows come from rollout-checks.ts.
 */
import { errorMessage, sleep, type NetworkPolicy } from '../shared/index.ts';
import { startLoadProcess, type LoadProcess } from './rollout-load.ts';
import { classifyRequests, judgeGate, judgeRollout, type RingRecord, type RolloutRequest, type RolloutResult } from './rollout-checks.ts';
import { parseRings, type ReleaseSpec, type Ring, type RolloutSpec } from './rollout-spec.ts';
import { ReplicaFleet, type Live } from './rollout-replicas.ts';
import { ExternalBalancer, OwnBalancer, type RolloutFront } from './rollout-front.ts';
import { RolloutAlerts } from './rollout-alerts.ts';
import { alertsInSpan, decideGate, perSecond, rollbackSlots, rolloutStatus } from './rollout-gate.ts';

/** The reference service names the replica that answered in this header. */
export const REPLICA_HEADER = 'x-faultline-replica';

export interface RolloutOptions {
  spec: RolloutSpec;
  seed: string;
  signal?: AbortSignal;
  /** The network allowlist for your load balancer's URL (default: loopback only). */
  network?: NetworkPolicy;
  /** One line per step, for a live log. */
  onStep?: (line: string) => void;
}

type Draft = Omit<RolloutResult, 'verdicts' | 'status' | 'reason'>;

/** One drill: its clock, fleet, front, load, SLO feed and record. */
class Rollout {
  private readonly t0 = performance.now();
  readonly spec: RolloutSpec;
  readonly rings: Ring[];
  readonly requests: RolloutRequest[] = [];
  readonly fleet: ReplicaFleet;
  readonly alerts: RolloutAlerts | null;
  readonly draft: Draft;
  front: RolloutFront | undefined;
  load: LoadProcess | undefined;
  error: string | undefined;

  constructor(readonly o: RolloutOptions) {
    this.spec = o.spec;
    this.rings = parseRings(o.spec.rings, o.spec.replicas);
    this.fleet = new ReplicaFleet({ spec: o.spec, now: () => this.now(), step: (l) => this.step(l), ...(o.signal ? { signal: o.signal } : {}) });
    this.alerts = o.spec.alerts.enabled ? new RolloutAlerts(o.spec.alerts) : null;
    const b = o.spec.balancer;
    this.draft = {
      seed: o.seed,
      wallMs: 0,
      rollout: { startedAt: null, endedAt: null },
      from: o.spec.from.version,
      to: o.spec.to.version,
      rings: [],
      halted: null,
      replicas: this.fleet.records,
      balancer: { url: '', policy: b.policy, healthCheck: b.healthCheck, intervalMs: b.interval, refused: 0 },
      load: { rate: o.spec.load.rate, sent: 0, completed: 0, good: 0, bad: 0, dropped: 0, p99Ms: null, valid: false, invalidReasons: [] },
      perSecond: [],
      classification: { total: 0, good: 0, dropped: 0, badByReplica: {}, unattributed: {}, goodByReplica: {}, badBeforeRollout: 0 },
    };
  }

  /** ms since the drill started (0.1 ms). */
  now(): number {
    return Math.round((performance.now() - this.t0) * 10) / 10;
  }

  /** A performance.now() reading as ms since the drill started. */
  rel(t: number | null): number | null {
    return t === null ? null : Math.round((t - this.t0) * 10) / 10;
  }

  step(line: string): void {
    this.o.onStep?.(`[${(this.now() / 1000).toFixed(2)}s] ${line}`);
  }

  /** Waits until the front has the replica in rotation. */
  async waitAdmitted(l: Live): Promise<boolean> {
    const deadline = performance.now() + this.spec.startTimeout;
    while (performance.now() < deadline && !this.o.signal?.aborted) {
      if (this.front?.admitted(l.rec, this.now())) {
        this.front.sync(l.rec);
        return true;
      }
      await sleep(10, this.o.signal);
    }
    return false;
  }

  /** The old release on every slot, ready; then the front over them and the load through it. */
  async setUp(): Promise<void> {
    const { spec } = this;
    const initial = await Promise.all(Array.from({ length: spec.replicas }, (_, i) => this.fleet.start(i, spec.from, 'initial', this.rings.find((r) => r.slots.includes(i))?.name ?? null)));
    const readies = await Promise.all(initial.map((l) => this.fleet.waitReady(l)));
    if (!readies.every(Boolean)) throw new Error(`initial replicas not ready within ${spec.startTimeout} ms: ${initial.filter((_, i) => !readies[i]).map((l) => `${l.rec.name} (${(l.rec.output ?? '').trim().split('\n').pop() ?? ''})`).join(', ')}`);
    if (spec.loadBalancer) {
      this.front = new ExternalBalancer(spec.loadBalancer, this.requests, this.o.network);
      this.step(`your load balancer ${this.front.url} (check interval ${spec.loadBalancer.checkInterval} ms) over ports ${spec.loadBalancer.ports.join(', ')}`);
    } else {
      const own = new OwnBalancer(spec, this.o.seed, initial.map((l) => l.rec), (t) => this.rel(t));
      this.front = own;
      await own.start();
      this.step(`balancer ${own.url} (${spec.balancer.policy}, ${spec.balancer.healthCheck ? `check ${spec.balancer.interval} ms` : 'no health check'}) over ${initial.map((l) => l.rec.name).join(', ')}`);
    }
    this.draft.balancer.url = this.front.url;
    const admitAll = async (): Promise<void> => {
      for (const l of initial) if (!(await this.waitAdmitted(l))) throw new Error(`the load balancer did not admit ${l.rec.name}`);
    };
    // faultline's balancer admits before the load starts; yours shows it admitted by the answers.
    if (!spec.loadBalancer) await admitAll();
    this.startLoad();
    // The baseline starts once requests flow (starting the generator's process takes a while under load).
    await Promise.race([this.load?.flowing, sleep(spec.startTimeout, this.o.signal)]);
    if (spec.loadBalancer) await admitAll();
    this.step(`load ${spec.load.rate} req/s on ${spec.load.path} (pid ${this.load?.pid ?? '-'}); baseline ${spec.baseline} ms`);
    await this.watch(spec.baseline);
  }

  private startLoad(): void {
    const { spec } = this;
    this.load = startLoadProcess(
      {
        target: { kind: 'http', url: `${this.front?.url ?? ''}${spec.load.path}`, connections: spec.load.connections, maxRequestsPerConnection: spec.load.requestsPerConnection, servedByHeader: REPLICA_HEADER },
        schedule: { type: 'constant', rate: spec.load.rate, duration: 24 * 3_600_000 },
        timeoutMs: spec.load.timeout,
        seed: this.o.seed,
      },
      performance.timeOrigin + this.t0,
      this.requests,
      (message) => (this.error ??= message),
    );
  }

  /** Sleeps `ms` while feeding the SLO engine; returns early (true) when a halting alert fires after `since`. */
  async watch(ms: number, since?: number): Promise<boolean> {
    const end = performance.now() + ms;
    while (performance.now() < end && !this.o.signal?.aborted) {
      await sleep(Math.min(100, end - performance.now()), this.o.signal);
      this.alerts?.feed(this.requests);
      if (since !== undefined && this.alerts && alertsInSpan(this.alerts.alerts(), since, this.now(), this.spec.alerts.halt).length) return true;
    }
    return false;
  }

  /** Replaces the replica in `slot` with `release`: stop first (drain watched), then start and admit. */
  async replace(slot: number, release: ReleaseSpec, role: 'replacement' | 'rollback', ring: string): Promise<boolean> {
    const old = this.fleet.live.get(slot);
    if (old) {
      await this.fleet.stop(old);
      this.front?.remove(old.rec);
      this.front?.sync(old.rec);
    }
    const l = await this.fleet.start(slot, release, role, ring);
    this.front?.add(l.rec);
    const ready = await this.fleet.waitReady(l);
    const admitted = ready && (await this.waitAdmitted(l));
    this.front?.sync(l.rec);
    this.step(`${l.rec.name} ${ready ? `ready ${Math.round((l.rec.readyAt as number) - l.rec.startedAt)} ms after start` : 'never ready'}${admitted ? `, in rotation at ${((l.rec.admittedAt as number) / 1000).toFixed(2)}s` : ''}`);
    return ready && admitted;
  }

  /** One ring: its replicas one at a time, then the gate; a failing gate rolls it back. False: halted. */
  async advance(ring: Ring): Promise<boolean> {
    const rr: RingRecord = { name: ring.name, slots: ring.slots, startedAt: this.now(), endedAt: 0, rolledBack: false };
    this.draft.rings.push(rr);
    this.step(`ring ${ring.name}: slots ${ring.slots.map((s) => s + 1).join(', ')}`);
    let ok = true;
    const fresh: string[] = [];
    for (const slot of ring.slots) {
      if (this.o.signal?.aborted) break;
      ok = await this.replace(slot, this.spec.to, 'replacement', ring.name);
      fresh.push(this.fleet.live.get(slot)?.rec.name ?? '');
      if (!ok) break;
    }
    rr.gate = await this.gate(ring, rr.startedAt, fresh, ok);
    this.step(`gate ${ring.name}: ${rr.gate.passed ? 'pass' : 'FAIL'} — ${rr.gate.reason}`);
    if (!rr.gate.passed) {
      this.draft.halted = { ring: ring.name, reason: rr.gate.reason };
      await this.rollBack(ring);
      rr.rolledBack = true;
    }
    rr.endedAt = this.now();
    return rr.gate.passed;
  }

  /** The gate window (cut short by a halting SLO alert), then the verdict. */
  private async gate(ring: Ring, ringStart: number, fresh: string[], replacementsReady: boolean): Promise<NonNullable<RingRecord['gate']>> {
    const { gate } = this.spec;
    const from = this.now();
    await this.watch(gate.window, ringStart);
    const to = this.now();
    for (const r of this.fleet.records) this.front?.sync(r);
    const base = judgeGate(ring.name, this.requests, fresh, from, to, { maxErrorRatio: gate.maxErrorRatio, p99Below: gate.p99Below }, (qs) => classifyRequests(qs, this.fleet.records, 0));
    const fired = this.alerts ? alertsInSpan(this.alerts.alerts(), ringStart, to, this.spec.alerts.halt) : [];
    return decideGate(base, fired, replacementsReady);
  }

  private async rollBack(ring: Ring): Promise<void> {
    this.step(`halt: rolling ring ${ring.name} back to ${this.spec.from.version}`);
    for (const slot of rollbackSlots(ring, (s) => this.fleet.live.get(s)?.rec.version, this.spec.to.version)) await this.replace(slot, this.spec.from, 'rollback', ring.name);
  }

  /** Stops the load, the front and every process; the record with its rows. */
  async finish(): Promise<RolloutResult> {
    const lr = this.load ? await this.load.stop() : null;
    for (const r of this.fleet.records) this.front?.sync(r);
    if (this.front) this.draft.balancer = await this.front.stop();
    await this.fleet.stopAll();
    if (lr) this.draft.load = { rate: this.spec.load.rate, ...lr };
    if (this.alerts) {
      this.alerts.feed(this.requests);
      this.draft.slo = this.alerts.record();
    }
    this.draft.perSecond = perSecond(this.requests);
    this.draft.classification = classifyRequests(this.requests, this.fleet.records, this.draft.rollout.startedAt);
    this.draft.wallMs = Math.round(this.now());
    const { spec } = this;
    const verdicts = judgeRollout(this.draft, {
      intervalMs: spec.loadBalancer?.checkInterval ?? spec.balancer.interval,
      healthCheck: spec.balancer.healthCheck,
      latencyP99Below: spec.latencySlo.p99Below,
      drainTimeoutMs: spec.drainTimeout,
      to: spec.to.version,
      totalReplicas: spec.replicas,
    });
    return { ...this.draft, ...rolloutStatus(this.error, verdicts), verdicts };
  }
}

export async function runRollout(o: RolloutOptions): Promise<RolloutResult> {
  const d = new Rollout(o);
  try {
    await d.setUp();
    d.draft.rollout.startedAt = d.now();
    for (const ring of d.rings) {
      if (o.signal?.aborted) break;
      if (ring.slots.length === 0) continue;
      if (!(await d.advance(ring))) break;
    }
    d.draft.rollout.endedAt = d.now();
    await d.watch(o.spec.settle);
  } catch (e) {
    d.error = errorMessage(e);
    d.step(`error: ${d.error}`);
  }
  return d.finish();
}
