/**
 * The fault-injecting TCP proxy. It perturbs only traffic addressed to its own (loopback) listener.
 *
 * Each accepted client gets a Connection (connection.ts) with two Links (link.ts): `upstream`
 * (client → server) and `downstream` (server → client). A link with no fault is a straight pipe; a
 * link with faults runs each chunk through the faults' stages in insertion order. Faults that act on
 * connections and the listener (partition) do so through their type's connection hooks (faults.ts);
 * the proxy knows no fault type by name. Its faults live in an ActiveFaults registry
 * (active-faults.ts) with their statistics (fault-statistics.ts). Every random draw comes from a
 * seeded Rng split per proxy, connection, direction and fault.
 */
import net from 'node:net';
import { assertAllowed, checkResourceName, FaultlineError, InputError, LOOPBACK_ONLY, parseHostPort, Rng, silentLogger, type Logger, type NetworkPolicy, type Seed } from '../shared/index.ts';
import { normaliseFault, type FaultInfo, type FaultSpec, type ProxyControl } from './faults.ts';
import { Balancer, type BalancerOptions, type UpstreamStats } from './balancer.ts';
import { ActiveFaults, type ActiveFault } from './active-faults.ts';
import type { FaultStats } from './fault-statistics.ts';
import { Connection, type ConnectionOwner } from './connection.ts';
import { resetSocket } from './socket-reset.ts';

/** Held dials released per turn of the event loop when a fault that held them goes. */
const RELEASE_BATCH = 32;

export interface ProxyOptions {
  name: string;
  /** `host:port`, default `127.0.0.1:0`. Loopback only. */
  listen?: string;
  /** `host:port` of the upstream (dialled when a client connects, never at creation). With `balancer`: optional (default: its first upstream). */
  upstream?: string;
  /** Several upstreams behind a readiness-gated balancer (see balancer.ts). */
  balancer?: BalancerOptions;
  seed?: Seed;
  logger?: Logger;
  /** Start listening (default true). A disabled proxy refuses connections. */
  enabled?: boolean;
  /** Addresses outside loopback the proxy may listen on or dial (default: loopback only). */
  network?: NetworkPolicy;
}

export interface ProxyStats {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
  seed: string;
  connections: { total: number; active: number; refused: number; reset: number; upstreamErrors: number };
  bytes: { upstream: number; downstream: number };
  chunks: { upstream: number; downstream: number };
  faults: FaultStats[];
  /** Removed faults no longer in `faults`: it keeps every active fault and the last 1,000 removed ones. */
  faultsForgotten: number;
  /** Balancer proxies: each upstream's state, checks and connections. */
  upstreams?: UpstreamStats[];
}

export interface Proxy extends AsyncDisposable {
  readonly name: string;
  readonly listenHost: string;
  readonly listenPort: number;
  /** `host:port` as listened on (resolved port after a port-0 start). */
  readonly listen: string;
  readonly upstream: string;
  readonly enabled: boolean;
  readonly seed: string;
  /** New connections go to the new upstream; existing ones are kept (call resetConnections to drop them). */
  setUpstream(hostPort: string): void;
  addFault(spec: FaultSpec): FaultInfo;
  updateFault(name: string, patch: Partial<FaultSpec>): FaultInfo;
  removeFault(name: string): void;
  /** Removes every fault. */
  heal(): void;
  faults(): FaultInfo[];
  getFault(name: string): FaultInfo | undefined;
  /** RST every open connection. */
  resetConnections(): void;
  /** Enable (listen) or disable (refuse new, close existing) the proxy, as Toxiproxy's `enabled`. */
  setEnabled(enabled: boolean): Promise<void>;
  stats(): ProxyStats;
  stop(): Promise<void>;
  on(event: 'fault-expired', fn: (info: FaultInfo) => void): void;
}

