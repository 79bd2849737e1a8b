/**
 * The reference service: its endpoints over real HTTP, the query path through the real injector,
 * and the SIGTERM drain of the service running as its own process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startProxy, type Proxy } from '../../src/injector/index.ts';
import { startBackend, startReferenceService, type Backend, type ReferenceService } from '../../fixtures/reference-service/index.ts';

const runTs = fileURLToPath(new URL('../../bin/run-ts.mjs', import.meta.url));
const main = fileURLToPath(new URL('../../fixtures/reference-service/main.ts', import.meta.url));

describe('reference service endpoints', () => {
  let backend: Backend;
  let proxy: Proxy;
  let service: ReferenceService;
  beforeAll(async () => {
    backend = await startBackend();
    proxy = await startProxy({ name: 'ref-backend', upstream: backend.address, seed: 1 });
    service = await startReferenceService({ backend: proxy.listen, backendTimeoutMs: 400 });
  });
  afterAll(async () => {
    await service.close();
    await proxy.stop();
    await backend.close();
  });
  const get = async (path: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${service.url}${path}`, init);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('serves liveness, readiness with the cluster view, editions, ingest and 404', async () => {
    expect(await get('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await get('/readyz')).toEqual({ status: 200, body: { status: 'ready', cluster: { topology: { region: 'eu' }, writer: { role: 'writer', epoch: 1 }, writes_usable: true } } });
    const ed = await get('/v1/editions');
    expect(ed.status).toBe(200);
    expect(ed.body.fips).toEqual({ mode: 'enabled', self_test_passed: true });
    const before = service.stats.ingested;
    const ing = await get('/v1/ingest', { method: 'POST', body: JSON.stringify({ points: [1, 2, 3] }) });
    expect(ing).toEqual({ status: 202, body: { accepted: true, bytes: 18 } });
    expect(service.stats.ingested).toBe(before + 1);
    expect((await get('/nope')).status).toBe(404);
  });

  it('answers queries from the backend through the injector, and fails them when the injector partitions it', async () => {
    const ok = await get('/v1/query');
    expect(ok.status).toBe(200);
    expect(ok.body.backend).toBe('reference-backend');
    proxy.addFault({ type: 'partition', name: 'cut', stream: 'both', attributes: { mode: 'blackhole', scope: 'both' } });
    const t0 = performance.now();
    const cut = await get('/v1/query');
    expect(cut.status).toBe(504);
    expect(cut.body.error).toBe('backend did not answer within 400 ms');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(350);
    // Readiness and ingest do not depend on the backend.
    expect((await get('/readyz')).status).toBe(200);
    expect((await get('/v1/ingest', { method: 'POST', body: 'x' })).status).toBe(202);
    proxy.heal();
    proxy.addFault({ type: 'partition', name: 'refuse', stream: 'both', attributes: { mode: 'refuse', scope: 'both' } });
    const refused = await get('/v1/query');
    expect(refused.status).toBe(503);
    expect(String(refused.body.error)).toMatch(/^backend unreachable/);
    proxy.heal();
    let healed = 0;
    for (let i = 0; i < 20 && healed !== 200; i++) {
      healed = (await get('/v1/query')).status;
      if (healed !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(healed).toBe(200);
  });

  it('serves a live cluster view when given one (the failover drill uses this)', async () => {
    let usable = false;
    const s = await startReferenceService({ clusterView: () => ({ cluster: { topology: { region: 'us' }, writer: { role: 'reader', epoch: 2 }, writes_usable: usable, retry_after_ms: 200 } }) });
    try {
      const r1 = (await (await fetch(`${s.url}/readyz`)).json()) as { status: string; cluster: { writes_usable: boolean; retry_after_ms: number } };
      expect(r1).toEqual({ status: 'ready', cluster: { topology: { region: 'us' }, writer: { role: 'reader', epoch: 2 }, writes_usable: false, retry_after_ms: 200 } });
      usable = true;
      const r2 = (await (await fetch(`${s.url}/readyz`)).json()) as { cluster: { writes_usable: boolean } };
      expect(r2.cluster.writes_usable).toBe(true);
    } finally {
      await s.close();
    }
  });
});

describe('reference service process: SIGTERM drain', () => {
  it('reports not ready (503 draining), finishes the accepted request, then exits 0', async () => {
    // A slow backend: the query accepted before SIGTERM takes 800 ms.
    const slow = http.createServer((req, res) => {
      req.resume();
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"rows":[{"id":1}],"backend":"slow"}'), 800);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
    const backendAddr = `127.0.0.1:${(slow.address() as AddressInfo).port}`;
    const child = spawn(process.execPath, [runTs, main, '--backend', backendAddr, '--drain-grace', '600'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      while (!/^http:\/\/\S+\n/.test(out)) {
        if (child.exitCode !== null) throw new Error(`service exited: ${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const url = out.split('\n')[0] as string;
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      const inFlight = fetch(`${url}/v1/query`).then(async (r) => ({ status: r.status, body: await r.text() }));
      await new Promise((r) => setTimeout(r, 150));
      child.kill('SIGTERM');
      while (!out.includes('SIGTERM: draining')) await new Promise((r) => setTimeout(r, 10));
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      const view = (await ready.json()) as { status: string; cluster: { topology: { region: string }; writer: { role: string }; writes_usable: boolean } };
      expect(view.status).toBe('draining');
      expect(view.cluster.topology.region).toBe('eu');
      expect(typeof view.cluster.writes_usable).toBe('boolean');
      // Liveness holds while draining; the request accepted before SIGTERM completes normally.
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect(await inFlight).toEqual({ status: 200, body: '{"rows":[{"id":1}],"backend":"slow"}' });
      expect(await exited).toBe(0);
      expect(out).toContain('drained');
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      slow.closeAllConnections();
      await new Promise<void>((r) => slow.close(() => r()));
    }
  }, 30_000);
});
