/**
 * Every probe kind against a real peer: the reference service (HTTP + JSON assertions), a TCP
 * listener, a password-protected PostgreSQL (SQL), real commands, and a real Prometheus (instant
 * query). Plus the continuous runner's consecutive-failure threshold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { probeSchema, type ProbeSpec } from '../../src/scenario/spec.ts';
import { ProbeRunner, runProbe, type ProbeSample } from '../../src/scenario/probes.ts';
import { startBackend, startReferenceService, type Backend, type ReferenceService } from '../../fixtures/reference-service/index.ts';
import { freePort, startPostgres, startPrometheus, type Postgres, type Prometheus } from './helpers/peers.ts';
import { pollUntil } from '../helpers/until.ts';
import { frozenPgServer } from '../helpers/frozen-pg-server.ts';

const probe = (p: unknown): ProbeSpec => probeSchema.parse(p);

let backend: Backend;
let service: ReferenceService;
beforeAll(async () => {
  backend = await startBackend();
  service = await startReferenceService({ backend: backend.address });
});
afterAll(async () => {
  await service.close();
  await backend.close();
});

describe('HTTP probe', () => {
  it('passes when /v1/editions reports fips.self_test_passed: true, and names the mismatch otherwise', async () => {
    const ok = await runProbe(probe({ name: 'fips', http: { url: '/v1/editions', json: [{ path: 'fips.self_test_passed', equals: true }, { path: 'editions', exists: true }] } }), service.url);
    expect(ok).toMatchObject({ probe: 'fips', ok: true, detail: 'status 200' });
    const wrong = await runProbe(probe({ name: 'fips', http: { url: '/v1/editions', json: [{ path: 'fips.mode', equals: 'disabled' }] } }), service.url);
    expect(wrong).toMatchObject({ ok: false, detail: 'fips.mode = "enabled", expected "disabled"' });
    const missing = await runProbe(probe({ name: 'x', http: { url: '/v1/editions', json: [{ path: 'fips.nope', exists: true }] } }), service.url);
    expect(missing).toMatchObject({ ok: false, detail: 'fips.nope missing' });
    const status = await runProbe(probe({ name: 'x', http: { url: '/nope' } }), service.url);
    expect(status).toMatchObject({ ok: false, detail: 'status 404, expected 200' });
    // An absolute URL works without a base; a status other than 200 can be expected.
    const abs = await runProbe(probe({ name: 'x', http: { url: `${service.url}/nope`, status: 404 } }), undefined);
    expect(abs.ok).toBe(true);
  });

  it('fails on a dead port and refuses non-loopback URLs', async () => {
    const port = await freePort();
    const dead = await runProbe(probe({ name: 'dead', http: { url: `http://127.0.0.1:${port}/healthz` } }), undefined);
    expect(dead.ok).toBe(false);
    const remote = await runProbe(probe({ name: 'remote', http: { url: 'http://192.0.2.1/healthz' } }), undefined);
    expect(remote.ok).toBe(false);
    expect(remote.detail).toMatch(/loopback/);
  });
});

describe('TCP probe', () => {
  it('passes against a listener and fails when nothing listens', async () => {
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    expect(await runProbe(probe({ name: 't', tcp: { address: `127.0.0.1:${port}` } }), undefined)).toMatchObject({ ok: true, detail: 'connected' });
    await new Promise<void>((r) => server.close(() => r()));
    const closed = await runProbe(probe({ name: 't', tcp: { address: `127.0.0.1:${port}` } }), undefined);
    expect(closed.ok).toBe(false);
    expect(closed.detail).toMatch(/ECONNREFUSED/);
  });
});

describe('SQL probe (real PostgreSQL, password auth)', () => {
  let pg: Postgres;
  beforeAll(async () => {
    pg = await startPostgres('Sw0rdfish-probe-secret');
  }, 60_000);
  afterAll(async () => {
    await pg?.stop();
  });

  it('runs the query with the right password and fails — without echoing the password — with a wrong one', async () => {
    const good = await runProbe(probe({ name: 'db', sql: { connectionString: `postgres://postgres:${pg.password}@127.0.0.1:${pg.port}/postgres`, query: 'select generate_series(1, 3)' } }), undefined);
    expect(good).toMatchObject({ ok: true, detail: '3 row(s)' });
    const bad = await runProbe(probe({ name: 'db', sql: { connectionString: `postgres://postgres:wrong-${pg.password}@127.0.0.1:${pg.port}/postgres` } }), undefined);
    expect(bad.ok).toBe(false);
    expect(bad.detail).toMatch(/password authentication failed/);
    expect(bad.detail).not.toContain(pg.password);
    const badQuery = await runProbe(probe({ name: 'db', sql: { connectionString: `postgres://postgres:${pg.password}@127.0.0.1:${pg.port}/postgres`, query: 'select * from no_such_table' } }), undefined);
    expect(badQuery).toMatchObject({ ok: false });
    expect(badQuery.detail).toMatch(/no_such_table/);
    // libpq keyword/value strings work too (node-postgres parses only URLs itself).
    const kv = await runProbe(probe({ name: 'db', sql: { connectionString: `host=127.0.0.1 port=${pg.port} user=postgres password='${pg.password}' dbname=postgres` } }), undefined);
    expect(kv).toMatchObject({ ok: true, detail: '1 row(s)' });
    const remote = await runProbe(probe({ name: 'db', sql: { connectionString: `postgres://postgres:${pg.password}@192.0.2.1:5432/postgres` } }), undefined);
    expect(remote.ok).toBe(false);
    expect(remote.detail).toMatch(/not a loopback address/);
    expect(remote.detail).not.toContain(pg.password);
  });

  it('answers within its timeout when the database freezes (SIGSTOP, docker pause) right after answering', async () => {
    const frozen = await frozenPgServer('goodbye');
    try {
      const t0 = performance.now();
      const r = await runProbe(probe({ name: 'db', timeout: '300ms', sql: { connectionString: `postgres://postgres@127.0.0.1:${frozen.port}/postgres` } }), undefined);
      expect(r).toMatchObject({ ok: true, detail: '0 row(s)' });
      expect(performance.now() - t0).toBeLessThan(300 + 500 + 500);
    } finally {
      await frozen.close();
    }
  });
});

describe('command probe', () => {
  it('compares the exit code', async () => {
    expect(await runProbe(probe({ name: 'c', command: { run: ['true'] } }), undefined)).toMatchObject({ ok: true, detail: 'exit 0, expected 0' });
    expect(await runProbe(probe({ name: 'c', command: { run: ['false'] } }), undefined)).toMatchObject({ ok: false, detail: 'exit 1, expected 0' });
    expect(await runProbe(probe({ name: 'c', command: { run: ['sh', '-c', 'exit 3'], exitCode: 3 } }), undefined)).toMatchObject({ ok: true });
    expect((await runProbe(probe({ name: 'c', command: { run: ['/nonexistent/command'] } }), undefined)).ok).toBe(false);
  });
});

describe('Prometheus probe (real Prometheus 2.42)', () => {
  let prom: Prometheus;
  beforeAll(async () => {
    prom = await startPrometheus();
    // Wait for the first self-scrape so `up` has a sample.
    await pollUntil('the first self-scrape', async () => (await runProbe(probe({ name: 'up', prometheus: { url: prom.url, query: 'up{job="self"}' } }), undefined)).ok, 20_000, 250);
  }, 60_000);
  afterAll(async () => {
    await prom?.stop();
  });

  it('compares a vector or scalar sample with above/below, and reports empty results and query errors', async () => {
    const q = (query: string, cmp: Record<string, number> = {}): Promise<{ ok: boolean; detail: string }> => runProbe(probe({ name: 'p', prometheus: { url: prom.url, query, ...cmp } }), undefined);
    expect(await q('up{job="self"}', { above: 0.5 })).toMatchObject({ ok: true, detail: 'value 1' });
    expect(await q('up{job="self"}', { below: 0.5 })).toMatchObject({ ok: false, detail: '1 is not below 0.5' });
    expect(await q('scalar(vector(2))', { above: 1, below: 3 })).toMatchObject({ ok: true, detail: 'value 2' });
    expect(await q('vector(0)', { above: 0.5 })).toMatchObject({ ok: false, detail: '0 is not above 0.5' });
    expect(await q('up{job="no-such-job"}')).toMatchObject({ ok: false, detail: 'no sample for up{job="no-such-job"}' });
    const err = await q('sum(');
    expect(err.ok).toBe(false);
    expect(err.detail).toMatch(/Prometheus answered 400: bad_data/);
  });
});

describe('ProbeRunner', () => {
  it('polls continuously and applies the consecutive-failure threshold; a pass resets it', async () => {
    const port = await freePort();
    const samples: ProbeSample[] = [];
    const start = Date.now();
    const runner = new ProbeRunner([probe({ name: 'svc', tcp: { address: `127.0.0.1:${port}` }, interval: '50ms', failAfter: 3 })], undefined, () => Date.now() - start, () => 'baseline', (s) => samples.push(s));
    runner.start();
    while (samples.length < 4) await new Promise((r) => setTimeout(r, 20));
    expect(samples.slice(0, 4).map((s) => [s.consecutiveFailures, s.failing])).toEqual([
      [1, false],
      [2, false],
      [3, true],
      [4, true],
    ]);
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    const n = samples.length;
    while (!samples.slice(n).some((s) => s.ok)) await new Promise((r) => setTimeout(r, 20));
    await runner.stop();
    const firstOk = samples.slice(n).find((s) => s.ok)!;
    expect(firstOk).toMatchObject({ consecutiveFailures: 0, failing: false, phase: 'baseline' });
    // A phase-edge sample runs every probe once, now.
    const edge = await runner.edge();
    expect(edge).toHaveLength(1);
    expect(edge[0]!.ok).toBe(true);
    await new Promise<void>((r) => server.close(() => r()));
  });
});
