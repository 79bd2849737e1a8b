/**
 * The readiness-gated balancer of a TCP proxy: several upstreams, one picked per new client
 * connection (round-robin or least-connections) among those in rotation. Each upstream is
 * health-checked over HTTP on a path (default `/readyz`) at an interval: it leaves rotation after
 * `fall` consecutive failed checks (not 200, refused, timed out) and returns after `rise` passes. A new
 * upstream is `pending` (out of rotation) until its first check passes; with checks off every upstream
 * is in rotation at once (what a balancer without readiness does).
 *
 * The core (`UpstreamPool`: rotation, picking, the rise/fall state machine, per-upstream accounting)
 * is pure, with an injected clock; `HealthChecker` is the thin IO shell that runs the HTTP checks.
 */
import http from 'node:http';
import { assertAllowed, InputError, LOOPBACK_ONLY, parseHostPort, type Logger, type NetworkPolicy } from '../shared/index.ts';

export const BALANCE_POLICIES = ['round-robin', 'least-connections'] as const;
export type BalancePolicy = (typeof BALANCE_POLICIES)[number];

export type UpstreamState = 'pending' | 'up' | 'down';

export interface HealthCheckOptions {
  /** false: no checks, every upstream is in rotation from the moment it is added. */
  enabled: boolean;
  /** HTTP path checked with GET; 200 passes (default `/readyz`). */
  path: string;
  intervalMs: number;
  /** Deadline of one check (default 1000 ms, whatever the interval: one check per upstream in flight at a time). */
  timeoutMs: number;
  /** Consecutive passes to (re)enter rotation (default 1). */
  rise: number;
  /** Consecutive failures to leave rotation (default 1). */
  fall: number;
}

export interface UpstreamInput {
  /** Default: the address. */
  name?: string;
  /** Loopback `host:port`. */
  address: string;
}

export interface BalancerOptions {
  upstreams: Array<string | UpstreamInput>;
  policy?: BalancePolicy;
  healthCheck?: Partial<HealthCheckOptions> | false;
}

export interface UpstreamTransition {
  /** Monotonic ms (the pool's clock). */
  t: number;
  from: UpstreamState | 'added' | 'removed';
  to: UpstreamState | 'removed';
  reason: string;
  /** How long the check that caused it took (ms). */
  checkMs?: number;
}

/** What one upstream saw (all times monotonic ms on the pool's clock). */
export interface UpstreamStats {
  name: string;
  address: string;
  state: UpstreamState;
  removed: boolean;
  addedAt: number;
  checks: { total: number; passed: number; failed: number; lastStatus: number | string | null; lastAt: number | null };
  connections: { total: number; active: number; connectFailures: number; brokenInFlight: number };
  firstRoutedAt: number | null;
  lastRoutedAt: number | null;
  transitions: UpstreamTransition[];
}

export const DEFAULT_HEALTH_CHECK: HealthCheckOptions = { enabled: true, path: '/readyz', intervalMs: 1000, timeoutMs: 1000, rise: 1, fall: 1 };

/** Validates and completes health-check options (InputError names the field). */
export function healthCheckOptions(input: Partial<HealthCheckOptions> | false | undefined): HealthCheckOptions {
  if (input === false) return { ...DEFAULT_HEALTH_CHECK, enabled: false };
  const o = { ...DEFAULT_HEALTH_CHECK, ...(input ?? {}) };
  const positive = (k: 'intervalMs' | 'timeoutMs' | 'rise' | 'fall'): void => {
    if (typeof o[k] !== 'number' || !(o[k] > 0)) throw new InputError('FAULTLINE_INJECTOR_HEALTH_CHECK', `healthCheck.${k} must be a positive number (got ${JSON.stringify(o[k])})`, { field: `healthCheck.${k}` });
  };
  positive('intervalMs');
  positive('timeoutMs');
  positive('rise');
  positive('fall');
  if (typeof o.path !== 'string' || !o.path.startsWith('/')) throw new InputError('FAULTLINE_INJECTOR_HEALTH_CHECK', `healthCheck.path must start with / (got ${JSON.stringify(o.path)})`, { field: 'healthCheck.path' });
  return o;
}

export class Upstream {
  readonly name: string;
  readonly address: string;
  state: UpstreamState;
  removed = false;
  readonly addedAt: number;
  passes = 0;
  fails = 0;
  readonly checks: UpstreamStats['checks'] = { total: 0, passed: 0, failed: 0, lastStatus: null, lastAt: null };
  readonly connections = { total: 0, active: 0, connectFailures: 0, brokenInFlight: 0 };
  firstRoutedAt: number | null = null;
  lastRoutedAt: number | null = null;
  /** Times of connections broken while a request waited for its answer (bounded). */
  readonly brokenAt: number[] = [];
  readonly transitions: UpstreamTransition[] = [];

