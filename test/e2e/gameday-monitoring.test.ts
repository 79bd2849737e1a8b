/**
 * Game day on real parts: a real Prometheus 2.42 scraping the reference service's own /metrics every
 * 500 ms, loading the rules `faultline slo rules --time-scale 120` prints (rule interval 500 ms), and
 * a real Alertmanager 0.25 with the route `--alertmanager` writes (group_wait 250 ms) pointing at
 * faultline's webhook receiver. `faultline run scenarios/gameday-alertmanager.yaml` (ports rewritten
 * to free ones) partitions the query backend and must see the page fire in Prometheus, both
 * notifications at the receiver, and its evaluator agree with Prometheus within scrape + evaluation.
 * Honesty controls: a rule ×100 too high (exit 1, the Prometheus stage named) and a route to another
 * receiver (exit 1, the Alertmanager stage named). Binaries missing → the test fails.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/shared/index.ts';
import { ALERTMANAGER_BIN, PROMETHEUS_BIN, requireBinary, startMonitoringStack, type MonitoringStack } from '../helpers/monitoring-stack.ts';

const bin = fileURLToPath(new URL('../../bin/faultline.mjs', import.meta.url));
const scenarioFile = fileURLToPath(new URL('../../scenarios/gameday-alertmanager.yaml', import.meta.url));
const sloFile = fileURLToPath(new URL('../../scenarios/gameday-slo.yaml', import.meta.url));
const TIME_SCALE = 120;
const SCRAPE_MS = 500;

interface Cli {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], timeoutMs = 90_000): Promise<Cli> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: timeoutMs, env: { ...process.env, CI: '1' } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 99) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

interface Stage {
  stage: string;
  fire: number | null;
  clear: number | null;
}
interface Timeline {
  alert: string;
  tier: string | null;
  injectAt: number;
  healAt: number;
  stages: Stage[];
  intervals: { scrapeMs: number | null; evalMs: number | null; toleranceMs: number | null; pollMs: number };
  breakdown: string[];
  disagreements: string[];
}
interface Journal {
  status: string;
  experiments: Array<{
    verdicts: Array<{ title: string; passed: boolean; observed: string }>;
    observed: { observations: Array<{ source: string; kind?: string; t: number; notification?: { status: string; groupKey: string; alerts: Array<{ labels: Record<string, string>; status: string; startsAt: string; endsAt: string }> } }>; timelines: Timeline[] };
  }>;
}

interface Game {
  dir: string;
  stack: MonitoringStack;
  run: Cli;
  journal: Journal | undefined;
}

const stacks: MonitoringStack[] = [];
afterAll(async () => {
  await Promise.all(stacks.map((s) => s.stop()));
});

/**
 * One game day: fresh ports, rules and Alertmanager config from the CLI (optionally edited), a
 * fresh Prometheus + Alertmanager, then `faultline run` on the shipped scenario with its ports
 * rewritten.
 */
async function gameDay(name: string, edit: { rules?: (s: string) => string; alertmanager?: (s: string) => string } = {}): Promise<Game> {
  const dir = mkdtempSync(join(tmpdir(), `faultline-gameday-${name}-`));
  const [servicePort, receiverPort] = [await freePort(), await freePort()];
  copyFileSync(sloFile, join(dir, 'gameday-slo.yaml'));
  const am = join(dir, 'alertmanager.yml');
  const rules = await cli(['slo', 'rules', '--slo', sloFile, '--time-scale', String(TIME_SCALE), '--alertmanager', am, '--receiver', `http://127.0.0.1:${receiverPort}/alertmanager`]);
  expect(rules.code, rules.stderr).toBe(0);
  const stack = await startMonitoringStack({
    scrapeTarget: `127.0.0.1:${servicePort}`,
    rules: (edit.rules ?? ((s) => s))(rules.stdout),
    alertmanagerConfig: (edit.alertmanager ?? ((s) => s))(readFileSync(am, 'utf8')),
    scrapeIntervalMs: SCRAPE_MS,
  });
  stacks.push(stack);
  const scenario = readFileSync(scenarioFile, 'utf8')
    .replace('listen: 127.0.0.1:9101', `listen: 127.0.0.1:${servicePort}`)
    .replace('url: http://127.0.0.1:9090', `url: ${stack.prometheusUrl}`)
    .replace('url: http://127.0.0.1:9093', `url: ${stack.alertmanagerUrl}`)
    .replace('listen: 127.0.0.1:9095', `listen: 127.0.0.1:${receiverPort}`);
  const file = join(dir, 'gameday.yaml');
  writeFileSync(file, scenario);
  const reports = join(dir, 'reports');
  const run = await cli(['run', file, '--report-dir', reports]);
  const runDir = readdirSync(reports)[0];
  const journal = runDir ? (JSON.parse(readFileSync(join(reports, runDir, 'journal.json'), 'utf8')) as Journal) : undefined;
  await stack.stop();
  return { dir: runDir ? join(reports, runDir) : dir, stack, run, journal };
}

