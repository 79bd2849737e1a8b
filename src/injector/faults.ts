/**
 * The fault (toxic) registry: a typed const map from type name to its attribute defaults, validation
 * and stage factory. Toxiproxy's own types keep their names and attribute meanings; faultline's extra
 * types (`loss`, `partition`) and extra attributes (`distribution`, `scope`, …) are additions a
 * Toxiproxy client can ignore.
 *
 * One fault = one small stage behind one contract (`Stage`); toxicity and direction belong to the link.
 */
import { checkResourceName, didYouMean, InputError, type Rng } from '../shared/index.ts';

export type Stream = 'upstream' | 'downstream' | 'both';
export type Direction = 'upstream' | 'downstream';

/** What a user asks for (library API and control plane alike). */
export interface FaultSpec {
  type: string;
  name?: string;
  stream?: Stream;
  /** Probability (0..1) that the fault applies to a given connection's link; drawn per link, seeded. */
  toxicity?: number;
  attributes?: Record<string, unknown>;
  /** Lease: the fault removes itself after this many milliseconds. */
  ttlMs?: number;
  /** Balancer proxies: apply only to connections routed to this upstream (name or address). */
  upstream?: string;
}

/** A fault as the proxy holds it: the spec normalised (defaults applied, validated). */
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

/** A data chunk as read from a socket: one read(), with the monotonic time it was read. */
export interface Chunk {
  data: Buffer;
  readAt: number;
  /** Monotonic time before which the link must not write this chunk (pacing of slices). */
  notBefore?: number;
}

/** What a stage can see and do on its link. */
export interface LinkContext {
  readonly direction: Direction;
  readonly connectionId: number;
  now(): number;
  /** Sleep that ends early (resolving, not rejecting) when `signal` aborts: heal flushes in-flight data. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Close both sockets with RST. */
  reset(reason: string): void;
  /** Close both sockets gracefully. */
  close(reason: string): void;
}

/** Per-fault counters, shared by every link the fault is attached to. */
export interface FaultRecorder {
  chunk(bytes: number): void;
  delay(ms: number): void;
  stall(ms: number): void;
  /** Bytes a rate limiter let through and the wall time (ms) they actually occupied the paced pipe. */
  paced(bytes: number, busyMs: number): void;
  drop(bytes: number): void;
  reset(): void;
  close(): void;
}

/** One fault's behaviour on one link. `process` returns the chunks to pass on (none = swallowed). */
export interface Stage {
  process(chunk: Chunk): Chunk[] | Promise<Chunk[]>;
  /** Called once when the stage is attached to a live link (timers start here). */
  attach?(): void;
  /** Called on EOF from the source, before the destination is ended (slow_close). */
  beforeEnd?(): Promise<void> | void;
  /** The fault was removed (heal): release everything held, stop timers. */
  detach(): void;
  /** Whether achieved delay of chunks through this stage is recorded against the fault. */
  readonly measuresDelay?: boolean;
}

export interface StageContext {
  link: LinkContext;
  attrs: Record<string, unknown>;
  rng: Rng;
  rec: FaultRecorder;
  /** State shared by all links of this fault (e.g. proxy-wide bandwidth bucket). */
  shared: Map<string, unknown>;
}

/** What a new client connection meets while a fault is active: RST at once, accepted with its upstream dial held until the fault goes, or accepted. */
export type AcceptDecision = 'refuse' | 'hold-dial' | 'accept';

/** What a fault's connection hooks may do to the proxy. */
export interface ProxyControl {
  /** RSTs every open connection; returns how many. */
  resetConnections(reason: string): number;
  /** Closes the listener: new connections are refused by the OS. */
  closeListener(): void;
  /** Re-opens the listener, unless the proxy is disabled or stopped or another active fault keeps it closed. */
  reopenListener(): void;
  /** Dials the connections whose dial was held, unless another active fault still holds them. */
  releaseHeldDials(): void;
}

/**
 * Connection-level behaviour, for faults that act on connections and the listener rather than
 * (only) on the chunks of a link. The proxy calls these hooks; it knows no fault type by name.
 */
