/**
 * One direction of a proxied connection: `upstream` (client → server) or `downstream` (server →
 * client).
 *
 * A link is in one of two modes:
 * - **plain** (no active stage, nothing queued, destination connected): bytes flow without the link
 *   looking at them — each socket's reads land in a reused buffer (`onread`, see read-buffer.ts and
 *   accepted-socket.ts) that is written to the other socket as is. No per-chunk object, timer or
 *   statistic; bytes are counted by the sockets.
 * - **staged**: each chunk is queued and runs through the faults' stages in the order the faults were
 *   added, and is written no earlier than its stages allow.
 *
 * Attaching a stage switches to staged at once (what was already written stays ahead of what is
 * queued); when the last stage is detached the queue drains through the staged path first, then the
 * link goes plain again — bytes are neither lost nor reordered by a switch.
 */
import type net from 'node:net';
import { sleep, type Rng } from '../shared/index.ts';
import type { Chunk, Direction, LinkContext, Stage } from './faults.ts';
import type { ActiveFault } from './active-faults.ts';

/** What a link needs from its connection. */
export interface LinkHost {
  readonly id: number;
  readonly client: net.Socket;
  readonly upstream: net.Socket | undefined;
  /** The upstream socket is connected (a downstream link is always ready). */
  readonly upstreamReady: boolean;
  readonly upstreamConnected: Promise<void>;
  readonly closed: boolean;
  readonly closedSignal: AbortSignal;
  /** Counts a chunk that went through the staged path (the proxy's per-direction chunk counters). */
  countChunk(direction: Direction): void;
  reset(reason: string): void;
  close(reason: string): void;
}

const HIGH_WATER = 1 << 20; // bytes queued on a faulted link before the source is paused

const nowMs = (): number => performance.now();

interface Attached {
  readonly fault: ActiveFault;
  readonly stage: Stage;
}

/** Resolves when `s` drains or closes, leaving neither listener behind. */
function drainedOrClosed(s: net.Socket): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      s.off('drain', done);
      s.off('close', done);
      resolve();
    };
    s.on('drain', done);
    s.on('close', done);
  });
}

const isPromise = <T>(v: T | Promise<T>): v is Promise<T> => typeof (v as { then?: unknown } | null)?.then === 'function';

