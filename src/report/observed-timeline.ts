/**
 * "Where the time went": each observed alert on one timeline — inject, faultline's evaluator,
 * Prometheus pending/firing/resolved, Alertmanager, the notifications, heal — as a Markdown table,
 * an HTML table with an SVG strip, and one-line progress text for live observations.
 */
import type { ExperimentResult, Observation, ObservedTimeline } from '../scenario/index.ts';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const at = (t: number | null, from: number): string => (t === null ? '—' : `${((t - from) / 1000).toFixed(2)}s`);

const labelText = (labels: Record<string, string>): string => {
  const { alertname, ...rest } = labels;
  const more = Object.entries(rest)
    .filter(([k]) => k === 'tier' || k === 'severity' || k === 'slo')
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return `${alertname ?? '?'}${more ? `{${more}}` : ''}`;
};

/** One line for the live progress output; null for nothing worth a line. */
export function observationText(o: Observation): string | null {
  const clock = new Date(o.at).toISOString().slice(11, 23);
  switch (o.source) {
    case 'prometheus':
      return `${clock} Prometheus: ${labelText(o.labels)} ${o.kind === 'resolved' ? 'resolved' : o.kind.toUpperCase()}`;
    case 'alertmanager-api':
      return `${clock} Alertmanager API: ${labelText(o.labels)} ${o.kind}${o.kind !== 'gone' && o.receivers.length ? ` → ${o.receivers.join(', ')}` : ''}`;
    case 'alertmanager-webhook':
      return `${clock} receiver: ${o.notification.status} notification from Alertmanager (receiver ${o.notification.receiver}) — ${o.notification.alerts.map((a) => `${labelText(a.labels)} ${a.status}`).join('; ')}`;
    case 'poll-error':
      return `${clock} ${o.target} unreachable: ${o.error}`;
    case 'poll-recovered':
      return `${clock} ${o.target} reachable again after ${o.failures} failed poll(s)`;
  }
}

function rows(tl: ObservedTimeline): Array<{ stage: string; fire: string; clear: string; note: string }> {
  const fromInject = (t: number | null): string => at(t, tl.injectAt);
  const fromHeal = (t: number | null): string => at(t, tl.healAt);
  return [
    { stage: 'inject', fire: '0.00s', clear: '', note: '' },
    ...tl.stages.map((s) => ({ stage: s.stage, fire: fromInject(s.fire), clear: fromHeal(s.clear), note: s.note ?? '' })),
    { stage: 'heal', fire: at(tl.healAt, tl.injectAt), clear: '0.00s', note: '' },
  ];
}

function intervalsText(tl: ObservedTimeline): string {
  const ms = (v: number | null): string => (v === null ? '?' : `${v} ms`);
  return `scrape ${ms(tl.intervals.scrapeMs)}, rule evaluation ${ms(tl.intervals.evalMs)}, for: ${ms(tl.intervals.forMs)}, polled every ${tl.intervals.pollMs} ms; agreement tolerance scrape + evaluation = ${ms(tl.intervals.toleranceMs)}`;
}

export function observedMarkdown(x: ExperimentResult): string[] {
  if (!x.observed || x.observed.timelines.length === 0) return [];
  const out: string[] = [`### ${x.name}: where the time went`, ''];
  for (const tl of x.observed.timelines) {
    out.push(`**${tl.alert}**${tl.tier ? ` (faultline tier \`${tl.tier}\`)` : ''} — ${intervalsText(tl)}`, '');
    out.push('| stage | fired (from inject) | cleared (from heal) | note |', '|---|---|---|---|');
    for (const r of rows(tl)) out.push(`| ${r.stage} | ${r.fire} | ${r.clear} | ${r.note} |`);
    out.push('');
    for (const b of tl.breakdown) out.push(`- ${b}`);
    for (const d of tl.disagreements) out.push(`- ⚠️ **disagreement**: ${d}`);
    if (tl.disagreements.length === 0 && tl.tier) out.push('- evaluator and Prometheus agree within scrape + evaluation');
    out.push('');
  }
  return out;
}

const W = 760;
const PAD_L = 190;
const ROW = 20;

function strip(tl: ObservedTimeline, totalMs: number): string {
  const lanes = tl.stages;
  const h = 24 + lanes.length * ROW + 20;
  const x = (ms: number): number => PAD_L + (Math.max(0, Math.min(ms, totalMs)) / Math.max(1, totalMs)) * (W - PAD_L - 10);
  const parts: string[] = [
    `<rect x="${x(tl.injectAt).toFixed(1)}" y="14" width="${(x(tl.healAt) - x(tl.injectAt)).toFixed(1)}" height="${lanes.length * ROW + 8}" fill="#ffebee"><title>inject → heal</title></rect>`,
    `<text x="${x(tl.injectAt).toFixed(1)}" y="11" font-size="10" fill="#555">inject</text>`,
    `<text x="${x(tl.healAt).toFixed(1)}" y="11" font-size="10" fill="#555">heal</text>`,
  ];
  lanes.forEach((s, i) => {
    const y = 18 + i * ROW;
    parts.push(`<text x="${PAD_L - 6}" y="${y + 13}" font-size="11" text-anchor="end">${esc(s.stage)}</text>`);
    if (s.fire === null) return;
    const end = s.clear ?? totalMs;
    const color = s.stage.startsWith('faultline') ? '#1565c0' : s.stage.includes('pending') ? '#ef6c00' : '#c62828';
    parts.push(`<rect class="stage" x="${x(s.fire).toFixed(1)}" y="${y + 3}" width="${Math.max(2, x(end) - x(s.fire)).toFixed(1)}" height="${ROW - 6}" fill="${color}"><title>${esc(`${s.stage}: ${at(s.fire, tl.injectAt)} from inject${s.clear !== null ? `, cleared ${at(s.clear, tl.healAt)} from heal` : ''}`)}</title></rect>`);
  });
  return `<svg class="chart timeline" role="img" aria-label="${esc(`where the time went: ${tl.alert}`)}" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`;
}

export function observedHtml(x: ExperimentResult): string {
  if (!x.observed || x.observed.timelines.length === 0) return '';
  const blocks = x.observed.timelines.map((tl) => {
    const body = rows(tl)
      .map((r) => `<tr><td>${esc(r.stage)}</td><td>${r.fire}</td><td>${r.clear}</td><td>${esc(r.note)}</td></tr>`)
      .join('');
    const notes = [
      ...tl.breakdown.map((b) => `<li>${esc(b)}</li>`),
      ...tl.disagreements.map((d) => `<li class="disagreement"><b>disagreement</b>: ${esc(d)}</li>`),
      ...(tl.disagreements.length === 0 && tl.tier ? ['<li>evaluator and Prometheus agree within scrape + evaluation</li>'] : []),
    ].join('');
    return `<h4>${esc(tl.alert)}${tl.tier ? ` <small>(faultline tier ${esc(tl.tier)})</small>` : ''}</h4><p><small>${esc(intervalsText(tl))}</small></p>${strip(tl, x.plan.totalMs + (x.observed?.watchedAfterEndMs ?? 0))}<table class="timeline"><thead><tr><th>stage</th><th>fired (from inject)</th><th>cleared (from heal)</th><th>note</th></tr></thead><tbody>${body}</tbody></table><ul>${notes}</ul>`;
  });
  return `<section class="observed"><h3>Where the time went</h3>${blocks.join('')}</section>`;
}
