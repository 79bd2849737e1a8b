/**
 * `faultline slo rules` for the user's own metrics: the SLI as Prometheus selectors
 * (`sli.prometheus: {total, errors}`), compressed under --time-scale, loaded as they are by
 * promtool 2.42 (check + a unit test over several label sets), and the Alertmanager route/receiver
 * config loaded as it is by amtool 0.25.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { faultline, faultlineOk } from '../helpers/cli.ts';

const run = promisify(execFile);
const gamedaySlo = fileURLToPath(new URL('../../scenarios/gameday-slo.yaml', import.meta.url));

describe('faultline slo rules with Prometheus selectors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'faultline-slo-rules-'));

  it('emits one rule group on the SLI selectors, compressed by --time-scale, that promtool loads as it is', async () => {
    const stdout = await faultlineOk(['slo', 'rules', '--slo', gamedaySlo, '--time-scale', '120']);
    const doc = parse(stdout) as { groups: Array<{ name: string; interval: string; rules: Array<Record<string, unknown>> }> };
    expect(doc.groups).toHaveLength(1);
    const g = doc.groups[0]!;
    expect(g.interval).toBe('500ms');
    // Recordings first, then the alerts, in one group.
    expect(g.rules.map((r) => r.record ?? r.alert)).toEqual([
      'slo:sli_error:ratio_rate2500ms',
      'slo:sli_error:ratio_rate15s',
      'slo:sli_error:ratio_rate30s',
      'slo:sli_error:ratio_rate3m',
      'slo:sli_error:ratio_rate36m',
      'SLOErrorBudgetBurnPageFast',
      'SLOErrorBudgetBurnPageSlow',
      'SLOErrorBudgetBurnTicket',
    ]);
    expect(g.rules[0]!.expr).toBe(
      'sum(rate(http_requests_total{job="faultline-reference",route="/v1/query",code=~"5.."}[2500ms]))\n/\nsum(rate(http_requests_total{job="faultline-reference",route="/v1/query"}[2500ms]))',
    );
    // for: 2h ÷ 120
    expect(g.rules.find((r) => r.alert === 'SLOErrorBudgetBurnTicket')!.for).toBe('1m');
    const file = join(dir, 'rules.yml');
    writeFileSync(file, stdout);
    const check = await run('promtool', ['check', 'rules', file]);
    expect(check.stdout).toMatch(/SUCCESS: 8 rules found/);
  });

  it('the selector rules fire and clear in promtool 2.42 where the burn-rate maths says, summing every label set', async () => {
    const stdout = await faultlineOk(['slo', 'rules', '--slo', gamedaySlo]);
    writeFileSync(join(dir, 'real.yml'), stdout);
    // Per minute: 200 OK and 0 errors for 60 min, then 60 OK + 30 × 503 + 10 × 504 for 10 min (40 %),
    // then healthy again. Another job's series must not count.
    const steps = 90;
    const series = (perMin: (m: number) => number): string => {
      const v: number[] = [0];
      for (let m = 1; m <= steps; m++) v.push((v.at(-1) as number) + perMin(m));
      return v.join(' ');
    };
    const bad = (m: number): boolean => m > 60 && m <= 70;
    const lbl = (code: string, job = 'faultline-reference'): string => `http_requests_total{job="${job}",route="/v1/query",code="${code}"}`;
    const test = {
      rule_files: ['real.yml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            { series: lbl('200'), values: series((m) => (bad(m) ? 60 : 200)) },
            { series: lbl('503'), values: series((m) => (bad(m) ? 30 : 0)) },
            { series: lbl('504'), values: series((m) => (bad(m) ? 10 : 0)) },
            { series: lbl('503', 'other-service'), values: series(() => 1000) },
          ],
          alert_rule_test: [
            // 1h ratio at 61 m: 40 / (60 × 200 + 100) = 0.33 % < 1.44 %; at 63 m: 120 / 12 300 = 0.98 %;
            // at 64 m: 160 / 12 400 = 1.29 %; at 65 m: 200 / 12 500 = 1.6 % > 1.44 % → fires.
            { eval_time: '64m', alertname: 'SLOErrorBudgetBurnPageFast', exp_alerts: [] },
            {
              eval_time: '65m',
              alertname: 'SLOErrorBudgetBurnPageFast',
              exp_alerts: [
                {
                  exp_labels: { slo: 'reference-query', team: 'sre', severity: 'page', tier: 'page-fast' },
                  exp_annotations: {
                    summary: 'SLO reference-query: page-fast error budget burn (14.4x over 1h and 5m)',
                    runbook_url: 'https://runbooks.example.internal/reference-query',
                  },
                },
              ],
            },
            // The 5m window holds errors until 75 m (closed range [t−5m, t]) and is clean at 76 m.
            { eval_time: '76m', alertname: 'SLOErrorBudgetBurnPageFast', exp_alerts: [] },
          ],
        },
      ],
    };
    const testFile = join(dir, 'selectors.test.yml');
    writeFileSync(testFile, stringify(test));
    const res = await run('promtool', ['test', 'rules', testFile]).catch((e: { stdout: string; stderr: string }) => e);
    expect(`${res.stdout}${res.stderr}`).toContain('SUCCESS');
  });

  it('--alertmanager writes a route + webhook receiver config (send_resolved) that amtool loads as it is', async () => {
    const am = join(dir, 'alertmanager.yml');
    await faultlineOk(['slo', 'rules', '--slo', gamedaySlo, '--time-scale', '120', '--alertmanager', am, '--receiver', 'http://127.0.0.1:9311/alertmanager']);
    const doc = parse(readFileSync(am, 'utf8')) as {
      route: { receiver: string; routes: Array<Record<string, unknown>> };
      receivers: Array<{ name: string; webhook_configs?: Array<{ url: string; send_resolved: boolean }> }>;
    };
    expect(doc.route.routes[0]).toMatchObject({ receiver: 'faultline-gameday', matchers: ['slo="reference-query"'], group_wait: '250ms', group_interval: '2500ms', continue: true });
    expect(doc.receivers.find((r) => r.name === 'faultline-gameday')!.webhook_configs).toEqual([{ url: 'http://127.0.0.1:9311/alertmanager', send_resolved: true }]);
    const check = await run('amtool', ['check-config', am]);
    expect(check.stdout).toContain('SUCCESS');
  });

  it('refuses an SLO that gives the selectors twice, naming the field (exit 2)', async () => {
    const both = join(dir, 'both.yaml');
    writeFileSync(
      both,
      'apiVersion: faultline/v1\nkind: SLO\nname: x\nobjective: 99\nsli:\n  prometheus: { total: a_total, errors: \'a_total{code="500"}\' }\nmetrics: { total: a_total, errors: b_total }\n',
    );
    const err = await faultline(['slo', 'rules', '--slo', both]);
    expect(err.code).toBe(2);
    expect(err.stderr).toContain("field 'sli.prometheus'");
    const bad = join(dir, 'bad-selector.yaml');
    writeFileSync(bad, 'apiVersion: faultline/v1\nkind: SLO\nname: x\nobjective: 99\nsli:\n  prometheus: { total: "sum(rate(a_total[5m]))", errors: a_total }\n');
    const err2 = await faultline(['slo', 'rules', '--slo', bad]);
    expect(err2.code).toBe(2);
    expect(err2.stderr).toMatch(/bad-selector\.yaml:6 field 'sli\.prometheus\.total'/);
  });
});
