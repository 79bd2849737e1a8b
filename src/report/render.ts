/**
 * Renderers: RunResult → journal.json, junit.xml, report.md, report.html (self-contained, inline SVG
 * charts, no network, no script). Every output passes through redaction.
 */
import { formatDuration, redact, redactValue } from '../shared/index.ts';
import type { DrillStepResult, ExperimentResult, RunResult, Verdict } from '../scenario/index.ts';
import { FORECAST_HEADER, faultText, forecastCells, forecastRows, historyText } from './predictions.ts';
import { rolloutHtml, rolloutJunitSuite, rolloutMarkdown } from './rollout-report.ts';
import { observedHtml, observedMarkdown } from './observed-timeline.ts';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function renderJournal(r: RunResult): string {
  return `${redact(JSON.stringify(redactValue({ kind: 'faultline-journal', version: 1, ...r }), null, 2))}\n`;
}

export function renderJunit(r: RunResult): string {
  const suites = r.experiments.map((x) => {
    const cases = x.verdicts.map((v) => {
      const body = v.passed ? '' : `\n      <failure message="${esc(`expected ${v.expected}; observed ${v.observed}`)}">${esc(`${v.title}\nexpected: ${v.expected}\nobserved: ${v.observed}`)}</failure>\n    `;
      return `    <testcase classname="${esc(`${r.scenario}.${x.name}`)}" name="${esc(v.title)}" time="0">${body}</testcase>`;
    });
    const failures = x.verdicts.filter((v) => !v.passed).length;
    const time = (x.plan.totalMs / 1000).toFixed(3);
    return `  <testsuite name="${esc(`${r.scenario}/${x.name}`)}" tests="${x.verdicts.length}" failures="${failures}" errors="0" time="${time}">\n${cases.join('\n')}\n  </testsuite>`;
  });
  if (r.drill) {
    const d = r.drill;
    const cases =
      d.status === 'skipped'
        ? [`    <testcase classname="${esc(`${r.scenario}.failover-drill`)}" name="failover drill"><skipped message="${esc(d.reason)}"/></testcase>`]
        : d.verdicts.map((v) => {
            const body = v.passed ? '' : `<failure message="${esc(`expected ${v.expected}; observed ${v.observed}`)}">${esc(`${v.title}\nexpected: ${v.expected}\nobserved: ${v.observed}`)}</failure>`;
            return `    <testcase classname="${esc(`${r.scenario}.failover-drill`)}" name="${esc(v.title)}" time="0">${body}</testcase>`;
          });
    const failures = d.verdicts.filter((v) => !v.passed).length;
    suites.push(
      `  <testsuite name="${esc(`${r.scenario}/failover-drill`)}" tests="${cases.length}" failures="${d.status === 'skipped' ? 0 : failures}" errors="0" skipped="${d.status === 'skipped' ? 1 : 0}" time="${(d.wallMs / 1000).toFixed(3)}">\n${cases.join('\n')}\n  </testsuite>`,
    );
  }
  if (r.rollout) suites.push(rolloutJunitSuite(r.scenario, r.rollout, esc));
  if (r.status === 'aborted' || r.status === 'error') {
    const why = r.abort?.cause ?? r.error ?? r.status;
    suites.push(
      `  <testsuite name="${esc(`${r.scenario}/run`)}" tests="1" failures="0" errors="1" time="0">\n    <testcase classname="${esc(r.scenario)}" name="run completes"><error message="${esc(why)}">${esc(why)}</error></testcase>\n  </testsuite>`,
    );
  }
  return redact(`<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="${esc(r.scenario)}">\n${suites.join('\n')}\n</testsuites>\n`);
}

/** Every verdict of the run in table order: the experiments', then the failover step's, then the rollout's. */
export function allVerdicts(r: RunResult): Verdict[] {
  return [...r.experiments.flatMap((x) => x.verdicts), ...(r.drill?.verdicts ?? []), ...(r.rollout?.verdicts ?? [])];
}

/** The post-run cleanup check as one line. */
export function cleanupSummary(r: RunResult): string {
  return `cleanup: ${r.cleanup.verified ? 'verified — nothing left injected' : `${r.cleanup.faultsLeft} fault(s) still injected`}`;
}

