/**
 * The control plane: an HTTP server speaking the Toxiproxy API (so `toxiproxy-node-client` drives it
 * unchanged), bound to loopback only. faultline's extensions (stream `both`, `ttl`, extra fault types
 * and attributes) are additions a Toxiproxy client can ignore. `GET /metrics` serves Prometheus text.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import { assertAllowed, assertLoopback, checkResourceName, didYouMean, errorMessage, FaultlineError, InputError, isFaultlineError, LOOPBACK_ONLY, parseHostPort, seedToString, silentLogger, type Logger, type NetworkPolicy, type Seed } from '../shared/index.ts';
import { describeValue, FAULT_TYPE_NAMES, isFaultType, type FaultSpec } from './faults.ts';
import { TcpProxy, type FaultInfo } from './proxy.ts';
import { balancerConfig, balancerJson, routeUpstreams } from './balancer-api.ts';

export const TOXIPROXY_COMPAT_VERSION = '2.12.0';

export interface ControlServerOptions {
  host?: string;
  port?: number;
  seed?: Seed;
  logger?: Logger;
  /** Addresses outside loopback that proxies created through the API may listen on or dial (default: none). The control plane itself stays on loopback. */
  network?: NetworkPolicy;
}

/** Keys a toxic body may carry (as Toxiproxy's); anything else is refused, never ignored. */
const TOXIC_KEYS = ['name', 'type', 'stream', 'toxicity', 'attributes', 'ttl', 'upstream'] as const;

function refuseUnknownKeys(body: Record<string, unknown>): void {
  for (const k of Object.keys(body)) {
    if (!(TOXIC_KEYS as readonly string[]).includes(k)) throw new ApiError(400, `unknown field '${k}'${didYouMean(k, TOXIC_KEYS)} (known: ${TOXIC_KEYS.join(', ')})`);
  }
}

/** A field that must be a string when present (never coerced). */
function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw new ApiError(400, `field '${key}' must be a string, got ${describeValue(v)}`);
  return v;
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

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function toxicJson(f: FaultInfo): Record<string, unknown> {
  const out: Record<string, unknown> = { attributes: f.attributes, name: f.name, type: f.type, stream: f.stream, toxicity: f.toxicity };
  if (f.ttlMs !== undefined) out.ttl = f.ttlMs;
  if (f.upstream !== undefined) out.upstream = f.upstream;
  return out;
}

function proxyJson(p: TcpProxy): Record<string, unknown> {
  const faults = p.faults();
  const order = (s: string): number => (s === 'upstream' ? 0 : s === 'both' ? 1 : 2);
  faults.sort((a, b) => order(a.stream) - order(b.stream));
  return { name: p.name, listen: p.listen, upstream: p.upstream, enabled: p.enabled, toxics: faults.map(toxicJson), ...balancerJson(p) };
}

/** Go's encoding/json matches keys case-insensitively; so do we (top level and attributes). */
function lowerKeys(v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ApiError(400, 'bad request body: expected a JSON object');
  const out: Record<string, unknown> = {};
  for (const [k, inner] of Object.entries(v as Record<string, unknown>)) {
    const key = k.toLowerCase();
    out[key] = key === 'attributes' && inner && typeof inner === 'object' && !Array.isArray(inner) ? Object.fromEntries(Object.entries(inner).map(([a, b]) => [a.toLowerCase(), b])) : inner;
  }
  return out;
}

/** Whether a requested listen address is the one a proxy already listens on (`localhost` = 127.0.0.1, as Toxiproxy 2.12). */
function sameListen(requested: string, current: string): boolean {
  return requested === current || requested.replace(/^localhost:/, '127.0.0.1:') === current;
}

function readBody(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > 1 << 20) reject(new ApiError(413, 'request body too large'));
      else parts.push(d);
    });
    req.on('end', () => {
      const text = Buffer.concat(parts).toString('utf8').trim();
      if (text === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch (e) {
        reject(new ApiError(400, `bad request body: ${errorMessage(e)}`));
      }
    });
    req.on('error', reject);
  });
}