export class TcpProxy implements Proxy, ConnectionOwner {
  readonly name: string;
  readonly seed: string;
  listenHost: string;
  listenPort: number;
  upstream: string;
  enabled = false;
  private server: net.Server | undefined;
  private readonly rng: Rng;
  private readonly log: Logger;
  private conns = new Set<Connection>();
  /** Accepted connections whose upstream dial a fault holds (a blackhole towards the upstream). */
  private heldDials = new Set<Connection>();
  /** The next batch of held dials to release (see releaseHeldDials). */
  private releasing: NodeJS.Immediate | undefined;
  private nextConnId = 1;
  private readonly faultSet: ActiveFaults;
  private listeners: Array<(info: FaultInfo) => void> = [];
  private stopped = false;
  readonly balancer: Balancer | undefined;
  readonly network: NetworkPolicy;
  readonly counters = {
    total: 0,
    refused: 0,
    reset: 0,
    upstreamErrors: 0,
    bytes: { upstream: 0, downstream: 0 },
    chunks: { upstream: 0, downstream: 0 },
  };
  /** What fault types' connection hooks may do to this proxy. */
  private readonly control: ProxyControl = {
    resetConnections: (reason) => {
      const open = [...this.conns];
      for (const conn of open) conn.reset(reason);
      return open.length;
    },
    closeListener: () => this.closeListener(),
    reopenListener: () => {
      if (!this.enabled || this.server || this.stopped || this.listenerHeldClosed()) return;
      void this.openListener().catch((e) => this.log.error('cannot re-open listener after heal', { error: String(e) }));
    },
    releaseHeldDials: () => this.releaseHeldDials(),
  };

  constructor(opts: ProxyOptions) {
    if (!opts.name) throw new InputError('FAULTLINE_INJECTOR_PROXY', 'missing required field: name', { field: 'name' });
    const upstream = opts.upstream || Balancer.firstAddress(opts.balancer);
    if (!upstream) throw new InputError('FAULTLINE_INJECTOR_PROXY', 'missing required field: upstream', { field: 'upstream' });
    const listen = parseHostPort(opts.listen ?? '127.0.0.1:0', 'listen');
    checkResourceName(opts.name, 'proxy');
    this.network = opts.network ?? LOOPBACK_ONLY;
    assertAllowed(listen.host, 'proxy listen address', 'listen', this.network);
    // A balancer's upstreams are checked by the balancer, each naming its own field (upstreams[i]).
    if (opts.upstream || !opts.balancer) assertAllowed(parseHostPort(upstream, 'upstream').host, 'proxy upstream', 'upstream', this.network);
    this.name = opts.name;
    this.listenHost = listen.host === 'localhost' ? '127.0.0.1' : listen.host;
    this.listenPort = listen.port;
    this.upstream = upstream;
    this.seed = String(opts.seed ?? 0);
    this.rng = Rng.fromSeed(this.seed).fork(`proxy:${opts.name}`);
    this.log = (opts.logger ?? silentLogger).child(`proxy:${opts.name}`);
    if (opts.balancer) this.balancer = new Balancer(opts.balancer, this.log, this.network);
    this.faultSet = new ActiveFaults((f) => {
      this.log.info('fault lease expired', { fault: f.info.name });
      this.removeFault(f.info.name);
      for (const l of this.listeners) l({ ...f.info });
    });
  }

  get listen(): string {
    return this.listenHost.includes(':') ? `[${this.listenHost}]:${this.listenPort}` : `${this.listenHost}:${this.listenPort}`;
  }

  on(_event: 'fault-expired', fn: (info: FaultInfo) => void): void {
    this.listeners.push(fn);
  }

  async start(): Promise<this> {
    await this.openListener();
    this.enabled = true;
    this.balancer?.start();
    // Started with a fault that keeps the listener closed (a refuse partition from the builder): the port is resolved, then refused.
    if (this.listenerHeldClosed()) this.closeListener();
    return this;
  }