  constructor(name: string, address: string, state: UpstreamState, at: number) {
    this.name = name;
    this.address = address;
    this.state = state;
    this.addedAt = at;
    this.transitions.push({ t: at, from: 'added', to: state, reason: state === 'up' ? 'no health check' : 'awaiting first check' });
  }

  stats(): UpstreamStats {
    return {
      name: this.name,
      address: this.address,
      state: this.state,
      removed: this.removed,
      addedAt: this.addedAt,
      checks: { ...this.checks },
      connections: { ...this.connections },
      firstRoutedAt: this.firstRoutedAt,
      lastRoutedAt: this.lastRoutedAt,
      transitions: this.transitions.map((t) => ({ ...t })),
    };
  }
}

const MAX_BROKEN_TIMES = 100_000;

/** Pure core: upstreams, rotation, picking and the check state machine. */
export class UpstreamPool {
  readonly policy: BalancePolicy;
  readonly check: HealthCheckOptions;
  private readonly list: Upstream[] = [];
  private cursor = 0;
  private readonly now: () => number;
  private readonly onChange: ((u: Upstream, t: UpstreamTransition) => void) | undefined;
  /** Which upstream addresses may be added: loopback, plus what the user's network allowlist admits. */
  private readonly network: NetworkPolicy;

  constructor(opts: { policy?: BalancePolicy; healthCheck?: Partial<HealthCheckOptions> | false; now?: () => number; onChange?: (u: Upstream, t: UpstreamTransition) => void; network?: NetworkPolicy }) {
    const policy = opts.policy ?? 'round-robin';
    if (!BALANCE_POLICIES.includes(policy)) throw new InputError('FAULTLINE_INJECTOR_BALANCE', `balance must be one of ${BALANCE_POLICIES.join(', ')} (got ${JSON.stringify(policy)})`, { field: 'balance' });
    this.policy = policy;
    this.check = healthCheckOptions(opts.healthCheck);
    this.now = opts.now ?? (() => performance.now());
    this.onChange = opts.onChange;
    this.network = opts.network ?? LOOPBACK_ONLY;
  }

  /**
   * Adds an upstream (pending until its first passed check; up at once when checks are off). An address
   * outside loopback is refused (FAULTLINE_NET_NOT_LOOPBACK naming `field`) unless the allowlist admits it.
   */
  add(input: string | UpstreamInput, field = 'upstreams'): Upstream {
    const { name, address } = typeof input === 'string' ? { name: input, address: input } : { name: input.name ?? input.address, address: input.address };
    const { host } = parseHostPort(address, field);
    assertAllowed(host, 'upstream', field, this.network);
    if (this.find(name)) throw new InputError('FAULTLINE_INJECTOR_UPSTREAM_EXISTS', `upstream '${name}' already exists`, { field });
    const u = new Upstream(name, address, this.check.enabled ? 'pending' : 'up', this.now());
    this.list.push(u);
    this.onChange?.(u, u.transitions[0] as UpstreamTransition);
    return u;
  }

  /** Takes an upstream out for good (open connections stay until they close). */
  remove(nameOrAddress: string): Upstream {
    const u = this.find(nameOrAddress);
    if (!u) throw new InputError('FAULTLINE_INJECTOR_UPSTREAM_NOT_FOUND', `upstream '${nameOrAddress}' not found`, { field: 'upstreams' });
    u.removed = true;
    const t: UpstreamTransition = { t: this.now(), from: u.state, to: 'removed', reason: 'removed' };
    u.transitions.push(t);
    this.list.splice(this.list.indexOf(u), 1);
    this.onChange?.(u, t);
    return u;
  }

  find(nameOrAddress: string): Upstream | undefined {
    return this.list.find((u) => u.name === nameOrAddress) ?? this.list.find((u) => u.address === nameOrAddress);
  }

  upstreams(): Upstream[] {
    return [...this.list];
  }

  /** In rotation now. */
  inRotation(): Upstream[] {
    return this.list.filter((u) => u.state === 'up');
  }

