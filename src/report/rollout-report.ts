/**
 * The rollout drill in the reports: one summary line, a per-replica timing table (Markdown and HTML),
 * a JUnit suite, and the timeline chart — replicas as lanes (starting / ready / draining / gone), the
 * rings and the halt marked, load and errors per second below. Self-contained SVG, no script.
 */
import { formatDuration } from '../shared/index.ts';
import type { ReplicaRecord, RolloutResult, Verdict } from '../scenario/index.ts';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const ms = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : `${Math.round(x)} ms`);

export function rolloutSummary(r: RolloutResult): string {
  const wall = r.rollout.startedAt !== null && r.rollout.endedAt !== null ? formatDuration(r.rollout.endedAt - r.rollout.startedAt) : '-';
  const signalled = r.replicas.filter((x) => x.sigtermAt !== null);
  const drains = signalled.filter((x) => x.exitedAt !== null).map((x) => (x.exitedAt as number) - (x.sigtermAt as number));
  const c = r.classification;
  return `rollout ${r.from} → ${r.to} (seed ${r.seed}): ${r.status.toUpperCase()} — ${r.halted ? `halted at ring ${r.halted.ring}, rolled back; ` : ''}rollout wall time ${wall}, ${signalled.length} replica(s) drained (drain ${drains.length ? `${Math.round(Math.min(...drains))}–${Math.round(Math.max(...drains))} ms` : '-'}); ${c.total} requests at ${r.load.rate} req/s, ${c.total - c.good - c.dropped} failed, ${c.dropped} dropped, p99 ${r.load.p99Ms ?? '-'} ms`;
}

interface Row {
  name: string;
  ring: string;
  role: string;
  cells: string[];
}

function replicaRows(r: RolloutResult): Row[] {
  return r.replicas.map((x) => ({
    name: x.name,
    ring: x.ring ?? '-',
    role: x.role,
    cells: [
      x.readyAt === null ? 'never' : ms(x.readyAt - x.startedAt),
      x.admittedAt === null ? '-' : ms(x.admittedAt - x.startedAt),
      x.sigtermAt === null ? '-' : `${(x.sigtermAt / 1000).toFixed(2)}s`,
      x.sigtermAt === null || x.outOfRotationAt === null ? '-' : ms(x.outOfRotationAt - x.sigtermAt),
      x.sigtermAt === null || x.exitedAt === null ? '-' : `${ms(x.exitedAt - x.sigtermAt)}${x.killed ? ' (SIGKILL)' : ''}`,
      String(x.balancer.connections),
      String(x.balancer.brokenInFlight),
      String(r.classification.goodByReplica[x.name] ?? 0),
      String(Object.values(r.classification.badByReplica[x.name] ?? {}).reduce((a, b) => a + b, 0)),
    ],
  }));
}

const HEAD = ['replica', 'ring', 'role', 'ready after start', 'in rotation after start', 'SIGTERM at', 'out of rotation after SIGTERM', 'drain (SIGTERM → exit)', 'connections', 'broken in flight', 'good', 'failed'];

export function rolloutMarkdown(r: RolloutResult): string[] {
  return [
    rolloutSummary(r),
    '',
    `| ${HEAD.join(' | ')} |`,
    `|${HEAD.map(() => '---').join('|')}|`,
    ...replicaRows(r).map((x) => `| ${x.name} | ${x.ring} | ${x.role} | ${x.cells.join(' | ')} |`),
    '',
  ];
}

export function rolloutJunitSuite(scenario: string, r: RolloutResult, esc2: (s: string) => string): string {
  const cases = r.verdicts.map((v: Verdict) => {
    const body = v.passed ? '' : `<failure message="${esc2(`expected ${v.expected}; observed ${v.observed}`)}">${esc2(`${v.title}\nexpected: ${v.expected}\nobserved: ${v.observed}`)}</failure>`;
    return `    <testcase classname="${esc2(`${scenario}.rollout`)}" name="${esc2(v.title)}" time="0">${body}</testcase>`;
  });
  const failures = r.verdicts.filter((v) => !v.passed).length;
  return `  <testsuite name="${esc2(`${scenario}/rollout`)}" tests="${cases.length}" failures="${failures}" errors="${r.status === 'error' ? 1 : 0}" time="${(r.wallMs / 1000).toFixed(3)}">\n${cases.join('\n')}\n  </testsuite>`;
}

