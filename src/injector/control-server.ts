/**
 * The control plane: an HTTP server speaking the Toxiproxy API (so `toxiproxy-node-client` drives it
 * unchanged), bound to loopback only. faultline's extensions (stream `both`, `ttl`, extra fault types
 * and attributes) are additions a Toxiproxy client can ignore. `GET /metrics` serves Prometheus text.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import { assertLoopback, checkResourceName, errorMessage, FaultlineError, LOOPBACK_ONLY, seedToString, silentLogger, type Logger, type NetworkPolicy, type Seed } from '../shared/index.ts';
import { describeValue } from './faults.ts';
import { TcpProxy } from './proxy.ts';
import { balancerConfig } from './balancer-api.ts';
import { ApiError, dispatch, lowerKeys, optionalString, readBody, sameListen, statusOf, type ControlPlane } from './control-routes.ts';

export { TOXIPROXY_COMPAT_VERSION } from './control-routes.ts';

export interface ControlServerOptions {
  host?: string;
  port?: number;
  seed?: Seed;
  logger?: Logger;
  /** Addresses outside loopback that proxies created through the API may listen on or dial (default: none). The control plane itself stays on loopback. */
  network?: NetworkPolicy;
}

export interface ProxyConfig {
  name: string;
  listen?: string;
  upstream: string;
  enabled?: boolean;
}

export interface ControlServer extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** Creates proxies from a config list (as `--config` and POST /populate do). */
  populate(configs: ProxyConfig[]): Promise<TcpProxy[]>;
  proxies(): TcpProxy[];
  /** Removes every fault from every proxy and re-enables them (POST /reset). */
  healAll(): Promise<void>;
  stop(): Promise<void>;
}

/** One metric per row: its kind, name, help, labels and what it reads from each proxy. */
const PROXY_METRICS: ReadonlyArray<{
  kind: 'counter' | 'gauge';
  name: string;
  help: string;
  labelNames: string[];
  values: (p: TcpProxy) => Array<[Record<string, string>, number]>;
}> = [
  {
    kind: 'counter',
    name: 'faultline_proxy_bytes_total',
    help: 'Bytes read by the proxy, per direction (upstream = client to server).',
    labelNames: ['proxy', 'direction'],
    values: (p) => {
      const s = p.stats();
      return [
        [{ proxy: p.name, direction: 'upstream' }, s.bytes.upstream],
        [{ proxy: p.name, direction: 'downstream' }, s.bytes.downstream],
      ];
    },
  },
  { kind: 'counter', name: 'faultline_proxy_connections_total', help: 'Connections accepted by the proxy.', labelNames: ['proxy'], values: (p) => [[{ proxy: p.name }, p.stats().connections.total]] },
  { kind: 'counter', name: 'faultline_proxy_connection_resets_total', help: 'Connections reset (RST) by the proxy.', labelNames: ['proxy'], values: (p) => [[{ proxy: p.name }, p.stats().connections.reset]] },
  { kind: 'gauge', name: 'faultline_proxy_active_connections', help: 'Open connections through the proxy.', labelNames: ['proxy'], values: (p) => [[{ proxy: p.name }, p.stats().connections.active]] },
  {
    kind: 'gauge',
    name: 'faultline_proxy_active_faults',
    help: 'Faults currently injected, per proxy and type.',
    labelNames: ['proxy', 'type'],
    values: (p) => {
      const perType = new Map<string, number>();
      for (const f of p.faults()) perType.set(f.type, (perType.get(f.type) ?? 0) + 1);
      return [...perType].map(([type, n]) => [{ proxy: p.name, type }, n]);
    },
  },
];

/** The Prometheus registry behind GET /metrics: every metric is read from the live proxies at scrape time. */
function proxyMetrics(proxies: Map<string, TcpProxy>): Registry {
  const registry = new Registry();
  for (const m of PROXY_METRICS) {
    const collect = function (this: Counter | Gauge): void {
      this.reset();
      for (const p of proxies.values()) for (const [labels, v] of m.values(p)) this.inc(labels, v);
    };
    const config = { name: m.name, help: m.help, labelNames: m.labelNames, registers: [registry], collect };
    if (m.kind === 'counter') new Counter(config);
    else new Gauge(config);
  }
  return registry;
}

/** The proxies the control plane holds, created and replaced as the API and --config ask. */
class ProxyTable {
  readonly proxies = new Map<string, TcpProxy>();
  constructor(private readonly make: { seed: string; logger: Logger; network: NetworkPolicy }) {}

  /** One proxy from a (lower-cased) config object; `where` names it in errors. */
  async create(cfg: Record<string, unknown>, where = ''): Promise<TcpProxy> {
    if (cfg.name === undefined || cfg.name === '') throw new ApiError(400, `missing required field: name${where}`);
    const balancer = balancerConfig(cfg, where);
    if (!balancer && (cfg.upstream === undefined || cfg.upstream === '')) throw new ApiError(400, `missing required field: upstream${where}`);
    const name = checkResourceName(cfg.name, 'proxy');
    const upstream = optionalString(cfg, 'upstream');
    const listen = optionalString(cfg, 'listen') ?? '127.0.0.1:0';
    if (cfg.enabled !== undefined && typeof cfg.enabled !== 'boolean') throw new ApiError(400, `field 'enabled' must be true or false, got ${describeValue(cfg.enabled)}`);
    const p = new TcpProxy({ name, listen, ...(upstream !== undefined ? { upstream } : {}), ...(balancer ? { balancer } : {}), ...this.make });
    if (cfg.enabled !== false) await p.start();
    return p;
  }