export interface ConnectionHooks {
  /** Which connections the fault's stages attach to: open when it is added, accepted later, or both (default both). */
  scope?(f: FaultInfo): 'existing' | 'new' | 'both';
  /** A client connects while the fault is active (default accept). */
  onAccept?(f: FaultInfo): AcceptDecision;
  /** Whether the listener stays closed while the fault is active (checked at start and before a re-open). */
  holdsListenerClosed?(f: FaultInfo): boolean;
  /** The fault was added: its effect on open connections and the listener. */
  onAdd?(f: FaultInfo, proxy: ProxyControl, rec: FaultRecorder): void;
  /** The fault was removed: undo what it did to the listener and held dials. */
  onRemove?(f: FaultInfo, proxy: ProxyControl): void;
}

/** One attribute's documented range: a number in [min, max] (in `unit`) or one of `values`. */
export type AttributeRange =
  | { kind: 'number'; min: number; max: number; unit: string; integer?: boolean }
  | { kind: 'enum'; values: readonly string[] };

export interface FaultType {
  /** Toxiproxy attribute defaults (echoed back by the API). */
  defaults: Record<string, number | string | boolean>;
  /** Every attribute the type accepts and its range; any other key is refused. */
  attributes: Record<string, AttributeRange>;
  /** True for faults that exist in Toxiproxy (same name, same meaning). */
  toxiproxy: boolean;
  /** Cross-attribute checks beyond the ranges (optional); throws InputError with the field name. */
  validate?(attrs: Record<string, unknown>): void;
  /** Creates the stage for one link. Undefined for faults that act on connections, not chunks. */
  stage?(ctx: StageContext): Stage;
  /** Connection-level behaviour (partition). */
  connections?: ConnectionHooks;
  summary: string;
}

// ---------- helpers ----------

function num(attrs: Record<string, unknown>, key: string): number {
  return Number(attrs[key] ?? 0);
}

function passthrough(): Stage {
  return { process: (c) => [c], detach: () => {} };
}

/**
 * The abort reason of a detached stage. Nothing reads it (sleeps resolve on abort, see
 * src/shared/timers.ts); passing one spares each abort a DOMException with its stack (measured 12.6 µs
 * per abort without a reason, 5.8 µs with one), which a heal pays once per link.
 */
const DETACHED = new Error('fault detached');

/** A stage that holds every chunk until detached (heal), then lets them through in order. */
function holdUntilDetached(rec: FaultRecorder, onHold?: () => void): Stage {
  const released = new AbortController();
  let waiter: Promise<void> | undefined;
  return {
    process: async (c) => {
      if (released.signal.aborted) return [c];
      onHold?.();
      waiter ??= new Promise<void>((r) => released.signal.addEventListener('abort', () => r(), { once: true }));
      rec.chunk(c.data.length);
      await waiter;
      return [c];
    },
    detach: () => released.abort(DETACHED),
  };
}

export const JITTER_DISTRIBUTIONS = ['uniform', 'normal', 'pareto'] as const;
export type JitterDistribution = (typeof JITTER_DISTRIBUTIONS)[number];

/**
 * Draws one latency target (ms):
 * - uniform: latency + U[-jitter, +jitter)  (Toxiproxy's semantics, continuous instead of integer ms)
 * - normal:  latency + N(0, jitter²)        (jitter is the standard deviation)
 * - pareto:  latency + Lomax(alpha, λ) with mean = jitter (λ = jitter·(alpha−1)); latency is the minimum
 * Negative draws clamp to 0.
 */
export function drawLatency(rng: Rng, latency: number, jitter: number, dist: JitterDistribution, alpha = 3): number {
  if (jitter <= 0) return Math.max(0, latency);
  let d: number;
  switch (dist) {
    case 'uniform':
      d = latency + rng.uniform(-jitter, jitter);
      break;
    case 'normal':
      d = rng.normal(latency, jitter);
      break;
    case 'pareto': {
      const lambda = jitter * (alpha - 1);
      let u = 0;
      while (u === 0) u = rng.next();
      d = latency + lambda * (Math.pow(u, -1 / alpha) - 1);
      break;
    }
  }
  return Math.max(0, d);
}

export interface LossParams {
  probability: number;
  correlation: number;
  rto: number;
  maxRto: number;
}

/** Cap on one chunk's total stall (an hour): `probability + correlation = 1` would otherwise never end. */
export const MAX_LOSS_STALL_MS = 3_600_000;

