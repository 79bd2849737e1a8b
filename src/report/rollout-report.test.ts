import { describe, expect, it } from 'vitest';
import type { ReplicaRecord, RolloutResult, RunResult } from '../scenario/index.ts';
import { renderHtml, renderJunit, renderMarkdown } from './render.ts';
import { newReplicaRecord } from '../scenario/rollout-replicas.ts';

const rep = (name: string, over: Partial<ReplicaRecord>): ReplicaRecord => ({
  ...newReplicaRecord(name, 0, { version: '1.0.0' }, 'initial', 'canary', 1, 0),
  pid: 1,
  readyAt: 500,
  admittedAt: 520,
  balancer: { firstRoutedAt: 600, lastRoutedAt: 3000, connections: 12, brokenInFlight: 0, connectFailures: 0, brokenAt: [] },
  ...over,
});

const rollout: RolloutResult = {
  status: 'failed',
  reason: 'failed: rollout/gate/canary',
  seed: '7',
  wallMs: 9000,
  rollout: { startedAt: 2000, endedAt: 8000 },
  from: '1.0.0',
  to: '2.0.0',
  rings: [{ name: 'canary', slots: [0], startedAt: 2000, endedAt: 8000, rolledBack: true, gate: { ring: 'canary', passed: false, windowMs: [4000, 7000], newReplicas: ['r1-v2.0.0'], requests: 100, bad: 5, errorRatio: 0.05, p99Ms: 30, overall: { requests: 300, bad: 5, errorRatio: 0.0167 }, reason: 'new-release error ratio 5 % > 1 %' } }],
  halted: { ring: 'canary', reason: 'new-release error ratio 5 % > 1 %' },
  replicas: [
    rep('r1-v1.0.0', { sigtermAt: 2000, outOfRotationAt: 2080, exitedAt: 3100, exit: { code: 0, signal: null } }),
    rep('r1-v2.0.0', { version: '2.0.0', role: 'replacement', startedAt: 3200, readyAt: 3700, admittedAt: 3720, sigtermAt: 7100, outOfRotationAt: 7150, exitedAt: 8200 }),
    rep('r2-v1.0.0', { ring: 'main', slot: 1 }),
  ],
  balancer: { url: 'http://127.0.0.1:1', policy: 'round-robin', healthCheck: true, intervalMs: 100, refused: 0 },
  load: { rate: 300, sent: 2700, completed: 2700, good: 2695, bad: 5, dropped: 0, p99Ms: 31, valid: true, invalidReasons: [] },
  perSecond: Array.from({ length: 9 }, (_, second) => ({ second, requests: 300, bad: second === 5 ? 5 : 0 })),
  slo: { slo: 'rollout', objective: 99.9, sli: { type: 'availability' }, timeScale: 720, halt: ['page'], events: { total: 2700, errors: 5 }, alerts: [
    { slo: 'rollout', tier: 'page-slow', severity: 'page', firedAt: 5500, clearedAt: 7600, windows: '6h/30m' },
    { slo: 'rollout', tier: 'ticket-fast', severity: 'ticket', firedAt: 5500, clearedAt: null, windows: '1d/2h' },
  ] },
  classification: { total: 2700, good: 2695, dropped: 0, badByReplica: { 'r1-v2.0.0': { http_500: 5 } }, unattributed: {}, goodByReplica: { 'r1-v1.0.0': 600, 'r1-v2.0.0': 95, 'r2-v1.0.0': 2000 }, badBeforeRollout: 0 },
  verdicts: [
    { id: 'rollout/gate/canary', experiment: 'rollout', title: 'health gate after ring canary (r1-v2.0.0)', passed: false, expected: 'new-release error ratio ≤ limit', observed: 'HALT: new-release error ratio 5 % > 1 %; ring rolled back' },
    { id: 'rollout/timing', experiment: 'rollout', title: 'rollout wall time and per-replica drain time', passed: true, expected: 'exits', observed: 'rollout 6s' },
  ],
};
const run: RunResult = { scenario: 'rollout', file: '<flags>', seed: '7', timeScale: 1, status: 'failed', exitCode: 1, startedAt: 0, endedAt: 9000, wallMs: 9000, experiments: [], spec: {}, cleanup: { faultsLeft: 0, verified: true }, rollout };

describe('rollout in the reports', () => {
  it('report.html draws the replicas as lanes (starting, ready, draining, gone), the rings and the load below', () => {
    const html = renderHtml(run);
    expect(html).toContain('class="chart rollout-timeline"');
    expect(html.match(/class="lane lane-draining"/g)).toHaveLength(2);
    expect(html.match(/class="lane lane-ready"/g)).toHaveLength(3);
    expect(html.match(/class="lane lane-gone"/g)).toHaveLength(2);
    expect(html).toContain('canary (rolled back)');
    expect(html).toContain('class="series errors"');
    // Only the halting (page) alert is drawn, as a band over its firing episode.
    expect(html.match(/class="slo-alert"/g)).toHaveLength(1);
    expect(html).toContain('SLO alert rollout/page-slow (page) firing 5.50s – 7.60s');
    expect(html).toContain('<td>r1-v2.0.0</td><td>canary</td><td>replacement</td><td>500 ms</td>');
  });
  it('report.md, JUnit and the verdict rows carry the rollout', () => {
    const md = renderMarkdown(run);
    expect(md).toContain('| rollout | health gate after ring canary (r1-v2.0.0) |');
    expect(md).toMatch(/rollout 1\.0\.0 → 2\.0\.0 \(seed 7\): FAILED — halted at ring canary, rolled back/);
    expect(md).toContain('| r1-v1.0.0 | canary | initial | 500 ms | 520 ms | 2.00s | 80 ms | 1100 ms | 12 | 0 | 600 | 0 |');
    expect(renderJunit(run)).toMatch(/<testsuite name="rollout\/rollout" tests="2" failures="1"/);
  });
});
