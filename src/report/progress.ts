/** Live progress lines for a run (redrawn on a TTY, plain lines otherwise) and the final verdict table. */
import { formatDuration } from '../shared/index.ts';
import type { RunEvent, RunListener, RunResult } from '../scenario/index.ts';
import { allVerdicts, cleanupSummary, drillSummary } from './render.ts';
import { rolloutSummary } from './rollout-report.ts';
import { observationText } from './observed-timeline.ts';
import { faultText, forecastRows, historyText } from './predictions.ts';

/** Cuts a live line to the terminal's width so the in-place redraw never wraps. */
export function fitWidth(s: string, columns: number | undefined): string {
  if (!columns || columns < 20) return s;
  const chars = [...s];
  return chars.length < columns ? s : `${chars.slice(0, columns - 2).join('')}…`;
}

export function progressReporter(write: (s: string) => void, opts: { tty: boolean; everyMs?: number; columns?: () => number | undefined } = { tty: false }): RunListener {
  let last = -Infinity;
  const every = opts.everyMs ?? (opts.tty ? 250 : 1000);
  const line = (s: string): void => write(opts.tty ? `\r\x1b[2K${fitWidth(s, opts.columns?.())}` : `${s}\n`);
  const event = (s: string): void => write(opts.tty ? `\r\x1b[2K${s}\n` : `${s}\n`);
  return (e: RunEvent) => {
    switch (e.type) {
      case 'run-start':
        event(`faultline: ${e.plan.name} — ${e.plan.experiments.length} experiment(s), seed ${e.plan.seed}, timeScale ${e.plan.timeScale}, about ${formatDuration(e.plan.totalMs)}`);
        break;
      case 'metrics-listening':
        event(`metrics: ${e.url} (Prometheus format: SLI counters, burn rates, alert states)`);
        break;
      case 'experiment-start':
        event(`▶ ${e.experiment}: baseline ${formatDuration(e.plan.injectAtMs)} → inject ${formatDuration(e.plan.healAtMs - e.plan.injectAtMs)} → recover ${formatDuration(e.plan.totalMs - e.plan.healAtMs)}`);
        break;
      case 'fault-injected':
        event(`  ${(e.t / 1000).toFixed(1)}s inject ${e.fault.type} (${e.fault.stream}) ${JSON.stringify(e.fault.attributes)}`);
        break;
      case 'fault-healed':
        event(`  ${(e.t / 1000).toFixed(1)}s heal ${e.faults.join(', ') || '(nothing active)'} — ${e.verified ? 'verified clean' : 'NOT clean'}`);
        break;
      case 'alert':
        if (e.transition.to === 'firing' || e.transition.from === 'firing') {
          event(`  ${(e.transition.t / 1000).toFixed(2)}s alert ${e.transition.tier} ${e.transition.to === 'firing' ? 'FIRING' : 'cleared'} (${formatDuration(e.transition.tReal)} real-equivalent)`);
        }
        break;
      case 'observed-end': {
        const failed = e.verdicts.filter((v) => !v.passed);
        event(`■ ${e.experiment} in real monitoring (watched ${formatDuration(e.watchedAfterEndMs)} after the experiment): ${failed.length === 0 ? `${e.verdicts.length} row(s) passed` : `${failed.length} of ${e.verdicts.length} row(s) FAILED`}`);
        for (const v of failed) event(`  ✖ ${v.title}: ${v.observed}`);
        break;
      }
      case 'observation': {
        const text = observationText(e.observation);
        if (text) event(`  ${text}`);
        break;
      }
      case 'abort':
        event(`✖ aborted: ${e.cause} — healing`);
        break;
      case 'tick': {
        if (e.t - last < every) break;
        last = e.t;
        const burns = Object.entries(e.slo.burnRates)
          .slice(0, 4)
          .map(([w, v]) => `${w}=${v === null ? '-' : v.toFixed(1)}`)
          .join(' ');
        const alerts = e.slo.tiers.map((t) => `${t.tier}:${t.state === 'firing' ? 'FIRING' : t.state}`).join(' ');
        line(
          `  [${e.experiment}] ${e.phase.padEnd(8)} ${(e.t / 1000).toFixed(1)}/${(e.totalMs / 1000).toFixed(0)}s (${(Math.max(0, e.totalMs - e.t) / 1000).toFixed(1)}s left)  rate ${e.load.completedPerSec}/s  err ${(e.load.errorRatio * 100).toFixed(1)}%  p99 ${e.load.p99Ms === null ? '-' : e.load.p99Ms.toFixed(1)}ms  burn ${burns}  ${alerts}`,
        );
        break;
      }
      case 'drill-start':
        event(`▶ failover drill: ${e.fault} (${e.mode}, seed ${e.seed}) on a real PostgreSQL pair; its readiness view is served on ${e.readyzUrl}`);
        break;
      case 'drill-skipped':
        event(`■ failover drill ${e.reason}`);
        break;
      case 'drill-end':
        event(`■ failover drill: ${e.result.status === 'passed' ? 'passed' : `${e.result.status.toUpperCase()}${e.result.status === 'error' ? ` — ${e.result.reason}` : ''}`}`);
        break;
      case 'experiment-end':
        last = -Infinity;
        if (opts.tty) write('\n');
        event(`■ ${e.result.name}: ${e.result.passed ? 'passed' : e.result.aborted ? 'aborted' : 'FAILED'}`);
        break;
      default:
        break;
    }
  };
}