/**
 * One chunk's fate under TCP loss, as pure logic. Each (re)transmission is lost with `probability`, or
 * with `probability + correlation` right after a lost transmission (a simplified Gilbert–Elliott burst:
 * correlation lengthens runs of consecutive losses, hence the backoff chains). The k-th
 * consecutive loss costs `min(rto · 2^(k−1), maxRto)` ms, so the chunk is delivered after
 * rto, 3·rto, 7·rto, … ms. Returns the total stall and how many transmissions were lost.
 */
export function drawLossStall(rng: Rng, p: LossParams): { stallMs: number; losses: number } {
  let stallMs = 0;
  let losses = 0;
  let rto = p.rto;
  // The first transmission of a chunk follows a delivered one (the previous chunk's), so it draws `probability`.
  while (stallMs < MAX_LOSS_STALL_MS && rng.chance(losses > 0 ? Math.min(1, p.probability + p.correlation) : p.probability)) {
    stallMs += rto;
    rto = Math.min(rto * 2, p.maxRto);
    losses++;
  }
  return { stallMs: Math.min(stallMs, MAX_LOSS_STALL_MS), losses };
}

/** Token-bucket pacing state: `rate` bytes per ms; `nextFree` is when the pipe is free again. */
interface Pacer {
  /** When the emulated pipe has sent everything scheduled so far. */
  nextFree: number;
  /** When the last slice was actually released (for the achieved rate). */
  released: number;
}

/** How far behind its schedule a busy pipe may catch up (one slice of 100 ms, see `pace`). */
const PACER_CATCH_UP_MS = 100;

/**
 * The bandwidth fault's pipe: a slice starts when the pipe is free and its bytes are there, and takes
 * bytes / rate. Bytes that were waiting while the pipe was busy (the rest of a chunk, or a chunk read
 * before the pipe freed) start right when it frees, on schedule, even if this process resumes late:
 * a timer that fires late or the write between two chunks is not idle time of the pipe. Without
 * that, every late wake-up was lost and a 2,000 KB/s fault delivered 1,890–1,916 KB/s on an idle machine
 * (Toxiproxy likewise carries its timer error into the next sleep). The catch-up is bounded by one
 * slice, so a stalled process never releases more than 100 ms worth at once; bytes that arrive after the
 * pipe went idle start when they arrive.
 */
async function pace(ctx: StageContext, pacer: Pacer, chunk: Chunk, bytesPerMs: number, signal: AbortSignal): Promise<Chunk[]> {
  const out: Chunk[] = [];
  // Slices of at most 100 ms worth of bytes, as Toxiproxy does, so large chunks trickle.
  const slice = Math.max(1, Math.floor(bytesPerMs * 100));
  for (let off = 0; off < chunk.data.length; off += slice) {
    const data = chunk.data.subarray(off, Math.min(chunk.data.length, off + slice));
    const now = ctx.link.now();
    const waiting = off > 0 || chunk.readAt <= pacer.nextFree;
    const start = waiting ? Math.max(pacer.nextFree, now - PACER_CATCH_UP_MS) : Math.max(now, pacer.nextFree);
    pacer.nextFree = start + data.length / bytesPerMs;
    const wait = pacer.nextFree - now;
    if (wait > 0 && !signal.aborted) await ctx.link.sleep(wait, signal);
    // Achieved: the slice occupied the pipe from its start (or the previous slice's release, if that came
    // later) until it was actually released: lateness counts once, not again in the slice that caught up.
    if (!signal.aborted) {
      const released = ctx.link.now();
      ctx.rec.paced(data.length, Math.max(0, released - Math.max(start, pacer.released)));
      pacer.released = released;
    }
    out.push({ data, readAt: chunk.readAt });
  }
  ctx.rec.chunk(chunk.data.length);
  return out;
}

// ---------- attribute ranges ----------

/**
 * A partition's effect on connections. scope `existing` hits the connections open when it is added,
 * `new` the ones accepted later, `both` both. On a new connection: refuse and reset answer RST at
 * once; a blackhole towards the upstream (stream upstream or both) holds the dial — the SYN would not
 * get through — until the heal. When added: refuse and reset RST the open connections (unless scope
 * is new); refuse closes the listener (unless scope is existing) and re-opens it on removal.
 */