export class Link implements LinkContext {
  readonly direction: Direction;
  readonly connectionId: number;
  readonly rng: Rng;
  /** Replaced (never mutated) on attach/detach, so the pump can hold a snapshot without copying. */
  stages: readonly Attached[] = [];
  /** Bytes flow without the link (see the file comment). */
  plain = false;
  private queue: Chunk[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private pumping = false;
  private srcEnded = false;
  private endSent = false;
  /** The source is paused until the destination drains (plain mode backpressure). */
  private awaitingDrain = false;
  private readonly conn: LinkHost;

  constructor(conn: LinkHost, direction: Direction, rng: Rng) {
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
  sleep = sleep; // the shared abortable sleep (src/shared/timers.ts)
  reset = (reason: string): void => this.conn.reset(reason);
  close = (reason: string): void => this.conn.close(reason);

  /** A chunk read on the staged path (a copied read, or a read buffer handed over). */
  readonly onData = (data: Buffer): void => {
    this.conn.countChunk(this.direction);
    this.queue.push({ data, readAt: nowMs() });
    this.queuedBytes += data.length;
    if (this.queuedBytes > HIGH_WATER) this.src?.pause();
    void this.pump();
  };

  /**
   * Plain mode: writes a chunk straight to the destination. Returns false when the destination is
   * full (the source is paused until it drains).
   */
  writePlain(data: Buffer): boolean {
    const dst = this.dst;
    if (!dst || dst.destroyed) return true;
    if (dst.write(data)) return true;
    this.pauseUntilDrain(dst);
    return false;
  }

  onEnd(): void {
    this.srcEnded = true;
    if (this.plain) {
      this.plain = false;
      this.sendEnd();
      return;
    }
    void this.pump();
  }

  /** Kick the pump (e.g. when the upstream connects or a stage is detached); goes plain when nothing is left to do. */
  kick(): void {
    if (this.queueHead < this.queue.length || (this.srcEnded && !this.endSent)) void this.pump();
    else this.settle();
  }

  private pauseUntilDrain(dst: net.Socket): void {
    const src = this.src;
    if (!src) return;
    src.pause();
    if (this.awaitingDrain) return;
    this.awaitingDrain = true;
    dst.once('drain', () => {
      this.awaitingDrain = false;
      // Staged mode resumes by its own queue accounting.
      if (this.plain || this.queuedBytes <= HIGH_WATER / 2) src.resume();
    });
  }

  private sendEnd(): void {
    if (this.endSent) return;
    this.endSent = true;
    const dst = this.dst;
    if (dst && !dst.destroyed) dst.end();
  }

  /** Goes plain when nothing stands in the way, staged otherwise. */
  private settle(): void {
    this.plain = this.stages.length === 0 && !this.pumping && this.queueHead >= this.queue.length && this.dstReady && !this.srcEnded && !this.conn.closed;
  }

  /** Runs one chunk through a snapshot of the stages (no array is allocated for a one-chunk result). */
  private async runStages(first: Chunk, stages: readonly Attached[]): Promise<Chunk[]> {
    let chunks: Chunk[] = [first];
    for (const { stage } of stages) {
      let next: Chunk[] | undefined;
      for (const c of chunks) {
        const r = stage.process(c);
        const out = isPromise(r) ? await r : r;
        if (next === undefined) next = out;
        else for (const o of out) next.push(o);
      }
      chunks = next ?? [];
      if (chunks.length === 0) break;
    }
    return chunks;
  }

  private async writeStaged(c: Chunk, stages: readonly Attached[]): Promise<boolean> {
    if (c.notBefore !== undefined) {
      const wait = c.notBefore - nowMs();
      if (wait > 0.5) await sleep(wait, this.conn.closedSignal);
      if (this.conn.closed) return false;
    }
    let delayUs = -1;
    for (const { fault, stage } of stages) {
      if (!stage.measuresDelay) continue;
      if (delayUs < 0) delayUs = Math.max(1, Math.round((nowMs() - c.readAt) * 1000));
      fault.stats.recordDelay(delayUs);
    }
    const dst = this.dst;
    if (!dst || dst.destroyed) return true;
    if (!dst.write(c.data)) await drainedOrClosed(dst);
    return true;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queueHead < this.queue.length && !this.conn.closed) {
        const first = this.queue[this.queueHead] as Chunk;
        this.queue[this.queueHead++] = undefined as unknown as Chunk;
        if (this.queueHead === this.queue.length) {
          this.queue.length = 0;
          this.queueHead = 0;
        }
        this.queuedBytes -= first.data.length;
        const stages = this.stages;
        const chunks = stages.length === 0 ? [first] : await this.runStages(first, stages);
        if (this.conn.closed) return;
        if (!this.dstReady) await this.conn.upstreamConnected;
        if (this.conn.closed) return;
        for (const c of chunks) if (!(await this.writeStaged(c, stages))) return;
        if (this.queuedBytes <= HIGH_WATER / 2 && !this.awaitingDrain && this.src?.isPaused()) this.src.resume();
      }
      if (this.srcEnded && !this.endSent && this.queueHead >= this.queue.length && !this.conn.closed) {
        for (const { stage } of this.stages) await stage.beforeEnd?.();
        if (!this.dstReady) await this.conn.upstreamConnected;
        this.sendEnd();
      }
    } finally {
      this.pumping = false;
    }
    // Chunks that arrived while we were finishing; otherwise back to plain when the stages are gone.
    if (this.queueHead < this.queue.length && !this.conn.closed) void this.pump();
    else this.settle();
  }

  attach(fault: ActiveFault, stage: Stage): void {
    this.stages = [...this.stages, { fault, stage }].sort((a, b) => a.fault.addedOrder - b.fault.addedOrder);
    this.plain = false;
    stage.attach?.();
  }

  detach(fault: ActiveFault): void {
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
