/** `faultline load` as a user runs it: live progress, the summary, the JSON file, --emit-k6, bad input. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { faultline, faultlineOk, type Ran } from '../helpers/cli.ts';
import { countingServer, everyNthFails, type TestServer } from './http-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'faultline-load-cli-'));

let server: TestServer;
let url: string;
beforeAll(async () => {
  server = await everyNthFails(20, 500);
  url = server.url;
});
afterAll(() => server.close());

/**
 * Runs `faultline load`: exit 0 for a valid run, 1 if the validity guard tripped (possible when other
 * suites starve this process of CPU; the output then says why). Anything else fails the test.
 */
async function loadCli(args: string[]): Promise<Ran> {
  const r = await faultline(['load', ...args]);
  if (r.code !== 0 && r.code !== 1) throw new Error(`faultline load exited ${r.code}: ${r.stderr}`);
  return r;
}

describe('faultline load', () => {
  it('prints a live progress line and a summary, and writes the JSON summary', async () => {
    const file = join(dir, 'out.json');
    const { stdout, stderr, code } = await loadCli(['--url', url, '--rate', '100', '--duration', '2500ms', '--timeout', '1s', '--connections', '16', '--seed', '7', '--json', file]);
    // Progress (stderr, one line a second when not a terminal): rate, errors, p99.
    const progress = stderr.split('\n').filter((l) => /rate \d+\/s/.test(l));
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress[0]).toMatch(/^\d+s {2}rate \d+\/s {2}done \d+\/s {2}errors [\d.]+% {2}p99 [\d.-]+ ms {2}in-flight \d+$/);
    expect(stdout).toMatch(/scheduled 250 {2}sent 250 {2}dropped 0/);
    expect(stdout).toMatch(/corrected .*\(from intended send time\)/);
    expect(stdout).toMatch(/service .*\(from on the wire\)/);
    expect(stdout).toContain('errors     http_500=12');
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> & {
      latencyMs: { corrected: Record<string, unknown>; service: Record<string, unknown> };
      errors: Record<string, number>;
    };
    expect(json).toMatchObject({ scheduled: 250, sent: 250, dropped: 0, seed: '7', errors: { http_500: 12 } });
    expect(json.valid).toBe((json.invalidReasons as string[]).length === 0);
    expect(code).toBe(json.valid ? 0 : 1);
    expect(stdout).toContain(json.valid ? 'valid      yes' : 'valid      NO — client-side queueing');
    for (const k of ['p50', 'p90', 'p99', 'p999', 'max']) {
      expect(typeof json.latencyMs.corrected[k]).toBe('number');
      expect(typeof json.latencyMs.service[k]).toBe('number');
    }
    for (const k of ['schedulingLagMs', 'clientQueueMs', 'littlesLaw', 'perSecond', 'phases', 'invalidReasons']) expect(json).toHaveProperty(k);
  });

  it('warms up and pre-opens connections by default, and says so', async () => {
    const file = join(dir, 'defaults.json');
    const { stdout } = await loadCli(['--url', url, '--rate', '100', '--duration', '2s', '--json', file]);
    // 20 % of a 2 s run; 100 req/s × 2 ms is under the floor of 8 connections.
    expect(stdout).toMatch(/generator {2}warm-up 0\.40 s {3}8 connections opened ahead \(cap 256\) {3}CPU [\d.]+ µs\/request \([\d.]+ after the warm-up\)/);
    const json = JSON.parse(readFileSync(file, 'utf8')) as { generator: Record<string, unknown>; latencyMs: { corrected: { count: number } } };
    expect(json.generator).toMatchObject({ warmupMs: 400, prewarmedConnections: 8, connections: 256 });
    // The generator's CPU is reported over the whole run and, separately, from the end of the warm-up on.
    expect(json.generator.cpuUsPerRequest).toBeGreaterThan(0);
    expect(json.generator.steadyCpuUsPerRequest).toBeGreaterThan(0);
    // The 40 requests of the warm-up are left out of the histograms.
    expect(json.latencyMs.corrected.count).toBe(160);
    const off = await loadCli(['--url', url, '--rate', '100', '--duration', '1s', '--warmup', '0s', '--prewarm', '0']);
    expect(off.stdout).toMatch(/generator {2}warm-up 0\.00 s {3}0 connections opened ahead/);
  });

  it('says when the generator, not the target, made a run invalid, and which flag to change', async () => {
    // One connection to a target that answers in 10 ms carries at most 100 req/s: at 200 req/s the rest
    // wait in the generator's queue for up to a second, while the target itself is quick.
    const slow = await countingServer(10);
    try {
      const file = join(dir, 'queued.json');
      const r = await loadCli(['--url', slow.url, '--rate', '200', '--duration', '1s', '--connections', '1', '--timeout', '10s', '--json', file]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/valid {6}NO — client-side queueing p99 [\d.]+ ms > 50 ms/);
      expect(r.stdout).toContain('cause      the load generator, not the target');
      const json = JSON.parse(readFileSync(file, 'utf8')) as { invalidCause: string; latencyMs: { service: { p99: number } } };
      expect(json.invalidCause).toBe('generator');
      // (The target's quickness is stated whenever its service p99 is within the limit; CPU contention can push it over.)
      if (json.latencyMs.service.p99 <= 50) expect(r.stdout).toMatch(/- the target answered in [\d.]+ ms at p99 once a request reached it: the wait was in the generator, not the target/);
      expect(r.stdout).toMatch(/- raise --connections \(now 1; 200 req\/s × \(service p99 \+ scheduling lag p99\) needs ≈ \d+\)/);
    } finally {
      await slow.close();
    }
  });

  it('runs other shapes (steps) and writes an equivalent k6 script with --emit-k6', async () => {
    const k6 = join(dir, 'script.js');
    const stdout = await faultlineOk(['load', '--url', url, '--shape', 'steps', '--steps', '10:1s,40:2s', '--timeout', '750ms', '--emit-k6', k6]);
    expect(stdout).toContain(`wrote k6 script ${k6}`);
    const script = readFileSync(k6, 'utf8');
    expect(script).toContain('"executor": "ramping-arrival-rate"');
    expect(script).toContain("timeout: '750ms'");
    const steps = await loadCli(['--url', url, '--shape', 'steps', '--steps', '20:500ms,40:500ms']);
    expect(steps.stdout).toMatch(/scheduled 30 {2}sent 30/);
  });

  it('SIGTERM (or SIGINT) stops a run: the summary of what was sent, then exit 3', async () => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      let signalled = false;
      const r = await faultline(['load', '--url', url, '--rate', '50', '--duration', '60s'], {
        onStderr: (all, kill) => {
          if (!signalled && /rate \d+\/s/.test(all)) {
            signalled = true;
            kill(sig);
          }
        },
      });
      expect(r.code, r.stderr).toBe(3);
      expect(r.stdout).toMatch(/requests +scheduled \d+ +sent \d+/);
      expect(r.stdout).toContain(`aborted: received ${sig} (exit 3)`);
    }
  });

  it('exits 2 with a clear message for bad input, never a stack trace', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--rate', '10', '--duration', '1s'], /missing required flag --url/],
      [['--url', url, '--rate', 'fast', '--duration', '1s'], /--rate needs a number/],
      [['--url', url, '--rate', '10', '--duration', 'soon'], /duration/],
      [['--url', url, '--rate', '10', '--duration', '10'], /--duration needs a unit, e\.g\. 10s or 10ms/],
      [['--url', url, '--rate', '10', '--duration', '1s', '--shape', 'zigzag'], /bad --shape zigzag/],
      [['--url', url, '--shape', 'steps', '--steps', '10-1s'], /--steps needs RATE:DURATION/],
      [['--url', url, '--rate', '10', '--duration', '1s', '--max-in-flight', '0'], /--max-in-flight must be a positive integer/],
      [['--url', 'http://192.0.2.1/', '--rate', '10', '--duration', '1s'], /field 'url'.*not a loopback address/],
      [['--url', 'http://192.0.2.1/', '--rate', '10', '--duration', '1s', '--allow-network', '10.0.0.0/8'], /not in the network allowlist \(10\.0\.0\.0\/8\)/],
      [['--url', 'http://192.0.2.1/', '--rate', '10', '--duration', '1s', '--emit-k6', join(dir, 'far.js')], /field 'url'.*not a loopback address/],
      [['--url', url, '--rate', '10', '--duration', '1s', '--allow-network', '10.0.0.0/33'], /--allow-network/],
    ];
    for (const [args, message] of cases) {
      const err = await faultline(['load', ...args]);
      expect(err.code, `${args.join(' ')}: ${err.stderr}`).toBe(2);
      expect(err.stderr).toMatch(message);
      expect(err.stderr).not.toMatch(/\n\s+at /);
    }
    expect(existsSync(join(dir, 'far.js'))).toBe(false);
    // Admitted by --allow-network: the k6 script for that target is written (nothing is sent).
    const far = join(dir, 'far-allowed.js');
    const ok = await faultlineOk(['load', '--url', 'http://192.0.2.1/', '--rate', '10', '--duration', '1s', '--allow-network', '192.0.2.0/24', '--emit-k6', far]);
    expect(ok).toContain(`wrote k6 script ${far}`);
    expect(readFileSync(far, 'utf8')).toContain('http://192.0.2.1/');
  });

  it('says how to get k6 when --k6 is used without one', async () => {
    const err = await faultline(['load', '--k6', 'script.js'], { env: { PATH: '/nonexistent', K6_BIN: '' } });
    expect(err.code).toBe(4);
    expect(err.stderr).toMatch(/FAULTLINE_LOAD_K6_MISSING: no k6 binary found: install k6 .* set K6_BIN=/);
  });
});
