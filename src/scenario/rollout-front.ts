/**
 * What the rollout's load goes through: faultline's readiness-gated balancer (the injector's TcpProxy,
 * whose upstream accounting says which replica got which connection and when it left rotation), or
 * your own load balancer at a URL (only the answers' replica header says who served what; the rows
 * that need more say they cannot be measured through it).
 */
import { TcpProxy, type Upstream } from '../injector/index.ts';
import { assertAllowed, LOOPBACK_ONLY, type NetworkPolicy } from '../shared/index.ts';
import type { ReplicaRecord, RolloutRequest, RolloutResult } from './rollout-checks.ts';
import { tallyServed, type ServedTally } from './rollout-gate.ts';
import { fill } from './rollout-replicas.ts';
import type { RolloutSpec } from './rollout-spec.ts';

export interface RolloutFront {
  /** Where the load goes (base URL, no path). */
  readonly url: string;
  readonly external: boolean;
  /** A replica (already listening or starting) joins the pool. */
  add(rec: ReplicaRecord): void;
  /** A replica that exited leaves the pool. */
  remove(rec: ReplicaRecord): void;
  /** Whether the replica is in rotation (as far as the drill can tell). */
  admitted(rec: ReplicaRecord, now: number): boolean;
  /** Copies what the front knows about the replica's traffic into its record. */
  sync(rec: ReplicaRecord): void;
  /** Stops the front (if it is faultline's); the result's balancer summary. */
  stop(): Promise<RolloutResult['balancer']>;
}

/** faultline's balancer over the initial replicas; started and listening on loopback. */
export class OwnBalancer implements RolloutFront {
  readonly external = false;
  private readonly proxy: TcpProxy;
  private readonly upstreams = new Map<string, Upstream>();

  constructor(
    private readonly spec: RolloutSpec,
    seed: string,
    initial: readonly ReplicaRecord[],
    private readonly rel: (t: number | null) => number | null,
  ) {
    const b = spec.balancer;
    const path = spec.commands ? new URL(fill(spec.commands.readinessUrl, { port: '1', replica: '', version: '' })).pathname : '/readyz';
    this.proxy = new TcpProxy({
      name: 'rollout-lb',
      seed,
      balancer: {
        upstreams: initial.map((r) => ({ name: r.name, address: `127.0.0.1:${r.port}` })),
        policy: b.policy,
        healthCheck: b.healthCheck ? { path, intervalMs: b.interval, timeoutMs: b.timeout } : false,
      },
    });
    for (const r of initial) {
      const u = this.proxy.balancer?.pool.find(r.name);
      if (u) this.upstreams.set(r.name, u);
    }
  }

  async start(): Promise<void> {
    await this.proxy.start();
  }

  get url(): string {
    return `http://${this.proxy.listen}`;
  }

  add(rec: ReplicaRecord): void {
    const u = this.proxy.balancer?.add({ name: rec.name, address: `127.0.0.1:${rec.port}` });
    if (u) this.upstreams.set(rec.name, u);
  }

  remove(rec: ReplicaRecord): void {
    if (this.proxy.balancer?.has(rec.name)) this.proxy.balancer.remove(rec.name);
  }

  admitted(rec: ReplicaRecord): boolean {
    return this.upstreams.get(rec.name)?.state === 'up';
  }

  sync(rec: ReplicaRecord): void {
    const u = this.upstreams.get(rec.name);
    if (!u) return;
    const rel = (t: number): number => this.rel(t) as number;
    rec.balancer = {
      firstRoutedAt: this.rel(u.firstRoutedAt),
      lastRoutedAt: this.rel(u.lastRoutedAt),
      connections: u.connections.total,
      brokenInFlight: u.connections.brokenInFlight,
      connectFailures: u.connections.connectFailures,
      brokenAt: u.brokenAt.map(rel),
      transitions: u.transitions.map((t) => ({ t: rel(t.t), to: t.to, reason: t.reason })),
    };
    const admitted = u.transitions.find((t) => t.to === 'up');
    if (admitted) {
      rec.admittedAt = rel(admitted.t);
      // The balancer's passing check is a /readyz 200 too (it may come before the drill's own poll).
      if (this.spec.balancer.healthCheck && (rec.readyAt === null || rel(admitted.t) < rec.readyAt)) rec.readyAt = rel(admitted.t);
    }
    const out = u.transitions.find((t) => rec.sigtermAt !== null && (t.to === 'down' || t.to === 'removed') && rel(t.t) >= (rec.sigtermAt as number));
    if (out) {
      rec.outOfRotationAt = rel(out.t);
      rec.outOfRotationBy = out.to === 'removed' ? 'removed' : 'check';
      if (out.checkMs !== undefined) rec.outOfRotationCheckMs = out.checkMs;
    }
  }

  async stop(): Promise<RolloutResult['balancer']> {
    const refused = this.proxy.stats().connections.refused;
    await this.proxy.stop();
    const b = this.spec.balancer;
    return { url: this.url, policy: b.policy, healthCheck: b.healthCheck, intervalMs: b.interval, refused };
  }
}

/**
 * Your load balancer at `loadBalancer.url` (checked against the network allowlist: loopback unless
 * allowed). Admission and routing come from the answers' replica header; without it a replica counts
 * as admitted one of your balancer's check intervals after its /readyz 200.
 */
export class ExternalBalancer implements RolloutFront {
  readonly external = true;
  readonly url: string;
  private readonly served = new Map<string, ServedTally>();
  private seen = 0;

  constructor(
    private readonly lb: NonNullable<RolloutSpec['loadBalancer']>,
    private readonly requests: readonly RolloutRequest[],
    network: NetworkPolicy = LOOPBACK_ONLY,
  ) {
    const u = new URL(lb.url);
    assertAllowed(u.hostname, 'load balancer URL', 'loadBalancer.url', network);
    this.url = `${u.protocol}//${u.host}${u.pathname.replace(/\/$/, '')}`;
  }

  /** Whether any answer named its replica (the header the rows measure by). */
  get header(): boolean {
    this.seen = tallyServed(this.requests, this.seen, this.served);
    return this.served.size > 0;
  }

  add(): void {
    // Your balancer finds the replica at its slot's address by its own health check.
  }

  remove(): void {
    // Your balancer's check takes it out.
  }

  admitted(rec: ReplicaRecord, now: number): boolean {
    if (this.header && this.served.has(rec.name)) return true;
    return !this.header && rec.readyAt !== null && now - rec.readyAt >= this.lb.checkInterval;
  }

  sync(rec: ReplicaRecord): void {
    const s = this.header ? this.served.get(rec.name) : undefined;
    rec.balancer = { firstRoutedAt: s?.firstSentAt ?? null, lastRoutedAt: s?.lastSentAt ?? null, connections: s?.answers ?? 0, brokenInFlight: 0, connectFailures: 0, brokenAt: [] };
    if (s) {
      rec.balancer.firstAnsweredAt = s.firstAnsweredAt;
      rec.admittedAt = s.firstSentAt;
    }
  }

  stop(): Promise<RolloutResult['balancer']> {
    return Promise.resolve({ url: this.url, policy: 'yours', healthCheck: true, intervalMs: this.lb.checkInterval, refused: 0, external: { header: this.header } });
  }
}
