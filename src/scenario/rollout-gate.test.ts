import { describe, expect, it } from 'vitest';
import { alertsInSpan, decideGate, perSecond, rollbackSlots, rolloutStatus, tallyServed, type ServedTally } from './rollout-gate.ts';
import { RolloutAlerts } from './rollout-alerts.ts';
import { classifyRequests, judgeGate, judgeRollout, type FiredAlert, type ReplicaRecord, type RolloutRequest, type RolloutResult } from './rollout-checks.ts';
import { rolloutSchema } from './rollout-spec.ts';

const alert = (over: Partial<FiredAlert>): FiredAlert => ({ slo: 'rollout', tier: 'page-slow', severity: 'page', firedAt: 5000, clearedAt: null, windows: '6h/30m', ...over });

/** A steady load of `rate` req/s from `from` to `to` ms; `bad(i, t)` marks failures; replicas by round robin. */
function stream(from: number, to: number, rate: number, names: string[], bad: (name: string, i: number) => boolean): RolloutRequest[] {
  const out: RolloutRequest[] = [];
  const step = 1000 / rate;
  let i = 0;
  for (let t = from; t < to; t += step, i++) {
    const name = names[i % names.length] as string;
    const ok = !bad(name, i);
    out.push({ t, done: t + 20, ok, latencyMs: 20, servedBy: name, ...(ok ? { status: 200 } : { status: 500, errorClass: 'status' }) });
  }
  return out;
}

describe('rollout gate decisions (pure)', () => {
  it('counts an alert of a halting severity that fired during the ring, or was still firing in it', () => {
    const a = [alert({ firedAt: 500, clearedAt: 900 }), alert({ tier: 'ticket-fast', severity: 'ticket', firedAt: 3000 }), alert({ firedAt: 2500, clearedAt: 2600 }), alert({ tier: 'page-fast', firedAt: 1500, clearedAt: null })];
    expect(alertsInSpan(a, 1000, 4000, ['page']).map((x) => [x.tier, x.firedAt])).toEqual([
      ['page-slow', 2500],
      ['page-fast', 1500],
    ]);
    expect(alertsInSpan(a, 1000, 4000, ['page', 'ticket'])).toHaveLength(3);
    expect(alertsInSpan(a, 1000, 1400, ['page']).map((x) => x.tier)).toEqual([]);
  });

  it('a firing alert fails a gate whose error ratio and latency held, and the reason names the alert and its time', () => {
    const requests = stream(0, 3000, 300, ['r1-v2'], () => false);
    const base = judgeGate('canary', requests, ['r1-v2'], 0, 3000, { maxErrorRatio: 0.01, p99Below: 500 });
    expect(base.passed).toBe(true);
    const g = decideGate(base, [alert({ firedAt: 2345 })], true);
    expect(g.passed).toBe(false);
    expect(g.reason).toMatch(/^SLO alert rollout\/page-slow \(page, 6h\/30m\) fired at 2\.35 s; new release 0 % errors/);
    expect(g.alerts).toHaveLength(1);
    const clean = decideGate(base, [], true);
    expect(clean).toMatchObject({ passed: true, alerts: [] });
    expect(clean.reason).toMatch(/no SLO alert fired$/);
    expect(decideGate(base, [], false)).toMatchObject({ passed: false, reason: expect.stringMatching(/^a replacement never became ready/) });
  });

  it('rolls back the ring’s slots on the new release or left empty, last replaced first', () => {
    const ring = { name: 'main', slots: [2, 3, 4] };
    const v: Record<number, string | undefined> = { 2: '2.0', 3: undefined, 4: '1.0' };
    expect(rollbackSlots(ring, (s) => v[s], '2.0')).toEqual([3, 2]);
    expect(rollbackSlots({ name: 'c', slots: [0] }, () => '1.0', '2.0')).toEqual([]);
  });

  it('series, status and the header tally', () => {
    const qs: RolloutRequest[] = [
      { t: 10, done: 900, ok: true, latencyMs: 5, servedBy: 'a' },
      { t: 950, done: 1100, ok: false, latencyMs: 5, servedBy: 'b' },
      { t: 1200, done: 1250, ok: true, latencyMs: 5 },
      { t: 1300, done: 1400, ok: true, latencyMs: 5, servedBy: 'a' },
    ];
    expect(perSecond(qs)).toEqual([
      { second: 0, requests: 1, bad: 0 },
      { second: 1, requests: 3, bad: 1 },
    ]);
    const tally = new Map<string, ServedTally>();
    expect(tallyServed(qs, 0, tally)).toBe(4);
    expect(tally.get('a')).toEqual({ firstSentAt: 10, lastSentAt: 1300, firstAnsweredAt: 900, answers: 2 });
    expect(rolloutStatus(undefined, [])).toEqual({ status: 'passed', reason: 'every check held' });
    expect(rolloutStatus(undefined, [{ id: 'rollout/x', experiment: 'rollout', title: '', passed: false, expected: '', observed: '' }]).status).toBe('failed');
    expect(rolloutStatus('boom', []).status).toBe('error');
  });
});

