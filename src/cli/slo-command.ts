import { ExitCode, formatDuration, InputError } from '../shared/index.ts';
import { generatePrometheusRules, loadSloFile, readSeriesCsv, replaySeries, type ReplayResult } from '../slo/index.ts';
import { parseFlags, requireFlag } from './args.ts';
import { flagDuration } from './load-command.ts';
import type { Command } from './io.ts';

const usage = `faultline slo — SLO burn-rate tools

Usage:
  faultline slo replay --slo FILE --series FILE.csv [--eval-interval 60s] [--time-scale N] [--json]
  faultline slo rules  --slo FILE [--time-scale N]

replay   evaluates the SLO's multi-window multi-burn-rate alerts over a recorded series with
         Prometheus 2.x semantics. The CSV header is t,total,errors: t in seconds from the start,
         total and errors cumulative counters (as Prometheus scrapes them). --json prints
         {"alerts":{"page-fast":[[fire,clear],…],…},"budget":{…}} (times in seconds; an interval
         still open at the end has null as its clear time). Same input, byte-identical output.
         --time-scale N divides every window, the period, the evaluation interval and for: (a
         compressed series); --eval-interval is given in real-equivalent time, like the windows.
         budget.perTier gives time-to-detect/clear on the series' timeline, perTierReal in
         real-equivalent seconds, both measured from when bad events began / were last seen.
rules    prints Prometheus recording and alerting rules for the SLO's policy.`;

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
  return `${lines.join('\n')}\n`;
}

export const sloCommand: Command = {
  summary: 'replay a counter series through the SLO burn-rate alerts, or print Prometheus rules',
  usage,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === 'replay') {
      const { values } = parseFlags(rest, {
        slo: { type: 'string' },
        series: { type: 'string' },
        'eval-interval': { type: 'string' },
        'time-scale': { type: 'string' },
        json: { type: 'boolean' },
      });
      const slo = loadSloFile(requireFlag(values.slo, 'slo'));
      const series = readSeriesCsv(requireFlag(values.series, 'series'));
      const evalMs = flagDuration(values['eval-interval'] ?? '60s', 'eval-interval');
      const result = replaySeries(slo, series, { evalIntervalSec: evalMs / 1000, timeScale: parseScale(values['time-scale']) });
      io.stdout.write(values.json ? `${JSON.stringify(result)}\n` : humanReplay(result));
      return ExitCode.passed;
    }
    if (sub === 'rules') {
      const { values } = parseFlags(rest, { slo: { type: 'string' }, 'time-scale': { type: 'string' } });
      const slo = loadSloFile(requireFlag(values.slo, 'slo'));
      io.stdout.write(generatePrometheusRules(slo, { timeScale: parseScale(values['time-scale']) }));
      return ExitCode.passed;
    }
    throw new InputError('FAULTLINE_CLI_USAGE', `expected 'replay' or 'rules' (got ${sub === undefined ? 'nothing' : `'${sub}'`}); see 'faultline slo --help'`);
  },
};