/** One line about the failover step for the tables (skip reason, RTO/RPO, evidence). */
export function drillSummary(d: DrillStepResult): string {
  if (d.status === 'skipped') return `failover drill: SKIPPED — ${d.reason}`;
  const c = d.check;
  const facts = c
    ? `RTO ${c.rto.ms === null ? 'n/a' : `${c.rto.ms} ms`}, ${c.rpo.lostAcknowledgedWrites} lost acknowledged write(s), ${c.writes.ok} acknowledged / ${c.writes.fail} fenced / ${c.writes.unknown} unknown`
    : d.reason;
  return `failover drill (${d.fault}, ${d.mode}, seed ${d.seed}): ${d.status.toUpperCase()} in ${formatDuration(d.wallMs)} — ${facts}; /readyz polled ${d.readiness.polls}× over HTTP${d.evidenceDir ? `; evidence ${d.evidenceDir}` : ''}`;
}

function budgetText(x: ExperimentResult): string {
  const c = x.slo.budget.consumedFraction;
  return c === null ? 'n/a' : `${(c * 100).toFixed(2)} %`;
}

export function renderMarkdown(r: RunResult): string {
  const lines = [
    `## faultline: ${r.scenario} — **${r.status.toUpperCase()}**`,
    '',
    `seed \`${r.seed}\` · timeScale ${r.timeScale} · wall time ${formatDuration(r.wallMs)}${r.abort ? ` · aborted: ${r.abort.cause}` : ''}${r.error ? ` · error: ${r.error}` : ''}`,
    '',
    '| experiment | expectation | expected | observed | result |',
    '|---|---|---|---|---|',
    ...allVerdicts(r).map((v) => `| ${v.experiment} | ${v.title} | ${v.expected} | ${v.observed} | ${v.notReached ? '⏸ not reached' : v.passed ? '✅ pass' : '❌ FAIL'} |`),
    '',
    '| experiment | requests | bad | error budget spent | alert episodes (fire → clear, s since inject, compressed / real-equivalent) |',
    '|---|---|---|---|---|',
    ...r.experiments.map((x) => {
      const eps = Object.entries(x.slo.intervals)
        .filter(([, iv]) => iv.length > 0)
        .map(([tier, iv]) => `${tier}: ${iv.map(([a, b]) => episode(a, b, x)).join(', ')}`)
        .join('; ');
      return `| ${x.name} | ${x.load.completed} | ${x.load.bad} | ${budgetText(x)} | ${eps || 'none'} |`;
    }),
    '',
    ...r.experiments.flatMap((x) => (x.harness?.note ? [`**${x.name}: harness short of CPU** — ${x.harness.note}`, ''] : [])),
    ...r.experiments.flatMap((x) => observedMarkdown(x)),
    ...forecastMarkdown(r),
    ...(r.drill ? [drillSummary(r.drill), ''] : []),
    ...(r.rollout ? rolloutMarkdown(r.rollout) : []),
    cleanupSummary(r),
    '',
  ];
  return redact(lines.join('\n'));
}

/** Per experiment: the assumed history, the fault as measured, and predicted vs observed per tier. */
function forecastMarkdown(r: RunResult): string[] {
  const out: string[] = [];
  for (const x of r.experiments) {
    const rows = forecastRows(x);
    out.push(`**${x.name}** — ${historyText(x)}; ${faultText(x)}`, '');
    if (rows.length === 0) {
      out.push('');
      continue;
    }
    out.push(`| ${FORECAST_HEADER.join(' | ')} |`, `|${FORECAST_HEADER.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${forecastCells(row).join(' | ')} |`), '');
  }
  return out.length ? [`### Alert timing: predicted by the burn-rate maths vs observed (compressed, real-equivalent in parentheses)`, '', ...out] : [];
}

function episode(a: number, b: number | null, x: ExperimentResult): string {
  const s = x.slo.timeScale;
  const rel = (t: number): string => `${((t - x.plan.injectAtMs) / 1000).toFixed(2)}s/${formatDuration(Math.abs(t - x.plan.injectAtMs) * s)}${t < x.plan.injectAtMs ? ' before' : ''}`;
  return `${rel(a)} → ${b === null ? 'still firing' : rel(b)}`;
}

