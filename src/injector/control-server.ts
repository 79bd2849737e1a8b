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

export async function startControlServer(opts: ControlServerOptions = {}): Promise<ControlServer> {
  const host = opts.host ?? '127.0.0.1';
  // The control plane stays on loopback whatever the network allowlist says: no override.
  assertLoopback(host, 'control plane host', 'host');
  const network = opts.network ?? LOOPBACK_ONLY;
  const log = (opts.logger ?? silentLogger).child('control');
  const seed = seedToString(opts.seed ?? 0);
  let requestId = 0;
  const proxies = new Map<string, TcpProxy>();

  const registry = new Registry();
  const labelNames = ['proxy', 'direction'] as const;
  new Counter({
    name: 'faultline_proxy_bytes_total',
    help: 'Bytes read by the proxy, per direction (upstream = client to server).',
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of proxies.values()) {
        const s = p.stats();
        this.inc({ proxy: p.name, direction: 'upstream' }, s.bytes.upstream);
        this.inc({ proxy: p.name, direction: 'downstream' }, s.bytes.downstream);
      }
    },
  });
  new Counter({
    name: 'faultline_proxy_connections_total',
    help: 'Connections accepted by the proxy.',
    labelNames: ['proxy'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of proxies.values()) this.inc({ proxy: p.name }, p.stats().connections.total);
    },
  });
  new Counter({
    name: 'faultline_proxy_connection_resets_total',
    help: 'Connections reset (RST) by the proxy.',
    labelNames: ['proxy'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of proxies.values()) this.inc({ proxy: p.name }, p.stats().connections.reset);
    },
  });
  new Gauge({
    name: 'faultline_proxy_active_connections',
    help: 'Open connections through the proxy.',
    labelNames: ['proxy'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of proxies.values()) this.set({ proxy: p.name }, p.stats().connections.active);
    },
  });
  new Gauge({
    name: 'faultline_proxy_active_faults',
    help: 'Faults currently injected, per proxy and type.',
    labelNames: ['proxy', 'type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of proxies.values()) for (const f of p.faults()) this.inc({ proxy: p.name, type: f.type }, 1);
    },
  });

  const createProxy = async (cfg: Record<string, unknown>, where = ''): Promise<TcpProxy> => {
    if (cfg.name === undefined || cfg.name === '') throw new ApiError(400, `missing required field: name${where}`);
    const balancer = balancerConfig(cfg, where);
    if (!balancer && (cfg.upstream === undefined || cfg.upstream === '')) throw new ApiError(400, `missing required field: upstream${where}`);
    const name = checkResourceName(cfg.name, 'proxy');
    const upstream = optionalString(cfg, 'upstream');
    const listen = optionalString(cfg, 'listen') ?? '127.0.0.1:0';
    if (cfg.enabled !== undefined && typeof cfg.enabled !== 'boolean') throw new ApiError(400, `field 'enabled' must be true or false, got ${describeValue(cfg.enabled)}`);
    const p = new TcpProxy({ name, listen, ...(upstream !== undefined ? { upstream } : {}), ...(balancer ? { balancer } : {}), seed, logger: opts.logger ?? silentLogger, network });
    if (cfg.enabled !== false) await p.start();
    return p;
  };

  const populate = async (list: unknown, where = true): Promise<TcpProxy[]> => {
    if (!Array.isArray(list)) throw new ApiError(400, 'bad request body: expected a JSON array of proxies');
    const items = list.map((x) => lowerKeys(x));
    items.forEach((it, i) => {
      if (it.name === undefined || it.name === '') throw new ApiError(400, `missing required field: name${where ? ` at proxy ${i + 1}` : ''}`);
      if ((it.upstream === undefined || it.upstream === '') && it.upstreams === undefined) throw new ApiError(400, `missing required field: upstream${where ? ` at proxy ${i + 1}` : ''}`);
      checkResourceName(it.name, 'proxy', where ? `[${i}].name` : 'name');
      optionalString(it, 'upstream');
      optionalString(it, 'listen');
    });
    const out: TcpProxy[] = [];
    for (const it of items) {
      const existing = proxies.get(it.name as string);
      if (existing && it.upstreams === undefined && !existing.balancer && (it.listen === undefined || sameListen(String(it.listen), existing.listen)) && it.upstream === existing.upstream) {
        out.push(existing);
        continue;
      }
      if (existing) {
        await existing.stop();
        proxies.delete(existing.name);
      }
      try {
        const p = await createProxy(it);
        proxies.set(p.name, p);
        out.push(p);
      } catch (e) {
        // As Toxiproxy: the error names the failure, `proxies` holds those already created.
        throw Object.assign(e instanceof Error ? e : new Error(String(e)), { created: out });
      }
    }
    return out;
  };

  const plane: ControlPlane = { seed, network, proxies, metrics: registry, createProxy: (cfg) => createProxy(cfg), populate: (list) => populate(list), healAll: () => healAll() };
  const route = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    let parts: string[];
    try {
      // The path alone: a request target such as '//x' is not a URL to resolve against a base.
      const target = req.url ?? '/';
      const pathname = /^[a-z][a-z0-9+.-]*:\/\//i.test(target) ? new URL(target).pathname : (target.split(/[?#]/)[0] as string);
      parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      throw new ApiError(400, 'malformed request path (percent-encoding or URL)');
    }
    const reply = await dispatch(plane, req.method ?? 'GET', parts, () => readBody(req));
    if ('text' in reply) res.writeHead(reply.status, { 'content-type': reply.contentType }).end(reply.text);
    else if (reply.json === undefined) res.writeHead(reply.status).end();
    else res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8' }).end(`${JSON.stringify(reply.json)}\n`);
  };

  const server = http.createServer((req, res) => {
    res.setHeader('x-toxiproxy-request-id', String(++requestId));
    route(req, res).catch((e: unknown) => {
      const status = statusOf(e);
      if (status >= 500) log.warn('control request failed', { method: req.method, url: req.url, error: errorMessage(e) });
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(`${JSON.stringify({ error: errorMessage(e), status })}\n`);
    });
  });

  const healAll = async (): Promise<void> => {
    for (const p of proxies.values()) {
      p.heal();
      if (!p.enabled) await p.setEnabled(true);
    }
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new FaultlineError('FAULTLINE_INJECTOR_CONTROL_LISTEN', `control plane cannot listen on ${host}:${opts.port ?? 8474}: ${e.code ?? e.message}`, { cause: e })),
    );
    server.listen({ host, port: opts.port ?? 8474, exclusive: true }, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  const control: ControlServer = {
    host,
    port,
    url: `http://${urlHost}:${port}`,
    populate: (configs) => populate(configs, false),
    proxies: () => [...proxies.values()],
    healAll,
    async stop() {
      for (const p of proxies.values()) await p.stop();
      proxies.clear();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
    [Symbol.asyncDispose]: () => control.stop(),
  };
  return control;
}
