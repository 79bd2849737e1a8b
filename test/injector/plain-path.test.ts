import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { startProxy, type Proxy } from '../../src/injector/index.ts';
import { connect, echoServer } from '../helpers/sockets.ts';

/** A byte stream whose value at offset k is k mod 251: a lost, duplicated or reordered chunk shows. */
function pattern(bytes: number): Buffer {
  const b = Buffer.allocUnsafe(bytes);
  for (let k = 0; k < bytes; k++) b[k] = k % 251;
  return b;
}

/** Index of the first differing byte, or -1. */
function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let k = 0; k < n; k++) if (a[k] !== b[k]) return k;
  return a.length === b.length ? -1 : n;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Adds and removes faults on both directions until `done` resolves; returns how many switches it made. */
async function toggleFaults(proxy: Proxy, done: Promise<unknown>): Promise<number> {
  let finished = false;
  void done.finally(() => (finished = true));
  const kinds = [
    { type: 'latency', attributes: { latency: 2, jitter: 1 } },
    { type: 'slicer', attributes: { average_size: 700, size_variation: 300, delay: 0 } },
    { type: 'noop', attributes: {} },
  ];
  let switches = 0;
  for (let i = 0; !finished; i++) {
    const kind = kinds[i % kinds.length] as (typeof kinds)[number];
    const stream = i % 2 === 0 ? 'downstream' : 'upstream';
    proxy.addFault({ ...kind, name: `f${i}`, stream });
    switches++;
    await sleep(3 + (i % 5));
    proxy.removeFault(`f${i}`);
    switches++;
    await sleep(2 + (i % 3));
  }
  return switches;
}

describe('plain and staged paths (a link with no fault pipes; a fault switches it to stages and back)', () => {
  let proxy: Proxy | undefined;
  let closeUpstream: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await proxy?.stop();
    await closeUpstream?.();
    proxy = undefined;
    closeUpstream = undefined;
  });

  /** An upstream that sends `data` to every client, then ends. */
  async function sender(data: Buffer): Promise<string> {
    const server = net.createServer((c) => {
      c.on('error', () => {});
      c.end(data);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    closeUpstream = () => new Promise<void>((r) => server.close(() => r()));
    return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  }

  it('loses and reorders no byte in either direction while faults are added and removed mid-stream', async () => {
    const echo = await echoServer();
    closeUpstream = () => echo.close();
    proxy = await startProxy({ name: 'toggle', upstream: echo.address, seed: 5 });
    const sent = pattern(3 * 1024 * 1024);
    const s = await connect(proxy.listenPort);
    const back: Buffer[] = [];
    let got = 0;
    const allBack = new Promise<void>((resolve) => {
      s.on('data', (d: Buffer) => {
        back.push(d);
        got += d.length;
        if (got >= sent.length) resolve();
      });
    });
    const writing = (async () => {
      for (let off = 0; off < sent.length; off += 16 * 1024) {
        if (!s.write(sent.subarray(off, off + 16 * 1024))) await new Promise((r) => s.once('drain', r));
        if (off % (256 * 1024) === 0) await sleep(1);
      }
    })();
    const switches = await toggleFaults(proxy, Promise.all([writing, allBack]));
    await allBack;
    s.destroy();
    const received = Buffer.concat(back);
    expect(switches).toBeGreaterThan(4);
    expect(received.length).toBe(sent.length);
    expect(firstDifference(received, sent)).toBe(-1);
    // The faults saw part of the stream (staged chunks are counted), and every byte was counted.
    expect(proxy.stats().chunks.upstream + proxy.stats().chunks.downstream).toBeGreaterThan(0);
    expect(proxy.stats().bytes.upstream).toBe(sent.length);
  }, 30_000);

  it('delivers a bulk stream intact to a slow reader (reads land in a reused buffer; a pending write keeps its buffer)', async () => {
    const total = 24 * 1024 * 1024;
    const data = pattern(total);
    proxy = await startProxy({ name: 'bulk', upstream: await sender(data), seed: 6 });
    // Two clients at once: one reads slowly (its writes stay pending), one fast.
    const read = async (slow: boolean): Promise<Buffer> => {
      const s = await connect(proxy!.listenPort);
      const parts: Buffer[] = [];
      let n = 0;
      s.on('data', (d: Buffer) => {
        parts.push(d);
        n++;
        if (slow && n % 8 === 0) {
          s.pause();
          setTimeout(() => s.resume(), 2);
        }
      });
      await new Promise((r) => s.once('end', r));
      s.destroy();
      return Buffer.concat(parts);
    };
    const [slow, fast] = await Promise.all([read(true), read(false)]);
    expect(slow.length).toBe(total);
    expect(firstDifference(slow, data)).toBe(-1);
    expect(fast.length).toBe(total);
    expect(firstDifference(fast, data)).toBe(-1);
    expect(proxy.stats().bytes.downstream).toBe(2 * total);
    // No fault: nothing went through the staged path.
    expect(proxy.stats().chunks.downstream).toBe(0);
  }, 30_000);

  it('switches a bulk download to the staged path and back mid-stream without losing or reordering bytes', async () => {
    const total = 16 * 1024 * 1024;
    const data = pattern(total);
    proxy = await startProxy({ name: 'bulk-toggle', upstream: await sender(data), seed: 7 });
    const s = await connect(proxy.listenPort);
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => {
      parts.push(d);
      // Read slowly enough for the toggling to land mid-stream.
      s.pause();
      setTimeout(() => s.resume(), 1);
    });
    const ended = new Promise((r) => s.once('end', r));
    const switches = await toggleFaults(proxy, ended);
    s.destroy();
    const received = Buffer.concat(parts);
    expect(switches).toBeGreaterThan(4);
    expect(received.length).toBe(total);
    expect(firstDifference(received, data)).toBe(-1);
  }, 30_000);
});