function partitionHooks(): Required<ConnectionHooks> {
  const mode = (f: FaultInfo): unknown => f.attributes.mode;
  const scope = (f: FaultInfo): 'existing' | 'new' | 'both' => f.attributes.scope as 'existing' | 'new' | 'both';
  const closesListener = (f: FaultInfo): boolean => mode(f) === 'refuse' && scope(f) !== 'existing';
  return {
    scope,
    onAccept: (f) => {
      if (scope(f) === 'existing') return 'accept';
      if (mode(f) === 'blackhole') return f.stream === 'downstream' ? 'accept' : 'hold-dial';
      return 'refuse';
    },
    holdsListenerClosed: closesListener,
    onAdd: (f, proxy, rec) => {
      if ((mode(f) === 'reset' || mode(f) === 'refuse') && scope(f) !== 'new') {
        const n = proxy.resetConnections(`partition ${String(mode(f))}`);
        for (let i = 0; i < n; i++) rec.reset();
      }
      if (closesListener(f)) proxy.closeListener();
    },
    onRemove: (f, proxy) => {
      if (closesListener(f)) proxy.reopenListener();
      proxy.releaseHeldDials();
    },
  };
}

/** Longest delay/timeout attribute: one hour (a fault that holds data longer is a partition). */
export const MAX_FAULT_DELAY_MS = 3_600_000;
const ms = (min = 0, max = MAX_FAULT_DELAY_MS): AttributeRange => ({ kind: 'number', min, max, unit: 'ms' });
const ratio: AttributeRange = { kind: 'number', min: 0, max: 1, unit: 'probability' };
const bytes = (max: number): AttributeRange => ({ kind: 'number', min: 0, max, unit: 'bytes', integer: true });
const oneOf = (values: readonly string[]): AttributeRange => ({ kind: 'enum', values });

// ---------- the registry ----------

