/**
 * Request targets: HTTP(S) via undici (keep-alive Pool, dispatch hot path), a raw TCP connect probe,
 * and a PostgreSQL query probe via `pg`. Each reports when the request got on the wire (on-socket)
 * and how it ended. The driver owns deadlines and hands each request an AbortSignal that fires at its
 * deadline (undici's own timeouts are coarse); a target aborts the request when it fires.
 */
import net from 'node:net';
import { Pool as UndiciPool, type Dispatcher } from 'undici';
import pg from 'pg';
import { z } from 'zod';
import { assertAllowed, InputError, redact, type NetworkPolicy } from '../shared/index.ts';

export const targetSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('http'),
      url: z.string().url(),
      method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH']).default('GET'),
      headers: z.record(z.string(), z.string()).optional(),
      body: z.string().optional(),
      connections: z.number().int().positive().optional(),
      /** HTTPS: trust this CA certificate (PEM text) in addition to the system store. */
      ca: z.string().optional(),
      /** HTTPS: accept any certificate (self-signed test services). */
      insecure: z.boolean().optional(),
      /** Close a keep-alive connection after this many requests (new connections let a load balancer spread them again). */
      maxRequestsPerConnection: z.number().int().positive().optional(),
      /** Response header naming who served the request (e.g. a replica behind a balancer); reported per outcome as `servedBy`. */
      servedByHeader: z.string().min(1).optional(),
    })
    .strict(),
  z.object({ kind: z.literal('tcp'), host: z.string(), port: z.number().int().min(1).max(65535) }).strict(),
  z.object({ kind: z.literal('pg'), connectionString: z.string(), query: z.string().default('select 1') }).strict(),
]);

export type TargetSpec = z.input<typeof targetSchema>;

export interface RequestCallbacks {
  /** The request is on the wire (left the client's queue). */
  onSocket(): void;
  /** Finished: an error, or a status (HTTP) / 0 (TCP, SQL success); `servedBy`: the target's servedByHeader, when answered. */
  done(err: Error | undefined, status?: number, servedBy?: string): void;
}

export interface Target {
  readonly description: string;
  /** Starts one request; `signal` aborts it (the driver's deadline). */
  send(cb: RequestCallbacks, signal: AbortSignal): void;
  close(): Promise<void>;
  /** Client-side queue depth (requests waiting for a connection), if known. */
  queued(): number;
}

export function createTarget(spec: TargetSpec, opts: { maxInFlight: number; network?: NetworkPolicy }): Target {
  const parsed = targetSchema.parse(spec);
  switch (parsed.kind) {
    case 'http':
      return httpTarget(parsed, opts.maxInFlight, opts.network);
    case 'tcp':
      assertAllowed(parsed.host, 'load target', 'host', opts.network);
      return tcpTarget(parsed.host, parsed.port);
    case 'pg':
      return pgTarget(parsed.connectionString, parsed.query, opts.maxInFlight);
  }
}

function httpTarget(spec: Extract<z.output<typeof targetSchema>, { kind: 'http' }>, maxInFlight: number, network?: NetworkPolicy): Target {
  let url: URL;
  try {
    url = new URL(spec.url);
  } catch (e) {
    throw new InputError('FAULTLINE_LOAD_URL', `not a valid URL: ${spec.url}`, { field: 'url' }, { cause: e });
  }
  assertAllowed(url.hostname, 'load target', 'url', network);
  const connections = spec.connections ?? Math.min(256, Math.max(16, maxInFlight));
  const tls = url.protocol === 'https:' ? { connect: { ...(spec.ca ? { ca: spec.ca } : {}), ...(spec.insecure ? { rejectUnauthorized: false } : {}) } } : {};
  const pool = new UndiciPool(url.origin, { connections, pipelining: 1, keepAliveTimeout: 10_000, ...(spec.maxRequestsPerConnection ? { maxRequestsPerClient: spec.maxRequestsPerConnection } : {}), ...tls });
  const path = url.pathname + url.search;
  const headers = spec.headers ?? {};
  const servedByHeader = spec.servedByHeader?.toLowerCase();
  return {
    description: `${spec.method} ${url.href}`,
    queued: () => pool.stats.queued,
    send(cb, signal) {
      let controller: Dispatcher.DispatchController | undefined;
      let finished = false;
      let status = 0;
      let servedBy: string | undefined;
      const finish = (err: Error | undefined): void => {
        if (finished) return;
        finished = true;
        cb.done(err, status, servedBy);
      };
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart(c) {
          controller = c;
          if (signal.aborted) {
            c.abort(signal.reason);
            return;
          }
          cb.onSocket();
        },
        onResponseStart(_c, statusCode, headers) {
          status = statusCode;
          if (servedByHeader) {
            const v = headers[servedByHeader];
            if (v !== undefined) servedBy = Array.isArray(v) ? v.join(',') : String(v);
          }
        },
        onResponseData() {},
        onResponseEnd() {
          signal.removeEventListener('abort', onAbort);
          finish(undefined);
        },
        onResponseError(_c, err) {
          signal.removeEventListener('abort', onAbort);
          finish(err);
        },
      };
      // Before onRequestStart there is no controller yet: the request is aborted as soon as it gets one.
      const onAbort = (): void => controller?.abort(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      pool.dispatch({ origin: url.origin, path, method: spec.method, headers, body: spec.body ?? null }, handler);
    },
    close: () => pool.destroy(),
  };
}