describe('rollout SLO alerts (the engine fed with the load)', () => {
  const spec = rolloutSchema.parse({}).alerts;

  it('a bad canary (5 % errors on one of three replicas) fires a page alert within a 3 s gate; its time is after the canary started', () => {
    const alerts = new RolloutAlerts(spec);
    const clean = stream(0, 3500, 500, ['r1', 'r2', 'r3'], () => false);
    const canary = stream(3500, 8000, 500, ['c1', 'r2', 'r3'], (n, i) => n === 'c1' && i % 20 === 0);
    const all = [...clean, ...canary];
    for (let k = 0; k < all.length; k += 50) alerts.feed(all.slice(0, k + 50));
    const page = alertsInSpan(alerts.alerts(), 3500, 8000, ['page']);
    expect(page.length).toBeGreaterThan(0);
    expect(page[0]?.firedAt).toBeGreaterThan(3500);
    expect(page[0]?.firedAt).toBeLessThan(3500 + 3000);
    expect(alerts.record()).toMatchObject({ slo: 'rollout', objective: 99.9, timeScale: 720, halt: ['page'], events: { total: all.length } });
  });

  it('a good rollout (no failed request) fires no alert', () => {
    const alerts = new RolloutAlerts(spec);
    const all = stream(0, 20_000, 500, ['r1', 'r2', 'r3'], () => false);
    for (let k = 0; k < all.length; k += 50) alerts.feed(all.slice(0, k + 50));
    expect(alerts.alerts()).toEqual([]);
  });
});

describe('rows through your own load balancer (by the replica header)', () => {
  const rec = (over: Partial<ReplicaRecord>): ReplicaRecord => ({
    name: 'r1-v1', slot: 0, version: '1', ring: 'canary', role: 'initial', port: 1, pid: 1, startedAt: 0, readyAt: 100, admittedAt: null, sigtermAt: null,
    outOfRotationAt: null, listenerClosedAt: null, exitedAt: null, exit: null, killed: false, polls: [],
    balancer: { firstRoutedAt: null, lastRoutedAt: null, connections: 0, brokenInFlight: 0, connectFailures: 0, brokenAt: [] },
    ...over,
  });
  const draft = (replicas: ReplicaRecord[], header: boolean): Omit<RolloutResult, 'verdicts' | 'status' | 'reason'> => ({
    seed: '1', wallMs: 5000, rollout: { startedAt: 1000, endedAt: 4000 }, from: '1', to: '2', rings: [], halted: null, replicas,
    balancer: { url: 'http://127.0.0.1:1', policy: 'yours', healthCheck: true, intervalMs: 100, refused: 0, external: { header } },
    load: { rate: 500, sent: 0, completed: 0, good: 0, bad: 0, dropped: 0, p99Ms: 12, valid: true, invalidReasons: [] }, perSecond: [],
    classification: classifyRequests([], replicas, 1000),
  });
  const opts = { intervalMs: 100, healthCheck: true, latencyP99Below: 500, drainTimeoutMs: 15_000, to: '2', totalReplicas: 1 };
  const row = (vs: ReturnType<typeof judgeRollout>, id: string) => vs.find((v) => v.id === `rollout/${id}`);
  const old = rec({ sigtermAt: 1000, exitedAt: 2000, balancer: { firstRoutedAt: 10, lastRoutedAt: 1150, connections: 9, brokenInFlight: 0, connectFailures: 0, brokenAt: [] } });
  const repl = rec({ name: 'r1-v2', version: '2', role: 'replacement', startedAt: 2000, readyAt: 2300, notReadyPollAt: 2280, balancer: { firstRoutedAt: 2310, lastRoutedAt: 4000, firstAnsweredAt: 2320, connections: 9, brokenInFlight: 0, connectFailures: 0, brokenAt: [] } });

  it('traffic after not-ready and admission are judged by the answers: within the bound passes, later fails', () => {
    const vs = judgeRollout(draft([old, repl], true), opts);
    expect(row(vs, 'no-traffic-after-not-ready')).toMatchObject({ passed: true, observed: 'r1-v1: last request it answered sent 150 ms after SIGTERM' });
    expect(row(vs, 'replacement-after-ready')?.passed).toBe(true);
    const late = { ...old, balancer: { ...old.balancer, lastRoutedAt: 1900 } };
    const early = { ...repl, balancer: { ...repl.balancer, firstAnsweredAt: 2100 } };
    const bad = judgeRollout(draft([late, early], true), opts);
    expect(row(bad, 'no-traffic-after-not-ready')).toMatchObject({ passed: false, observed: expect.stringContaining('900 ms after SIGTERM (> 200 ms)') });
    expect(row(bad, 'replacement-after-ready')).toMatchObject({ passed: false, observed: expect.stringContaining('BEFORE ready') });
  });

  it('without a replica header the rows say they are not measurable and do not pass', () => {
    const vs = judgeRollout(draft([old, repl], false), opts);
    for (const id of ['no-traffic-after-not-ready', 'replacement-after-ready']) expect(row(vs, id)).toMatchObject({ passed: false, observed: expect.stringMatching(/^not measurable through an external load balancer/) });
  });
});
