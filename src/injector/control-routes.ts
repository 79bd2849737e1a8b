/**
 * The control plane's routes as a table: path pattern → method → handler. Each handler gets the
 * control plane's state and the request's path parameters and body, and returns a reply; the
 * server (control-server.ts) writes it. Also the API's JSON shapes and body checks.
 */
import type http from 'node:http';
import type { Registry } from 'prom-client';
import { assertAllowed, didYouMean, errorMessage, faultlineVersion, InputError, isFaultlineError, parseHostPort, type NetworkPolicy } from '../shared/index.ts';
import { defaultFaultName, describeValue, FAULT_TYPE_NAMES, isFaultType, parseStream, type FaultInfo, type FaultSpec } from './faults.ts';
import type { TcpProxy } from './proxy.ts';
import { balancerJson, routeUpstreams } from './balancer-api.ts';

export const TOXIPROXY_COMPAT_VERSION = '2.12.0';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function statusOf(e: unknown): number {
  if (e instanceof ApiError) return e.status;
  if (isFaultlineError(e)) {
    const s = e.details?.status;
    if (typeof s === 'number') return s;
    if (e instanceof InputError) return 400;
  }
  return 500;
}

/** Keys a toxic body may carry (as Toxiproxy's); anything else is refused, never ignored. */
const TOXIC_KEYS = ['name', 'type', 'stream', 'toxicity', 'attributes', 'ttl', 'upstream'] as const;

function refuseUnknownKeys(body: Record<string, unknown>): void {
  for (const k of Object.keys(body)) {
    if (!(TOXIC_KEYS as readonly string[]).includes(k)) throw new ApiError(400, `unknown field '${k}'${didYouMean(k, TOXIC_KEYS)} (known: ${TOXIC_KEYS.join(', ')})`);
  }
}

/** A field that must be a string when present (never coerced). */
export function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw new ApiError(400, `field '${key}' must be a string, got ${describeValue(v)}`);
  return v;
}

function toxicJson(f: FaultInfo): Record<string, unknown> {
  const out: Record<string, unknown> = { attributes: f.attributes, name: f.name, type: f.type, stream: f.stream, toxicity: f.toxicity };
  if (f.ttlMs !== undefined) out.ttl = f.ttlMs;
  if (f.upstream !== undefined) out.upstream = f.upstream;
  return out;
}

export function proxyJson(p: TcpProxy): Record<string, unknown> {
  const faults = p.faults();
  const order = (s: string): number => (s === 'upstream' ? 0 : s === 'both' ? 1 : 2);
  faults.sort((a, b) => order(a.stream) - order(b.stream));
  return { name: p.name, listen: p.listen, upstream: p.upstream, enabled: p.enabled, toxics: faults.map(toxicJson), ...balancerJson(p) };
}

/** Go's encoding/json matches keys case-insensitively; so do we (top level and attributes). */
export function lowerKeys(v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ApiError(400, 'bad request body: expected a JSON object');
  const out: Record<string, unknown> = {};
  for (const [k, inner] of Object.entries(v as Record<string, unknown>)) {
    const key = k.toLowerCase();
    out[key] = key === 'attributes' && inner && typeof inner === 'object' && !Array.isArray(inner) ? Object.fromEntries(Object.entries(inner).map(([a, b]) => [a.toLowerCase(), b])) : inner;
  }
  return out;
}

/** Whether a requested listen address is the one a proxy already listens on (`localhost` = 127.0.0.1, as Toxiproxy 2.12). */
export function sameListen(requested: string, current: string): boolean {
  return requested === current || requested.replace(/^localhost:/, '127.0.0.1:') === current;
}

