/**
 * The buffer a proxied socket reads into (`onread`, see accepted-socket.ts): one per socket, reused from
 * read to read instead of Node's fresh 64 KiB allocation per read. After each read Node asks for the
 * buffer of the next one (`next`), so a read whose bytes are still referenced — by a write that could
 * not complete at once, or by a queued chunk — hands its buffer over and the next read gets a fresh
 * one. The buffer starts small (an idle keep-alive connection holds 16 KiB) and doubles, up to
 * 256 KiB, while reads fill it (a bulk transfer then needs a quarter of the read calls).
 */
const MIN_BYTES = 16 * 1024;
const MAX_BYTES = 256 * 1024;

export class ReadBuffer {
  private buf = Buffer.allocUnsafe(MIN_BYTES);

  /** The buffer for the next read (the `onread.buffer` function). */
  readonly next = (): Buffer => this.buf;

  /** The current buffer is kept by whoever holds the last read: the next read gets another. */
  handOver(): void {
    this.buf = Buffer.allocUnsafe(this.buf.length);
  }

  /** A read of `n` bytes filled the buffer: the next one is larger. */
  grow(n: number): void {
    if (n === this.buf.length && n < MAX_BYTES) this.buf = Buffer.allocUnsafe(n * 2);
  }

  /** Whether `b` is this reader's current buffer (a read landed in it). */
  holds(b: Buffer): boolean {
    return b === this.buf;
  }
}