// ---------- SVG charts ----------

interface Line {
  name: string;
  color: string;
  points: Array<[number, number]>;
  dash?: boolean;
}

interface ChartOpts {
  title: string;
  /** Left edge of the time axis (negative: part of the assumed history is shown). Default 0. */
  xMin?: number;
  xMax: number;
  /** A shaded band for the assumed (computed, not measured) window history: [xMin, until). */
  assumed?: { until: number; label: string };
  yLabel: string;
  log?: boolean;
  phases: Array<{ name: string; startMs: number; endMs: number }>;
  hlines?: Array<{ y: number; color: string; label: string }>;
}

const W = 760;
const H = 220;
const PAD = { l: 84, r: 12, t: 24, b: 28 };
const PHASE_COLORS: Record<string, string> = { baseline: '#e8f5e9', inject: '#ffebee', recover: '#e3f2fd' };

function chart(lines: Line[], o: ChartOpts): string {
  const ys = lines.flatMap((l) => l.points.map(([, y]) => y)).concat((o.hlines ?? []).map((h) => h.y)).filter((y) => Number.isFinite(y));
  let yMin = o.log ? Math.max(1e-3, Math.min(...ys.filter((y) => y > 0), 0.1)) : 0;
  let yMax = Math.max(1e-9, ...ys);
  if (o.log) {
    yMin = Math.pow(10, Math.floor(Math.log10(yMin)));
    yMax = Math.pow(10, Math.ceil(Math.log10(yMax)));
  } else yMax *= 1.1;
  const x0 = o.xMin ?? 0;
  const x = (ms: number): number => PAD.l + ((Math.max(ms, x0) - x0) / Math.max(1, o.xMax - x0)) * (W - PAD.l - PAD.r);
  const y = (v: number): number => {
    const f = o.log ? (Math.log10(Math.max(v, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin)) : v / yMax;
    return H - PAD.b - f * (H - PAD.t - PAD.b);
  };
  const parts: string[] = [];
  for (const p of o.phases) {
    parts.push(`<rect class="phase" x="${x(p.startMs).toFixed(1)}" y="${PAD.t}" width="${(x(p.endMs) - x(p.startMs)).toFixed(1)}" height="${H - PAD.t - PAD.b}" fill="${PHASE_COLORS[p.name] ?? '#eee'}"><title>${esc(p.name)}</title></rect>`);
    parts.push(`<text x="${(x(p.startMs) + 4).toFixed(1)}" y="${PAD.t + 12}" font-size="10" fill="#555">${esc(p.name)}</text>`);
  }
  if (o.assumed) parts.push(assumedBand(x(x0), x(o.assumed.until), PAD.t, H - PAD.t - PAD.b, o.assumed.label));
  const ticks = o.log ? [] : [0, 0.25, 0.5, 0.75, 1].map((f) => f * yMax);
  if (o.log) for (let v = yMin; v <= yMax * 1.0001; v *= 10) ticks.push(v);
  for (const v of ticks) {
    parts.push(`<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`);
    parts.push(`<text x="${PAD.l - 4}" y="${(y(v) + 3).toFixed(1)}" font-size="10" text-anchor="end" fill="#555">${Number(v.toPrecision(3))}</text>`);
  }
  for (const h of o.hlines ?? []) {
    parts.push(`<line class="threshold" x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(h.y).toFixed(1)}" y2="${y(h.y).toFixed(1)}" stroke="${h.color}" stroke-dasharray="6 3"><title>${esc(h.label)}</title></line>`);
    parts.push(`<text x="${W - PAD.r - 2}" y="${(y(h.y) - 3).toFixed(1)}" font-size="10" text-anchor="end" fill="${h.color}">${esc(h.label)}</text>`);
  }
  for (const l of lines) {
    if (l.points.length === 0) continue;
    const d = l.points.map(([a, b], i) => `${i === 0 ? 'M' : 'L'}${x(a).toFixed(1)},${y(b).toFixed(1)}`).join('');
    parts.push(`<path class="series" d="${d}" fill="none" stroke="${l.color}" stroke-width="1.6"${l.dash ? ' stroke-dasharray="4 2"' : ''}><title>${esc(l.name)}</title></path>`);
  }
  const legend = lines.map((l, i) => `<text x="${PAD.l + i * 120}" y="${H - 6}" font-size="11" fill="${l.color}">■ ${esc(l.name)}</text>`).join('');
  const xTicks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => x0 + f * (o.xMax - x0))
    .map((t) => `<text x="${x(t).toFixed(1)}" y="${H - PAD.b + 12}" font-size="10" text-anchor="middle" fill="#555">${(t / 1000).toFixed(0)}s</text>`)
    .join('');
  return `<figure><figcaption>${esc(o.title)} <small>(${esc(o.yLabel)})</small></figcaption><svg class="chart" role="img" aria-label="${esc(o.title)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}${xTicks}${legend}</svg></figure>`;
}

