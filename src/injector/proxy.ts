/**
 * The fault-injecting TCP proxy. It perturbs only traffic addressed to its own (loopback) listener.
 *
 * Each accepted client gets a Connection with two Links: `upstream` (client → server) and
 * `downstream` (server → client). A link with no fault is a straight pipe; a link with faults runs
 * each chunk through the faults' stages in insertion order. Every random draw comes from a seeded
 * Rng split per proxy, connection, direction and fault.
 */
import net from 'node:net';
import * as hdr from 'hdr-histogram-js';
import { assertAllowed, checkResourceName, FaultlineError, InputError, LOOPBACK_ONLY, parseHostPort, Rng, setLongTimeout, silentLogger, type Logger, type LongTimer, type NetworkPolicy, type Seed } from '../shared/index.ts';
import { abortableSleep } from './sleep.ts';
import { faultType, validateAttributes, validateFaultFields, type Chunk, type Direction, type FaultRecorder, type FaultSpec, type LinkContext, type Stage, type Stream } from './faults.ts';
import { Balancer, type BalancerOptions, type UpstreamStats } from './balancer.ts';

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

export interface FaultInfo {
  name: string;
  type: string;
  stream: Stream;
  toxicity: number;
  attributes: Record<string, unknown>;
  ttlMs?: number;
  /** Balancer proxies: the fault applies only to connections routed to this upstream (name or address). */
  upstream?: string;
  /** Epoch ms when the lease expires, if it has a TTL. */
  expiresAt?: number;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Prometheus-style cumulative buckets of achieved delay: `count` chunks took at most `leMs` ms. */
export type DelayHistogram = Array<{ leMs: number | '+Inf'; count: number }>;

/** Upper bounds (ms) of the achieved-delay histogram buckets; the last bucket is +Inf. */
export const DELAY_BUCKETS_MS = [0.5, 1, 2, 5, 10, 20, 30, 40, 45, 50, 55, 60, 75, 100, 150, 200, 300, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000, Infinity];

export interface FaultStats extends FaultInfo {
  active: boolean;
  /** Connections on which the fault applied to at least one link (toxicity drawn per link). */
  connections: number;
  /** Links (connection × direction) the fault was attached to, and how many drew "not applied" by toxicity. */
  linksApplied: number;
  linksSkipped: number;
  chunks: number;
  bytes: number;
  droppedBytes: number;
  stalls: number;
  stallMs: number;
  resets: number;
  closes: number;
  refusedConnections: number;
  /** Achieved delay from read to write (ms) of chunks that went through the fault (latency, loss). */
  achievedDelayMs?: LatencySummary;
  achievedDelayHistogram?: DelayHistogram;
  /** Bandwidth: bytes the limiter let through per ms of pipe time it actually took (KB/s, 1 KB = 1000 B). */
  achievedRateKBps?: number;
  /** What was asked for, in the same units, for comparison. */
  requested: Record<string, unknown>;
  addedAt: number;
  removedAt?: number;
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
  /** Balancer proxies: each upstream's state, checks and connections. */
  upstreams?: UpstreamStats[];
}

interface FaultRuntime {
  info: FaultInfo;
  addedOrder: number;
  shared: Map<string, unknown>;
  ttlTimer?: LongTimer;
  stats: Omit<FaultStats, keyof FaultInfo | 'achievedDelayMs' | 'achievedDelayHistogram' | 'achievedRateKBps' | 'requested'>;
  hist?: hdr.Histogram;
  buckets?: number[];
  paced: { bytes: number; busyMs: number };
}

function recordDelay(f: FaultRuntime, delayUs: number): void {
  if (!f.hist || !f.buckets) return;
  f.hist.recordValue(delayUs);
  const ms = delayUs / 1000;
  let i = 0;
  while (ms > (DELAY_BUCKETS_MS[i] as number)) i++;
  f.buckets[i] = (f.buckets[i] as number) + 1;
}

const HIGH_WATER = 1 << 20; // bytes queued on a faulted link before the source is paused

function newHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

export function summariseHistogramUs(h: hdr.Histogram): LatencySummary {
  const ms = (us: number): number => Math.round(us) / 1000;
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

const nowMs = (): number => performance.now();

class Link implements LinkContext {
  readonly direction: Direction;
  readonly connectionId: number;
  readonly rng: Rng;
  stages: Array<{ fault: FaultRuntime; stage: Stage }> = [];
  private queue: Chunk[] = [];
  private queuedBytes = 0;
  private pumping = false;
  private srcEnded = false;
  private endSent = false;
  private conn: Connection;

  constructor(conn: Connection, direction: Direction, rng: Rng) {
    this.conn = conn;
    this.direction = direction;
    this.connectionId = conn.id;
    this.rng = rng;
  }

  get src(): net.Socket | undefined {
    return this.direction === 'upstream' ? this.conn.client : this.conn.upstream;
  }
  get dst(): net.Socket | undefined {
    return this.direction === 'upstream' ? this.conn.upstream : this.conn.client;
  }
  get dstReady(): boolean {
    return this.direction === 'downstream' || this.conn.upstreamReady;
  }

  now = nowMs;
  sleep = abortableSleep;
  reset = (reason: string): void => this.conn.reset(reason);
  close = (reason: string): void => this.conn.close(reason);

  onData(data: Buffer): void {
    const p = this.conn.proxy;
    p.counters.bytes[this.direction] += data.length;
    p.counters.chunks[this.direction]++;
    if (!this.pumping && this.queue.length === 0 && this.stages.length === 0 && this.dstReady) {
      this.write(data);
      return;
    }
    this.queue.push({ data, readAt: nowMs() });
    this.queuedBytes += data.length;
    if (this.queuedBytes > HIGH_WATER) this.src?.pause();
    void this.pump();
  }

  onEnd(): void {
    this.srcEnded = true;
    if (!this.pumping && this.queue.length === 0 && this.stages.length === 0 && this.dstReady) {
      this.sendEnd();
      return;
    }
    void this.pump();
  }

  /** Kick the pump (e.g. when the upstream connects or a stage is detached). */
  kick(): void {
    if (this.queue.length > 0 || (this.srcEnded && !this.endSent)) void this.pump();
  }

  private write(data: Buffer): boolean {
    const dst = this.dst;
    if (!dst || dst.destroyed) return true;
    const ok = dst.write(data);
    if (!ok) {
      const src = this.src;
      src?.pause();
      dst.once('drain', () => src?.resume());
    }
    return ok;
  }

  private sendEnd(): void {
    if (this.endSent) return;
    this.endSent = true;
    const dst = this.dst;
    if (dst && !dst.destroyed) dst.end();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.conn.closed) {
        const first = this.queue.shift() as Chunk;
        this.queuedBytes -= first.data.length;
        let chunks: Chunk[] = [first];
        const stages = this.stages.slice();
        for (const { stage } of stages) {
          const next: Chunk[] = [];
          for (const c of chunks) next.push(...(await stage.process(c)));
          chunks = next;
          if (chunks.length === 0) break;
        }
        if (this.conn.closed) return;
        if (!this.dstReady) await this.conn.upstreamConnected;
        if (this.conn.closed) return;
        for (const c of chunks) {
          if (c.notBefore !== undefined) {
            const wait = c.notBefore - nowMs();
            if (wait > 0.5) await abortableSleep(wait, this.conn.closedSignal);
            if (this.conn.closed) return;
          }
          const delayUs = Math.max(1, Math.round((nowMs() - c.readAt) * 1000));
          for (const { fault, stage } of stages) {
            if (stage.measuresDelay) recordDelay(fault, delayUs);
          }
          if (!this.write(c.data)) {
            const dst = this.dst;
            if (dst && !dst.destroyed) await new Promise<void>((r) => dst.once('drain', () => r()).once('close', () => r()));
          }
        }
        if (this.queuedBytes <= HIGH_WATER / 2 && this.src?.isPaused()) this.src.resume();
      }
      if (this.srcEnded && !this.endSent && this.queue.length === 0 && !this.conn.closed) {
        for (const { stage } of this.stages.slice()) await stage.beforeEnd?.();
        if (!this.dstReady) await this.conn.upstreamConnected;
        this.sendEnd();
      }
    } finally {
      this.pumping = false;
    }
    // Chunks that arrived while we were finishing.
    if (this.queue.length > 0 && !this.conn.closed) void this.pump();
  }