export const FAULT_TYPES = {
  noop: {
    summary: 'passes data through unchanged',
    toxiproxy: true,
    defaults: {},
    attributes: {},
    stage: () => passthrough(),
  },

  latency: {
    summary: 'delays every chunk by latency ± jitter, measured from when the chunk was read; order preserved',
    toxiproxy: true,
    defaults: { latency: 0, jitter: 0, distribution: 'uniform' },
    attributes: { latency: ms(), jitter: ms(), distribution: oneOf(JITTER_DISTRIBUTIONS), alpha: { kind: 'number', min: 1.01, max: 100, unit: 'shape' } },
    stage: (ctx) => {
      const cancel = new AbortController();
      const dist = ctx.attrs.distribution as JitterDistribution;
      return {
        measuresDelay: true,
        process: async (c) => {
          const target = drawLatency(ctx.rng, num(ctx.attrs, 'latency'), num(ctx.attrs, 'jitter'), dist, num(ctx.attrs, 'alpha') || 3);
          const wait = c.readAt + target - ctx.link.now();
          if (wait > 0 && !cancel.signal.aborted) await ctx.link.sleep(wait, cancel.signal);
          ctx.rec.chunk(c.data.length);
          return [c];
        },
        detach: () => cancel.abort(DETACHED),
      };
    },
  },

  bandwidth: {
    summary: 'limits throughput to rate KB/s (1 KB = 1000 B), per connection or proxy-wide (scope)',
    toxiproxy: true,
    defaults: { rate: 0, scope: 'connection' },
    attributes: { rate: { kind: 'number', min: 0, max: 100_000_000, unit: 'KB/s (0 = unlimited)' }, scope: oneOf(['connection', 'proxy']) },
    stage: (ctx) => {
      const cancel = new AbortController();
      const rate = num(ctx.attrs, 'rate');
      // Proxy-wide: one pacer per direction shared by every link of this fault.
      const key = `pacer:${ctx.link.direction}`;
      let pacer: Pacer;
      if (ctx.attrs.scope === 'proxy') {
        pacer = (ctx.shared.get(key) as Pacer | undefined) ?? { nextFree: 0, released: 0 };
        ctx.shared.set(key, pacer);
      } else {
        pacer = { nextFree: 0, released: 0 };
      }
      return {
        process: (c) => (rate <= 0 || cancel.signal.aborted ? [c] : pace(ctx, pacer, c, rate, cancel.signal)),
        detach: () => cancel.abort(DETACHED),
      };
    },
  },

  loss: {
    summary:
      'TCP packet loss modelled honestly: a lost chunk is delivered late by a retransmission timeout (rto ms, doubling on consecutive losses); bytes are never dropped',
    toxiproxy: false,
    defaults: { probability: 0, rto: 200, correlation: 0, max_rto: 60_000 },
    // rto and max_rto of 0 would make a lost chunk's retransmission chain endless (a spin): at least 1 ms.
    attributes: { probability: ratio, rto: ms(1), correlation: ratio, max_rto: ms(1) },
    stage: (ctx) => {
      const cancel = new AbortController();
      return {
        measuresDelay: true,
        process: async (c) => {
          const { stallMs } = drawLossStall(ctx.rng, {
            probability: num(ctx.attrs, 'probability'),
            correlation: num(ctx.attrs, 'correlation'),
            rto: num(ctx.attrs, 'rto'),
            maxRto: num(ctx.attrs, 'max_rto'),
          });
          if (stallMs > 0) {
            ctx.rec.stall(stallMs);
            const wait = c.readAt + stallMs - ctx.link.now();
            if (wait > 0 && !cancel.signal.aborted) await ctx.link.sleep(wait, cancel.signal);
          }
          ctx.rec.chunk(c.data.length);
          return [c];
        },
        detach: () => cancel.abort(DETACHED),
      };
    },
  },

  partition: {
    summary:
      "a network partition: mode refuse (connection refused), blackhole (accept, hold, forward nothing, never close; delivered on heal like TCP retransmission) or reset (RST); scope says whether existing connections, new ones, or both are hit; stream makes it one-way",
    toxiproxy: false,
    defaults: { mode: 'blackhole', scope: 'both' },
    attributes: { mode: oneOf(['refuse', 'blackhole', 'reset']), scope: oneOf(['existing', 'new', 'both']) },
    // blackhole holds chunks on the link; refuse and reset act on connections and the listener.
    stage: (ctx) => (ctx.attrs.mode === 'blackhole' ? holdUntilDetached(ctx.rec) : passthrough()),
    connections: partitionHooks(),
  },

  timeout: {
    summary: 'stops all data (dropped) and closes the connection after timeout ms (0 = never); removing it closes the connection',
    toxiproxy: true,
    defaults: { timeout: 0 },
    attributes: { timeout: ms() },
    stage: (ctx) => {
      let timer: NodeJS.Timeout | undefined;
      let dropped = false;
      const arm = (): void => {
        const t = num(ctx.attrs, 'timeout');
        if (timer) clearTimeout(timer);
        if (t > 0) {
          timer = setTimeout(() => {
            ctx.rec.close();
            ctx.link.close('timeout');
          }, t);
        }
      };
      return {
        attach: arm,
        process: (c) => {
          dropped = true;
          ctx.rec.drop(c.data.length);
          arm(); // Toxiproxy re-arms on every chunk: an inactivity timeout.
          return [];
        },
        detach: () => {
          if (timer) clearTimeout(timer);
          // Dropped bytes would corrupt the stream: the connection is closed, as Toxiproxy does.
          if (dropped) ctx.link.close('timeout removed');
        },
      };
    },
  },

  reset_peer: {
    summary: 'drops data, then resets the connection with TCP RST timeout ms after the first chunk (or EOF) in its direction',
    toxiproxy: true,
    defaults: { timeout: 0 },
    attributes: { timeout: ms() },
    stage: (ctx) => {
      let timer: NodeJS.Timeout | undefined;
      const fire = (): void => {
        if (timer) return;
        timer = setTimeout(() => {
          ctx.rec.reset();
          ctx.link.reset('reset_peer');
        }, num(ctx.attrs, 'timeout'));
      };
      return {
        process: (c) => {
          ctx.rec.drop(c.data.length);
          fire();
          return [];
        },
        beforeEnd: () => fire(),
        detach: () => {
          if (timer) clearTimeout(timer);
        },
      };
    },
  },

  slow_close: {
    summary: 'passes data; delays the close after EOF by delay ms',
    toxiproxy: true,
    defaults: { delay: 0 },
    attributes: { delay: ms() },
    stage: (ctx) => {
      const cancel = new AbortController();
      return {
        process: (c) => [c],
        beforeEnd: () => ctx.link.sleep(num(ctx.attrs, 'delay'), cancel.signal),
        detach: () => cancel.abort(DETACHED),
      };
    },
  },

  slicer: {
    summary: 'splits chunks into pieces of average_size ± size_variation bytes, delay µs apart',
    toxiproxy: true,
    defaults: { average_size: 0, size_variation: 0, delay: 0 },
    attributes: { average_size: bytes(16 * 1024 * 1024), size_variation: bytes(16 * 1024 * 1024), delay: { kind: 'number', min: 0, max: MAX_FAULT_DELAY_MS * 1000, unit: 'µs' } },
    stage: (ctx) => {
      const cancel = new AbortController();
      return {
        process: (c) => {
          const avg = num(ctx.attrs, 'average_size');
          if (avg <= 0 || cancel.signal.aborted) return [c];
          const variation = Math.min(num(ctx.attrs, 'size_variation'), avg - 1);
          const out: Chunk[] = [];
          let off = 0;
          while (off < c.data.length) {
            const size = Math.max(1, Math.round(avg + ctx.rng.uniform(-variation, variation)));
            out.push({ data: c.data.subarray(off, off + size), readAt: c.readAt });
            off += size;
          }
          ctx.rec.chunk(c.data.length);
          // Pieces are written delay µs apart: the link waits for each piece's notBefore.
          const delayMs = num(ctx.attrs, 'delay') / 1000;
          const start = ctx.link.now();
          out.forEach((piece, i) => {
            if (i > 0 && delayMs > 0) piece.notBefore = start + i * delayMs;
          });
          return out;
        },
        detach: () => cancel.abort(DETACHED),
      };
    },
  },

  limit_data: {
    summary: 'forwards at most bytes bytes on the link, truncating the chunk that crosses the limit, then closes the connection',
    toxiproxy: true,
    defaults: { bytes: 0 },
    attributes: { bytes: bytes(Number.MAX_SAFE_INTEGER) },
    stage: (ctx) => {
      let sent = 0;
      let closed = false;
      return {
        process: (c) => {
          if (closed) return [];
          const limit = num(ctx.attrs, 'bytes');
          const room = limit - sent;
          if (c.data.length < room) {
            sent += c.data.length;
            return [c];
          }
          closed = true;
          ctx.rec.close();
          const head = c.data.subarray(0, Math.max(0, room));
          sent += head.length;
          setImmediate(() => ctx.link.close('limit_data'));
          return head.length > 0 ? [{ data: head, readAt: c.readAt }] : [];
        },
        detach: () => {},
      };
    },
  },
} as const satisfies Record<string, FaultType>;