/** The assumed history: grey, hatched, labelled — it was computed, not measured. */
function assumedBand(x1: number, x2: number, y: number, h: number, label: string): string {
  const pattern = `<pattern id="assumed-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#bdbdbd" stroke-width="2"/></pattern>`;
  return `<defs>${pattern}</defs><rect class="assumed-history" x="${x1.toFixed(1)}" y="${y}" width="${Math.max(0, x2 - x1).toFixed(1)}" height="${h}" fill="url(#assumed-hatch)" fill-opacity="0.6"><title>${esc(label)}</title></rect><text x="${(x1 + 4).toFixed(1)}" y="${y + h - 4}" font-size="10" fill="#616161">assumed history</text>`;
}

/** How much of the assumed history the SLO charts show (its last part, to scale), and its label. */
function historyView(x: ExperimentResult): { xMin: number; assumed?: { until: number; label: string } } {
  const h = x.slo.history;
  if (h.mode === 'none' || h.untilT === null) return { xMin: 0 };
  return { xMin: -0.2 * x.plan.totalMs, assumed: { until: h.untilT, label: historyText(x) } };
}

const PALETTE = ['#1565c0', '#c62828', '#2e7d32', '#ef6c00', '#6a1b9a', '#00838f', '#5d4037', '#455a64'];

function alertBands(x: ExperimentResult): string {
  const tiers = Object.keys(x.slo.intervals);
  const rowH = 22;
  const h = PAD.t + tiers.length * rowH + PAD.b;
  const view = historyView(x);
  const xs = (ms: number): number => PAD.l + ((Math.max(ms, view.xMin) - view.xMin) / Math.max(1, x.plan.totalMs - view.xMin)) * (W - PAD.l - PAD.r);
  const parts: string[] = [];
  if (view.assumed) parts.push(assumedBand(xs(view.xMin), xs(view.assumed.until), PAD.t, tiers.length * rowH, view.assumed.label));
  for (const p of x.plan.phases) parts.push(`<rect class="phase" x="${xs(p.startMs).toFixed(1)}" y="${PAD.t}" width="${(xs(p.endMs) - xs(p.startMs)).toFixed(1)}" height="${tiers.length * rowH}" fill="${PHASE_COLORS[p.name] ?? '#eee'}"/>`);
  tiers.forEach((tier, i) => {
    const yy = PAD.t + i * rowH;
    parts.push(`<text x="${PAD.l - 4}" y="${yy + 15}" font-size="11" text-anchor="end">${esc(tier)}</text>`);
    for (const [a, b] of x.slo.intervals[tier] ?? []) {
      const end = b ?? x.plan.totalMs;
      parts.push(`<rect class="alert-band" x="${xs(a).toFixed(1)}" y="${yy + 3}" width="${Math.max(1, xs(end) - xs(a)).toFixed(1)}" height="${rowH - 6}" fill="#d32f2f"><title>${esc(`${tier} firing ${(a / 1000).toFixed(2)}s – ${b === null ? 'end' : `${(b / 1000).toFixed(2)}s`}`)}</title></rect>`);
    }
  });
  return `<figure><figcaption>Alert state (red = firing)</figcaption><svg class="chart" role="img" aria-label="alert states" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg></figure>`;
}