function tcpTarget(host: string, port: number): Target {
  return {
    description: `tcp connect ${host}:${port}`,
    queued: () => 0,
    send(cb, signal) {
      const sock = net.connect({ host, port });
      cb.onSocket();
      let finished = false;
      const finish = (err?: Error): void => {
        if (finished) return;
        finished = true;
        signal.removeEventListener('abort', onAbort);
        sock.destroy();
        cb.done(err, 0);
      };
      const onAbort = (): void => finish(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      sock.once('connect', () => finish());
      sock.once('error', (e) => finish(e));
    },
    close: async () => {},
  };
}

function pgTarget(connectionString: string, query: string, maxInFlight: number): Target {
  const pool = new pg.Pool({ connectionString, max: Math.min(20, Math.max(2, maxInFlight)), connectionTimeoutMillis: 10_000 });
  pool.on('error', () => {}); // idle client errors are reported per request instead
  let waiting = 0;
  return {
    description: `sql ${redact(connectionString)}`,
    queued: () => waiting,
    send(cb, signal) {
      let finished = false;
      let client: pg.PoolClient | undefined;
      let released = false;
      waiting++;
      const release = (destroy: boolean): void => {
        if (!client || released) return;
        released = true;
        client.release(destroy || undefined);
      };
      const finish = (err?: Error): void => {
        if (finished) return;
        finished = true;
        signal.removeEventListener('abort', onAbort);
        cb.done(err, 0);
      };
      // At the deadline: report a timeout and cancel the query by dropping its connection (the pool replaces it).
      const onAbort = (): void => {
        finish(signal.reason as Error);
        release(true);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      pool.connect().then(
        async (c) => {
          waiting--;
          client = c;
          if (finished) return release(true);
          try {
            cb.onSocket();
            await c.query(query);
            release(false);
            finish();
          } catch (e) {
            release(true);
            finish(e as Error);
          }
        },
        (e: Error) => {
          waiting--;
          finish(e);
        },
      );
    },
    close: () => pool.end(),
  };
}

/** Classifies a failure into a stable error class for reports and SLI attribution. */
export function classifyError(err: Error | undefined, status?: number, goodStatus: (s: number) => boolean = (s) => s < 500): string | undefined {
  if (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (err.name === 'TimeoutError' || err.name === 'AbortError' || /timeout/i.test(code)) {
      return code === 'UND_ERR_CONNECT_TIMEOUT' ? 'connect_timeout' : 'timeout';
    }
    switch (code) {
      case 'ECONNREFUSED':
        return 'connect_refused';
      case 'ECONNRESET':
      case 'EPIPE':
        return 'reset';
      case 'UND_ERR_SOCKET':
        return 'socket_closed';
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return 'dns';
      case 'ECONNABORTED':
        return 'aborted';
    }
    if (code.startsWith('HPE_') || err.name === 'HTTPParserError') return 'parser';
    if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)) return 'tls';
    if (/Connection terminated/i.test(err.message)) return 'socket_closed';
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return `sql_${code}`;
    return 'error';
  }
  if (status !== undefined && status > 0 && !goodStatus(status)) return `http_${status}`;
  return undefined;
}

/** Parses `2xx,3xx,404` into a predicate on status codes. */
export function statusPredicate(spec: string | undefined): (s: number) => boolean {
  if (spec === undefined || spec.trim() === '') return (s) => s < 500;
  const parts = spec.split(',').map((p) => p.trim().toLowerCase());
  for (const p of parts) {
    if (!/^[1-5](xx|\d\d)$/.test(p)) throw new InputError('FAULTLINE_LOAD_STATUS', `bad status class '${p}' (use e.g. 2xx,3xx,404)`, { field: 'goodStatus' });
  }
  return (s) => parts.some((p) => (p.endsWith('xx') ? Math.floor(s / 100) === Number(p[0]) : s === Number(p)));
}
