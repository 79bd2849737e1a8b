import { describe, expect, it } from 'vitest';
import net from 'node:net';
import { resetSocket } from './socket-reset.ts';

/** A connected pair whose server side never reads, so the client's writes back up. */
async function stalledPair(): Promise<{ client: net.Socket; server: net.Socket; stop: () => Promise<void> }> {
  let server!: net.Socket;
  const srv = net.createServer();
  const accepted = new Promise<void>((r) => {
    srv.once('connection', (c) => {
      server = c;
      c.pause();
      c.on('error', () => {});
      r();
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const client = net.connect({ port: (srv.address() as net.AddressInfo).port, host: '127.0.0.1' });
  client.on('error', () => {});
  await Promise.all([new Promise((r) => client.once('connect', r)), accepted]);
  return { client, server, stop: () => new Promise<void>((r) => { server.destroy(); srv.close(() => r()); }) };
}

describe('resetSocket', () => {
  it('resets an idle connection: the peer sees ECONNRESET', async () => {
    const { client, server, stop } = await stalledPair();
    try {
      server.resume();
      const seen = new Promise<string>((r) => {
        server.removeAllListeners('error');
        server.once('error', (e: NodeJS.ErrnoException) => r(e.code ?? 'error'));
        server.once('end', () => r('end'));
      });
      resetSocket(client);
      expect(await seen).toBe('ECONNRESET');
    } finally {
      await stop();
    }
  });
});
