import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { withOnread } from './accepted-socket.ts';

/** A loopback listener that accepts paused, as the proxy's does; resolves with the listener and its port. */
async function pausedListener(onSocket: (s: net.Socket) => void): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, onSocket);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as net.AddressInfo).port };
}

describe('accepted sockets read into a caller-owned buffer', () => {
  it('delivers every byte the client sends into the given buffer, in order, and the socket still writes and ends', async () => {
    const own = Buffer.alloc(64);
    const seen: string[] = [];
    const buffers = new Set<Buffer>();
    const { server, port } = await pausedListener((accepted) => {
      const s = withOnread(accepted, {
        buffer: () => own,
        callback: (n, buf) => {
          buffers.add(buf);
          seen.push(buf.subarray(0, n).toString());
          s.write(buf.subarray(0, n));
          return true;
        },
      });
      s.on('end', () => s.end());
    });
    const client = net.connect({ port, host: '127.0.0.1' });
    let echoed = '';
    client.on('data', (d: Buffer) => (echoed += d.toString()));
    const closed = new Promise<void>((r) => client.on('close', () => r()));
    const payload = 'x'.repeat(300); // more than the 64-byte buffer: several reads
    client.end(payload);
    await closed;
    expect(echoed).toBe(payload);
    expect(seen.join('')).toBe(payload);
    expect([...buffers]).toEqual([own]);
    await new Promise<void>((r) => server.close(() => r()));
  });

  it("releases the listener's connection count, so closing the listener does not wait for adopted connections", async () => {
    let adopted: net.Socket | undefined;
    const { server, port } = await pausedListener((accepted) => {
      adopted = withOnread(accepted, { buffer: () => Buffer.alloc(16), callback: () => true });
    });
    const client = net.connect({ port, host: '127.0.0.1' });
    await new Promise<void>((r) => client.once('connect', () => r()));
    await expect.poll(() => adopted !== undefined).toBe(true);
    const count = await new Promise<number>((r) => server.getConnections((_e, n) => r(n)));
    expect(count).toBe(0);
    await new Promise<void>((r) => server.close(() => r()));
    // The adopted connection is still open and usable after the listener closed.
    const got = new Promise<string>((r) => client.once('data', (d: Buffer) => r(d.toString())));
    adopted?.write('still here');
    expect(await got).toBe('still here');
    client.destroy();
    adopted?.destroy();
  });
});
