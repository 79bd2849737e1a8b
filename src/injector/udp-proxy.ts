/**
 * UDP listener mode: a datagram proxy with per-datagram latency/jitter, real loss, duplication and
 * reordering, per direction. Each client address gets its own upstream socket (a session), so
 * replies find their way back. Every draw is seeded per proxy, session and direction.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { assertAllowed, atMonotonic, didYouMean, FaultlineError, InputError, LOOPBACK_ONLY, parseHostPort, Rng, setLongTimeout, type LongTimer, type NetworkPolicy, type Seed } from '../shared/index.ts';
import { describeValue, drawLatency, JITTER_DISTRIBUTIONS, MAX_FAULT_DELAY_MS, MAX_LEASE_MS, type Direction, type JitterDistribution } from './faults.ts';

export interface UdpFaults {
  latency?: number;
  jitter?: number;
  distribution?: JitterDistribution;
  /** Probability a datagram is dropped (really lost: this is UDP). */
  loss?: number;
  /** Probability a datagram is sent twice. */
  duplicate?: number;
  /** Probability a datagram is held back by `reorderDelay` ms so later ones overtake it. */
  reorder?: number;
  reorderDelay?: number;
  /** Probability (0..1, default 1) that these faults apply to a session (client address) in this direction; drawn per session, seeded. */
  toxicity?: number;
  /** Lease: the faults of this direction heal themselves after this many ms. */
  ttlMs?: number;
}

export interface UdpProxyOptions {
  name: string;
  listen?: string;
  upstream: string;
  seed?: Seed;
  faults?: Partial<Record<Direction, UdpFaults>>;
  /** Addresses outside loopback it may listen on or send to (default: loopback only). */
  network?: NetworkPolicy;
}

export interface UdpDirectionStats {
  received: number;
  sent: number;
  lost: number;
  duplicated: number;
  reordered: number;
  /** Sessions × this direction on which the faults applied, and on which toxicity said no. */
  sessionsApplied: number;
  sessionsSkipped: number;
}

export interface UdpProxy extends AsyncDisposable {
  readonly name: string;
  readonly listenHost: string;
  readonly listenPort: number;
  readonly seed: string;
  setFaults(direction: Direction | 'both', faults: UdpFaults): void;
  heal(): void;
  stats(): { name: string; seed: string; sessions: number; upstream: UdpDirectionStats; downstream: UdpDirectionStats };
  stop(): Promise<void>;
}

const UDP_KEYS = ['latency', 'jitter', 'distribution', 'loss', 'duplicate', 'reorder', 'reorderDelay', 'toxicity', 'ttlMs'] as const;

/** Type-strict (null and strings are refused, never coerced), ranged, and unknown keys refused with a "did you mean". */
function validate(f: UdpFaults): UdpFaults {
  for (const k of Object.keys(f)) {
    if (!(UDP_KEYS as readonly string[]).includes(k)) throw new InputError('FAULTLINE_INJECTOR_ATTRIBUTE', `unknown UDP fault key '${k}'${didYouMean(k, UDP_KEYS)} (known: ${UDP_KEYS.join(', ')})`, { field: k });
  }
  const inRange = (v: unknown, max: number): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= max;
  for (const k of ['loss', 'duplicate', 'reorder', 'toxicity'] as const) {
    if (f[k] !== undefined && !inRange(f[k], 1)) throw new InputError('FAULTLINE_INJECTOR_ATTRIBUTE', `${k} must be a number in [0, 1], got ${describeValue(f[k])}`, { field: k });
  }
  if (f.ttlMs !== undefined && !(inRange(f.ttlMs, MAX_LEASE_MS) && f.ttlMs > 0)) {
    throw new InputError('FAULTLINE_INJECTOR_TTL', `ttlMs must be a number of ms in (0, ${MAX_LEASE_MS}], got ${describeValue(f.ttlMs)}`, { field: 'ttlMs' });
  }
  for (const k of ['latency', 'jitter', 'reorderDelay'] as const) {
    if (f[k] !== undefined && !inRange(f[k], MAX_FAULT_DELAY_MS)) throw new InputError('FAULTLINE_INJECTOR_ATTRIBUTE', `${k} must be a number of ms in [0, ${MAX_FAULT_DELAY_MS}], got ${describeValue(f[k])}`, { field: k });
  }
  if (f.distribution !== undefined && !JITTER_DISTRIBUTIONS.includes(f.distribution)) {
    throw new InputError('FAULTLINE_INJECTOR_ATTRIBUTE', `distribution must be one of ${JITTER_DISTRIBUTIONS.join(', ')}, got ${describeValue(f.distribution)}`, { field: 'distribution' });
  }
  return { ...f };
}