  attach(fault: FaultRuntime, stage: Stage): void {
    this.stages.push({ fault, stage });
    this.stages.sort((a, b) => a.fault.addedOrder - b.fault.addedOrder);
    stage.attach?.();
  }

  detach(fault: FaultRuntime): void {
    const found = this.stages.find((s) => s.fault === fault);
    if (!found) return;
    this.stages = this.stages.filter((s) => s !== found);
    found.stage.detach();
    this.kick();
  }

  detachAll(): void {
    for (const s of this.stages) s.stage.detach();
    this.stages = [];
  }
}

class Connection {
  readonly id: number;
  readonly proxy: TcpProxy;
  readonly client: net.Socket;
  upstream: net.Socket | undefined;
  upstreamReady = false;
  closed = false;
  /** Balancer proxies: the upstream this connection was routed to (its name). */
  routedTo: string | undefined;
  /** The client sent bytes the upstream has not answered yet (a request in flight). */
  awaiting = false;
  /** Faults that applied to this connection at least once (for the per-fault connection count). */
  readonly faultsSeen = new WeakSet<object>();
  private readonly closing = new AbortController();
  readonly closedSignal = this.closing.signal;
  readonly up: Link;
  readonly down: Link;
  private resolveUpstream!: () => void;
  readonly upstreamConnected: Promise<void>;