function statusOf(e: unknown): number {
  if (e instanceof ApiError) return e.status;
  if (isFaultlineError(e)) {
    const s = e.details?.status;
    if (typeof s === 'number') return s;
    if (e instanceof InputError) return 400;
  }
  return 500;
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

  const getProxy = (name: string): TcpProxy => {
    const p = proxies.get(name);
    if (!p) throw new ApiError(404, 'proxy not found');
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

  const route = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://control');
    let parts: string[];
    try {
      parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      throw new ApiError(400, 'malformed percent-encoding in the request path');
    }
    const method = req.method ?? 'GET';
    const send = (status: number, body?: unknown): void => {
      if (body === undefined) {
        res.writeHead(status).end();
        return;
      }
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(`${text}\n`);
    };
    const isUpdate = method === 'POST' || method === 'PATCH';

    if (parts.length === 1 && parts[0] === 'version' && method === 'GET') return send(200, { version: TOXIPROXY_COMPAT_VERSION, faultline: '0.1.0', seed });
    if (parts.length === 1 && parts[0] === 'metrics' && method === 'GET') {
      const text = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType }).end(text);
      return;
    }
    if (parts.length === 1 && parts[0] === 'reset' && method === 'POST') {
      await healAll();
      return send(204);
    }
    if (parts.length === 1 && parts[0] === 'populate' && method === 'POST') {
      const body = await readBody(req);
      try {
        const created = await populate(body ?? []);
        return send(201, { proxies: created.map(proxyJson) });
      } catch (e) {
        const created = (e as { created?: TcpProxy[] }).created;
        return send(statusOf(e), { error: errorMessage(e), status: statusOf(e), proxies: created ? created.map(proxyJson) : null });
      }
    }
    if (parts[0] !== 'proxies') throw new ApiError(404, 'not found');
    if (parts.length === 1) {
      if (method === 'GET') return send(200, Object.fromEntries([...proxies.values()].map((p) => [p.name, proxyJson(p)])));
      if (method === 'POST') {
        const body = lowerKeys(await readBody(req));
        if (typeof body.name === 'string' && proxies.has(body.name)) throw new ApiError(409, 'proxy already exists');
        const p = await createProxy(body);
        proxies.set(p.name, p);
        return send(201, proxyJson(p));
      }
      throw new ApiError(405, 'method not allowed');
    }
    const proxy = getProxy(parts[1] as string);
    if (parts.length === 2) {
      if (method === 'GET') return send(200, proxyJson(proxy));
      if (method === 'DELETE') {
        await proxy.stop();
        proxies.delete(proxy.name);
        return send(204);
      }
      if (isUpdate) {
        const body = lowerKeys((await readBody(req)) ?? {});
        let target = proxy;
        const newListen = optionalString(body, 'listen') ?? proxy.listen;
        const newUpstream = optionalString(body, 'upstream') ?? proxy.upstream;
        if (body.enabled !== undefined && typeof body.enabled !== 'boolean') throw new ApiError(400, `field 'enabled' must be true or false, got ${describeValue(body.enabled)}`);
        if (!sameListen(newListen, proxy.listen) || newUpstream !== proxy.upstream) {
          // Checked before the running proxy is stopped: a refused address leaves it as it was.
          assertAllowed(parseHostPort(newUpstream, 'upstream').host, 'proxy upstream', 'upstream', network);
          assertAllowed(parseHostPort(newListen, 'listen').host, 'proxy listen address', 'listen', network);
          const faults = proxy.faults();
          const wasEnabled = proxy.enabled;
          await proxy.stop();
          target = await createProxy({ name: proxy.name, listen: newListen, upstream: newUpstream, enabled: wasEnabled });
          for (const f of faults) target.addFault(f);
          proxies.set(target.name, target);
        }
        if (typeof body.enabled === 'boolean') await target.setEnabled(body.enabled);
        return send(200, proxyJson(target));
      }
      throw new ApiError(405, 'method not allowed');
    }
    if (parts[2] === 'upstreams' && parts.length <= 4) {
      const [status, out] = await routeUpstreams(proxy, method, parts[3], () => readBody(req).then((b) => (b === undefined ? undefined : lowerKeys(b))));
      return send(status, out);
    }
    if (parts[2] !== 'toxics' || parts.length > 4) throw new ApiError(404, 'not found');
    if (parts.length === 3) {
      if (method === 'GET') return send(200, proxyJson(proxy).toxics);
      if (method === 'POST') {
        const body = lowerKeys(await readBody(req));
        refuseUnknownKeys(body);
        if (typeof body.type !== 'string' || !isFaultType(body.type)) {
          throw new ApiError(400, `invalid toxic type${typeof body.type === 'string' ? ` '${body.type}'${didYouMean(body.type, FAULT_TYPE_NAMES)}` : ''}`);
        }
        if (body.stream !== undefined && typeof body.stream !== 'string') throw new ApiError(400, `stream was invalid, can be either upstream or downstream (got ${describeValue(body.stream)})`);
        const stream = body.stream === undefined ? 'downstream' : body.stream.toLowerCase();
        if (!['upstream', 'downstream', 'both'].includes(stream)) throw new ApiError(400, 'stream was invalid, can be either upstream or downstream');
        const spec: FaultSpec = { type: body.type, stream: stream as FaultSpec['stream'] };
        // Values pass through as sent: validation refuses null and wrong types instead of coercing them.
        if (body.name !== undefined && body.name !== '') spec.name = body.name as string;
        if (body.toxicity !== undefined) spec.toxicity = body.toxicity as number;
        if (body.attributes !== undefined) spec.attributes = body.attributes as Record<string, unknown>;
        if (body.ttl !== undefined) spec.ttlMs = body.ttl as number;
        if (body.upstream !== undefined && body.upstream !== '') spec.upstream = body.upstream as string;
        const name = spec.name ?? `${spec.type}_${stream}`;
        if (proxy.getFault(name)) throw new ApiError(409, 'toxic already exists');
        return send(200, toxicJson(proxy.addFault(spec)));
      }
      throw new ApiError(405, 'method not allowed');
    }
    const toxicName = parts[3] as string;
    const fault = proxy.getFault(toxicName);
    if (!fault) throw new ApiError(404, 'toxic not found');
    if (method === 'GET') return send(200, toxicJson(fault));
    if (method === 'DELETE') {
      proxy.removeFault(toxicName);
      return send(204);
    }
    if (isUpdate) {
      const body = lowerKeys((await readBody(req)) ?? {});
      refuseUnknownKeys(body);
      const patch: Partial<FaultSpec> = {};
      if (body.attributes !== undefined) patch.attributes = body.attributes as Record<string, unknown>;
      if (body.toxicity !== undefined) patch.toxicity = body.toxicity as number;
      if (body.ttl !== undefined) patch.ttlMs = body.ttl as number;
      return send(200, toxicJson(proxy.updateFault(toxicName, patch)));
    }
    throw new ApiError(405, 'method not allowed');
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