  /** Picks the upstream for a new connection among those in rotation (minus `exclude`); undefined when none. */
  pick(exclude?: ReadonlySet<Upstream>): Upstream | undefined {
    const candidates = this.inRotation().filter((u) => !exclude?.has(u));
    if (candidates.length === 0) return undefined;
    let chosen: Upstream;
    if (this.policy === 'least-connections') {
      // Fewest active; ties go round-robin so equal upstreams share new connections.
      const min = Math.min(...candidates.map((u) => u.connections.active));
      const tied = candidates.filter((u) => u.connections.active === min);
      chosen = tied[this.cursor++ % tied.length] as Upstream;
    } else {
      chosen = candidates[this.cursor++ % candidates.length] as Upstream;
    }
    return chosen;
  }

  /** A connection was routed to `u`. */
  routed(u: Upstream): void {
    const t = this.now();
    u.connections.total++;
    u.connections.active++;
    u.firstRoutedAt ??= t;
    u.lastRoutedAt = t;
  }

  /** A routed connection ended. */
  released(u: Upstream): void {
    u.connections.active = Math.max(0, u.connections.active - 1);
  }

  connectFailed(u: Upstream): void {
    u.connections.connectFailures++;
  }

  /** The upstream closed or reset a connection while the client waited for an answer. */
  brokenInFlight(u: Upstream): void {
    u.connections.brokenInFlight++;
    if (u.brokenAt.length < MAX_BROKEN_TIMES) u.brokenAt.push(this.now());
  }

  /** Applies one check result (status: HTTP status, or an error code; checkMs: how long the check took). */
  checked(u: Upstream, status: number | string, checkMs?: number): void {
    if (u.removed) return;
    const t = this.now();
    const ok = status === 200;
    u.checks.total++;
    u.checks.lastStatus = status;
    u.checks.lastAt = t;
    if (ok) {
      u.checks.passed++;
      u.passes++;
      u.fails = 0;
    } else {
      u.checks.failed++;
      u.fails++;
      u.passes = 0;
    }
    let to: UpstreamState | undefined;
    if (ok && u.state !== 'up' && u.passes >= this.check.rise) to = 'up';
    if (!ok && u.state === 'up' && u.fails >= this.check.fall) to = 'down';
    if (!ok && u.state === 'pending' && u.fails >= this.check.fall && u.checks.passed > 0) to = 'down';
    if (to) {
      const tr: UpstreamTransition = { t, from: u.state, to, reason: ok ? `check passed (${this.check.path} 200)` : `check failed (${this.check.path} ${status})` };
      if (checkMs !== undefined) tr.checkMs = Math.round(checkMs * 10) / 10;
      u.state = to;
      u.transitions.push(tr);
      this.onChange?.(u, tr);
    }
  }
}

/** One HTTP GET of `path` on a fresh connection; resolves to the status or an error code. */
export function checkOnce(address: string, path: string, timeoutMs: number): Promise<number | string> {
  const { host, port } = parseHostPort(address);
  return httpStatusOnce(`http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`, timeoutMs);
}

/** GET `url` (loopback) on a fresh connection (`connection: close`): the status, or the error code ('timeout' at the deadline). */
export function httpStatusOnce(url: string, timeoutMs: number): Promise<number | string> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (v: number | string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(v);
    };
    const req = http.get(url, { agent: false, headers: { connection: 'close', 'user-agent': 'faultline-health-check' } }, (res) => {
      res.resume();
      finish(res.statusCode ?? 0);
    });
    const timer = setTimeout(() => {
      finish('timeout');
      req.destroy();
    }, timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? 'error'));
  });
}

/** IO shell: checks every upstream of a pool at the interval, one check in flight per upstream. */
export class HealthChecker {
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Upstream>();
  private stopped = false;

  constructor(
    private readonly pool: UpstreamPool,
    private readonly log?: Logger,
  ) {}

  start(): void {
    if (!this.pool.check.enabled || this.timer || this.stopped) return;
    this.round();
    this.timer = setInterval(() => this.round(), this.pool.check.intervalMs);
    this.timer.unref?.();
  }

  /** Checks one upstream now (a newly added one need not wait for the next round). */
  checkNow(u: Upstream): void {
    if (!this.pool.check.enabled || this.stopped || this.inFlight.has(u)) return;
    this.inFlight.add(u);
    const t0 = performance.now();
    void checkOnce(u.address, this.pool.check.path, this.pool.check.timeoutMs).then((status) => {
      this.inFlight.delete(u);
      if (this.stopped) return;
      const before = u.state;
      this.pool.checked(u, status, performance.now() - t0);
      if (u.state !== before) this.log?.info('upstream state', { upstream: u.name, from: before, to: u.state, status: String(status) });
    });
  }