  constructor(proxy: TcpProxy, id: number, client: net.Socket, rng: Rng) {
    this.proxy = proxy;
    this.id = id;
    this.client = client;
    this.upstreamConnected = new Promise<void>((r) => (this.resolveUpstream = r));
    this.up = new Link(this, 'upstream', rng.fork('upstream'));
    this.down = new Link(this, 'downstream', rng.fork('downstream'));
    client.setNoDelay(true);
    client.on('data', (d: Buffer) => {
      this.awaiting = true;
      this.up.onData(d);
    });
    client.on('end', () => this.up.onEnd());
    client.on('error', (e: NodeJS.ErrnoException) => this.onSocketError('client', e));
    client.on('close', () => this.onSocketClose());
  }

  dial(upstream: string): void {
    if (this.closed || this.upstream) return;
    const { host, port } = parseHostPort(upstream);
    if (!this.proxy.network.allows(host)) {
      // faultline sends only to loopback (or the user's allowlist): a non-loopback upstream is treated as a failed dial (the
      // client sees accept then close, as with Toxiproxy when the upstream is unreachable).
      this.proxy.counters.upstreamErrors++;
      this.proxy.warnNotLoopback(upstream);
      this.close('upstream not loopback');
      return;
    }
    const sock = net.connect({ host, port, allowHalfOpen: true, noDelay: true });
    this.upstream = sock;
    sock.on('connect', () => {
      this.upstreamReady = true;
      this.resolveUpstream();
      this.up.kick();
    });
    sock.on('data', (d: Buffer) => {
      this.awaiting = false;
      this.down.onData(d);
    });
    sock.on('end', () => {
      this.proxy.balancer?.upstreamEnded(this);
      this.down.onEnd();
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (!this.upstreamReady) {
        this.proxy.counters.upstreamErrors++;
        // A balancer sends a connection whose dial failed to another upstream in rotation.
        if (this.proxy.balancer?.redispatch(this)) return;
      } else this.proxy.balancer?.upstreamEnded(this);
      this.onSocketError('upstream', e);
    });
    sock.on('close', () => {
      if (this.upstream === sock) this.onSocketClose();
    });
  }

