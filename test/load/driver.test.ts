/** The driver's bookkeeping against a real loopback server: phases, warm-up, per-second series, SLI sink. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countingServer, everyNthFails, type TestServer } from './http-fixture.ts';
import { runLoad, type SliOutcome } from '../../src/load/index.ts';

let server: TestServer;
let url: string;
beforeAll(async () => {
  server = await everyNthFails(10, 503);
  url = server.url;
});
afterAll(() => server.close());

describe('open-loop driver bookkeeping', () => {
  it('keeps per-phase and per-second series, leaves the warm-up out of every histogram, and streams all outcomes', async () => {
    const outcomes: SliOutcome[] = [];
    const r = await runLoad({
      target: { kind: 'http', url },
      schedule: { type: 'steps', steps: [{ rate: 50, duration: 1000 }, { rate: 100, duration: 1000 }] },
      warmupMs: 500,
      phases: [
        { name: 'baseline', startMs: 0, endMs: 1000 },
        { name: 'fault', startMs: 1000, endMs: 2000 },
      ],
      sink: { record: (o) => outcomes.push(o) },
    });
    expect(r).toMatchObject({ scheduled: 150, sent: 150, dropped: 0, completed: 150 });
    expect(r.bad).toBe(15);
    expect(r.errors).toEqual({ http_503: 15 });
    expect(outcomes).toHaveLength(150);
    expect(outcomes.filter((o) => !o.good).every((o) => o.status === 503 && o.errorClass === 'http_503')).toBe(true);
    // Warm-up: the 25 requests intended in the first 500 ms are counted but not in the histograms.
    expect(r.latencyMs.corrected.count).toBe(125);
    expect(r.latencyMs.service.count).toBe(125);
    expect(r.schedulingLagMs.count).toBe(125);
    const [baseline, fault] = r.phases;
    expect(baseline).toMatchObject({ name: 'baseline', scheduled: 50, sent: 50 });
    expect(baseline?.latencyMs.corrected.count).toBe(25);
    expect(fault).toMatchObject({ name: 'fault', scheduled: 100, sent: 100, sentPerSec: 100, completedPerSec: 100 });
    expect(baseline).toMatchObject({ sentPerSec: 50, completedPerSec: 50 });
    expect(fault?.latencyMs.corrected.count).toBe(100);
    expect((baseline?.good ?? 0) + (baseline?.bad ?? 0) + (fault?.good ?? 0) + (fault?.bad ?? 0)).toBe(150);
    // Per second: rate sent and completed, errors by class, latency percentiles.
    expect(r.perSecond.slice(0, 2).map((b) => [b.second, b.sent, b.completed])).toEqual([
      [0, 50, 50],
      [1, 100, 100],
    ]);
    expect(r.perSecond[1]?.errors.http_503 ?? 0).toBeGreaterThan(0);
    expect(Object.keys(r.perSecond[1]?.latencyMs ?? {})).toEqual(['count', 'p50', 'p90', 'p99', 'p999', 'max', 'mean']);
  });

  it('stops scheduling when its signal aborts and reports the run as aborted', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const r = await runLoad({ target: { kind: 'http', url }, schedule: { type: 'constant', rate: 100, duration: 5000 }, signal: ac.signal });
    expect(r.aborted).toBe(true);
    expect(r.scheduled).toBeGreaterThan(10);
    expect(r.scheduled).toBeLessThan(200);
    expect(r.completed).toBe(r.sent);
  });

  it('maps outcomes to good/bad through the SLI status classes', async () => {
    const strict = await runLoad({ target: { kind: 'http', url }, schedule: { type: 'constant', rate: 100, duration: 500 }, sli: { goodStatus: '2xx' } });
    expect(strict.bad).toBe(5);
    const lenient = await runLoad({ target: { kind: 'http', url }, schedule: { type: 'constant', rate: 100, duration: 500 }, sli: { goodStatus: '2xx,503' } });
    expect(lenient).toMatchObject({ good: 50, bad: 0, errors: {} });
    await expect(runLoad({ target: { kind: 'http', url }, schedule: { type: 'constant', rate: 1, duration: 10 }, sli: { goodStatus: '2xy' } })).rejects.toThrow(/bad status class '2xy'/);
  });
});

describe('connection pre-warming', () => {
  it('opens the connections before the clock starts and sends no request of its own', async () => {
    const counting = await countingServer();
    try {
      const r = await runLoad({ target: { kind: 'http', url: counting.url, connections: 16 }, schedule: { type: 'constant', rate: 40, duration: 500 }, prewarmConnections: 6 });
      expect(r.generator.prewarmedConnections).toBe(6);
      expect(r.generator.connections).toBe(16);
      expect(counting.connections()).toBeGreaterThanOrEqual(6);
      expect(counting.requests()).toBe(20);
      expect(r).toMatchObject({ scheduled: 20, sent: 20, good: 20 });
      // Never more than the pool's cap.
      const capped = await runLoad({ target: { kind: 'http', url: counting.url, connections: 2 }, schedule: { type: 'constant', rate: 10, duration: 100 }, prewarmConnections: 50 });
      expect(capped.generator.prewarmedConnections).toBe(2);
    } finally {
      await counting.close();
    }
  });
});

describe('requests that never leave the generator', () => {
  it('count as client-side queueing when their deadline passes before they reach the wire', async () => {
    // One connection to a server that never answers: the first request holds it, the rest wait in the
    // generator's queue until their deadlines.
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    try {
      const r = await runLoad({
        target: { kind: 'http', url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`, connections: 1 },
        schedule: { type: 'constant', rate: 20, duration: 500 },
        timeoutMs: 300,
      });
      expect(r.errors).toEqual({ timeout: 10 });
      expect(r.clientQueueMs.count).toBe(10);
      expect(r.clientQueueMs.p99).toBeGreaterThan(200);
      expect(r).toMatchObject({ valid: false, invalidCause: 'generator' });
    } finally {
      silent.close();
    }
  });
});

describe('HTTPS targets', () => {
  it('load an HTTPS service with a trusted CA, and refuse an untrusted certificate unless insecure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-tls-'));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const server = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_q, r) => r.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const tlsUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const schedule = { type: 'constant', rate: 20, duration: 250 } as const;
    try {
      const trusted = await runLoad({ target: { kind: 'http', url: tlsUrl, ca: readFileSync(cert, 'utf8') }, schedule });
      expect(trusted).toMatchObject({ sent: 5, good: 5, bad: 0 });
      const untrusted = await runLoad({ target: { kind: 'http', url: tlsUrl }, schedule });
      expect(untrusted.good).toBe(0);
      expect(untrusted.errors).toEqual({ tls: 5 });
      const insecure = await runLoad({ target: { kind: 'http', url: tlsUrl, insecure: true }, schedule });
      expect(insecure.good).toBe(5);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
