/**
 * The balancer's part of the control plane, additive to the Toxiproxy API: a proxy created with
 * `upstreams` (and optionally `balance`, `healthCheck`) balances over them; its JSON gains `upstreams`
 * and `balance`; `GET|POST /proxies/{name}/upstreams` and `GET|DELETE /proxies/{name}/upstreams/{upstream}`
 * list, add and remove upstreams. A toxic may carry `upstream` to apply to one upstream only.
 * Single-upstream proxies look exactly as in Toxiproxy.
 */
import { InputError } from '../shared/index.ts';
import { BALANCE_POLICIES, type BalancePolicy, type BalancerOptions, type HealthCheckOptions, type UpstreamInput } from './balancer.ts';
import type { TcpProxy } from './proxy.ts';

/** `upstreams`/`balance`/`healthcheck` of a (lower-cased) proxy config; undefined for a single-upstream proxy. */
export function balancerConfig(cfg: Record<string, unknown>, where = ''): BalancerOptions | undefined {
  if (cfg.upstreams === undefined || cfg.upstreams === null) return undefined;
  if (!Array.isArray(cfg.upstreams) || cfg.upstreams.length === 0) throw new InputError('FAULTLINE_INJECTOR_PROXY', `upstreams must be a non-empty array of host:port${where}`, { field: 'upstreams' });
  const upstreams = cfg.upstreams.map((u, i): string | UpstreamInput => {
    if (typeof u === 'string') return u;
    if (u && typeof u === 'object' && typeof (u as UpstreamInput).address === 'string') {
      const { name, address } = u as UpstreamInput;
      return typeof name === 'string' && name !== '' ? { name, address } : { address };
    }
    throw new InputError('FAULTLINE_INJECTOR_PROXY', `upstreams[${i}] must be host:port or {"name","address"}${where}`, { field: `upstreams[${i}]` });
  });
  const out: BalancerOptions = { upstreams };
  if (cfg.balance !== undefined) {
    if (!BALANCE_POLICIES.includes(cfg.balance as BalancePolicy)) throw new InputError('FAULTLINE_INJECTOR_BALANCE', `balance must be one of ${BALANCE_POLICIES.join(', ')}${where}`, { field: 'balance' });
    out.policy = cfg.balance as BalancePolicy;
  }
  const hc = cfg.healthcheck;
  if (hc === false) out.healthCheck = false;
  else if (hc !== undefined && hc !== null) {
    if (typeof hc !== 'object' || Array.isArray(hc)) throw new InputError('FAULTLINE_INJECTOR_HEALTH_CHECK', `healthCheck must be an object or false${where}`, { field: 'healthCheck' });
    const h = Object.fromEntries(Object.entries(hc).map(([k, v]) => [k.toLowerCase(), v]));
    const opts: Partial<HealthCheckOptions> = {};
    if (h.enabled !== undefined) opts.enabled = h.enabled !== false;
    if (h.path !== undefined) opts.path = h.path as string;
    if (h.interval !== undefined) opts.intervalMs = Number(h.interval);
    if (h.timeout !== undefined) opts.timeoutMs = Number(h.timeout);
    if (h.rise !== undefined) opts.rise = Number(h.rise);
    if (h.fall !== undefined) opts.fall = Number(h.fall);
    out.healthCheck = opts;
  }
  return out;
}

/** The additive fields of a balancer proxy's JSON. */
export function balancerJson(p: TcpProxy): Record<string, unknown> {
  const b = p.balancer;
  if (!b) return {};
  const c = b.pool.check;
  return {
    balance: b.pool.policy,
    healthCheck: { enabled: c.enabled, path: c.path, interval: c.intervalMs, timeout: c.timeoutMs, rise: c.rise, fall: c.fall },
    upstreams: b.stats().map((u) => ({ name: u.name, address: u.address, state: u.state, connections: u.connections, checks: u.checks })),
  };
}

/**
 * `/proxies/{name}/upstreams[/{upstream}]`: returns [status, body] or throws InputError (400) /
 * a 404 for a proxy without a balancer or an unknown upstream.
 */
export async function routeUpstreams(p: TcpProxy, method: string, upstream: string | undefined, body: () => Promise<unknown>): Promise<[number, unknown?]> {
  const b = p.balancer;
  if (!b) return [404, { error: 'proxy has a single upstream (create it with upstreams to balance)', status: 404 }];
  if (upstream === undefined) {
    if (method === 'GET') return [200, b.stats()];
    if (method === 'POST') {
      const raw = (await body()) as Record<string, unknown> | undefined;
      const address = typeof raw?.address === 'string' ? raw.address : undefined;
      if (!address) throw new InputError('FAULTLINE_INJECTOR_PROXY', 'missing required field: address', { field: 'address' });
      const u = b.add(typeof raw?.name === 'string' && raw.name !== '' ? { name: raw.name, address } : address, 'address');
      return [201, u.stats()];
    }
    return [405, { error: 'method not allowed', status: 405 }];
  }
  const u = b.pool.find(upstream);
  if (!u) return [404, { error: 'upstream not found', status: 404 }];
  if (method === 'GET') return [200, u.stats()];
  if (method === 'DELETE') {
    b.remove(upstream);
    return [204];
  }
  return [405, { error: 'method not allowed', status: 405 }];
}
