import { ExitCode, formatDuration, InputError } from '../shared/index.ts';
import { writeFileSync } from 'node:fs';
import { generateAlertmanagerRoute, generatePrometheusRules, loadSloFile, readSeriesCsv, replaySeries, type ReplayResult } from '../slo/index.ts';
import { parseFlags, requireFlag } from './args.ts';
import { flagDuration } from './load-command.ts';
import type { Command } from './io.ts';

const usage = `faultline slo — SLO burn-rate tools

Usage:
  faultline slo replay --slo FILE --series FILE.csv [--eval-interval 60s] [--time-scale N] [--predict] [--json]
  faultline slo rules  --slo FILE [--time-scale N] [--alertmanager FILE [--receiver URL]]

replay   evaluates the SLO's multi-window multi-burn-rate alerts over a recorded series with
         Prometheus 2.x semantics. The CSV header is t,total,errors: t in seconds from the start,
         total and errors cumulative counters (as Prometheus scrapes them). --json prints
         {"alerts":{"page-fast":[[fire,clear],…],…},"budget":{…}} (times in seconds; an interval
         still open at the end has null as its clear time). Same input, byte-identical output.
         --time-scale N divides every window, the period, the evaluation interval and for: (a
         compressed series); --eval-interval is given in real-equivalent time, like the windows.
         budget.perTier gives time-to-detect/clear on the series' timeline, perTierReal in
         real-equivalent seconds, both measured from when bad events began / were last seen.
         --predict adds, per tier, the fire and clear times the burn-rate maths predicts from the
         error ratio measured between the first and last bad events (long and short windows,
         threshold, evaluation-interval rounding, for:), next to the observed ones, and the share
         of the budget consumed before detection (JSON: a third key, "predictions").
rules    prints Prometheus recording and alerting rules for the SLO's policy, built on the SLI's
         selectors (sli.prometheus: {total, errors} in the SLO file), as one rule group Prometheus
         and promtool load as it is. --time-scale N divides every window, for: and the rule
         interval (60s / N) for a compressed game day or test. --alertmanager FILE also writes an
         Alertmanager config whose route sends the SLO's alerts to faultline's webhook receiver
         (--receiver, default http://127.0.0.1:9095/alertmanager; group_wait 30s and group_interval
         5m divided by N); it loads as it is, and its header says what to copy into your config.`;

function parseScale(v: string | undefined): number {
  if (v === undefined) return 1;
  const n = Number(v);
  if (!(n > 0)) throw new InputError('FAULTLINE_CLI_USAGE', `--time-scale must be a positive number (got '${v}')`, { field: 'time-scale' });
  return n;
}

function humanReplay(r: ReplayResult): string {
  const b = r.budget;
  const secs = (v: number | null): string => (v === null ? '—' : `${v}s`);
  const lines = ['tier          fired  detect  clear  intervals [fire, clear) in seconds'];
  for (const [tier, iv] of Object.entries(r.alerts)) {
    const text = iv.length === 0 ? '—' : iv.map(([a, c]) => `[${a}, ${c === null ? 'open' : c})`).join(' ');
    const t = b.perTier[tier];
    lines.push(`${tier.padEnd(13)} ${String(iv.length).padStart(5)}  ${secs(t?.timeToDetectSec ?? null).padStart(6)} ${secs(t?.timeToClearSec ?? null).padStart(6)}  ${text}`);
  }
  if (b.timeScale !== 1) lines.push(`(times on the series' compressed timeline; ×${b.timeScale} for real-equivalent)`);
  lines.push('');
  lines.push(`events ${b.totalEvents}, bad ${b.badEvents}, error ratio ${b.errorRatio === null ? 'n/a' : (b.errorRatio * 100).toFixed(3) + '%'}`);
  lines.push(
    `error budget ${(b.errorBudgetRatio * 100).toPrecision(3)}% of ${formatDuration(b.periodMs)}: consumed ${b.consumedFraction === null ? 'n/a' : (b.consumedFraction * 100).toFixed(2) + '%'}` +
      (b.timeToExhaustionMs === null ? '' : `, exhausted in ${formatDuration(b.timeToExhaustionMs)} at the current burn`),
  );
  if (r.predictions) lines.push('', ...predictionLines(r));
  return `${lines.join('\n')}\n`;
}