const stage = (tl: Timeline, name: string): Stage => {
  const s = tl.stages.find((x) => x.stage === name || x.stage.startsWith(name));
  if (!s) throw new Error(`no stage ${name} in ${JSON.stringify(tl.stages)}`);
  return s;
};

describe('game day on a real Prometheus and Alertmanager', () => {
  it('needs both binaries: a missing one fails the test, nothing is skipped', () => {
    expect(requireBinary(PROMETHEUS_BIN)).toMatch(/prometheus$/);
    expect(requireBinary(ALERTMANAGER_BIN)).toMatch(/prometheus-alertmanager$/);
    expect(() => requireBinary('prometheus-not-installed-here')).toThrow(/prometheus-not-installed-here not found on PATH: install the Debian package/);
  });

  it('the page fires in Prometheus, is notified and resolved through Alertmanager, and Prometheus agrees with the evaluator', async () => {
    const g = await gameDay('main');
    expect(g.run.code, `${g.run.stdout}\n${g.run.stderr}\n${g.stack.logs()}`).toBe(0);
    const x = g.journal!.experiments[0]!;
    expect(x.verdicts.filter((v) => !v.passed)).toEqual([]);
    expect(x.verdicts.map((v) => v.title)).toEqual(
      expect.arrayContaining([
        'Prometheus: {alertname="SLOErrorBudgetBurnPageFast", slo="reference-query"} fires within 5s of inject start',
        'Prometheus: {alertname="SLOErrorBudgetBurnPageFast", slo="reference-query"} resolves within 8s of heal',
        'Alertmanager: {alertname="SLOErrorBudgetBurnPageFast", severity="page"} notifies faultline\'s receiver within 8s of inject start',
        'Alertmanager: {alertname="SLOErrorBudgetBurnPageFast", severity="page"} sends the resolved notification within 12s of heal',
        'Prometheus: {alertname="SLOErrorBudgetBurnTicket"} never fires',
      ]),
    );
    // The journal keeps every observation: Prometheus transitions and the notification payloads.
    const obs = x.observed.observations;
    expect(obs.some((o) => o.source === 'prometheus' && o.kind === 'firing')).toBe(true);
    expect(obs.some((o) => o.source === 'prometheus' && o.kind === 'resolved')).toBe(true);
    // The ticket went pending (for: 60s compressed) but never fired.
    const notes = obs.filter((o) => o.source === 'alertmanager-webhook').map((o) => o.notification!);
    const page = notes.filter((n) => n.alerts.some((a) => a.labels.alertname === 'SLOErrorBudgetBurnPageFast'));
    expect(page.map((n) => n.status)).toEqual(expect.arrayContaining(['firing', 'resolved']));
    const resolved = page.find((n) => n.status === 'resolved')!;
    expect(resolved.groupKey).toContain('SLOErrorBudgetBurnPageFast');
    expect(Date.parse(resolved.alerts[0]!.endsAt)).toBeGreaterThan(Date.parse(resolved.alerts[0]!.startsAt));

    // Where the time went: evaluator vs Prometheus within scrape + evaluation, fire and clear.
    const tl = x.observed.timelines.find((t) => t.alert.includes('SLOErrorBudgetBurnPageFast') && t.tier === 'page-fast')!;
    expect(tl.intervals.scrapeMs).toBe(SCRAPE_MS);
    expect(tl.intervals.evalMs).toBe(60_000 / TIME_SCALE);
    const tolerance = SCRAPE_MS + 60_000 / TIME_SCALE;
    expect(tl.intervals.toleranceMs).toBe(tolerance);
    const evaluator = stage(tl, 'faultline evaluator');
    const prom = stage(tl, 'Prometheus firing');
    const notified = stage(tl, 'Alertmanager notification');
    console.log(
      `game day timeline (ms from inject / from heal):\n` +
        tl.stages.map((s) => `  ${s.stage.padEnd(28)} fire ${s.fire === null ? '-' : s.fire - tl.injectAt}  clear ${s.clear === null ? '-' : s.clear - tl.healAt}`).join('\n') +
        `\n  ${tl.breakdown.join('\n  ')}`,
    );
    expect(evaluator.fire).not.toBeNull();
    expect(prom.fire).not.toBeNull();
    expect(Math.abs(prom.fire! - evaluator.fire!)).toBeLessThanOrEqual(tolerance);
    expect(Math.abs(prom.clear! - evaluator.clear!)).toBeLessThanOrEqual(tolerance + tl.intervals.pollMs);
    expect(tl.disagreements).toEqual([]);
    // Order of the stages: Prometheus fires before Alertmanager notifies; it resolves before the resolved notification.
    expect(notified.fire!).toBeGreaterThanOrEqual(prom.fire!);
    expect(notified.clear!).toBeGreaterThanOrEqual(prom.clear! - tl.intervals.pollMs);
    expect(prom.clear!).toBeGreaterThan(tl.healAt);
    // The report shows it.
    const md = readFileSync(join(g.dir, 'report.md'), 'utf8');
    expect(md).toContain('where the time went');
    expect(md).toContain('| Prometheus firing |');
    expect(readFileSync(join(g.dir, 'report.html'), 'utf8')).toContain('Where the time went');
    const junit = readFileSync(join(g.dir, 'junit.xml'), 'utf8');
    expect(junit).toContain('name="Prometheus: {alertname=&quot;SLOErrorBudgetBurnPageFast&quot;, slo=&quot;reference-query&quot;} fires within 5s of inject start"');
  });

  it('honesty controls: a rule ×100 too high fails at the Prometheus stage, a route to another receiver at the Alertmanager stage (exit 1)', async () => {
    const [x100, misrouted] = await Promise.all([
      gameDay('x100', { rules: (s) => s.replace(/> 0\.014400000000000001/g, '> 1.4400000000000002') }),
      gameDay('misrouted', { alertmanager: (s) => s.replace('- receiver: faultline-gameday', '- receiver: default') }),
    ]);
    // ×100: Prometheus never fires; both observed rows say so and name the Prometheus stage.
    expect(x100.run.code, `${x100.run.stdout}\n${x100.run.stderr}`).toBe(1);
    const xv = x100.journal!.experiments[0]!.verdicts;
    const promFires = xv.find((v) => v.title.startsWith('Prometheus: {alertname="SLOErrorBudgetBurnPageFast"') && v.title.includes('fires'))!;
    expect(promFires.passed).toBe(false);
    expect(promFires.observed).toMatch(/^never fired — lost at the Prometheus stage: the rule SLOErrorBudgetBurnPageFast .*never went pending or firing.*> 1\.44/);
    const amFires = xv.find((v) => v.title.startsWith('Alertmanager:') && v.title.includes('notifies'))!;
    expect(amFires.passed).toBe(false);
    expect(amFires.observed).toMatch(/lost at the Prometheus stage/);
    // faultline's own evaluator (its SLO is right) fired: the timeline flags the disagreement.
    expect(x100.journal!.experiments[0]!.observed.timelines.find((t) => t.tier === 'page-fast')!.disagreements.join(' ')).toMatch(/Prometheus never fired/);
    expect(x100.run.stdout).toMatch(/lost at the Prometheus stage/);

    // Misrouted: fires in Prometheus, never reaches faultline's receiver; the Alertmanager stage is named.
    expect(misrouted.run.code, `${misrouted.run.stdout}\n${misrouted.run.stderr}`).toBe(1);
    const mv = misrouted.journal!.experiments[0]!.verdicts;
    // Prometheus fired it (whether or not a starved baseline made it fire early, it reached Alertmanager).
    const misTl = misrouted.journal!.experiments[0]!.observed.timelines.find((t) => t.tier === 'page-fast')!;
    expect(stage(misTl, 'Prometheus firing').fire).not.toBeNull();
    expect(stage(misTl, 'Alertmanager API').fire).not.toBeNull();
    expect(stage(misTl, 'Alertmanager notification').fire).toBeNull();
    const lost = mv.find((v) => v.title.startsWith('Alertmanager:') && v.title.includes('notifies'))!;
    expect(lost.passed).toBe(false);
    expect(lost.observed).toMatch(/^never notified — lost at the Alertmanager stage: Prometheus fired it .* Alertmanager had it .* routed it to default; nothing reached faultline's receiver/);
    expect(misrouted.run.stdout).toMatch(/lost at the Alertmanager stage/);
  });
});