export type FaultTypeName = keyof typeof FAULT_TYPES;
export const FAULT_TYPE_NAMES = Object.keys(FAULT_TYPES) as FaultTypeName[];

export function isFaultType(t: string): t is FaultTypeName {
  return Object.hasOwn(FAULT_TYPES, t);
}

export function faultType(t: string): FaultType {
  if (!isFaultType(t)) {
    throw new InputError('FAULTLINE_INJECTOR_FAULT_TYPE', `unknown fault type '${t}'${didYouMean(t, FAULT_TYPE_NAMES)} (known: ${FAULT_TYPE_NAMES.join(', ')})`, { field: 'type' });
  }
  return FAULT_TYPES[t];
}

/** Longest lease (`ttl`) a fault can carry: a year (long timers hold it; see shared/timers.ts). */
export const MAX_LEASE_MS = 365 * 86_400_000;

function describeRange(r: AttributeRange): string {
  if (r.kind === 'enum') return `one of ${r.values.join(', ')}`;
  return `${r.integer ? 'an integer' : 'a number'} in [${r.min}, ${r.max}] (${r.unit})`;
}

/** Documented attribute ranges of every type, as one line each (README and `--help` read the same table). */
export function describeAttributes(t: FaultTypeName): string {
  const attrs = (FAULT_TYPES[t] as FaultType).attributes;
  return Object.entries(attrs).map(([k, r]) => `${k}: ${describeRange(r)}`).join('; ');
}

/**
 * Checks attributes against the type's table: every key known (else refused, with a "did you mean"
 * for a near miss), every value of the right type and in range (null and strings are never coerced).
 */