const emptyStats = (): UdpDirectionStats => ({ received: 0, sent: 0, lost: 0, duplicated: 0, reordered: 0, sessionsApplied: 0, sessionsSkipped: 0 });

interface SessionLink {
  rng: Rng;
  /** The fault generation this session's toxicity was drawn for, and the draw. */
  generation: number;
  applies: boolean;
}

/** What the datagram path reads and counts: the faults per direction, their generation, the counters, and delayed datagrams. */
interface FaultState {
  faults: Record<Direction, UdpFaults>;
  // Every setFaults/heal bumps the generation, so toxicity is re-drawn per session for the new faults.
  generation: Record<Direction, number>;
  leases: Partial<Record<Direction, LongTimer>>;
  counters: Record<Direction, UdpDirectionStats>;
  // Delayed datagrams wait on the monotonic clock and never leave early; stop() cancels the ones in flight.
  // (One cancel handle each, not a listener per datagram on a shared AbortSignal: that list is O(n) per add/remove.)
  inFlight: Set<{ cancel: () => void }>;
}

/** Whether this direction's faults apply to this session: toxicity drawn once per session and fault generation. */
function faultsApply(state: FaultState, dir: Direction, link: SessionLink): boolean {
  if (link.generation !== state.generation[dir]) {
    link.generation = state.generation[dir];
    const t = state.faults[dir].toxicity ?? 1;
    link.applies = t >= 1 || link.rng.fork(`toxicity:${link.generation}`).next() < t;
    if (link.applies) state.counters[dir].sessionsApplied++;
    else state.counters[dir].sessionsSkipped++;
  }
  return link.applies;
}

/** Runs `go` now, or after `delay` ms on the monotonic clock (cancellable through `inFlight`). */
function sendAfter(inFlight: FaultState['inFlight'], delay: number, go: () => void): void {
  if (delay <= 0) {
    go();
    return;
  }
  const h = { cancel: (): void => {} };
  inFlight.add(h);
  h.cancel = atMonotonic(performance.now() + delay, () => {
    inFlight.delete(h);
    go();
  });
}

/** One datagram through one direction's faults: lost, or sent (once or twice) after its drawn delay. */
function deliver(state: FaultState, dir: Direction, link: SessionLink, msg: Buffer, send: (m: Buffer) => void): void {
  const c = state.counters[dir];
  c.received++;
  const f = faultsApply(state, dir, link) ? state.faults[dir] : {};
  const r = link.rng;
  if (f.loss && r.chance(f.loss)) {
    c.lost++;
    return;
  }
  let delay = drawLatency(r, f.latency ?? 0, f.jitter ?? 0, f.distribution ?? 'uniform');
  if (f.reorder && r.chance(f.reorder)) {
    delay += f.reorderDelay ?? 10;
    c.reordered++;
  }
  const copies = f.duplicate && r.chance(f.duplicate) ? 2 : 1;
  if (copies === 2) c.duplicated++;
  for (let i = 0; i < copies; i++) {
    sendAfter(state.inFlight, delay, () => {
      c.sent++;
      send(msg);
    });
  }
}

/** Replaces one direction's faults (new generation) and restarts its lease: with ttlMs they heal themselves. */
function setDirectionFaults(state: FaultState, dir: Direction, f: UdpFaults): void {
  const { leases } = state;
  state.faults[dir] = { ...f };
  state.generation[dir]++;
  leases[dir]?.clear();
  delete leases[dir];
  if (f.ttlMs !== undefined) {
    const t = setLongTimeout(() => {
      if (leases[dir] === t) setDirectionFaults(state, dir, {});
    }, f.ttlMs);
    leases[dir] = t;
  }
}

