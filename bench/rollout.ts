/**
 * Rollout drill benchmark (`npm run bench -- rollout`; skipped by --quick unless named): a good rollout of 3 reference
 * replicas at 500 req/s behind faultline's balancer — failed requests (target 0), the rollout's wall
 * time and each replica's drain time — and the four honesty controls of issue 12, each of which must
 * fail on its own row: replicas that exit at once on SIGTERM, /readyz that never flips, the balancer's
 * check off, and a bad release (5 % errors) that must halt at the canary ring. Real processes and
 * sockets on loopback; the drill stops every process it started by pid.
 */
import { loadavg } from 'node:os';
import { rolloutSchema, runRollout, type RolloutResult } from '../src/scenario/index.ts';
import { type RolloutInput } from '../src/scenario/rollout-spec.ts';
import { reportRatio, writeBench } from './helpers.ts';

interface Case {
  name: string;
  input: RolloutInput;
  /** The rows that must fail (empty: every row must pass). */
  mustFail: string[];
}

const quick = { gate: { window: '1500ms' }, load: { rate: 200 } };
const CASES: Case[] = [
  { name: 'good: 3 replicas at 500 req/s', input: { replicas: 3, load: { rate: 500 } }, mustFail: [] },
  { name: 'control: exits at once on SIGTERM', input: { replicas: 2, rings: 'canary:1,main:rest', from: { version: '1.0.0', noDrain: true }, ...quick }, mustFail: ['no-failed-requests'] },
  { name: 'control: /readyz never flips', input: { replicas: 2, rings: 'canary:1,main:rest', from: { version: '1.0.0', readyzNeverFlips: true }, ...quick }, mustFail: ['no-traffic-after-not-ready'] },
  { name: 'control: balancer check off', input: { replicas: 2, rings: 'canary:1,main:rest', balancer: { healthCheck: false }, ...quick }, mustFail: ['replacement-after-ready'] },
  { name: 'control: bad release (5 % errors)', input: { replicas: 3, to: { version: '2.0.0', errorRatio: 0.05 }, gate: { window: '2s' }, load: { rate: 300 } }, mustFail: ['gate/canary'] },
];

const drains = (r: RolloutResult): string =>
  r.replicas
    .filter((x) => x.sigtermAt !== null)
    .map((x) => `${x.name} ${x.exitedAt === null ? '-' : `${Math.round(x.exitedAt - (x.sigtermAt as number))} ms`}`)
    .join(', ');

export default async function rolloutBench(): Promise<void> {
  // Minutes of real processes: not part of a --quick run unless named.
  if (process.argv.includes('--quick') && !process.argv.slice(2).includes('rollout')) {
    console.log('bench rollout: skipped in a --quick run (npm run bench -- rollout)');
    return;
  }
  const rows: Array<Record<string, unknown>> = [];
  let md = `# rollout drill\n\nload average at the start ${loadavg().map((v) => v.toFixed(1)).join(' / ')}\n\n| case | status | failed requests | requests | p99 | rollout wall time | drain per replica | rows failed | as expected |\n|---|---|---|---|---|---|---|---|---|\n`;
  for (const c of CASES) {
    const r = await runRollout({ spec: rolloutSchema.parse(c.input), seed: `bench-${rows.length}` });
    const failedRows = r.verdicts.filter((v) => !v.passed).map((v) => v.id.replace(/^rollout\//, ''));
    const bad = r.classification.total - r.classification.good;
    const wall = r.rollout.startedAt !== null && r.rollout.endedAt !== null ? r.rollout.endedAt - r.rollout.startedAt : null;
    const expected = c.mustFail.length === 0 ? r.status === 'passed' : r.status === 'failed' && c.mustFail.every((id) => failedRows.includes(id)) && (c.name.includes('bad release') ? r.halted?.ring === 'canary' : true);
    rows.push({ case: c.name, status: r.status, failedRequests: bad, p99Ms: r.load.p99Ms, requests: r.classification.total, wallMs: wall, drains: drains(r), failedRows, halted: r.halted, expected, slo: r.slo?.alerts.filter((a) => a.severity === 'page').map((a) => `${a.tier}@${a.firedAt}`) });
    md += `| ${c.name} | ${r.status} | ${bad} | ${r.classification.total} | ${r.load.p99Ms === null ? '-' : `${Math.round(r.load.p99Ms)} ms`} | ${wall === null ? '-' : `${(wall / 1000).toFixed(2)} s`} | ${drains(r)} | ${failedRows.join(', ') || 'none'} | ${expected ? 'yes' : 'NO'} |\n`;
    if (c.mustFail.length === 0) {
      // Failed requests are the zero-downtime target; the other rows (latency SLO above all) depend on how busy the machine is.
      reportRatio({ suite: 'rollout', name: 'good rollout: failed requests', value: bad, target: '= 0', met: bad === 0 });
      reportRatio({ suite: 'rollout', name: 'good rollout: rows failed', value: failedRows.length, target: '= 0', met: failedRows.length === 0 });
    }
  }
  md += `\nload average at the end ${loadavg().map((v) => v.toFixed(1)).join(' / ')}\n`;
  reportRatio({ suite: 'rollout', name: 'controls failing on their row', value: rows.slice(1).filter((x) => x.expected).length, target: `= ${CASES.length - 1}`, met: rows.slice(1).every((x) => x.expected) });
  writeBench('rollout', { cases: rows }, md);
}
