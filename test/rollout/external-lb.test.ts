/**
 * The rollout drill through "your own" load balancer: a real HAProxy on loopback (Debian's haproxy;
 * .ci/run installs it) in front of reference replicas on the fixed ports its config names. With
 * readiness health checks the rollout passes, judged by the answers' replica header; the control
 * (the same HAProxy without health checks, so it keeps sending to a draining replica) fails on
 * no-traffic-after-not-ready. HAProxy is started and stopped by pid; the drill stops its replicas.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drillCommand } from '../../src/cli/drill-command.ts';
import type { CliIo } from '../../src/cli/io.ts';
import { freePort } from '../../src/shared/index.ts';
import { connect } from 'node:net';
import { drill as drillIn, row, rows } from './drill-run.ts';

const HAPROXY = '/usr/sbin/haproxy';
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'faultline-lb-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts HAProxy on loopback over `ports` (checks on /readyz every 100 ms, out after one failure, or none); resolves once it answers. */
async function haproxy(name: string, ports: number[], checks: boolean): Promise<{ url: string; stop: () => Promise<void> }> {
  const lb = await freePort();
  const cfg = join(dir, `${name}.cfg`);
  writeFileSync(
    cfg,
    [
      'global',
      '  maxconn 2048',
      'defaults',
      '  mode http',
      '  timeout connect 1s',
      '  timeout client 10s',
      '  timeout server 10s',
      // A check's own timeout (HAProxy's default is `inter`, 100 ms: on a busy machine every server flaps).
      '  timeout check 500ms',
      '  option http-server-close',
      'frontend fe',
      `  bind 127.0.0.1:${lb}`,
      '  default_backend be',
      'backend be',
      '  balance roundrobin',
      ...(checks ? ['  option httpchk GET /readyz', '  default-server inter 100ms fastinter 100ms downinter 100ms fall 1 rise 1'] : []),
      ...ports.map((p, i) => `  server r${i + 1} 127.0.0.1:${p}${checks ? ' check' : ''}`),
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(HAPROXY, ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${lb}`;
  // Listening is enough (an HTTP probe would wait for HAProxy's retries to servers not started yet).
  const listening = (): Promise<boolean> =>
    new Promise((resolve) => {
      const s = connect(lb, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
  for (let i = 0; i < 100 && !(await listening()); i++) {
    if (child.exitCode !== null) throw new Error(`haproxy exited: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    stop: async () => {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
      await exited;
    },
  };
}

const drill = (name: string, args: string[]) => drillIn(dir, name, args);

describe('rollout drill through your own load balancer (HAProxy on loopback)', () => {
  it('with readiness checks a rollout of 3 replicas passes, every row measured by the replica header', async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const lb = await haproxy('checks', ports, true);
    try {
      const { code, r, out } = await drill('lb-good', ['--replicas', '3', '--rate', '300', '--gate-window', '1500ms', '--lb-url', lb.url, '--lb-ports', ports.join(','), '--lb-check-interval', '100ms']);
      expect(r.verdicts.filter((v) => !v.passed).map((v) => v.id), `${rows(r)}\n${out}`).toEqual([]);
      expect(code).toBe(0);
      expect(r.balancer).toMatchObject({ url: lb.url, external: { header: true } });
      expect(row(r, 'no-traffic-after-not-ready')?.observed).toMatch(/r1-v1\.0\.0: (last request it answered sent \d+ ms|answered no request sent) after SIGTERM/);
      // Replacements took the slot's port (HAProxy knows them by address) and served traffic.
      for (const x of r.replicas.filter((y) => y.role === 'replacement')) {
        expect(x.port).toBe(ports[x.slot]);
        expect(r.classification.goodByReplica[x.name]).toBeGreaterThan(0);
      }
    } finally {
      await lb.stop();
    }
  }, 180_000);

  it('control: HAProxy without health checks keeps sending to the draining replica — caught by no-traffic-after-not-ready', async () => {
    const ports = [await freePort(), await freePort()];
    const lb = await haproxy('no-checks', ports, false);
    try {
      const { code, r } = await drill('lb-no-checks', ['--replicas', '2', '--rings', 'canary:1,main:rest', '--rate', '200', '--gate-window', '1500ms', '--lb-url', lb.url, '--lb-ports', ports.join(','), '--lb-check-interval', '100ms']);
      expect(code).toBe(1);
      expect(row(r, 'no-traffic-after-not-ready'), rows(r)).toMatchObject({ passed: false, observed: expect.stringMatching(/r1-v1\.0\.0: last request it answered sent \d+ ms after SIGTERM \(> 200 ms\)/) });
    } finally {
      await lb.stop();
    }
  }, 180_000);

  it('refuses a load balancer URL outside loopback unless --allow-network admits it (exit 2, field named)', async () => {
    let out = '';
    const io: CliIo = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (out += s) }, env: {}, cwd: dir };
    await expect(drillCommand.run(['rollout', '--lb-url', 'http://192.0.2.7:8080', '--lb-ports', '1,2,3'], io)).rejects.toMatchObject({ code: 'FAULTLINE_NET_NOT_LOOPBACK', location: { field: 'lb-url' } });
    await expect(drillCommand.run(['rollout', '--lb-url', 'http://127.0.0.1:8080', '--lb-ports', '1,2'], io)).rejects.toMatchObject({ location: { field: 'lb-ports' } });
  });
});
