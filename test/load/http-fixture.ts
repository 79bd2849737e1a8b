/** A loopback HTTP server for load tests; every `n`th request answers `status`, the rest 200. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestServer {
  url: string;
  close(): Promise<void>;
}

export async function everyNthFails(n: number, status: number): Promise<TestServer> {
  let count = 0;
  const server = http.createServer((_q, r) => {
    r.statusCode = ++count % n === 0 ? status : 200;
    r.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
