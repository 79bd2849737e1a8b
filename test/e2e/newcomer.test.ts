/**
 * The rough edges a newcomer hits first (issue 16): an abort names its cause where the user looks,
 * and rows never reached are not graded.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { faultline } from '../helpers/cli.ts';

describe('a run against a wrong path', () => {
  it('aborts at baseline naming the dominant error class and a hint, and grades nothing it never reached', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-newcomer-'));
    const file = join(dir, 'wrong-path.yaml');
    writeFileSync(
      file,
      `apiVersion: faultline/v1
kind: Experiment
metadata: { name: wrong-path }
seed: 5
timeScale: 720
target: { builtin: reference, path: /api/checkout }
load: { rate: 100, sli: { goodStatus: 2xx } }
slo: { name: checkout, objective: 99 }
aborts: { errorRate: { above: 0.5, window: 1s, minRequests: 20 } }
experiments:
  - name: partition
    baseline: 4s
    inject:
      duration: 2s
      faults: [{ type: partition, stream: both, attributes: { mode: blackhole, scope: both } }]
    recover: 2s
    expect:
      alerts: { page-fast: { fires: true, within: 3s, clearsWithin: 3s } }
      recoveryWithin: 1s
`,
    );
    const r = await faultline(['run', file, '--report-dir', join(dir, 'reports')]);
    expect(r.code, r.stdout).toBe(3);
    expect(r.stdout).toMatch(/partition: errors http_404 ×\d+ — check target\.path/);
    const row = (title: string): string => r.stdout.split('\n').find((l) => l.includes(title)) ?? '';
    expect(row('page-fast fires within 3s')).toMatch(/not reached \(aborted at [\d.]+m?s, during baseline\)\s+not reached\s*$/);
    expect(row('page-fast clears within 3s')).toMatch(/not reached\s*$/);
    expect(row('error ratio back to steady state')).toMatch(/not reached\s*$/);
    expect(row('steady state at baseline')).toMatch(/error ratio 100\.00 %.*FAIL\s*$/);
    expect(r.stdout).not.toMatch(/recovered after 0ms/);
  });
});

describe('faultline validate', () => {
  const repo = fileURLToPath(new URL('../../scenarios/', import.meta.url));

  it('checks every kind of file in scenarios/ by its kind, exit 0', async () => {
    const files = readdirSync(repo).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const f of files) {
      const r = await faultline(['validate', join(repo, f)]);
      expect(r.code, `${f}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/: valid (Experiment|FailoverDrill|RolloutDrill|SLO|proxy config) — /);
    }
  });

  it('checks a serve --config proxy list, and names file, line and field of a bad FailoverDrill or an unknown kind (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-validate-'));
    const proxies = join(dir, 'proxies.json');
    writeFileSync(proxies, JSON.stringify([{ name: 'db', listen: '127.0.0.1:0', upstream: '127.0.0.1:5432' }]));
    const ok = await faultline(['validate', proxies]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('valid proxy config — 1 proxy: db → 127.0.0.1:5432');
    const misspelt = join(dir, 'proxies.yaml');
    writeFileSync(misspelt, '- name: db\n  listen: 127.0.0.1:0\n  upstrem: 127.0.0.1:5432\n');
    const typo = await faultline(['validate', misspelt]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/proxies\.yaml:3 field '\[0\]\.upstrem': unknown field/);
    const drill = join(dir, 'drill.yaml');
    writeFileSync(drill, 'apiVersion: faultline/v1\nkind: FailoverDrill\nmetadata: { name: d }\nfault: meteor\n');
    const bad = await faultline(['validate', drill]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/drill\.yaml:4.*fault/);
    const other = join(dir, 'other.yaml');
    writeFileSync(other, 'apiVersion: faultline/v1\nkind: Deployment\n');
    const unknown = await faultline(['validate', other]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/other\.yaml:2.*kind must be one of Experiment, FailoverDrill, RolloutDrill, SLO/);
  });
});

describe('a failover drill that fails before it starts', () => {
  it('exits with the reason and leaves no empty report directory behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-drill-fail-'));
    const file = join(dir, 'external.yaml');
    // Nothing listens on these loopback ports: the external provider cannot reach its nodes.
    writeFileSync(
      file,
      `apiVersion: faultline/v1
kind: FailoverDrill
metadata: { name: unreachable }
fault: kill
followUp: none
provider:
  type: external
  primary: postgresql://drill:x@127.0.0.1:9/drill
  replica: postgresql://drill:x@127.0.0.1:11/drill
  commands: { stopPrimary: 'true' }
`,
    );
    const reports = join(dir, 'reports');
    const r = await faultline(['drill', 'failover', '--scenario', file, '--report-dir', reports]);
    expect(r.code, r.stdout + r.stderr).not.toBe(0);
    expect(r.stderr).toMatch(/FAULTLINE_/);
    const left = (() => {
      try {
        return readdirSync(reports);
      } catch {
        return [];
      }
    })();
    expect(left).toEqual([]);
  });
});

describe('the CLI process ends when its command ends', () => {
  it('faultline drill failover --fault partition exits 0 by itself after its verdict (a reset of a socket with its FIN queued left a handle that Node’s teardown spun on at 100 % CPU)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-exit-'));
    const t0 = Date.now();
    const r = await faultline(['drill', 'failover', '--fault', 'partition', '--seed', '3', '--report-dir', dir]);
    expect(r.stdout).toContain('verdict: PASS');
    expect(r.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(55_000);
  });
});