function predictionLines(r: ReplayResult): string[] {
  const p = r.predictions as NonNullable<ReplayResult['predictions']>;
  const scale = r.budget.timeScale;
  const at = (v: number | null): string => (v === null ? '—' : scale === 1 ? `${v}s` : `${v}s (${formatDuration(v * scale * 1000)})`);
  const pct = (v: number | null): string => (v === null ? '—' : `${(v * 100).toFixed(2)}%`);
  const head = p.fault
    ? `predictions: bad events from ${p.fault.from}s to ${p.fault.until}s at ${(p.fault.errorRatio * 100).toFixed(3)}% errors, ${p.fault.ratePerSec.toFixed(2)} events/s`
    : 'predictions: no bad events in the series';
  const rows = [head, 'tier          fire predicted / observed            clear predicted / observed           binding  budget at detection predicted / observed'];
  for (const [tier, t] of Object.entries(p.tiers)) {
    rows.push(
      `${tier.padEnd(13)} ${`${at(t.predicted.fire)} / ${at(t.observed.fire)}`.padEnd(36)} ${`${at(t.predicted.clear)} / ${at(t.observed.clear)}`.padEnd(36)} ${(t.predicted.binding ?? '—').padEnd(8)} ${pct(t.predicted.budgetAtFire)} / ${pct(t.observed.budgetAtFire)}`,
    );
  }
  return rows;
}

export const sloCommand: Command = {
  usage,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === 'replay') {
      const { values } = parseFlags(rest, {
        slo: { type: 'string' },
        series: { type: 'string' },
        'eval-interval': { type: 'string' },
        'time-scale': { type: 'string' },
        predict: { type: 'boolean' },
        json: { type: 'boolean' },
      });
      const slo = loadSloFile(requireFlag(values.slo, 'slo'));
      const series = readSeriesCsv(requireFlag(values.series, 'series'));
      const evalMs = flagDuration(values['eval-interval'] ?? '60s', 'eval-interval');
      const result = replaySeries(slo, series, { evalIntervalSec: evalMs / 1000, timeScale: parseScale(values['time-scale']), predict: values.predict === true });
      io.stdout.write(values.json ? `${JSON.stringify(result)}\n` : humanReplay(result));
      return ExitCode.passed;
    }
    if (sub === 'rules') {
      const { values } = parseFlags(rest, { slo: { type: 'string' }, 'time-scale': { type: 'string' }, alertmanager: { type: 'string' }, receiver: { type: 'string' } });
      const slo = loadSloFile(requireFlag(values.slo, 'slo'));
      const timeScale = parseScale(values['time-scale']);
      if (values.receiver !== undefined && values.alertmanager === undefined) {
        throw new InputError('FAULTLINE_CLI_USAGE', '--receiver needs --alertmanager FILE', { field: 'receiver' });
      }
      if (values.alertmanager !== undefined) {
        const receiverUrl = values.receiver ?? 'http://127.0.0.1:9095/alertmanager';
        if (!/^https?:\/\/\S+$/.test(receiverUrl)) throw new InputError('FAULTLINE_CLI_USAGE', `--receiver must be an http(s) URL (got '${receiverUrl}')`, { field: 'receiver' });
        writeFileSync(values.alertmanager, generateAlertmanagerRoute(slo, { receiverUrl, timeScale }));
      }
      io.stdout.write(generatePrometheusRules(slo, { timeScale }));
      return ExitCode.passed;
    }
    throw new InputError('FAULTLINE_CLI_USAGE', `expected 'replay' or 'rules' (got ${sub === undefined ? 'nothing' : `'${sub}'`}); see 'faultline slo --help'`);
  },
};
