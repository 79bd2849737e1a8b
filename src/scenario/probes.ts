/**
 * Steady-state probes: HTTP (status + JSON assertions), TCP connect, SQL query, a command's exit code,
 * a secret-free support bundle, and a Prometheus instant query. Each run returns pass/fail with a reason; a ProbeRunner polls
 * continuously and applies the consecutive-failure threshold.
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import pg from 'pg';
import { assertAllowed, errorMessage, LOOPBACK_ONLY, parseHostPort, redact, type NetworkPolicy } from '../shared/index.ts';
import { endClient } from '../failover/index.ts';
import type { ProbeSpec } from './spec.ts';
import { checkBundle, describeFinding } from './bundle-check.ts';

/** What probes may read of the environment (bundle header values and secret references); the CLI passes it in. */
export type ProbeEnv = Record<string, string | undefined>;

export interface ProbeResult {
  probe: string;
  ok: boolean;
  detail: string;
  ms: number;
}

function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

interface PromResponse {
  status: string;
  error?: string;
  errorType?: string;
  data?: { resultType?: string; result?: unknown };
}

/** The first value of an instant query: a scalar's, or the first vector sample's (null when empty or NaN). */
function promValue(body: PromResponse): number | null {
  const r = body.data?.result;
  let raw: unknown;
  if (body.data?.resultType === 'scalar') raw = (r as [number, string] | undefined)?.[1];
  else if (body.data?.resultType === 'vector') raw = (r as Array<{ value?: [number, string] }> | undefined)?.[0]?.value?.[1];
  const v = Number(raw);
  return raw === undefined || Number.isNaN(v) ? null : v;
}

/**
 * A SQL probe's connection string as node-postgres config: a URL (`postgres://user:pw@host:port/db`)
 * as is, or libpq keyword/value pairs (`host=… port=… user=… password='…' dbname=…`), which
 * node-postgres does not parse itself.
 */
export function pgConfig(conn: string): pg.ClientConfig {
  if (/^[a-z]+:\/\//i.test(conn.trim())) return { connectionString: conn };
  const kv: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S+))/g;
  for (let m = re.exec(conn); m; m = re.exec(conn)) kv[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] as string);
  const cfg: pg.ClientConfig = {};
  if (kv.host ?? kv.hostaddr) cfg.host = kv.host ?? kv.hostaddr;
  if (kv.port) cfg.port = Number(kv.port);
  if (kv.user) cfg.user = kv.user;
  if (kv.password !== undefined) cfg.password = kv.password;
  if (kv.dbname) cfg.database = kv.dbname;
  if (kv.connect_timeout) cfg.connectionTimeoutMillis = Number(kv.connect_timeout) * 1000;
  return cfg;
}

/** The host a URL names, or undefined for a relative URL without a base (it resolves against the target). */
function urlHost(url: string, baseUrl: string | undefined): string | undefined {
  try {
    return new URL(url, baseUrl).hostname;
  } catch {
    return undefined;
  }
}

/**
 * Every host a probe sends to, with its field (relative to the probe) — for the network allowlist, at
 * validation and again before each run. Pure: nothing is resolved or dialled. A Unix-socket SQL host
 * (a path) is not a network address.
 */
export function probeHosts(p: ProbeSpec, baseUrl?: string): Array<{ host: string; what: string; field: string }> {
  const one = (host: string | undefined, what: string, field: string): Array<{ host: string; what: string; field: string }> => (host === undefined ? [] : [{ host, what, field }]);
  if ('http' in p) return one(urlHost(p.http.url, baseUrl), 'probe URL', 'http.url');
  if ('tcp' in p) return one(parseHostPort(p.tcp.address, 'tcp.address').host, 'probe address', 'tcp.address');
  if ('sql' in p) {
    const cfg = pgConfig(p.sql.connectionString);
    const raw = cfg.connectionString ? urlHost(cfg.connectionString, undefined) : (cfg.host ?? '127.0.0.1');
    const host = (raw ?? '').replace(/^\[|\]$/g, '') || '127.0.0.1';
    return host.startsWith('/') ? [] : host.split(',').flatMap((h) => one(h.trim(), 'SQL probe host', 'sql.connectionString'));
  }
  if ('bundle' in p) return one(urlHost(p.bundle.url, baseUrl), 'bundle probe URL', 'bundle.url');
  if ('prometheus' in p) return one(urlHost(p.prometheus.url, undefined), 'Prometheus URL', 'prometheus.url');
  return [];
}

/** An HTTP probe: status, then each JSON assertion in order; [ok, detail]. */
async function httpCheck(h: Extract<ProbeSpec, { http: unknown }>['http'], baseUrl: string | undefined, timeoutMs: number): Promise<[boolean, string]> {
  const res = await fetch(new URL(h.url, baseUrl), { method: h.method, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (res.status !== h.status) return [false, `status ${res.status}, expected ${h.status}`];
  for (const a of h.json ?? []) {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return [false, 'body is not JSON'];
    }
    const v = getPath(body, a.path);
    if (a.exists !== undefined && (v !== undefined) !== a.exists) return [false, `${a.path} ${a.exists ? 'missing' : 'present'}`];
    if ('equals' in a && a.equals !== undefined && JSON.stringify(v) !== JSON.stringify(a.equals)) {
      return [false, `${a.path} = ${JSON.stringify(v)}, expected ${JSON.stringify(a.equals)}`];
    }
  }
  return [true, `status ${res.status}`];
}

/** Resolves once a TCP connection is established (and closes it); rejects on error or timeout. */
function tcpConnect(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const s = net.connect({ host, port, timeout: timeoutMs });
    s.once('connect', () => {
      s.destroy();
      resolve();
    });
    s.once('timeout', () => {
      s.destroy();
      reject(new Error('connect timeout'));
    });
    s.once('error', reject);
  });
}

