/**
 * The reference service's release switches (what a rollout drill deploys and must catch): version
 * headers, warm-up readiness, exact error ratio, extra latency, /readyz that never flips, and a
 * process that exits at once on SIGTERM.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startReferenceService } from '../../fixtures/reference-service/index.ts';

const runTs = fileURLToPath(new URL('../../bin/run-ts.mjs', import.meta.url));
const main = fileURLToPath(new URL('../../fixtures/reference-service/main.ts', import.meta.url));

describe('reference service releases', () => {
  it('names its version and replica on every answer and on GET /version', async () => {
    const s = await startReferenceService({ version: '2.0.0', replica: 'r7' });
    try {
      const res = await fetch(`${s.url}/v1/editions`);
      expect(res.headers.get('x-faultline-version')).toBe('2.0.0');
      expect(res.headers.get('x-faultline-replica')).toBe('r7');
      expect(await (await fetch(`${s.url}/version`)).json()).toEqual({ version: '2.0.0', replica: 'r7' });
    } finally {
      await s.close();
    }
  });

  it('is not ready while warming up, then ready', async () => {
    const s = await startReferenceService({ warmupMs: 300 });
    try {
      const early = await fetch(`${s.url}/readyz`);
      expect(early.status).toBe(503);
      expect(((await early.json()) as { status: string }).status).toBe('starting');
      expect((await fetch(`${s.url}/v1/editions`)).status).toBe(503);
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 350));
      expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
      expect((await fetch(`${s.url}/v1/editions`)).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('a bad release answers exactly its error ratio of API requests with 500, and adds its extra latency', async () => {
    const s = await startReferenceService({ errorRatio: 0.05 });
    const slow = await startReferenceService({ extraLatencyMs: 40 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 100; i++) statuses.push((await fetch(`${s.url}/v1/editions`)).status);
      expect(statuses.filter((x) => x === 500)).toHaveLength(5);
      expect(statuses.filter((x) => x === 200)).toHaveLength(95);
      const t0 = performance.now();
      expect((await fetch(`${slow.url}/v1/editions`)).status).toBe(200);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(38);
      // Probes are not API requests: no error, no delay.
      expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
    } finally {
      await s.close();
      await slow.close();
    }
  });

  it('with readyzFlips false, /readyz stays 200 "ready" while draining', async () => {
    const s = await startReferenceService({ readyzFlips: false, drainGraceMs: 300 });
    const good = await startReferenceService({ drainGraceMs: 300 });
    try {
      const d1 = s.drain();
      const d2 = good.drain();
      await new Promise((r) => setTimeout(r, 50));
      const bad = await fetch(`${s.url}/readyz`);
      expect(bad.status).toBe(200);
      expect(((await bad.json()) as { status: string }).status).toBe('ready');
      expect((await fetch(`${good.url}/readyz`)).status).toBe(503);
      await Promise.all([d1, d2]);
    } finally {
      await s.close();
      await good.close();
    }
  });

  it('--no-drain exits at once on SIGTERM and cuts the request in flight', async () => {
    const child = spawn(process.execPath, [runTs, main, '--no-drain', '--extra-latency', '1500', '--version', '9.9.9'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      while (!/^http:\/\/\S+\n/.test(out)) {
        if (child.exitCode !== null) throw new Error('service exited early');
        await new Promise((r) => setTimeout(r, 20));
      }
      const url = out.split('\n')[0] as string;
      expect((await fetch(`${url}/version`)).headers.get('x-faultline-version')).toBe('9.9.9');
      const inFlight = fetch(`${url}/v1/editions`).then((r) => r.status, (e: Error) => e.name);
      await new Promise((r) => setTimeout(r, 100));
      const t0 = performance.now();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(performance.now() - t0).toBeLessThan(1000);
      expect(await inFlight).toBe('TypeError');
      expect(out).toContain('SIGTERM: exiting without drain');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 30_000);
});
