import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { DEFAULT_ALERT_POLICY } from '../../src/slo/policy.ts';
import { faultline, faultlineOk } from '../helpers/cli.ts';

const run = promisify(execFile);
const slo = fileURLToPath(new URL('../../fixtures/slo/minimal.yaml', import.meta.url));

function outageCsv(): string {
  const rows = ['t,total,errors'];
  let total = 0;
  let errors = 0;
  for (let m = 0; m <= 130; m++) {
    rows.push(`${m * 60},${total},${errors}`);
    total += 1000;
    if (m >= 60 && m < 70) errors += 1000;
  }
  return rows.join('\n') + '\n';
}

describe('faultline slo replay', () => {
  const dir = mkdtempSync(join(tmpdir(), 'faultline-slo-cli-'));
  const csv = join(dir, 'outage.csv');
  writeFileSync(csv, outageCsv());

  it('prints alert intervals and budget as JSON, byte-identical on every run', async () => {
    const a = await faultline(['slo', 'replay', '--slo', slo, '--series', csv, '--json']);
    const b = await faultline(['slo', 'replay', '--slo', slo, '--series', csv, '--json']);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(a.stdout).toBe(b.stdout);
    const out = JSON.parse(a.stdout) as { alerts: Record<string, Array<[number, number | null]>>; budget: { badEvents: number } };
    // Errors first show in the 61-minute sample: 5m ratio 20 %, 1h ratio 1.67 % > 1.44 % → fires at 3660 s;
    // the 5m window is error-free again at 75 min → clears at 4500 s.
    expect(out.alerts['page-fast']).toEqual([[3660, 4500]]);
    expect(out.budget.badEvents).toBe(10_000);
  });

  it('exits 2 naming file and line for a bad CSV', async () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 't,total,errors\n0,0,0\n60,-1,0\n');
    const err = await faultline(['slo', 'replay', '--slo', slo, '--series', bad]);
    expect(err.code).toBe(2);
    expect(err.stderr).toContain('bad.csv:3');
    expect(err.stderr).not.toMatch(/\n\s+at /);
  });

  it('gives null as the clear time of an interval still open at the end, and per-tier detect times', async () => {
    const rows = ['t,total,errors'];
    for (let m = 0; m <= 90; m++) rows.push(`${m * 60},${m * 1000},${m > 60 ? (m - 60) * 1000 : 0}`);
    const open = join(dir, 'open.csv');
    writeFileSync(open, rows.join('\n') + '\n');
    const stdout = await faultlineOk(['slo', 'replay', '--slo', slo, '--series', open, '--eval-interval', '60s', '--json']);
    expect(stdout.endsWith('}\n')).toBe(true);
    const out = JSON.parse(stdout) as { alerts: Record<string, Array<[number, number | null]>>; budget: { perTier: Record<string, { timeToDetectSec: number }> } };
    expect(Object.keys(out)).toEqual(['alerts', 'budget']);
    expect(Object.keys(out.alerts)).toEqual(DEFAULT_ALERT_POLICY.map((t) => t.name));
    expect(out.alerts['page-fast']).toEqual([[3660, null]]);
    expect(out.budget.perTier['page-fast']?.timeToDetectSec).toBe(60);
  });

  it('--predict prints predicted vs observed fire and clear times per tier (JSON: a third key)', async () => {
    // 10-minute full outage from 60 min (99.9 %, page-fast 14.4× over 1h/5m, evaluated every minute):
    // the maths and the series agree — fire at 61 min, clear at 75 min.
    const stdout = await faultlineOk(['slo', 'replay', '--slo', slo, '--series', csv, '--predict', '--json']);
    const out = JSON.parse(stdout) as {
      predictions: { fault: { from: number; until: number; errorRatio: number }; tiers: Record<string, { predicted: { fire: number; clear: number; binding: string; budgetAtFire: number }; observed: { fire: number; clear: number } }> };
    };
    expect(Object.keys(out)).toEqual(['alerts', 'budget', 'predictions']);
    expect(out.predictions.fault).toMatchObject({ from: 3600, until: 4200, errorRatio: 1 });
    const fast = out.predictions.tiers['page-fast'];
    expect(fast?.predicted).toMatchObject({ fire: 3660, clear: 4500, binding: 'long' });
    expect(fast?.observed).toMatchObject({ fire: 3660, clear: 4500 });
    // One minute of a 1000× burn over 30 days: 1000 / 43200 of the budget before detection.
    expect(fast?.predicted.budgetAtFire).toBeCloseTo(1000 / 43200, 10);
    const human = await faultline(['slo', 'replay', '--slo', slo, '--series', csv, '--predict']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('predictions: bad events from 3600s to 4200s at 100.000% errors');
    expect(human.stdout).toMatch(/page-fast +3660s \/ 3660s +4500s \/ 4500s +long +2\.31% \/ 2\.31%/);
  });

  it('--eval-interval needs a unit', async () => {
    const err = await faultline(['slo', 'replay', '--slo', slo, '--series', csv, '--eval-interval', '60']);
    expect(err.code).toBe(2);
    expect(err.stderr).toContain('--eval-interval needs a unit, e.g. 60s or 60ms');
  });

  it('--eval-interval sets the evaluation grid', async () => {
    const stdout = await faultlineOk(['slo', 'replay', '--slo', slo, '--series', csv, '--eval-interval', '5m', '--json']);
    // Evaluated at 0, 5m, 10m, …: the first evaluation after the outage starts at 60m is at 65m.
    expect((JSON.parse(stdout) as { alerts: Record<string, unknown> }).alerts['page-fast']).toEqual([[3900, 4500]]);
  });

  it('exits 2 naming file, line and field for a bad SLO file, without a stack trace', async () => {
    const badSlo = join(dir, 'bad-slo.yaml');
    writeFileSync(badSlo, 'apiVersion: faultline/v1\nkind: SLO\nname: api\nobjective: 99.9\nperiod: 30 days\n');
    const err = await faultline(['slo', 'replay', '--slo', badSlo, '--series', csv]);
    expect(err.code).toBe(2);
    expect(err.stderr).toContain("bad-slo.yaml:5 field 'period'");
    expect(err.stderr).not.toMatch(/\n\s+at /);
    const rules = await faultline(['slo', 'rules', '--slo', badSlo]);
    expect(rules.code).toBe(2);
  });

  it('prints rules with the SLO\'s metric selectors, severity labels and runbook annotation, accepted by promtool', async () => {
    const example = fileURLToPath(new URL('../../scenarios/slo-example.yaml', import.meta.url));
    const stdout = await faultlineOk(['slo', 'rules', '--slo', example]);
    expect(stdout).toContain('sum(rate(http_requests_total{job="api",code=~"5.."}[1h]))');
    expect(stdout).toContain('sum(rate(http_requests_total{job="api"}[1h]))');
    for (const w of ['5m', '30m', '1h', '2h', '6h', '1d', '3d']) expect(stdout).toContain(`record: slo:sli_error:ratio_rate${w}`);
    for (const a of ['PageFast', 'PageSlow', 'TicketFast', 'TicketSlow']) expect(stdout).toContain(`alert: SLOErrorBudgetBurn${a}`);
    expect(stdout.match(/severity: page/g)).toHaveLength(2);
    expect(stdout.match(/severity: ticket/g)).toHaveLength(2);
    expect(stdout.match(/runbook_url: https:\/\/runbooks\.example\.internal\/api-availability/g)).toHaveLength(4);
    const file = join(dir, 'rules.yml');
    writeFileSync(file, stdout);
    const check = await run('promtool', ['check', 'rules', file]);
    expect(check.stdout).toMatch(/SUCCESS: 11 rules found/);
  });

  it('prints Prometheus rules for the SLO', async () => {
    const stdout = await faultlineOk(['slo', 'rules', '--slo', slo]);
    expect(stdout).toContain('record: slo:sli_error:ratio_rate5m');
    expect(stdout).toContain('alert: SLOErrorBudgetBurnPageFast');
    expect(stdout).toContain('> 0.014400000000000001');
  });
});
