/**
 * A proxied TCP connection: the accepted client socket, the upstream socket it dials, and its two
 * links (`up`: client → server, `down`: server → client). Resets propagate as resets, other errors
 * as closes; a balancer may redispatch a connection whose dial failed.
 */
import net from 'node:net';
import { parseHostPort, type NetworkPolicy, type Rng } from '../shared/index.ts';
import type { Direction } from './faults.ts';
import type { Balancer, RoutedConnection } from './balancer.ts';
import { Link, type LinkHost } from './link.ts';
import { ReadBuffer } from './read-buffer.ts';
import { resetSocket } from './socket-reset.ts';
import { withOnread } from './accepted-socket.ts';

/** What a connection needs from the proxy that accepted it. */
export interface ConnectionOwner {
  readonly network: NetworkPolicy;
  readonly balancer: Balancer | undefined;
  readonly counters: {
    upstreamErrors: number;
    reset: number;
    /** Bytes read per direction by connections that have finished (live ones are counted by their sockets). */
    bytes: Record<Direction, number>;
    /** Chunks that went through the staged path (a link with faults), per direction. */
    chunks: Record<Direction, number>;
  };
  warnNotLoopback(upstream: string): void;
  /** Re-attaches upstream-targeted faults after the connection moved to another upstream. */
  retarget(conn: Connection): void;
  /** The connection is finished: drop it. */
  forget(conn: Connection): void;
}

/** The abort reason of a closed connection's signal (nothing reads it; one spares a DOMException per close). */
const CLOSED = new Error('connection closed');

export class Connection implements LinkHost, RoutedConnection {
  readonly id: number;
  readonly proxy: ConnectionOwner;
  readonly client: net.Socket;
  upstream: net.Socket | undefined;
  upstreamReady = false;
  closed = false;
  /** Balancer proxies: the upstream this connection was routed to (its name). */
  routedTo: string | undefined;
  /** Client bytes read when the upstream last answered (for `awaiting`). */
  private answeredUpTo = 0;
  /** What the client socket reads into. */
  private readonly clientReads = new ReadBuffer();
  /** What the upstream socket reads into (created with the dial). */
  private reads: ReadBuffer | undefined;
  /** Faults that applied to this connection at least once (for the per-fault connection count). */
  readonly faultsSeen = new WeakSet<object>();
  private readonly closing = new AbortController();
  readonly closedSignal = this.closing.signal;
  readonly up: Link;
  readonly down: Link;
  private resolveUpstream!: () => void;
  readonly upstreamConnected: Promise<void>;

  /** `accepted`: a socket the proxy's listener accepted paused (it has not read yet). */
  constructor(proxy: ConnectionOwner, id: number, accepted: net.Socket, rng: Rng) {
    this.proxy = proxy;
    this.id = id;
    this.upstreamConnected = new Promise<void>((r) => (this.resolveUpstream = r));
    this.up = new Link(this, 'upstream', rng.fork('upstream'));
    this.down = new Link(this, 'downstream', rng.fork('downstream'));
    // The upstream link is staged until the upstream connects (its reads queue until then).
    const client = withOnread(accepted, { buffer: this.clientReads.next, callback: this.onClientRead });
    this.client = client;
    client.setNoDelay(true);
    client.on('end', () => this.up.onEnd());
    client.on('error', (e: NodeJS.ErrnoException) => this.onSocketError('client', e));
    client.on('close', () => this.onSocketClose());
    this.down.kick(); // plain until a fault attaches
  }

  /** The client sent bytes the upstream has not answered yet (a request in flight). */
  get awaiting(): boolean {
    return this.client.bytesRead > this.answeredUpTo;
  }
  set awaiting(v: boolean) {
    this.answeredUpTo = v ? -1 : this.client.bytesRead;
  }

  countChunk(direction: Direction): void {
    this.proxy.counters.chunks[direction]++;
  }

  /** Bytes read so far from the client (upstream direction) and from the upstream (downstream). */
  bytesRead(direction: Direction): number {
    return direction === 'upstream' ? this.client.bytesRead : (this.upstream?.bytesRead ?? 0);
  }

  /**
   * Reads of either socket land in its own ReadBuffer. Plain: written to the other socket as they
   * are (the write keeps the buffer when it could not complete at once). Staged: the chunk outlives
   * the read, so a small read is copied and a large one keeps the buffer. A chunk that is not the
   * ReadBuffer's own (a socket without `onread`, see accepted-socket.ts) is passed on as it is.
   */
  private deliver(link: Link, reads: ReadBuffer, n: number, buf: Buffer): void {
    const own = reads.holds(buf);
    if (link.plain) {
      link.writePlain(own ? buf.subarray(0, n) : buf);
      const dst = link.dst;
      if (own && dst && dst.writableLength !== 0) reads.handOver();
    } else if (!own) {
      link.onData(buf);
    } else if (n * 2 < buf.length) {
      link.onData(Buffer.from(buf.subarray(0, n)));
    } else {
      link.onData(buf.subarray(0, n));
      reads.handOver();
    }
    if (own) reads.grow(n);
  }

  private readonly onClientRead = (n: number, buf: Buffer): boolean => {
    this.deliver(this.up, this.clientReads, n, buf);
    return true;
  };

  private readonly onUpstreamRead = (n: number, buf: Buffer): boolean => {
    this.answeredUpTo = this.client.bytesRead;
    this.deliver(this.down, this.reads as ReadBuffer, n, buf);
    return true;
  };

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
    this.reads ??= new ReadBuffer();
    const sock = net.connect({ host, port, allowHalfOpen: true, noDelay: true, onread: { buffer: this.reads.next, callback: this.onUpstreamRead } });
    this.upstream = sock;
    sock.on('connect', () => {
      this.upstreamReady = true;
      this.resolveUpstream();
      this.up.kick();
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
      if (s) resetSocket(s);
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
    this.proxy.counters.bytes.upstream += this.bytesRead('upstream');
    this.proxy.counters.bytes.downstream += this.bytesRead('downstream');
    this.closing.abort(CLOSED);
    this.up.detachAll();
    this.down.detachAll();
    this.resolveUpstream();
    this.proxy.forget(this);
  }
}

