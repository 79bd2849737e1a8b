/** Real loopback servers and clients for integration tests (port 0, stopped by the test). */
import net from 'node:net';
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';

export interface Running {
  port: number;
  address: string;
  close(): Promise<void>;
}

/** TCP echo server. */
export async function echoServer(): Promise<Running> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** TCP server that sends `bytes` bytes to each client and closes. */
export async function sourceServer(bytes: number): Promise<Running> {
  const payload = Buffer.alloc(bytes, 0x61);
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.end(payload);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return { port, address: `127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

export function connect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host, noDelay: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Sends `msg` and resolves with the time (ms) until the same number of bytes came back. */
export function roundTrip(s: net.Socket, msg: Buffer, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const t0 = performance.now();
    const timer = setTimeout(() => {
      s.off('data', onData);
      reject(new Error(`round trip timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    function onData(d: Buffer): void {
      got += d.length;
      if (got >= msg.length) {
        clearTimeout(timer);
        s.off('data', onData);
        resolve(performance.now() - t0);
      }
    }
    s.on('data', onData);
    s.write(msg);
  });
}

/** Reads everything until the socket ends; resolves with byte count and elapsed ms. */
export function drain(s: net.Socket): Promise<{ bytes: number; ms: number; error?: string }> {
  return new Promise((resolve) => {
    let bytes = 0;
    const t0 = performance.now();
    s.on('data', (d: Buffer) => (bytes += d.length));
    s.on('error', (e: NodeJS.ErrnoException) => resolve({ bytes, ms: performance.now() - t0, error: e.code ?? e.message }));
    s.on('close', () => resolve({ bytes, ms: performance.now() - t0 }));
  });
}

/** Connect and report what the client observes: 'connected', or the error code. */
export function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      resolve('connected');
      s.destroy();
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

export async function udpEchoServer(): Promise<Running> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (m, r) => sock.send(m, r.port, r.address));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const port = sock.address().port;
  return { port, address: `127.0.0.1:${port}`, close: () => new Promise<void>((r) => sock.close(() => r())) };
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}