/** What to check first for the most common error classes. */
const ERROR_HINTS: Record<string, string> = {
  http_404: 'check target.path',
  http_401: 'the target wants credentials',
  http_403: 'the target refuses these requests',
  connect_refused: 'is the target running on that address?',
  connect_timeout: 'is the target reachable?',
  timeout: 'the target answers slower than load.timeout',
  tls: 'check the certificate (or the https:// scheme)',
  dns: 'targets must be loopback addresses',
};

/** The dominant error classes, largest first, with a hint for the first: `http_404 ×49 — check target.path`. */
export function errorCauses(errors: Record<string, number>, max = 3): string {
  const top = Object.entries(errors)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, max);
  if (top.length === 0) return '';
  const hint = ERROR_HINTS[top[0]![0]];
  return `${top.map(([k, n]) => `${k} ×${n}`).join(', ')}${hint ? ` — ${hint}` : ''}`;
}

/** The verdict table printed at the end of a run. */
export function verdictTable(r: RunResult): string {
  const rows: string[][] = [['experiment', 'expectation', 'expected', 'observed', 'result']];
  for (const v of allVerdicts(r)) rows.push([v.experiment, v.title, v.expected, v.observed, v.notReached ? 'not reached' : v.passed ? 'pass' : 'FAIL']);
  const widths = rows[0]!.map((_, i) => Math.min(60, Math.max(...rows.map((row) => (row[i] ?? '').length))));
  const fmt = (row: string[]): string => row.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  const out = [fmt(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(fmt)];
  out.push('');
  for (const x of r.experiments) {
    const c = x.slo.budget.consumedFraction;
    const eps = Object.entries(x.slo.intervals)
      .filter(([, iv]) => iv.length > 0)
      .map(([t, iv]) => `${t} ${iv.map(([a, b]) => `[${((a - x.plan.injectAtMs) / 1000).toFixed(2)}s, ${b === null ? 'open' : `${((b - x.plan.injectAtMs) / 1000).toFixed(2)}s`})`).join(' ')}`)
      .join('; ');
    const causes = errorCauses(x.load.errors);
    if (causes) out.push(`${x.name}: errors ${causes}`);
    out.push(`${x.name}: ${historyText(x)}; ${faultText(x)}`);
    for (const row of forecastRows(x)) {
      out.push(
        `  ${row.tier}: fire ${row.predictedFire} predicted / ${row.observedFire} observed; clear ${row.predictedClear} / ${row.observedClear}; budget before detection ${row.predictedBudget} / ${row.observedBudget}`,
      );
    }
    out.push(`${x.name}: ${x.load.completed} requests completed${x.load.dropped ? ` (+${x.load.dropped} dropped at the in-flight cap)` : ''}, ${x.load.bad} bad, error budget spent ${c === null ? 'n/a' : `${(c * 100).toFixed(2)} %`} of ${formatDuration(x.slo.budget.periodMs)}; alerts (s from inject, ×${x.slo.timeScale} for real-equivalent): ${eps || 'none'}`);
    if (x.harness?.note) out.push(`${x.name}: ${x.harness.note}`);
  }
  if (r.drill) out.push(drillSummary(r.drill));
  if (r.rollout) out.push(rolloutSummary(r.rollout));
  out.push(cleanupSummary(r));
  for (const s of r.skipped ?? []) out.push(`skipped: ${s}${r.status === 'skipped' ? ' — the run is not a pass (exit 5); --allow-skip accepts a skipped part' : ' (allowed by --allow-skip)'}`);
  out.push(`\nresult: ${r.status.toUpperCase()} (exit ${r.exitCode}) · seed ${r.seed} · wall time ${formatDuration(r.wallMs)}${r.abort ? ` · aborted: ${r.abort.cause}` : ''}${r.error ? ` · error: ${r.error}` : ''}`);
  return `${out.join('\n')}\n`;
}