export function validateAttributes(t: string, attrs: Record<string, unknown>): void {
  const ft = faultType(t);
  for (const [key, value] of Object.entries(attrs)) {
    const range = ft.attributes[key];
    if (range === undefined) {
      const known = Object.keys(ft.attributes);
      throw new InputError(
        'FAULTLINE_INJECTOR_ATTRIBUTE',
        `unknown attribute '${key}' for ${t}${didYouMean(key, known)} (known: ${known.join(', ') || 'none'})`,
        { field: `attributes.${key}` },
      );
    }
    const ok =
      range.kind === 'enum'
        ? typeof value === 'string' && range.values.includes(value)
        : typeof value === 'number' && Number.isFinite(value) && value >= range.min && value <= range.max && (!range.integer || Number.isInteger(value));
    if (!ok) {
      throw new InputError('FAULTLINE_INJECTOR_ATTRIBUTE', `attribute '${key}' must be ${describeRange(range)}, got ${describeValue(value)}`, {
        field: `attributes.${key}`,
      });
    }
  }
  ft.validate?.(attrs);
}

/** How a refused value is shown: its JSON and, for non-numbers, its type. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  const json = JSON.stringify(v) ?? String(v);
  const shown = json.length > 60 ? `${json.slice(0, 57)}...` : json;
  if (typeof v === 'number') return Number.isFinite(v) ? shown : String(v);
  return `${Array.isArray(v) ? 'array' : typeof v} ${shown}`;
}

/** A fault's stream as written (any case), or undefined when it names none of upstream/downstream/both. */
export function parseStream(value: unknown): Stream | undefined {
  const s = typeof value === 'string' ? value.toLowerCase() : undefined;
  return s === 'upstream' || s === 'downstream' || s === 'both' ? s : undefined;
}

/** A fault without a name is named `<type>_<stream>`, its stream `downstream` when none is given (as Toxiproxy does). */
export function defaultFaultName(type: string, stream: Stream = 'downstream'): string {
  return `${type}_${stream}`;
}

/** Checks the fields around the attributes (type-strict: never coerced). Throws InputError naming the field. */
export function validateFaultFields(spec: { stream?: unknown; toxicity?: unknown; ttlMs?: unknown; name?: unknown; attributes?: unknown }): void {
  if (spec.name !== undefined) checkResourceName(spec.name, 'fault');
  if (spec.stream !== undefined && parseStream(spec.stream) === undefined) {
    throw new InputError('FAULTLINE_INJECTOR_STREAM', `stream was invalid, can be either upstream, downstream or both (got ${describeValue(spec.stream)})`, { field: 'stream' });
  }
  if (spec.toxicity !== undefined && !(typeof spec.toxicity === 'number' && spec.toxicity >= 0 && spec.toxicity <= 1)) {
    throw new InputError('FAULTLINE_INJECTOR_TOXICITY', `toxicity must be a number in [0, 1], got ${describeValue(spec.toxicity)}`, { field: 'toxicity' });
  }
  if (spec.ttlMs !== undefined && !(typeof spec.ttlMs === 'number' && spec.ttlMs > 0 && spec.ttlMs <= MAX_LEASE_MS)) {
    throw new InputError('FAULTLINE_INJECTOR_TTL', `ttl must be a number of ms in (0, ${MAX_LEASE_MS}] (365 days), got ${describeValue(spec.ttlMs)}`, { field: 'ttl' });
  }
  if (spec.attributes !== undefined && (spec.attributes === null || typeof spec.attributes !== 'object' || Array.isArray(spec.attributes))) {
    throw new InputError('FAULTLINE_INJECTOR_ATTRIBUTE', `attributes must be an object, got ${describeValue(spec.attributes)}`, { field: 'attributes' });
  }
}

/** Normalises a spec (defaults, validation) into FaultInfo; `existing` is the fault being updated. Throws InputError naming the field. */
export function normaliseFault(spec: FaultSpec, existing?: FaultInfo): FaultInfo {
  const type = existing?.type ?? spec.type;
  const ft = faultType(type);
  validateFaultFields(spec);
  const stream = existing?.stream ?? parseStream(spec.stream) ?? 'downstream';
  const toxicity = spec.toxicity ?? existing?.toxicity ?? 1;
  const attributes: Record<string, unknown> = { ...ft.defaults, ...(existing?.attributes ?? {}), ...(spec.attributes ?? {}) };
  validateAttributes(type, attributes);
  const name = existing?.name ?? spec.name ?? defaultFaultName(type, stream);
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