  /** Creates (or keeps, when unchanged) every proxy of a list, checked whole first; `numbered` names the item in errors (POST /populate). */
  async populate(list: unknown, numbered = true): Promise<TcpProxy[]> {
    if (!Array.isArray(list)) throw new ApiError(400, 'bad request body: expected a JSON array of proxies');
    const items = list.map((x) => lowerKeys(x));
    items.forEach((it, i) => {
      if (it.name === undefined || it.name === '') throw new ApiError(400, `missing required field: name${numbered ? ` at proxy ${i + 1}` : ''}`);
      if ((it.upstream === undefined || it.upstream === '') && it.upstreams === undefined) throw new ApiError(400, `missing required field: upstream${numbered ? ` at proxy ${i + 1}` : ''}`);
      checkResourceName(it.name, 'proxy', numbered ? `[${i}].name` : 'name');
      optionalString(it, 'upstream');
      optionalString(it, 'listen');
    });
    const out: TcpProxy[] = [];
    for (const it of items) {
      const existing = this.proxies.get(it.name as string);
      if (existing && it.upstreams === undefined && !existing.balancer && (it.listen === undefined || sameListen(String(it.listen), existing.listen)) && it.upstream === existing.upstream) {
        out.push(existing);
        continue;
      }
      if (existing) {
        await existing.stop();
        this.proxies.delete(existing.name);
      }
      try {
        const p = await this.create(it);
        this.proxies.set(p.name, p);
        out.push(p);
      } catch (e) {
        // As Toxiproxy: the error names the failure, `proxies` holds those already created.
        throw Object.assign(e instanceof Error ? e : new Error(String(e)), { created: out });
      }
    }
    return out;
  }

  /** Removes every fault from every proxy and re-enables them (POST /reset). */
  async healAll(): Promise<void> {
    for (const p of this.proxies.values()) {
      p.heal();
      if (!p.enabled) await p.setEnabled(true);
    }
  }

  async stopAll(): Promise<void> {
    for (const p of this.proxies.values()) await p.stop();
    this.proxies.clear();
  }
}

/** The request's path segments, decoded (the path alone: a request target such as '//x' is not a URL to resolve against a base). */
function pathSegments(target: string): string[] {
  try {
    const pathname = /^[a-z][a-z0-9+.-]*:\/\//i.test(target) ? new URL(target).pathname : (target.split(/[?#]/)[0] as string);
    return pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    throw new ApiError(400, 'malformed request path (percent-encoding or URL)');
  }
}

/** Routes one request through the table and writes its reply. */
async function answer(plane: ControlPlane, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const reply = await dispatch(plane, req.method ?? 'GET', pathSegments(req.url ?? '/'), () => readBody(req));
  if ('text' in reply) res.writeHead(reply.status, { 'content-type': reply.contentType }).end(reply.text);
  else if (reply.json === undefined) res.writeHead(reply.status).end();
  else res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8' }).end(`${JSON.stringify(reply.json)}\n`);
}

function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new FaultlineError('FAULTLINE_INJECTOR_CONTROL_LISTEN', `control plane cannot listen on ${host}:${port}: ${e.code ?? e.message}`, { cause: e })),
    );
    server.listen({ host, port, exclusive: true }, () => resolve());
  });
}

export async function startControlServer(opts: ControlServerOptions = {}): Promise<ControlServer> {
  const host = opts.host ?? '127.0.0.1';
  // The control plane stays on loopback whatever the network allowlist says: no override.
  assertLoopback(host, 'control plane host', 'host');
  const network = opts.network ?? LOOPBACK_ONLY;
  const log = (opts.logger ?? silentLogger).child('control');
  const seed = seedToString(opts.seed ?? 0);
  const table = new ProxyTable({ seed, logger: opts.logger ?? silentLogger, network });
  const { proxies } = table;
  const plane: ControlPlane = { seed, network, proxies, metrics: proxyMetrics(proxies), createProxy: (cfg) => table.create(cfg), populate: (list) => table.populate(list), healAll: () => table.healAll() };

  let requestId = 0;
  const server = http.createServer((req, res) => {
    res.setHeader('x-toxiproxy-request-id', String(++requestId));
    answer(plane, req, res).catch((e: unknown) => {
      const status = statusOf(e);
      if (status >= 500) log.warn('control request failed', { method: req.method, url: req.url, error: errorMessage(e) });
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(`${JSON.stringify({ error: errorMessage(e), status })}\n`);
    });
  });
  await listen(server, host, opts.port ?? 8474);
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  const control: ControlServer = {
    host,
    port,
    url: `http://${urlHost}:${port}`,
    populate: (configs) => table.populate(configs, false),
    proxies: () => [...proxies.values()],
    healAll: () => table.healAll(),
    async stop() {
      await table.stopAll();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
    [Symbol.asyncDispose]: () => control.stop(),
  };
  return control;
}