  private openListener(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const server = net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, (s) => this.accept(s));
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new FaultlineError('FAULTLINE_INJECTOR_LISTEN', `proxy '${this.name}' cannot listen on ${this.listen}: ${e.code ?? e.message}`, { cause: e })),
      );
      server.listen({ host: this.listenHost, port: this.listenPort, exclusive: true }, () => {
        const addr = server.address() as net.AddressInfo;
        this.listenPort = addr.port;
        if (this.stopped) {
          // stop() raced a re-open (e.g. heal of a refuse partition right before stop): do not leak it.
          server.close();
          resolve();
          return;
        }
        server.removeAllListeners('error');
        server.on('error', (e) => this.log.warn('listener error', { error: String(e) }));
        this.server = server;
        resolve();
      });
    });
  }

  private closeListener(): void {
    this.server?.close();
    this.server = undefined;
  }

  private listenerHeldClosed(): boolean {
    return this.faultSet.values().some((f) => f.type.connections?.holdsListenerClosed?.(f.info) === true);
  }

  /**
   * Dials the held connections, RELEASE_BATCH per turn of the event loop: a heal after a long
   * partition frees hundreds, and dialling them all at once blocked the loop (and a load generator
   * sharing it) for ~20-50 ms. Stops when a fault holds new dials again or the proxy stops; a
   * connection that closes while it waits leaves the set (forget).
   */
  private releaseHeldDials(): void {
    if (this.releasing || this.stopped || this.holdsNewDials()) return;
    let n = 0;
    for (const conn of this.heldDials) {
      if (n++ === RELEASE_BATCH) {
        this.releasing = setImmediate(() => {
          this.releasing = undefined;
          this.releaseHeldDials();
        });
        return;
      }
      this.heldDials.delete(conn);
      conn.dial(this.balancer?.addressOf(conn) ?? this.upstream);
    }
  }

  /** Whether some active fault holds the upstream dial of new connections. */
  private holdsNewDials(): boolean {
    return this.faultSet.values().some((f) => f.type.connections?.onAccept?.(f.info) === 'hold-dial');
  }

  private refuse(client: net.Socket): void {
    this.counters.refused++;
    client.on('error', () => {});
    resetSocket(client);
  }

  private accept(client: net.Socket): void {
    this.counters.total++;
    const faults = this.faultSet.values();
    const decisions = faults.map((f) => f.type.connections?.onAccept?.(f.info) ?? 'accept');
    if (decisions.includes('refuse')) {
      // A connection that raced the listener close, or a reset partition: RST at once.
      faults.forEach((f, i) => {
        if (decisions[i] === 'refuse') f.stats.counters.refusedConnections++;
      });
      this.refuse(client);
      return;
    }
    const routed = this.balancer?.route();
    if (this.balancer && !routed) {
      // No upstream in rotation: refuse, as a load balancer with an empty pool does.
      this.refuse(client);
      return;
    }
    const id = this.nextConnId++;
    const conn = new Connection(this, id, client, this.rng.fork(`conn:${id}`));
    conn.routedTo = routed?.name;
    this.conns.add(conn);
    for (const f of faults) if (scopeOf(f) !== 'existing') this.attachFault(conn, f);
    if (decisions.includes('hold-dial')) this.heldDials.add(conn);
    else conn.dial(routed?.address ?? this.upstream);
  }

  warnNotLoopback(upstream: string): void {
    this.log.warn('refusing to dial a non-loopback upstream (faultline sends only to 127.0.0.0/8 and ::1)', { upstream });
  }

  forget(conn: Connection): void {
    if (this.conns.has(conn)) this.balancer?.released(conn);
    this.conns.delete(conn);
    this.heldDials.delete(conn);
  }

  /** Re-attaches faults that target one upstream after a connection moved to another (redispatch). */
  retarget(conn: Connection): void {
    for (const f of this.faultSet.values()) {
      if (f.info.upstream === undefined) continue;
      conn.up.detach(f);
      conn.down.detach(f);
      this.attachFault(conn, f);
    }
  }

  private attachFault(conn: Connection, f: ActiveFault): void {
    if (!f.type.stage) return;
    if (f.info.upstream !== undefined && !this.balancer?.matches(conn.routedTo, f.info.upstream)) return;
    let applied = false;
    for (const link of [conn.up, conn.down]) {
      if (f.info.stream !== 'both' && f.info.stream !== link.direction) continue;
      // Toxicity is drawn per link, from a stream seeded by (proxy, connection, direction, fault).
      const applies = f.info.toxicity >= 1 || link.rng.fork(`toxicity:${f.info.name}`).next() < f.info.toxicity;
      if (!applies) {
        f.stats.counters.linksSkipped++;
        continue;
      }
      f.stats.counters.linksApplied++;
      applied = true;
      const stage = f.type.stage({ link, attrs: f.info.attributes, rng: link.rng.fork(`fault:${f.info.name}`), rec: f.stats.recorder(), shared: f.shared });
      link.attach(f, stage);
    }
    if (applied && !conn.faultsSeen.has(f)) {
      conn.faultsSeen.add(f);
      f.stats.counters.connections++;
    }
  }

  addFault(spec: FaultSpec): FaultInfo {
    const info = normaliseFault(spec);
    if (info.upstream !== undefined && !this.balancer?.has(info.upstream)) {
      throw new InputError('FAULTLINE_INJECTOR_UPSTREAM_NOT_FOUND', `fault '${info.name}' targets upstream '${info.upstream}', which proxy '${this.name}' does not have`, { field: 'upstream' });
    }
    const f = this.faultSet.add(info);
    this.log.info('fault added', { fault: info.name, type: info.type, stream: info.stream });
    f.type.connections?.onAdd?.(f.info, this.control, f.stats.recorder());
    if (scopeOf(f) !== 'new') {
      for (const conn of [...this.conns]) if (!conn.closed) this.attachFault(conn, f);
    }
    return { ...info };
  }

  updateFault(name: string, patch: Partial<FaultSpec>): FaultInfo {
    const f = this.faultSet.get(name);
    const next = normaliseFault({ type: f.info.type, ...patch }, f.info);
    // Stages read attributes live; toxicity changes re-draw on the next attach (as Toxiproxy re-runs the stub).
    Object.assign(f.info.attributes, next.attributes);
    const toxicityChanged = next.toxicity !== f.info.toxicity;
    f.info.toxicity = next.toxicity;
    if (next.ttlMs !== undefined) f.info.ttlMs = next.ttlMs;
    if (patch.ttlMs !== undefined) this.faultSet.armLease(f);
    if (toxicityChanged) {
      for (const conn of this.conns) {
        conn.up.detach(f);
        conn.down.detach(f);
        this.attachFault(conn, f);
      }
    }
    return { ...f.info };
  }

  removeFault(name: string): void {
    const f = this.faultSet.remove(name);
    for (const conn of [...this.conns]) {
      conn.up.detach(f);
      conn.down.detach(f);
    }
    f.type.connections?.onRemove?.(f.info, this.control);
    this.log.info('fault removed', { fault: name });
  }

  heal(): void {
    for (const name of this.faultSet.names()) this.removeFault(name);
  }

  faults(): FaultInfo[] {
    return this.faultSet.values().map((f) => ({ ...f.info }));
  }

  getFault(name: string): FaultInfo | undefined {
    const f = this.faultSet.find(name);
    return f ? { ...f.info } : undefined;
  }

  setUpstream(hostPort: string): void {
    assertAllowed(parseHostPort(hostPort, 'upstream').host, 'proxy upstream', 'upstream', this.network);
    this.upstream = hostPort;
  }

  resetConnections(): void {
    this.control.resetConnections('resetConnections');
  }

  async setEnabled(enabled: boolean): Promise<void> {
    if (enabled === this.enabled) return;
    if (!enabled) {
      this.closeListener();
      for (const conn of [...this.conns]) conn.close('proxy disabled');
      this.enabled = false;
    } else {
      await this.openListener();
      this.enabled = true;
    }
  }

  stats(): ProxyStats {
    return {
      name: this.name,
      listen: this.listen,
      upstream: this.upstream,
      enabled: this.enabled,
      seed: this.seed,
      connections: {
        total: this.counters.total,
        active: this.conns.size,
        refused: this.counters.refused,
        reset: this.counters.reset,
        upstreamErrors: this.counters.upstreamErrors,
      },
      bytes: this.bytesRead(),
      chunks: { ...this.counters.chunks },
      ...(this.balancer ? { upstreams: this.balancer.stats() } : {}),
      faults: this.faultSet.history().map((f) => f.stats.snapshot(f.info)),
      faultsForgotten: this.faultSet.forgotten,
    };
  }

  /** Bytes read per direction: finished connections' totals plus what the live sockets have read. */
  private bytesRead(): { upstream: number; downstream: number } {
    const out = { ...this.counters.bytes };
    for (const conn of this.conns) {
      if (conn.closed) continue;
      out.upstream += conn.bytesRead('upstream');
      out.downstream += conn.bytesRead('downstream');
    }
    return out;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.balancer?.stop();
    this.heal();
    if (this.releasing) clearImmediate(this.releasing);
    this.releasing = undefined;
    const server = this.server;
    this.server = undefined;
    for (const conn of [...this.conns]) conn.close('proxy stopped');
    if (server) await new Promise<void>((r) => server.close(() => r()));
    this.enabled = false;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Which connections a fault's stages attach to (its type's scope hook; default both). */
function scopeOf(f: ActiveFault): 'existing' | 'new' | 'both' {
  return f.type.connections?.scope?.(f.info) ?? 'both';
}

/** Creates and starts a TCP proxy on a loopback listener. */
export async function startProxy(opts: ProxyOptions): Promise<Proxy> {
  const p = new TcpProxy(opts);
  if (opts.enabled === false) return p;
  return p.start();
}