  private round(): void {
    for (const u of this.pool.upstreams()) this.checkNow(u);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** What the balancer needs of a proxied connection. */
export interface RoutedConnection {
  routedTo: string | undefined;
  /** The client sent bytes the upstream has not answered yet. */
  awaiting: boolean;
  readonly closed: boolean;
  /** Dial `address` instead of the failed socket. */
  redial(address: string): void;
}

/** A proxy's balancer: the pool, its health checker, and the hooks the proxy calls per connection. */
export class Balancer {
  readonly pool: UpstreamPool;
  private readonly checker: HealthChecker;
  private readonly tried = new WeakMap<RoutedConnection, Set<Upstream>>();

  /** `network`: the proxy's allowlist; upstreams outside loopback need it (at creation and when added later). */
  constructor(opts: BalancerOptions, log?: Logger, network: NetworkPolicy = LOOPBACK_ONLY) {
    if (!Array.isArray(opts.upstreams) || opts.upstreams.length === 0) throw new InputError('FAULTLINE_INJECTOR_PROXY', 'upstreams must list at least one host:port', { field: 'upstreams' });
    this.pool = new UpstreamPool({ ...(opts.policy ? { policy: opts.policy } : {}), ...(opts.healthCheck !== undefined ? { healthCheck: opts.healthCheck } : {}), network });
    opts.upstreams.forEach((u, i) => this.pool.add(u, `upstreams[${i}]`));
    this.checker = new HealthChecker(this.pool, log);
  }

  static firstAddress(opts: BalancerOptions | undefined): string | undefined {
    const first = opts?.upstreams?.[0];
    return typeof first === 'string' ? first : first?.address;
  }

  start(): void {
    this.checker.start();
  }

  stop(): void {
    this.checker.stop();
  }

  add(input: string | UpstreamInput, field?: string): Upstream {
    const u = this.pool.add(input, field);
    this.checker.checkNow(u);
    return u;
  }

  remove(nameOrAddress: string): Upstream {
    const u = this.pool.remove(nameOrAddress);
    this.removedCache.set(u.name, u);
    return u;
  }

  has(nameOrAddress: string): boolean {
    return this.pool.find(nameOrAddress) !== undefined;
  }

  /** Whether a connection routed to `routedTo` (an upstream name) is targeted by `target` (name or address). */
  matches(routedTo: string | undefined, target: string): boolean {
    if (routedTo === undefined) return false;
    if (routedTo === target) return true;
    const u = this.pool.find(routedTo);
    return u !== undefined && u.address === target;
  }

  /** Picks and accounts the upstream of a new connection; undefined when none is in rotation. */
  route(): Upstream | undefined {
    const u = this.pool.pick();
    if (u) this.pool.routed(u);
    return u;
  }

  addressOf(conn: RoutedConnection): string | undefined {
    return conn.routedTo === undefined ? undefined : this.pool.find(conn.routedTo)?.address;
  }

  private upstreamOf(conn: RoutedConnection): Upstream | undefined {
    if (conn.routedTo === undefined) return undefined;
    return this.pool.find(conn.routedTo) ?? this.removedCache.get(conn.routedTo);
  }

  /** Removed upstreams keep their accounting for connections still open. */
  private readonly removedCache = new Map<string, Upstream>();

  released(conn: RoutedConnection): void {
    const u = this.upstreamOf(conn);
    if (u) this.pool.released(u);
  }

  /** The upstream ended or errored after connecting: a request waiting for its answer is broken. */
  upstreamEnded(conn: RoutedConnection): void {
    if (!conn.awaiting) return;
    conn.awaiting = false;
    const u = this.upstreamOf(conn);
    if (u) this.pool.brokenInFlight(u);
  }

  /** The dial failed: route the connection to another upstream in rotation (each tried once). */
  redispatch(conn: RoutedConnection): boolean {
    const failed = this.upstreamOf(conn);
    if (!failed || conn.closed) return false;
    this.pool.connectFailed(failed);
    const tried = this.tried.get(conn) ?? new Set<Upstream>();
    tried.add(failed);
    this.tried.set(conn, tried);
    const next = this.pool.pick(tried);
    if (!next) return false;
    this.pool.released(failed);
    this.pool.routed(next);
    conn.routedTo = next.name;
    conn.redial(next.address);
    return true;
  }

  stats(): UpstreamStats[] {
    return this.pool.upstreams().map((u) => u.stats());
  }
}