function experimentCharts(x: ExperimentResult): string {
  const phases = x.plan.phases;
  const xMax = x.plan.totalMs;
  const secs = x.load.perSecond;
  const rate = chart(
    [
      { name: 'requests/s', color: PALETTE[0] as string, points: secs.map((s) => [s.second * 1000 + 500, s.completed]) },
      { name: 'bad/s', color: PALETTE[1] as string, points: secs.map((s) => [s.second * 1000 + 500, s.bad]) },
    ],
    { title: 'Request and error rate', xMax, yLabel: 'per second', phases },
  );
  const lat = chart(
    [
      { name: 'p50', color: PALETTE[2] as string, points: secs.filter((s) => s.latencyMs.p50 !== null).map((s) => [s.second * 1000 + 500, s.latencyMs.p50 as number]) },
      { name: 'p99', color: PALETTE[3] as string, points: secs.filter((s) => s.latencyMs.p99 !== null).map((s) => [s.second * 1000 + 500, s.latencyMs.p99 as number]) },
      { name: 'max', color: PALETTE[4] as string, dash: true, points: secs.filter((s) => s.latencyMs.max !== null).map((s) => [s.second * 1000 + 500, s.latencyMs.max as number]) },
    ],
    { title: 'Latency from intended send time (corrected)', xMax, yLabel: 'ms, log scale', log: true, phases },
  );
  const windows = [...new Set(x.slo.series.flatMap((s) => Object.keys(s.burnRates)))];
  const tiers = x.slo.series[0]?.tiers ?? [];
  const view = historyView(x);
  const h = x.slo.history;
  // Over the assumed history every window holds its constant ratio: one dashed line.
  const historyBurn = h.errorRatio !== null && h.errorRatio > 0 && view.assumed ? h.errorRatio / x.slo.budget.errorBudgetRatio : null;
  const burn = chart(
    [
      ...windows.map((w, i) => ({
        name: `burn ${w}`,
        color: PALETTE[i % PALETTE.length] as string,
        points: x.slo.series.filter((s) => s.t >= view.xMin && s.burnRates[w] !== null && (s.burnRates[w] as number) > 0).map((s): [number, number] => [s.t, s.burnRates[w] as number]),
      })),
      ...(historyBurn === null || !view.assumed
        ? []
        : [{ name: 'assumed', color: '#757575', dash: true, points: [[view.xMin, historyBurn], [view.assumed.until, historyBurn]] as Array<[number, number]> }]),
    ],
    {
      title: 'Burn rate per window against its threshold',
      ...view,
      xMax,
      yLabel: `× budget, log scale; windows are real-equivalent, time axis compressed ×${x.slo.timeScale}`,
      log: true,
      phases,
      hlines: tiers.map((t, i) => ({ y: t.factor, color: PALETTE[(i + 5) % PALETTE.length] as string, label: `${t.tier} ${t.factor}×` })),
    },
  );
  return rate + lat + burn + alertBands(x);
}

