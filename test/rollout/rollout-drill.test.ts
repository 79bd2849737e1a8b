/**
 * The rollout drill end to end (real processes, real sockets, loopback only): a good rollout of three
 * reference replicas at 500 req/s passes with zero failed requests, and each honesty control fails
 * (exit 1) with the row that caught it. Every replica process is stopped by pid by the drill itself;
 * the test checks none is left running.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RolloutResult } from '../../src/scenario/index.ts';
import { parseScenario } from '../../src/scenario/model.ts';
import { drill as drillIn, row, rows } from './drill-run.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'faultline-rollout-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const drill = (name: string, args: string[]) => drillIn(dir, name, args);
const failed = (r: RolloutResult): string[] => r.verdicts.filter((v) => !v.passed).map((v) => v.id);
// Short windows for the controls: they need the mistake to happen, not a long soak.
const quick = ['--gate-window', '1500ms', '--rate', '200'];

describe('rollout drill (real replicas, balancer and load)', () => {
  it('a good rollout of 3 replicas at 500 req/s passes with 0 failed requests, ring by ring, with reports', async () => {
    const { code, r, out } = await drill('good', ['--replicas', '3', '--rate', '500']);
    expect(failed(r), `${rows(r)}\n${out}`).toEqual([]);
    expect(code).toBe(0);
    expect(r.classification.total).toBeGreaterThan(500 * 10);
    expect(r.classification.good).toBe(r.classification.total);
    // The SLO engine saw every request and no burn-rate alert fired.
    expect(row(r, 'slo-alerts'), rows(r)).toMatchObject({ passed: true, observed: expect.stringContaining('no alert fired') });
    expect(r.slo).toMatchObject({ slo: 'rollout', timeScale: 720, alerts: [] });
    expect(r.rings.map((g) => [g.name, g.gate?.passed])).toEqual([
      ['canary', true],
      ['early', true],
      ['main', true],
    ]);
    // Every old replica drained and every replacement served traffic after it was ready.
    const replacements = r.replicas.filter((x) => x.role === 'replacement');
    expect(replacements.map((x) => x.version)).toEqual(['2.0.0', '2.0.0', '2.0.0']);
    for (const x of replacements) expect(r.classification.goodByReplica[x.name]).toBeGreaterThan(0);
    const run = readdirSync(join(dir, 'reports')).find((d) => d.startsWith('rollout-') && d.endsWith('-good'));
    const reportDir = join(dir, 'reports', run as string);
    const html = readFileSync(join(reportDir, 'report.html'), 'utf8');
    expect(html).toContain('class="chart rollout-timeline"');
    expect(html.match(/class="lane lane-draining"/g)?.length).toBe(3);
    expect(readFileSync(join(reportDir, 'report.md'), 'utf8')).toContain('| rollout | zero failed requests attributable to the rollout');
    expect(readFileSync(join(reportDir, 'junit.xml'), 'utf8')).toMatch(/<testsuite name="rollout\/rollout" tests="\d+" failures="0"/);
    expect(existsSync(join(reportDir, 'journal.json'))).toBe(true);
  }, 180_000);

  it('control: replicas that exit at once on SIGTERM fail requests — caught by no-failed-requests (and no drain on /healthz)', async () => {
    const { code, r } = await drill('no-drain', ['--replicas', '2', '--rings', 'canary:1,main:rest', '--bad-release', 'no-drain', ...quick]);
    expect(code).toBe(1);
    expect(row(r, 'no-failed-requests'), rows(r)).toMatchObject({ passed: false, observed: expect.stringMatching(/r1-v1\.0\.0: \d+ /) });
    expect(row(r, 'healthz-while-draining'), rows(r)).toMatchObject({ passed: false, observed: expect.stringContaining('no drain') });
  }, 180_000);

  it('control: /readyz that never flips keeps traffic on a draining replica — caught by no-traffic-after-not-ready', async () => {
    const { code, r } = await drill('readyz-never-flips', ['--replicas', '2', '--rings', 'canary:1,main:rest', '--bad-release', 'readyz-never-flips', ...quick]);
    expect(code).toBe(1);
    expect(row(r, 'no-traffic-after-not-ready'), rows(r)).toMatchObject({ passed: false, observed: expect.stringMatching(/r1-v1\.0\.0: last new connection \d+ ms after SIGTERM \(> \d+ ms\)/) });
    expect(row(r, 'readyz-503-while-draining')?.passed, rows(r)).toBe(false);
  }, 180_000);

  it('control: with the balancer check off a replacement gets traffic before it is ready — caught by replacement-after-ready', async () => {
    const { code, r } = await drill('no-check', ['--replicas', '2', '--rings', 'canary:1,main:rest', '--no-health-check', ...quick]);
    expect(code).toBe(1);
    expect(row(r, 'replacement-after-ready'), rows(r)).toMatchObject({ passed: false, observed: expect.stringContaining('BEFORE ready') });
  }, 180_000);

  it('control: a bad release (5 % errors) halts at the canary ring and rolls it back; the main ring is untouched', async () => {
    const { code, r } = await drill('bad-release', ['--replicas', '3', '--bad-release', 'errors:0.05', '--gate-window', '2s', '--rate', '300']);
    expect(code).toBe(1);
    expect(row(r, 'gate/canary'), rows(r)).toMatchObject({ passed: false, observed: expect.stringMatching(/HALT: new-release error ratio [\d.]+ % > 1 %.*ring rolled back/) });
    expect(r.halted?.ring).toBe('canary');
    expect(r.rings.map((g) => g.name)).toEqual(['canary']);
    expect(row(r, 'complete'), rows(r)).toMatchObject({ passed: false, observed: expect.stringContaining('rings never started: early, main') });
    // Main (and early) ring replicas were never signalled; the canary slot runs the old release again.
    for (const x of r.replicas.filter((y) => y.ring !== 'canary')) expect(x.sigtermAt).toBeNull();
    const canary = r.replicas.filter((x) => x.slot === 0);
    expect(canary.map((x) => [x.role, x.version])).toEqual([
      ['initial', '1.0.0'],
      ['replacement', '2.0.0'],
      ['rollback', '1.0.0'],
    ]);
    expect(canary[2]?.exitedAt).not.toBeNull(); // stopped by the drill at the end, by pid
  }, 180_000);
});

describe('rollout gate: the SLO engine\'s alerts', () => {
  it('a bad release only the burn-rate alert catches (error-ratio limit 50 %) halts at the canary; the gate row names the alert and when it fired', async () => {
    const { code, r } = await drill('slo-alert', ['--replicas', '3', '--bad-release', 'errors:0.05', '--gate-max-error-ratio', '0.5', '--gate-window', '5s', '--rate', '300']);
    expect(code).toBe(1);
    expect(row(r, 'gate/canary'), rows(r)).toMatchObject({ passed: false, observed: expect.stringMatching(/^HALT: SLO alert rollout\/page-(fast|slow) \(page, \d+h\/\d+m\) fired at [\d.]+ s.*new release [\d.]+ % errors.*ring rolled back/) });
    expect(r.halted?.ring).toBe('canary');
    expect(r.rings.map((g) => g.name)).toEqual(['canary']);
    const fired = r.rings[0]?.gate?.alerts?.[0];
    expect(fired?.firedAt).toBeGreaterThan(r.rings[0]?.startedAt as number);
    expect(row(r, 'slo-alerts')?.passed, rows(r)).toBe(false);
    for (const x of r.replicas.filter((y) => y.ring !== 'canary')) expect(x.sigtermAt).toBeNull();
  }, 180_000);
});

describe('scenario step rollout:', () => {
  it('a scenario may carry a rollout step; bad rings are an input error naming the field', () => {
    const yaml = (rings: string): string => `apiVersion: faultline/v1
kind: Experiment
metadata: { name: with-rollout }
target: { builtin: reference, path: /v1/editions }
load: { rate: 20 }
slo: { name: api, objective: 99, period: 30d, sli: { type: both, latencyThreshold: 250ms } }
experiments:
  - { name: healthy, baseline: 1s, inject: { duration: 1s, faults: [] }, recover: 1s }
rollout: { replicas: 3, rings: "${rings}", to: { version: "2.1.0" } }
`;
    const m = parseScenario(yaml('canary:1,main:rest'));
    expect(m.spec.rollout).toMatchObject({ replicas: 3, rings: 'canary:1,main:rest', to: { version: '2.1.0' }, balancer: { healthCheck: true, interval: 100 } });
    expect(() => parseScenario(yaml('canary:5'))).toThrow(/rollout\.rings|rings ask for 5 replicas/);
    // Your load balancer: one port per replica, and its URL through the network allowlist.
    const withLb = (url: string, ports: string): string => yaml('canary:1,main:rest').replace('to: { version: "2.1.0" } }', `to: { version: "2.1.0" }, loadBalancer: { url: "${url}", ports: ${ports}, checkInterval: 200ms } }`);
    expect(parseScenario(withLb('http://127.0.0.1:8080', '[9001, 9002, 9003]')).spec.rollout?.loadBalancer).toEqual({ url: 'http://127.0.0.1:8080', ports: [9001, 9002, 9003], checkInterval: 200 });
    expect(() => parseScenario(withLb('http://127.0.0.1:8080', '[9001, 9002]'))).toThrow(/rollout\.loadBalancer\.ports.*one port per replica/s);
    expect(() => parseScenario(withLb('http://192.0.2.7:8080', '[9001, 9002, 9003]'))).toThrow(/rollout\.loadBalancer\.url.*not a loopback address/s);
  });
});