interface Session {
  sock: dgram.Socket;
  link: Record<Direction, SessionLink>;
}

/** A new client address: its own upstream socket, whose replies go back to that client through the downstream faults. */
function openSession(state: FaultState, front: dgram.Socket, upstreamHost: string, srng: Rng, client: dgram.RemoteInfo): Session {
  const sock = dgram.createSocket(isIPv6(upstreamHost) ? 'udp6' : 'udp4');
  const session: Session = { sock, link: { upstream: { rng: srng.fork('upstream'), generation: 0, applies: true }, downstream: { rng: srng.fork('downstream'), generation: 0, applies: true } } };
  sock.on('message', (reply) => deliver(state, 'downstream', session.link.downstream, reply, (m) => front.send(m, client.port, client.address)));
  sock.on('error', () => {});
  return session;
}

function bindFront(front: dgram.Socket, name: string, listen: { host: string; port: number }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    front.once('error', (e) => reject(new FaultlineError('FAULTLINE_INJECTOR_LISTEN', `UDP proxy '${name}' cannot bind: ${e.message}`, { cause: e })));
    front.bind(listen.port, listen.host, () => resolve());
  });
}

export async function startUdpProxy(opts: UdpProxyOptions): Promise<UdpProxy> {
  const listen = parseHostPort(opts.listen ?? '127.0.0.1:0', 'listen');
  const network = opts.network ?? LOOPBACK_ONLY;
  assertAllowed(listen.host, 'UDP proxy listen address', 'listen', network);
  const upstream = parseHostPort(opts.upstream, 'upstream');
  assertAllowed(upstream.host, 'UDP proxy upstream', 'upstream', network);
  const seed = String(opts.seed ?? 0);
  const rng = Rng.fromSeed(seed).fork(`udp:${opts.name}`);
  const state: FaultState = {
    faults: { upstream: validate(opts.faults?.upstream ?? {}), downstream: validate(opts.faults?.downstream ?? {}) },
    generation: { upstream: 1, downstream: 1 },
    leases: {},
    counters: { upstream: emptyStats(), downstream: emptyStats() },
    inFlight: new Set(),
  };
  const front = dgram.createSocket(isIPv6(listen.host) ? 'udp6' : 'udp4');
  const sessions = new Map<string, Session>();
  let nextSession = 1;

  front.on('message', (msg, rinfo) => {
    const key = `${rinfo.address}:${rinfo.port}`;
    let session = sessions.get(key);
    if (!session) {
      session = openSession(state, front, upstream.host, rng.fork(`session:${nextSession++}`), rinfo);
      sessions.set(key, session);
    }
    const sock = session.sock;
    deliver(state, 'upstream', session.link.upstream, msg, (m) => sock.send(m, upstream.port, upstream.host));
  });

  await bindFront(front, opts.name, listen);
  const port = front.address().port;
  let stopped = false;
  for (const dir of ['upstream', 'downstream'] as const) if (state.faults[dir].ttlMs !== undefined) setDirectionFaults(state, dir, state.faults[dir]);

  const proxy: UdpProxy = {
    name: opts.name,
    listenHost: listen.host,
    listenPort: port,
    seed,
    setFaults(direction, f) {
      const v = validate(f);
      for (const dir of ['upstream', 'downstream'] as const) {
        if (direction !== 'both' && direction !== dir) continue;
        setDirectionFaults(state, dir, v);
      }
    },
    heal() {
      setDirectionFaults(state, 'upstream', {});
      setDirectionFaults(state, 'downstream', {});
    },
    stats: () => ({ name: opts.name, seed, sessions: sessions.size, upstream: { ...state.counters.upstream }, downstream: { ...state.counters.downstream } }),
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const h of state.inFlight) h.cancel();
      state.inFlight.clear();
      state.leases.upstream?.clear();
      state.leases.downstream?.clear();
      for (const s of sessions.values()) s.sock.close();
      await new Promise<void>((r) => front.close(() => r()));
    },
    [Symbol.asyncDispose]: () => proxy.stop(),
  };
  return proxy;
}