/** The assumed history (shaded in the charts), the fault as measured, predicted vs observed per tier. */
function forecastHtml(x: ExperimentResult): string {
  const rows = forecastRows(x);
  const head = `<p class="history"><span class="assumed">${esc(historyText(x))}</span><br>${esc(faultText(x))}</p>`;
  if (rows.length === 0) return head;
  const body = rows.map((r) => `<tr>${forecastCells(r).map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('');
  return `${head}<table class="forecast"><caption>Alert timing: predicted by the burn-rate maths vs observed (compressed, real-equivalent in parentheses)</caption><thead><tr>${FORECAST_HEADER.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${body}</tbody></table>`;
}

/** The /readyz samples of the failover step as a small table (every change the poller saw). */
function drillReadiness(d: DrillStepResult): string {
  if (d.readiness.changes.length === 0) return '';
  const rows = d.readiness.changes
    .map((s) => `<tr><td>${(s.t / 1000).toFixed(2)}s</td><td>${s.http ?? '-'}</td><td>${esc(s.status ?? '-')}</td><td>${esc(s.role ?? '-')}</td><td>${s.epoch ?? '-'}</td><td>${s.writesUsable === null ? '-' : String(s.writesUsable)}</td></tr>`)
    .join('');
  return `<table class="readyz"><thead><tr><th>t</th><th>HTTP</th><th>status</th><th>writer role</th><th>epoch</th><th>writes_usable</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export function renderHtml(r: RunResult): string {
  const rows = allVerdicts(r)
    .map((v) => `<tr class="${v.passed ? 'pass' : 'fail'}"><td>${esc(v.experiment)}</td><td>${esc(v.title)}</td><td>${esc(v.expected)}</td><td>${esc(v.observed)}</td><td>${v.notReached ? 'not reached' : v.passed ? 'pass' : 'FAIL'}</td></tr>`)
    .join('\n');
  const sections = r.experiments
    .map((x) => {
      const faults = x.injections.map((i) => `${i.fault.type} ${i.fault.stream} ${JSON.stringify(i.fault.attributes)}`).join('; ');
      const achieved = x.injector.faults
        .filter((f) => x.injections.some((i) => i.fault.name === f.name))
        .map((f) => `${f.name}: ${f.chunks} chunks, ${f.stalls} stalls, ${f.refusedConnections} refused${f.achievedDelayMs ? `, achieved delay p50 ${f.achievedDelayMs.p50} ms / p99 ${f.achievedDelayMs.p99} ms` : ''}`)
        .join('<br>');
      return `<section class="experiment"><h2>${esc(x.name)} — ${x.passed ? 'passed' : x.aborted ? 'aborted' : 'FAILED'}</h2>
<p>${x.description ? esc(x.description) + '<br>' : ''}Faults: ${esc(faults || 'none')}<br>Injector achieved: ${achieved || 'n/a'}<br>
Requests ${x.load.completed}, bad ${x.load.bad}, error budget spent ${budgetText(x)}, corrected p99 ${x.load.latencyMs.corrected.p99 ?? '-'} ms, load valid: ${x.load.valid ? 'yes' : `no (${esc(x.load.invalidReasons.join('; '))})`}${x.harness?.note ? `; <strong>harness short of CPU</strong>: ${esc(x.harness.note)}` : ''}</p>
${observedHtml(x)}${forecastHtml(x)}
${experimentCharts(x)}</section>`;
    })
    .join('\n');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>faultline — ${esc(r.scenario)}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{margin-bottom:4px} .status-passed{color:#2e7d32} .status-failed,.status-error{color:#c62828} .status-aborted,.status-skipped{color:#ef6c00}
table{border-collapse:collapse;width:100%;font-size:13px} td,th{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
tr.pass td:last-child{color:#2e7d32;font-weight:600} tr.fail td:last-child{color:#c62828;font-weight:700} tr.fail{background:#fff5f5}
figure{margin:12px 0} figcaption{font-weight:600;font-size:13px;margin-bottom:2px} small{color:#666;font-weight:400}
section.experiment{border-top:2px solid #eee;margin-top:24px}
li.disagreement{color:#c62828}
.assumed{background:repeating-linear-gradient(45deg,#eeeeee,#eeeeee 4px,#fafafa 4px,#fafafa 8px);padding:0 4px} table.forecast{margin:8px 0} table.forecast caption{text-align:left;font-weight:600;font-size:13px}
</style></head><body>
<h1>faultline: ${esc(r.scenario)} — <span class="status-${r.status}">${r.status.toUpperCase()}</span></h1>
<p>Seed <code>${esc(r.seed)}</code> · timeScale ${r.timeScale} (SLO windows compressed ×${r.timeScale}) · wall time ${formatDuration(r.wallMs)} · started ${new Date(r.startedAt).toISOString()}${r.abort ? ` · <b>aborted</b>: ${esc(r.abort.cause)}` : ''}${r.error ? ` · <b>error</b>: ${esc(r.error)}` : ''}</p>
<h2>Verdict</h2>
<table id="verdict"><thead><tr><th>experiment</th><th>expectation</th><th>expected</th><th>observed</th><th>result</th></tr></thead><tbody>
${rows}
</tbody></table>
${r.drill ? `<section class="drill"><h2>Failover drill</h2><p>${esc(drillSummary(r.drill))}</p>${drillReadiness(r.drill)}</section>` : ''}
${r.rollout ? rolloutHtml(r.rollout) : ''}
<p>Cleanup: ${r.cleanup.verified ? 'verified — nothing left injected' : `<b>${r.cleanup.faultsLeft} fault(s) still injected</b>`}</p>
${sections}
</body></html>
`;
  return redact(html);
}