/** Runs one probe once. `baseUrl` resolves relative HTTP probe URLs (e.g. `/readyz`) against the target. */
export async function runProbe(p: ProbeSpec, baseUrl: string | undefined, env: ProbeEnv = {}, network: NetworkPolicy = LOOPBACK_ONLY): Promise<ProbeResult> {
  const t0 = performance.now();
  const done = (ok: boolean, detail: string): ProbeResult => ({ probe: p.name, ok, detail: redact(detail), ms: Math.round((performance.now() - t0) * 10) / 10 });
  try {
    for (const h of probeHosts(p, baseUrl)) assertAllowed(h.host, h.what, h.field, network);
    if ('http' in p) return done(...(await httpCheck(p.http, baseUrl, p.timeout)));
    if ('tcp' in p) {
      const { host, port } = parseHostPort(p.tcp.address);
      await tcpConnect(host, port, p.timeout);
      return done(true, 'connected');
    }
    if ('sql' in p) {
      const cfg = pgConfig(p.sql.connectionString);
      const client = new pg.Client({ ...cfg, connectionTimeoutMillis: p.timeout, query_timeout: p.timeout });
      client.on('error', () => {});
      try {
        await client.connect();
        const r = await client.query(p.sql.query);
        return done(true, `${r.rowCount ?? 0} row(s)`);
      } finally {
        await endClient(client); // bounded: a paused database never answers the goodbye
      }
    }
    if ('command' in p) {
      const [cmd, ...args] = p.command.run as [string, ...string[]];
      const code = await new Promise<number>((resolve) => {
        execFile(cmd, args, { timeout: p.timeout }, (err) => {
          if (!err) resolve(0);
          else resolve(typeof err.code === 'number' ? err.code : -1);
        });
      });
      return done(code === p.command.exitCode, `exit ${code}, expected ${p.command.exitCode}`);
    }
    if ('bundle' in p) {
      const { bundle } = p;
      const r = await checkBundle({ ...bundle, url: new URL(bundle.url, baseUrl).toString(), network, urlField: 'bundle.url' }, env, AbortSignal.timeout(p.timeout));
      if (r.findings.length === 0) return done(true, `${r.files} files, ${r.bytes} bytes: no secret found`);
      const shown = r.findings.slice(0, 5).map(describeFinding).join('; ');
      return done(false, `${r.findings.length} finding(s): ${shown}${r.findings.length > 5 ? '; …' : ''}`);
    }
    const q = new URL('/api/v1/query', p.prometheus.url);
    q.searchParams.set('query', p.prometheus.query);
    const res = await fetch(q, { signal: AbortSignal.timeout(p.timeout) });
    const body = (await res.json()) as PromResponse;
    if (body.status !== 'success') return done(false, `Prometheus answered ${res.status}: ${body.errorType ?? 'error'}: ${body.error ?? 'unknown error'}`);
    const v = promValue(body);
    if (v === null) return done(false, `no sample for ${p.prometheus.query}`);
    if (p.prometheus.above !== undefined && !(v > p.prometheus.above)) return done(false, `${v} is not above ${p.prometheus.above}`);
    if (p.prometheus.below !== undefined && !(v < p.prometheus.below)) return done(false, `${v} is not below ${p.prometheus.below}`);
    return done(true, `value ${v}`);
  } catch (e) {
    return done(false, errorMessage(e));
  }
}

export interface ProbeSample extends ProbeResult {
  /** ms since the experiment start. */
  t: number;
  phase: string;
  /** Consecutive failures so far, and whether that crossed failAfter. */
  consecutiveFailures: number;
  failing: boolean;
}

/** Polls every probe at its interval; reports each sample. Stop with stop(). */
export class ProbeRunner {
  private timers: NodeJS.Timeout[] = [];
  private consecutive = new Map<string, number>();
  private stopped = false;
  private inflight = new Set<Promise<unknown>>();

  constructor(
    private readonly probes: ProbeSpec[],
    private readonly baseUrl: string | undefined,
    private readonly now: () => number,
    private readonly phase: () => string,
    private readonly onSample: (s: ProbeSample) => void,
    private readonly env: ProbeEnv = {},
    private readonly network: NetworkPolicy = LOOPBACK_ONLY,
  ) {}

  start(): void {
    for (const p of this.probes) {
      const loop = (): void => {
        if (this.stopped) return;
        void this.sampleOne(p).finally(() => {
          if (!this.stopped) this.timers.push(setTimeout(loop, p.interval));
        });
      };
      loop();
    }
  }

  /** Runs every probe once now (at a phase edge) and waits for the results. */
  async edge(): Promise<ProbeSample[]> {
    return Promise.all(this.probes.map((p) => this.sampleOne(p)));
  }

  private sampleOne(p: ProbeSpec): Promise<ProbeSample> {
    const phase = this.phase();
    const t = this.now();
    const run = runProbe(p, this.baseUrl, this.env, this.network).then((r) => {
      const c = r.ok ? 0 : (this.consecutive.get(p.name) ?? 0) + 1;
      this.consecutive.set(p.name, c);
      const s: ProbeSample = { ...r, t, phase, consecutiveFailures: c, failing: c >= p.failAfter };
      this.onSample(s);
      return s;
    });
    this.inflight.add(run);
    void run.finally(() => this.inflight.delete(run));
    return run;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    await Promise.allSettled([...this.inflight]);
  }
}
