/**
 * The reference service's own /metrics (prom-client): counters by route and status code start at 0,
 * count what the service answered (errors included when the injector cuts its backend), the latency
 * histogram observes every request, and the text is valid Prometheus exposition (`promtool check
 * metrics`, Debian package `prometheus`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { startProxy, type Proxy } from '../../src/injector/index.ts';
import { startBackend, startReferenceService, type Backend, type ReferenceService } from '../../fixtures/reference-service/index.ts';

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const m = /^[^{]+\{([^}]*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const got = Object.fromEntries([...(m[1] as string).matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v) && Object.keys(got).length === Object.keys(labels).length) return Number(m[2]);
  }
  return undefined;
}

function promtoolCheckMetrics(text: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
    child.stdin.end(text);
  });
}

describe('reference service /metrics', () => {
  let backend: Backend;
  let proxy: Proxy;
  let service: ReferenceService;
  beforeAll(async () => {
    backend = await startBackend();
    proxy = await startProxy({ name: 'ref-metrics', upstream: backend.address, seed: 1 });
    service = await startReferenceService({ backend: proxy.listen, backendTimeoutMs: 400 });
  });
  afterAll(async () => {
    await service.close();
    await proxy.stop();
    await backend.close();
  });
  const scrape = async (): Promise<string> => {
    const res = await fetch(`${service.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  it('starts every known route × status code at 0, so the first error is visible to rate()', async () => {
    const text = await scrape();
    for (const code of ['200', '502', '503', '504']) expect(sample(text, 'http_requests_total', { route: '/v1/query', method: 'GET', code })).toBe(0);
    expect(sample(text, 'http_request_duration_seconds_count', { route: '/v1/query', method: 'GET', code: '503' })).toBe(0);
  });

  it('counts answers by route and status code, errors included, with a latency histogram', async () => {
    const before = await scrape();
    const q = (): Promise<number> => fetch(`${service.url}/v1/query`).then(async (r) => (await r.arrayBuffer(), r.status));
    for (let i = 0; i < 5; i++) expect(await q()).toBe(200);
    proxy.addFault({ type: 'partition', name: 'cut', stream: 'both', attributes: { mode: 'refuse', scope: 'both' } });
    for (let i = 0; i < 3; i++) expect(await q()).toBe(503);
    proxy.heal();
    expect((await fetch(`${service.url}/nope/${Math.random()}`)).status).toBe(404);
    const after = await scrape();
    const delta = (code: string): number =>
      (sample(after, 'http_requests_total', { route: '/v1/query', method: 'GET', code }) ?? NaN) - (sample(before, 'http_requests_total', { route: '/v1/query', method: 'GET', code }) ?? NaN);
    expect(delta('200')).toBe(5);
    expect(delta('503')).toBe(3);
    // Unknown paths share one `other` route (bounded cardinality).
    expect(sample(after, 'http_requests_total', { route: 'other', method: 'GET', code: '404' })).toBe(1);
    expect(sample(after, 'http_request_duration_seconds_count', { route: '/v1/query', method: 'GET', code: '503' })).toBe(3);
    const inf = sample(after, 'http_request_duration_seconds_bucket', { route: '/v1/query', method: 'GET', code: '200', le: '+Inf' });
    expect(inf).toBe(sample(after, 'http_request_duration_seconds_count', { route: '/v1/query', method: 'GET', code: '200' }));
    expect(sample(after, 'http_request_duration_seconds_sum', { route: '/v1/query', method: 'GET', code: '200' })).toBeGreaterThan(0);
  });

  it('is valid Prometheus exposition text (promtool check metrics)', async () => {
    const { code, out } = await promtoolCheckMetrics(await scrape());
    expect(out).toBe('');
    expect(code).toBe(0);
  });
});
