/**
 * A TCP server that behaves like a PostgreSQL server SIGSTOPped (or `docker pause`d) at a chosen
 * moment: the kernel still accepts connections and acknowledges bytes, but from then on nothing
 * answers and nothing is ever closed from its side. It freezes before the start-up is answered,
 * before the query is answered, or after the answer — before the client's goodbye (Terminate and
 * FIN) is answered, which is where a client that waits for the server to close hangs for ever.
 */
import { createServer, type Server, type Socket } from 'node:net';

export type FreezesAt = 'start-up' | 'query' | 'goodbye';

export interface FrozenPgServer {
  port: number;
  /** The connections it accepted (the server's side). */
  sockets: Socket[];
  close(): Promise<void>;
}

/** One backend message: type byte, int32 length (itself included), payload. */
const msg = (type: string, payload: string | Uint8Array = ''): Buffer => {
  const body = Buffer.from(payload);
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
};

export async function frozenPgServer(at: FreezesAt): Promise<FrozenPgServer> {
  const sockets: Socket[] = [];
  const server: Server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    s.on('error', () => {});
    let step = 0;
    s.on('data', () => {
      step++;
      // AuthenticationOk and ReadyForQuery answer the start-up; CommandComplete and ReadyForQuery a simple query.
      if (step === 1 && at !== 'start-up') s.write(Buffer.concat([msg('R', new Uint8Array(4)), msg('Z', 'I')]));
      if (step === 2 && at === 'goodbye') s.write(Buffer.concat([msg('C', 'SELECT 0\0'), msg('Z', 'I')]));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    sockets,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
