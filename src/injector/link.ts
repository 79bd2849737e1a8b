/**
 * One direction of a proxied connection: `upstream` (client → server) or `downstream` (server →
 * client). With no fault a link is a straight pipe; with faults each chunk runs through the faults'
 * stages in the order the faults were added, and is written no earlier than its stages allow.
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
  /** Counts bytes read on a link (the proxy's per-direction counters). */
  countRead(direction: Direction, bytes: number): void;
  reset(reason: string): void;
  close(reason: string): void;
}

const HIGH_WATER = 1 << 20; // bytes queued on a faulted link before the source is paused

const nowMs = (): number => performance.now();

export class Link implements LinkContext {
  readonly direction: Direction;
  readonly connectionId: number;
  readonly rng: Rng;
  stages: Array<{ fault: ActiveFault; stage: Stage }> = [];
  private queue: Chunk[] = [];
  private queuedBytes = 0;
  private pumping = false;
  private srcEnded = false;
  private endSent = false;
  private conn: LinkHost;

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

  onData(data: Buffer): void {
    this.conn.countRead(this.direction, data.length);
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
            if (wait > 0.5) await sleep(wait, this.conn.closedSignal);
            if (this.conn.closed) return;
          }
          const delayUs = Math.max(1, Math.round((nowMs() - c.readAt) * 1000));
          for (const { fault, stage } of stages) {
            if (stage.measuresDelay) fault.stats.recordDelay(delayUs);
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

  attach(fault: ActiveFault, stage: Stage): void {
    this.stages.push({ fault, stage });
    this.stages.sort((a, b) => a.fault.addedOrder - b.fault.addedOrder);
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