  /** Balancer: the dial failed; dial `address` instead (the failed socket is dropped). */
  redial(address: string): void {
    const failed = this.upstream;
    failed?.removeAllListeners();
    failed?.on('error', () => {});
    failed?.destroy();
    this.upstream = undefined;
    this.proxy.retarget(this);
    this.dial(address);
  }

  private onSocketError(side: 'client' | 'upstream', e: NodeJS.ErrnoException): void {
    // Propagate a reset as a reset, anything else as a close.
    if (e.code === 'ECONNRESET' || e.code === 'EPIPE') this.reset(`${side} reset`);
    else this.close(`${side} error ${e.code ?? e.message}`);
  }

  private onSocketClose(): void {
    const bothGone = this.client.destroyed && (!this.upstream || this.upstream.destroyed);
    if (bothGone) this.finish();
    else if (this.client.destroyed || this.upstream?.destroyed) {
      // One side is fully gone: give pending writes a moment, then close the other side.
      setImmediate(() => this.close('peer closed'));
    }
  }

  reset(_reason: string): void {
    if (this.closed) return;
    this.proxy.counters.reset++;
    for (const s of [this.client, this.upstream]) {
      if (!s || s.destroyed) continue;
      if (s.connecting || s.readyState === 'opening') s.destroy();
      else s.resetAndDestroy();
    }
    this.finish();
  }

  close(_reason: string): void {
    if (this.closed) return;
    for (const s of [this.client, this.upstream]) if (s && !s.destroyed) s.destroy();
    this.finish();
  }

  private finish(): void {
    if (this.closed) {
      this.proxy.forget(this);
      return;
    }
    this.closed = true;
    this.closing.abort();
    this.up.detachAll();
    this.down.detachAll();
    this.resolveUpstream();
    this.proxy.forget(this);
  }
}

function makeRecorder(f: FaultRuntime): FaultRecorder {
  const s = f.stats;
  return {
    chunk: (b) => {
      s.chunks++;
      s.bytes += b;
    },
    delay: (ms) => recordDelay(f, Math.max(1, Math.round(ms * 1000))),
    paced: (bytes, busyMs) => {
      f.paced.bytes += bytes;
      f.paced.busyMs += busyMs;
    },
    stall: (ms) => {
      s.stalls++;
      s.stallMs += ms;
    },
    drop: (b) => (s.droppedBytes += b),
    reset: () => s.resets++,
    close: () => s.closes++,
  };
}