const W = 760;
const L = 120;
const R = 12;
const LANE = 22;
const COLORS = { starting: '#fff59d', ready: '#66bb6a', draining: '#ffa726', gone: '#e0e0e0' } as const;

/** Segments of one replica's lane: starting → ready → draining → gone. */
function segments(x: ReplicaRecord, end: number): Array<{ state: keyof typeof COLORS; from: number; to: number }> {
  const out: Array<{ state: keyof typeof COLORS; from: number; to: number }> = [];
  const stopAt = x.sigtermAt ?? x.exitedAt ?? end;
  const readyAt = x.admittedAt ?? x.readyAt;
  if (readyAt === null || readyAt > stopAt) out.push({ state: 'starting', from: x.startedAt, to: stopAt });
  else {
    out.push({ state: 'starting', from: x.startedAt, to: readyAt });
    out.push({ state: 'ready', from: readyAt, to: stopAt });
  }
  if (x.sigtermAt !== null) {
    const goneAt = x.exitedAt ?? end;
    out.push({ state: 'draining', from: x.sigtermAt, to: goneAt });
    out.push({ state: 'gone', from: goneAt, to: end });
  }
  return out.filter((s) => s.to > s.from);
}

/** The lanes chart and the load/error chart below it, on one time axis (seconds since the drill started). */
export function rolloutTimelineSvg(r: RolloutResult): string {
  const end = Math.max(r.wallMs, ...r.replicas.map((x) => x.exitedAt ?? 0), 1);
  const x = (t: number): number => L + (t / end) * (W - L - R);
  const lanes = r.replicas;
  const top = 20;
  const lanesH = lanes.length * LANE;
  const chartTop = top + lanesH + 30;
  const chartH = 110;
  const H = chartTop + chartH + 40;
  const parts: string[] = [];
  for (const ring of r.rings) {
    parts.push(`<rect class="ring" x="${x(ring.startedAt).toFixed(1)}" y="${top - 14}" width="${Math.max(1, x(ring.endedAt || end) - x(ring.startedAt)).toFixed(1)}" height="12" fill="${ring.gate && !ring.gate.passed ? '#ffcdd2' : '#e3f2fd'}"><title>${esc(`ring ${ring.name}${ring.gate ? `: gate ${ring.gate.passed ? 'pass' : 'FAIL'} — ${ring.gate.reason}` : ''}`)}</title></rect>`);
    parts.push(`<text x="${(x(ring.startedAt) + 3).toFixed(1)}" y="${top - 4}" font-size="10" fill="#333">${esc(ring.name)}${ring.rolledBack ? ' (rolled back)' : ''}</text>`);
  }
  lanes.forEach((rep, i) => {
    const y = top + i * LANE;
    parts.push(`<text x="${L - 4}" y="${y + 15}" font-size="11" text-anchor="end">${esc(rep.name)}</text>`);
    for (const s of segments(rep, end)) {
      parts.push(`<rect class="lane lane-${s.state}" x="${x(s.from).toFixed(1)}" y="${y + 3}" width="${Math.max(0.5, x(s.to) - x(s.from)).toFixed(1)}" height="${LANE - 6}" fill="${COLORS[s.state]}"><title>${esc(`${rep.name} ${s.state} ${(s.from / 1000).toFixed(2)}s – ${(s.to / 1000).toFixed(2)}s`)}</title></rect>`);
    }
    if (rep.outOfRotationAt !== null) parts.push(`<line x1="${x(rep.outOfRotationAt).toFixed(1)}" x2="${x(rep.outOfRotationAt).toFixed(1)}" y1="${y + 2}" y2="${y + LANE - 2}" stroke="#6d4c41" stroke-width="1.5"><title>${esc(`out of rotation at ${(rep.outOfRotationAt / 1000).toFixed(2)}s`)}</title></line>`);
    if (rep.balancer.lastRoutedAt !== null && rep.sigtermAt !== null && rep.balancer.lastRoutedAt > rep.sigtermAt) parts.push(`<circle cx="${x(rep.balancer.lastRoutedAt).toFixed(1)}" cy="${y + LANE / 2}" r="3" fill="#c62828"><title>${esc(`last new connection ${(rep.balancer.lastRoutedAt / 1000).toFixed(2)}s`)}</title></circle>`);
  });
  const maxReq = Math.max(1, ...r.perSecond.map((s) => s.requests)) * 1.1;
  const y = (v: number): number => chartTop + chartH - (v / maxReq) * chartH;
  const path = (pts: Array<[number, number]>): string => pts.map(([a, b], i) => `${i === 0 ? 'M' : 'L'}${x(a).toFixed(1)},${y(b).toFixed(1)}`).join('');
  for (const f of [0, 0.5, 1]) {
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(f * maxReq).toFixed(1)}" y2="${y(f * maxReq).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${L - 4}" y="${(y(f * maxReq) + 3).toFixed(1)}" font-size="10" text-anchor="end" fill="#555">${Math.round(f * maxReq)}</text>`);
  }
  // SLO burn-rate alert episodes (halting severities) as bands behind the series.
  for (const a of (r.slo?.alerts ?? []).filter((e) => r.slo?.halt.includes(e.severity))) {
    const to = a.clearedAt ?? end;
    parts.push(`<rect class="slo-alert" x="${x(a.firedAt).toFixed(1)}" y="${chartTop}" width="${Math.max(1, x(to) - x(a.firedAt)).toFixed(1)}" height="${chartH}" fill="#ffcdd2" fill-opacity="0.5"><title>${esc(`SLO alert ${a.slo}/${a.tier} (${a.severity}) firing ${(a.firedAt / 1000).toFixed(2)}s – ${a.clearedAt === null ? 'end' : `${(a.clearedAt / 1000).toFixed(2)}s`}`)}</title></rect>`);
  }
  parts.push(`<path class="series load" d="${path(r.perSecond.map((s) => [s.second * 1000 + 500, s.requests]))}" fill="none" stroke="#1565c0" stroke-width="1.6"><title>requests/s</title></path>`);
  parts.push(`<path class="series errors" d="${path(r.perSecond.map((s) => [s.second * 1000 + 500, s.bad]))}" fill="none" stroke="#c62828" stroke-width="1.6"><title>failed/s</title></path>`);
  const ticks = Array.from({ length: 6 }, (_, i) => (i / 5) * end)
    .map((t) => `<text x="${x(t).toFixed(1)}" y="${chartTop + chartH + 14}" font-size="10" text-anchor="middle" fill="#555">${(t / 1000).toFixed(0)}s</text>`)
    .join('');
  const legend = [
    ...Object.entries(COLORS).map(([k, c], i) => `<rect x="${L + i * 90}" y="${H - 14}" width="10" height="10" fill="${c}"/><text x="${L + i * 90 + 14}" y="${H - 5}" font-size="11">${k}</text>`),
    `<text x="${L + 360}" y="${H - 5}" font-size="11" fill="#1565c0">■ requests/s</text>`,
    `<text x="${L + 460}" y="${H - 5}" font-size="11" fill="#c62828">■ failed/s</text>`,
  ].join('');
  return `<figure><figcaption>Rollout timeline <small>(replicas as lanes; brown tick: out of rotation; red dot: last new connection after SIGTERM; load and failures per second below, pink bands: SLO page alerts firing)</small></figcaption><svg class="chart rollout-timeline" role="img" aria-label="rollout timeline" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}${ticks}${legend}</svg></figure>`;
}

export function rolloutHtml(r: RolloutResult): string {
  const rows = replicaRows(r)
    .map((x) => `<tr><td>${esc(x.name)}</td><td>${esc(x.ring)}</td><td>${esc(x.role)}</td>${x.cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('');
  return `<section class="rollout"><h2>Rollout ${esc(r.from)} → ${esc(r.to)}</h2><p>${esc(rolloutSummary(r))}</p>${rolloutTimelineSvg(r)}<table class="replicas"><thead><tr>${HEAD.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table></section>`;
}
