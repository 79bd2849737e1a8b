/**
 * Request targets: HTTP(S) via undici (keep-alive Pool, dispatch hot path), a raw TCP connect probe,
 * and a PostgreSQL query probe via `pg`. Each reports when the request got on the wire (on-socket)
 * and how it ended. The driver owns deadlines (undici's own timeouts are coarse): `send` returns a
 * handle the driver aborts when the request's deadline passes.
 */
import net from 'node:net';
import { Pool as UndiciPool, buildConnector, type Dispatcher } from 'undici';
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

/** A request in progress; the driver aborts it at its deadline. */
export interface Abortable {
  abort(reason: Error): void;
}

export interface Target {
  readonly description: string;
  /** Connection cap of the target's pool, when it has one (HTTP). */
  readonly connections?: number;
  /** Starts one request. */
  send(cb: RequestCallbacks): Abortable;
  /**
   * Opens up to `n` connections before the run so the first requests do not pay for connection set-up;
   * resolves with how many are open. Sends no request.
   */
  prewarm(n: number): Promise<number>;
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

/**
 * One HTTP request, as an undici dispatch handler. It uses the handler methods undici calls natively
 * (onConnect/onHeaders/onData/onComplete/onError): the newer onRequestStart/onResponse* form makes
 * undici wrap every request in an adapter, allocate a controller and parse the response headers and
 * trailers into objects, which is a measurable part of the generator's cost per request. Headers are
 * read raw, and only when a servedBy header is asked for.
 */
class HttpExchange implements Dispatcher.DispatchHandler, Abortable {
  private abortFn: ((err?: Error) => void) | undefined = undefined;
  private abortReason: Error | undefined = undefined;
  private status = 0;
  private servedBy: string | undefined = undefined;
  private finished = false;

  constructor(
    private readonly cb: RequestCallbacks,
    private readonly servedByHeader: string | undefined,
  ) {}

  abort(reason: Error): void {
    if (this.finished) return;
    // Before onConnect the request is still in the pool's queue: it is aborted as soon as it leaves it.
    if (this.abortFn) this.abortFn(reason);
    else this.abortReason = reason;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    if (this.abortReason) {
      abort(this.abortReason);
      return;
    }
    this.cb.onSocket();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true;
    this.status = statusCode;
    if (this.servedByHeader !== undefined) {
      for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
        if (String(rawHeaders[i]).toLowerCase() !== this.servedByHeader) continue;
        const v = String(rawHeaders[i + 1]);
        this.servedBy = this.servedBy === undefined ? v : `${this.servedBy},${v}`;
      }
    }
    return true;
  }

  onData(): boolean {
    return true;
  }

  onComplete(): void {
    this.finish(undefined);
  }

  onError(err: Error): void {
    this.finish(err);
  }

  private finish(err: Error | undefined): void {
    if (this.finished) return;
    this.finished = true;
    this.cb.done(err, this.status, this.servedBy);
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
  const tls = url.protocol === 'https:' ? { ...(spec.ca ? { ca: spec.ca } : {}), ...(spec.insecure ? { rejectUnauthorized: false } : {}) } : {};
  // undici's own connector, with a stash of connections opened ahead of the run (prewarm) that it
  // hands out first: the pool still grows on demand, but without paying for set-up mid-run.
  const connector = buildConnector({ timeout: 10_000, ...tls });
  const stash = new Set<net.Socket>();
  const ignore = (): void => {};
  const connect: buildConnector.connector = (options, callback) => {
    for (const s of stash) {
      stash.delete(s);
      s.off('error', ignore);
      // Asynchronously, as a real connect is: undici ignores a connection handed over within its own resume loop.
      if (!s.destroyed && s.readyState === 'open') return void process.nextTick(callback, null, s);
      s.destroy();
    }
    connector(options, callback);
  };
  // headersTimeout/bodyTimeout 0: the driver's deadline FIFO bounds every request, so undici's per-request parser timers are pure cost.
  const pool = new UndiciPool(url.origin, { connections, pipelining: 1, keepAliveTimeout: 10_000, headersTimeout: 0, bodyTimeout: 0, ...(spec.maxRequestsPerConnection ? { maxRequestsPerClient: spec.maxRequestsPerConnection } : {}), connect });
  const servedByHeader = spec.servedByHeader?.toLowerCase();
  // One options object for every request: undici reads it and does not keep or change it.
  const request: Dispatcher.DispatchOptions = { origin: url.origin, path: url.pathname + url.search, method: spec.method, headers: spec.headers ?? null, body: spec.body ?? null };
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return {
    description: `${spec.method} ${url.href}`,
    connections,
    queued: () => pool.stats.queued,
    send(cb) {
      const exchange = new HttpExchange(cb, servedByHeader);
      pool.dispatch(request, exchange);
      return exchange;
    },
    async prewarm(n) {
      const opened = await Promise.all(
        Array.from({ length: Math.min(n, connections) }, () =>
          new Promise<net.Socket | null>((resolve) => connector({ hostname: url.hostname, host: url.host, protocol: url.protocol, port }, (err, s) => resolve(err ? null : s))),
        ),
      );
      for (const s of opened) {
        if (!s) continue;
        s.on('error', ignore);
        s.once('close', () => stash.delete(s));
        stash.add(s);
      }
      return stash.size;
    },
    close: async () => {
      for (const s of stash) s.destroy();
      stash.clear();
      await pool.destroy();
    },
  };
}

function tcpTarget(host: string, port: number): Target {
  return {
    description: `tcp connect ${host}:${port}`,
    queued: () => 0,
    send(cb) {
      const sock = net.connect({ host, port });
      cb.onSocket();
      let finished = false;
      const finish = (err?: Error): void => {
        if (finished) return;
        finished = true;
        sock.destroy();
        cb.done(err, 0);
      };
      sock.once('connect', () => finish());
      sock.once('error', (e) => finish(e));
      return { abort: finish };
    },
    prewarm: async () => 0,
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
    prewarm: async () => 0,
    send(cb) {
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
        cb.done(err, 0);
      };
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
      // At the deadline: report a timeout and cancel the query by dropping its connection (the pool replaces it).
      return {
        abort(reason) {
          finish(reason);
          release(true);
        },
      };
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
