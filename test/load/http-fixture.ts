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

/** A loopback HTTP server that answers 200 after `delayMs`, counting connections and requests. */
export async function countingServer(delayMs = 0): Promise<TestServer & { connections: () => number; requests: () => number }> {
  let connections = 0;
  let requests = 0;
  const server = http.createServer((_q, r) => {
    requests++;
    if (delayMs > 0) setTimeout(() => r.end('ok'), delayMs);
    else r.end('ok');
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    connections: () => connections,
    requests: () => requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A loopback HTTP server that answers every request 200 `ok`. */
export const okServer = (): Promise<TestServer> => everyNthFails(Number.POSITIVE_INFINITY, 200);