export function readBody(req: http.IncomingMessage): Promise<unknown> {
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

/** The control plane's state, as the handlers use it. */
export interface ControlPlane {
  readonly seed: string;
  readonly network: NetworkPolicy;
  readonly proxies: Map<string, TcpProxy>;
  readonly metrics: Registry;
  createProxy(cfg: Record<string, unknown>): Promise<TcpProxy>;
  /** Creates the proxies of a list; on failure the error carries `created` (those already created). */
  populate(list: unknown): Promise<TcpProxy[]>;
  healAll(): Promise<void>;
}

export interface ApiRequest {
  /** Path parameters (`:proxy`, `:toxic`, `:upstream`). */
  params: Record<string, string>;
  method: string;
  body(): Promise<unknown>;
}

/** A JSON reply (no body: empty), or a raw text one. */
export type ApiReply = { status: number; json?: unknown } | { status: number; text: string; contentType: string };

type Handler = (plane: ControlPlane, r: ApiRequest) => Promise<ApiReply>;

interface Route {
  /** Segments; `:name` matches any one segment into params.name. */
  path: string;
  /** Handlers by method; `*` takes any method. */
  methods: Partial<Record<'GET' | 'POST' | 'PATCH' | 'DELETE' | '*', Handler>>;
  /** The status for a method the route does not have (the top-level routes answer 404, as before). */
  otherMethods?: 404 | 405;
}

const json = (status: number, body?: unknown): ApiReply => (body === undefined ? { status } : { status, json: body });

function proxyOf(plane: ControlPlane, r: ApiRequest): TcpProxy {
  const p = plane.proxies.get(r.params.proxy as string);
  if (!p) throw new ApiError(404, 'proxy not found');
  return p;
}

function toxicOf(plane: ControlPlane, r: ApiRequest): [TcpProxy, FaultInfo] {
  const proxy = proxyOf(plane, r);
  const fault = proxy.getFault(r.params.toxic as string);
  if (!fault) throw new ApiError(404, 'toxic not found');
  return [proxy, fault];
}

async function updateProxy(plane: ControlPlane, r: ApiRequest): Promise<ApiReply> {
  const proxy = proxyOf(plane, r);
  const body = lowerKeys((await r.body()) ?? {});
  let target = proxy;
  const newListen = optionalString(body, 'listen') ?? proxy.listen;
  const newUpstream = optionalString(body, 'upstream') ?? proxy.upstream;
  if (body.enabled !== undefined && typeof body.enabled !== 'boolean') throw new ApiError(400, `field 'enabled' must be true or false, got ${describeValue(body.enabled)}`);
  if (!sameListen(newListen, proxy.listen) || newUpstream !== proxy.upstream) {
    // Checked before the running proxy is stopped: a refused address leaves it as it was.
    assertAllowed(parseHostPort(newUpstream, 'upstream').host, 'proxy upstream', 'upstream', plane.network);
    assertAllowed(parseHostPort(newListen, 'listen').host, 'proxy listen address', 'listen', plane.network);
    const faults = proxy.faults();
    const wasEnabled = proxy.enabled;
    await proxy.stop();
    target = await plane.createProxy({ name: proxy.name, listen: newListen, upstream: newUpstream, enabled: wasEnabled });
    for (const f of faults) target.addFault(f);
    plane.proxies.set(target.name, target);
  }
  if (typeof body.enabled === 'boolean') await target.setEnabled(body.enabled);
  return json(200, proxyJson(target));
}

async function addToxic(plane: ControlPlane, r: ApiRequest): Promise<ApiReply> {
  const proxy = proxyOf(plane, r);
  const body = lowerKeys(await r.body());
  refuseUnknownKeys(body);
  if (typeof body.type !== 'string' || !isFaultType(body.type)) {
    throw new ApiError(400, `invalid toxic type${typeof body.type === 'string' ? ` '${body.type}'${didYouMean(body.type, FAULT_TYPE_NAMES)}` : ''}`);
  }
  if (body.stream !== undefined && typeof body.stream !== 'string') throw new ApiError(400, `stream was invalid, can be either upstream or downstream (got ${describeValue(body.stream)})`);
  const stream = body.stream === undefined ? 'downstream' : parseStream(body.stream);
  if (stream === undefined) throw new ApiError(400, 'stream was invalid, can be either upstream or downstream');
  const spec: FaultSpec = { type: body.type, stream };
  // Values pass through as sent: validation refuses null and wrong types instead of coercing them.
  if (body.name !== undefined && body.name !== '') spec.name = body.name as string;
  if (body.toxicity !== undefined) spec.toxicity = body.toxicity as number;
  if (body.attributes !== undefined) spec.attributes = body.attributes as Record<string, unknown>;
  if (body.ttl !== undefined) spec.ttlMs = body.ttl as number;
  if (body.upstream !== undefined && body.upstream !== '') spec.upstream = body.upstream as string;
  const name = spec.name ?? defaultFaultName(spec.type, stream);
  if (proxy.getFault(name)) throw new ApiError(409, 'toxic already exists');
  return json(200, toxicJson(proxy.addFault(spec)));
}

async function updateToxic(plane: ControlPlane, r: ApiRequest): Promise<ApiReply> {
  const [proxy, fault] = toxicOf(plane, r);
  const body = lowerKeys((await r.body()) ?? {});
  refuseUnknownKeys(body);
  const patch: Partial<FaultSpec> = {};
  if (body.attributes !== undefined) patch.attributes = body.attributes as Record<string, unknown>;
  if (body.toxicity !== undefined) patch.toxicity = body.toxicity as number;
  if (body.ttl !== undefined) patch.ttlMs = body.ttl as number;
  return json(200, toxicJson(proxy.updateFault(fault.name, patch)));
}

async function upstreams(plane: ControlPlane, r: ApiRequest): Promise<ApiReply> {
  const [status, out] = await routeUpstreams(proxyOf(plane, r), r.method, r.params.upstream, () => r.body().then((b) => (b === undefined ? undefined : lowerKeys(b))));
  return json(status, out);
}

export const ROUTES: readonly Route[] = [
  { path: 'version', otherMethods: 404, methods: { GET: async (plane) => json(200, { version: TOXIPROXY_COMPAT_VERSION, faultline: faultlineVersion(), seed: plane.seed }) } },
  { path: 'metrics', otherMethods: 404, methods: { GET: async (plane) => ({ status: 200, text: await plane.metrics.metrics(), contentType: plane.metrics.contentType }) } },
  {
    path: 'reset',
    otherMethods: 404,
    methods: {
      POST: async (plane) => {
        await plane.healAll();
        return json(204);
      },
    },
  },
  {
    path: 'populate',
    otherMethods: 404,
    methods: {
      POST: async (plane, r) => {
        const body = await r.body();
        try {
          const created = await plane.populate(body ?? []);
          return json(201, { proxies: created.map(proxyJson) });
        } catch (e) {
          const created = (e as { created?: TcpProxy[] }).created;
          return json(statusOf(e), { error: errorMessage(e), status: statusOf(e), proxies: created ? created.map(proxyJson) : null });
        }
      },
    },
  },
  {
    path: 'proxies',
    methods: {
      GET: async (plane) => json(200, Object.fromEntries([...plane.proxies.values()].map((p) => [p.name, proxyJson(p)]))),
      POST: async (plane, r) => {
        const body = lowerKeys(await r.body());
        if (typeof body.name === 'string' && plane.proxies.has(body.name)) throw new ApiError(409, 'proxy already exists');
        const p = await plane.createProxy(body);
        plane.proxies.set(p.name, p);
        return json(201, proxyJson(p));
      },
    },
  },
  {
    path: 'proxies/:proxy',
    methods: {
      GET: async (plane, r) => json(200, proxyJson(proxyOf(plane, r))),
      DELETE: async (plane, r) => {
        const proxy = proxyOf(plane, r);
        await proxy.stop();
        plane.proxies.delete(proxy.name);
        return json(204);
      },
      POST: updateProxy,
      PATCH: updateProxy,
    },
  },
  { path: 'proxies/:proxy/upstreams', methods: { '*': upstreams } },
  { path: 'proxies/:proxy/upstreams/:upstream', methods: { '*': upstreams } },
  {
    path: 'proxies/:proxy/toxics',
    methods: {
      GET: async (plane, r) => json(200, proxyJson(proxyOf(plane, r)).toxics),
      POST: addToxic,
    },
  },
  {
    path: 'proxies/:proxy/toxics/:toxic',
    methods: {
      GET: async (plane, r) => json(200, toxicJson(toxicOf(plane, r)[1])),
      DELETE: async (plane, r) => {
        const [proxy, fault] = toxicOf(plane, r);
        proxy.removeFault(fault.name);
        return json(204);
      },
      POST: updateToxic,
      PATCH: updateToxic,
    },
  },
];

function match(pattern: string, parts: string[]): Record<string, string> | undefined {
  const segs = pattern.split('/');
  if (segs.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i] as string;
    if (s.startsWith(':')) params[s.slice(1)] = parts[i] as string;
    else if (s !== parts[i]) return undefined;
  }
  return params;
}

/** Finds the route for a path and method and runs it; unknown paths are 404s (a missing proxy is named). */
export async function dispatch(plane: ControlPlane, method: string, parts: string[], body: () => Promise<unknown>): Promise<ApiReply> {
  for (const route of ROUTES) {
    const params = match(route.path, parts);
    if (!params) continue;
    const request: ApiRequest = { params, method, body };
    // A resource that does not exist is a 404 whatever the method.
    if (params.proxy !== undefined) proxyOf(plane, request);
    if (params.toxic !== undefined) toxicOf(plane, request);
    const handler = route.methods[method as keyof Route['methods']] ?? route.methods['*'];
    if (!handler) throw new ApiError(route.otherMethods ?? 405, route.otherMethods === 404 ? 'not found' : 'method not allowed');
    return handler(plane, request);
  }
  // Under an existing proxy, an unknown path is "not found"; under a missing one, the proxy is.
  if (parts[0] === 'proxies' && parts.length > 2) proxyOf(plane, { params: { proxy: parts[1] as string }, method, body });
  throw new ApiError(404, 'not found');
}