/** Normalises a spec (defaults, validation) into FaultInfo. Throws InputError naming the field. */
export function normaliseFault(spec: FaultSpec, existing?: FaultInfo): FaultInfo {
  const type = existing?.type ?? spec.type;
  const ft = faultType(type);
  validateFaultFields(spec);
  const stream = (existing?.stream ?? spec.stream ?? 'downstream').toLowerCase() as Stream;
  const toxicity = spec.toxicity ?? existing?.toxicity ?? 1;
  const attributes: Record<string, unknown> = { ...ft.defaults, ...(existing?.attributes ?? {}), ...(spec.attributes ?? {}) };
  validateAttributes(type, attributes);
  const name = existing?.name ?? spec.name ?? `${type}_${stream}`;
  const info: FaultInfo = { name, type, stream, toxicity, attributes };
  const upstream = spec.upstream ?? existing?.upstream;
  if (upstream !== undefined) {
    if (typeof upstream !== 'string' || upstream === '') throw new InputError('FAULTLINE_INJECTOR_UPSTREAM', 'upstream must be a non-empty upstream name or address', { field: 'upstream' });
    info.upstream = upstream;
  }
  const ttl = spec.ttlMs ?? existing?.ttlMs;
  if (ttl !== undefined) info.ttlMs = ttl;
  return info;
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

export class TcpProxy implements Proxy {
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
  private deferred = new Set<Connection>();
  private nextConnId = 1;
  private nextFaultOrder = 1;
  private active = new Map<string, FaultRuntime>();
  private history: FaultRuntime[] = [];
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

  constructor(opts: ProxyOptions) {
    if (!opts.name) throw new InputError('FAULTLINE_INJECTOR_PROXY', 'missing required field: name', { field: 'name' });
    const upstream = opts.upstream || Balancer.firstAddress(opts.balancer);
    if (!upstream) throw new InputError('FAULTLINE_INJECTOR_PROXY', 'missing required field: upstream', { field: 'upstream' });
    const listen = parseHostPort(opts.listen ?? '127.0.0.1:0', 'listen');
    checkResourceName(opts.name, 'proxy');
    this.network = opts.network ?? LOOPBACK_ONLY;
    assertAllowed(listen.host, 'proxy listen address', 'listen', this.network);
    assertAllowed(parseHostPort(upstream, 'upstream').host, 'proxy upstream', 'upstream', this.network);
    this.name = opts.name;
    this.listenHost = listen.host === 'localhost' ? '127.0.0.1' : listen.host;
    this.listenPort = listen.port;
    this.upstream = upstream;
    this.seed = String(opts.seed ?? 0);
    this.rng = Rng.fromSeed(this.seed).fork(`proxy:${opts.name}`);
    this.log = (opts.logger ?? silentLogger).child(`proxy:${opts.name}`);
    if (opts.balancer) this.balancer = new Balancer(opts.balancer, this.log);
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
    // Started with a refuse partition already in place (builder): the port is resolved, then refused.
    if (this.partitions('refuse', 'new').length > 0) this.closeListener();
    return this;
  }

  private openListener(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => this.accept(s));
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

  private partitions(mode: string, scope: 'new' | 'existing'): FaultRuntime[] {
    return [...this.active.values()].filter(
      (f) => f.info.type === 'partition' && f.info.attributes.mode === mode && (f.info.attributes.scope === 'both' || f.info.attributes.scope === scope),
    );
  }

  private accept(client: net.Socket): void {
    this.counters.total++;
    const resets = this.partitions('reset', 'new');
    const refuses = this.partitions('refuse', 'new');
    if (resets.length > 0 || refuses.length > 0) {
      // A connection that raced the listener close, or a reset partition: RST at once.
      for (const f of [...resets, ...refuses]) f.stats.refusedConnections++;
      this.counters.refused++;
      client.on('error', () => {});
      client.resetAndDestroy();
      return;
    }
    const routed = this.balancer?.route();
    if (this.balancer && !routed) {
      // No upstream in rotation: refuse, as a load balancer with an empty pool does.
      this.counters.refused++;
      client.on('error', () => {});
      client.resetAndDestroy();
      return;
    }
    const id = this.nextConnId++;
    const conn = new Connection(this, id, client, this.rng.fork(`conn:${id}`));
    conn.routedTo = routed?.name;
    this.conns.add(conn);
    for (const f of this.active.values()) {
      if (f.info.type === 'partition' && f.info.attributes.scope === 'existing') continue;
      this.attachFault(conn, f);
    }
    if (this.holdsNewDial()) this.deferred.add(conn);
    else conn.dial(routed?.address ?? this.upstream);
  }

  /** A blackhole on new connections towards the upstream: the SYN would not get through, so do not dial yet. */
  private holdsNewDial(): boolean {
    return this.partitions('blackhole', 'new').some((f) => f.info.stream !== 'downstream');
  }

  warnNotLoopback(upstream: string): void {
    this.log.warn('refusing to dial a non-loopback upstream (faultline sends only to 127.0.0.0/8 and ::1)', { upstream });
  }

  forget(conn: Connection): void {
    if (this.conns.has(conn)) this.balancer?.released(conn);
    this.conns.delete(conn);
    this.deferred.delete(conn);
  }

  /** Re-attaches faults that target one upstream after a connection moved to another (redispatch). */
  retarget(conn: Connection): void {
    for (const f of this.active.values()) {
      if (f.info.upstream === undefined) continue;
      conn.up.detach(f);
      conn.down.detach(f);
      this.attachFault(conn, f);
    }
  }

  private attachFault(conn: Connection, f: FaultRuntime): void {
    const ft = faultType(f.info.type);
    if (!ft.stage) return;
    if (f.info.upstream !== undefined && !this.balancer?.matches(conn.routedTo, f.info.upstream)) return;
    let applied = false;
    for (const link of [conn.up, conn.down]) {
      if (f.info.stream !== 'both' && f.info.stream !== link.direction) continue;
      // Toxicity is drawn per link, from a stream seeded by (proxy, connection, direction, fault).
      const applies = f.info.toxicity >= 1 || link.rng.fork(`toxicity:${f.info.name}`).next() < f.info.toxicity;
      if (!applies) {
        f.stats.linksSkipped++;
        continue;
      }
      f.stats.linksApplied++;
      applied = true;
      const stage = ft.stage({ link, attrs: f.info.attributes, rng: link.rng.fork(`fault:${f.info.name}`), rec: makeRecorder(f), shared: f.shared });
      link.attach(f, stage);
    }
    if (applied && !conn.faultsSeen.has(f)) {
      conn.faultsSeen.add(f);
      f.stats.connections++;
    }
  }

  addFault(spec: FaultSpec): FaultInfo {
    const info = normaliseFault(spec);
    if (info.upstream !== undefined && !this.balancer?.has(info.upstream)) {
      throw new InputError('FAULTLINE_INJECTOR_UPSTREAM_NOT_FOUND', `fault '${info.name}' targets upstream '${info.upstream}', which proxy '${this.name}' does not have`, { field: 'upstream' });
    }
    if (this.active.has(info.name)) {
      throw new FaultlineError('FAULTLINE_INJECTOR_FAULT_EXISTS', `toxic already exists: ${info.name}`, { details: { status: 409 } });
    }
    const f: FaultRuntime = {
      info,
      addedOrder: this.nextFaultOrder++,
      shared: new Map(),
      ...(info.type === 'latency' || info.type === 'loss' ? { hist: newHistogram(), buckets: DELAY_BUCKETS_MS.map(() => 0) } : {}),
      paced: { bytes: 0, busyMs: 0 },
      stats: {
        active: true,
        connections: 0,
        linksApplied: 0,
        linksSkipped: 0,
        chunks: 0,
        bytes: 0,
        droppedBytes: 0,
        stalls: 0,
        stallMs: 0,
        resets: 0,
        closes: 0,
        refusedConnections: 0,
        addedAt: Date.now(),
      },
    };
    this.active.set(info.name, f);
    this.history.push(f);
    this.armTtl(f);
    this.log.info('fault added', { fault: info.name, type: info.type, stream: info.stream });
    this.applyConnectionEffects(f);
    if (!(info.type === 'partition' && info.attributes.scope === 'new')) {
      for (const conn of [...this.conns]) if (!conn.closed) this.attachFault(conn, f);
    }
    return { ...info };
  }

  /** Effects of a partition on connections and the listener (refuse closes it; reset sends RST). */
  private applyConnectionEffects(f: FaultRuntime): void {
    if (f.info.type !== 'partition') return;
    const { mode, scope } = f.info.attributes;
    if ((mode === 'reset' || mode === 'refuse') && scope !== 'new') {
      for (const conn of [...this.conns]) {
        f.stats.resets++;
        conn.reset(`partition ${String(mode)}`);
      }
    }
    if (mode === 'refuse' && scope !== 'existing') this.closeListener();
  }

  private armTtl(f: FaultRuntime): void {
    f.ttlTimer?.clear();
    if (f.info.ttlMs === undefined) return;
    f.info.expiresAt = Date.now() + f.info.ttlMs;
    // A long timer: a lease past 2^31 ms (≈ 24.8 days) would otherwise expire after 1 ms.
    f.ttlTimer = setLongTimeout(() => {
      if (this.active.get(f.info.name) !== f) return;
      this.log.info('fault lease expired', { fault: f.info.name });
      this.removeFault(f.info.name);
      for (const l of this.listeners) l({ ...f.info });
    }, f.info.ttlMs);
  }

  updateFault(name: string, patch: Partial<FaultSpec>): FaultInfo {
    const f = this.active.get(name);
    if (!f) throw new FaultlineError('FAULTLINE_INJECTOR_FAULT_NOT_FOUND', 'toxic not found', { details: { status: 404 } });
    const next = normaliseFault({ type: f.info.type, ...patch }, f.info);
    // Stages read attributes live; toxicity changes re-draw on the next attach (as Toxiproxy re-runs the stub).
    Object.assign(f.info.attributes, next.attributes);
    const toxicityChanged = next.toxicity !== f.info.toxicity;
    f.info.toxicity = next.toxicity;
    if (next.ttlMs !== undefined) f.info.ttlMs = next.ttlMs;
    if (patch.ttlMs !== undefined) this.armTtl(f);
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
    const f = this.active.get(name);
    if (!f) throw new FaultlineError('FAULTLINE_INJECTOR_FAULT_NOT_FOUND', 'toxic not found', { details: { status: 404 } });
    this.active.delete(name);
    f.ttlTimer?.clear();
    f.stats.active = false;
    f.stats.removedAt = Date.now();
    for (const conn of [...this.conns]) {
      conn.up.detach(f);
      conn.down.detach(f);
    }
    if (f.info.type === 'partition') {
      if (f.info.attributes.mode === 'refuse' && this.enabled && !this.server && !this.stopped && this.partitions('refuse', 'new').length === 0) {
        void this.openListener().catch((e) => this.log.error('cannot re-open listener after heal', { error: String(e) }));
      }
      if (!this.holdsNewDial()) {
        for (const conn of [...this.deferred]) {
          this.deferred.delete(conn);
          conn.dial(this.balancer?.addressOf(conn) ?? this.upstream);
        }
      }
    }
    this.log.info('fault removed', { fault: name });
  }

  heal(): void {
    for (const name of [...this.active.keys()]) this.removeFault(name);
  }

  faults(): FaultInfo[] {
    return [...this.active.values()].map((f) => ({ ...f.info }));
  }

  getFault(name: string): FaultInfo | undefined {
    const f = this.active.get(name);
    return f ? { ...f.info } : undefined;
  }

  setUpstream(hostPort: string): void {
    assertAllowed(parseHostPort(hostPort, 'upstream').host, 'proxy upstream', 'upstream', this.network);
    this.upstream = hostPort;
  }

  resetConnections(): void {
    for (const conn of [...this.conns]) conn.reset('resetConnections');
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
      bytes: { ...this.counters.bytes },
      chunks: { ...this.counters.chunks },
      ...(this.balancer ? { upstreams: this.balancer.stats() } : {}),
      faults: this.history.map((f) => {
        const out: FaultStats = { ...f.info, ...f.stats, requested: { ...f.info.attributes, toxicity: f.info.toxicity } };
        if (f.hist && f.buckets && f.hist.totalCount > 0) {
          out.achievedDelayMs = summariseHistogramUs(f.hist);
          let cumulative = 0;
          out.achievedDelayHistogram = f.buckets.map((c, i) => {
            const le = DELAY_BUCKETS_MS[i] as number;
            return { leMs: Number.isFinite(le) ? le : '+Inf', count: (cumulative += c) };
          });
        }
        if (f.paced.busyMs > 0) out.achievedRateKBps = Math.round((f.paced.bytes / f.paced.busyMs) * 100) / 100;
        return out;
      }),
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.balancer?.stop();
    this.heal();
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

/** Creates and starts a TCP proxy on a loopback listener. */
export async function startProxy(opts: ProxyOptions): Promise<Proxy> {
  const p = new TcpProxy(opts);
  if (opts.enabled === false) return p;
  return p.start();
}
