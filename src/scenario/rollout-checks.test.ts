import { describe, expect, it } from 'vitest';
import { classifyRequests, judgeGate, judgeRollout, type ReplicaRecord, type RolloutRequest, type RolloutResult } from './rollout-checks.ts';
import { parseRings, rolloutSchema } from './rollout-spec.ts';
import { newReplicaRecord } from './rollout-replicas.ts';

const replica = (over: Partial<ReplicaRecord>): ReplicaRecord => ({
  ...newReplicaRecord('r1-v1', 0, { version: '1' }, 'initial', 'canary', 1, 0),
  pid: 1,
  readyAt: 100,
  admittedAt: 110,
  balancer: { firstRoutedAt: 120, lastRoutedAt: 900, connections: 10, brokenInFlight: 0, connectFailures: 0, brokenAt: [] },
  ...over,
});

const drained = (name: string, sigtermAt: number, readyz: number[], lastRoutedAt: number, outAt: number | null): ReplicaRecord =>
  replica({
    name,
    sigtermAt,
    outOfRotationAt: outAt,
    outOfRotationCheckMs: 5,
    exitedAt: sigtermAt + 1000,
    exit: { code: 0, signal: null },
    polls: readyz.flatMap((status, i) => [
      { t: sigtermAt + 1 + i * 25, path: 'healthz' as const, status: 200 },
      { t: sigtermAt + 1 + i * 25, path: 'readyz' as const, status },
    ]),
    balancer: { firstRoutedAt: 120, lastRoutedAt, connections: 10, brokenInFlight: 0, connectFailures: 0, brokenAt: [] },
  });

const base = (replicas: ReplicaRecord[], requests: RolloutRequest[] = []): Omit<RolloutResult, 'verdicts' | 'status' | 'reason'> => ({
  seed: '1',
  wallMs: 5000,
  rollout: { startedAt: 1000, endedAt: 4000 },
  from: '1',
  to: '2',
  rings: [],
  halted: null,
  replicas,
  balancer: { url: '', policy: 'round-robin', healthCheck: true, intervalMs: 100, refused: 0 },
  load: { rate: 500, sent: requests.length, completed: requests.length, good: requests.length, bad: 0, dropped: 0, p99Ms: 12, valid: true, invalidReasons: [] },
  perSecond: [],
  classification: classifyRequests(requests, replicas, 1000),
});
const opts = { intervalMs: 100, healthCheck: true, latencyP99Below: 500, drainTimeoutMs: 15_000, to: '2', totalReplicas: 1 };
const row = (vs: ReturnType<typeof judgeRollout>, id: string) => vs.find((v) => v.id === `rollout/${id}`);

describe('rollout rings', () => {
  it('parses name:count rings with a final rest against the replica count', () => {
    expect(parseRings('canary:1,early:1,main:rest', 5)).toEqual([
      { name: 'canary', slots: [0] },
      { name: 'early', slots: [1] },
      { name: 'main', slots: [2, 3, 4] },
    ]);
    expect(parseRings('all:rest', 2)).toEqual([{ name: 'all', slots: [0, 1] }]);
  });
  it('refuses rings that overrun, leave replicas out, repeat a name or put rest first', () => {
    expect(() => parseRings('a:2,b:2', 3)).toThrow(/ask for 4 replicas but there are 3/);
    expect(() => parseRings('a:1', 3)).toThrow(/cover 1 of 3/);
    expect(() => parseRings('a:1,a:rest', 3)).toThrow(/named twice/);
    expect(() => parseRings('a:rest,b:1', 3)).toThrow(/only the last ring/);
    expect(rolloutSchema.safeParse({ rings: 'x' }).success).toBe(false);
  });
});

describe('request classification', () => {
  it('counts good per replica, bad by the replica that answered, transport failures by the connection the balancer saw break, and drops', () => {
    const reps = [replica({ name: 'a' }), replica({ name: 'b', balancer: { firstRoutedAt: 0, lastRoutedAt: 0, connections: 1, brokenInFlight: 1, connectFailures: 0, brokenAt: [2000] } })];
    const reqs: RolloutRequest[] = [
      { t: 1000, done: 1500, ok: true, latencyMs: 1, servedBy: 'a' },
      { t: 1500, done: 1600, ok: false, latencyMs: 1, status: 500, errorClass: 'http_500', servedBy: 'a' },
      { t: 2000, done: 2010, ok: false, latencyMs: 1, errorClass: 'socket_closed' },
      { t: 2990, done: 3000, ok: false, latencyMs: 1, errorClass: 'reset' },
      { t: 2990, done: 3000, ok: false, latencyMs: 1, errorClass: 'drop' },
      { t: 500, done: 2500, ok: false, latencyMs: 2000, errorClass: 'timeout' },
      { t: 100, done: 900, ok: false, latencyMs: 800, errorClass: 'reset' },
    ];
    const c = classifyRequests(reqs, reps, 1000);
    expect(c).toEqual({
      total: 7,
      good: 1,
      dropped: 1,
      goodByReplica: { a: 1 },
      badByReplica: { a: { http_500: 1 }, b: { socket_closed: 1 } },
      unattributed: { reset: 2, timeout: 1 },
      // Only the reset that failed before the first signal (1000) is not the rollout's doing; the
      // timeout sent at 500 was still in flight at the signal and counts against the rollout.
      badBeforeRollout: 1,
    });
  });

  it('counts a request in flight at the first signal that then fails against the rollout (a replica that exits at once)', () => {
    const reps = [replica({ name: 'old', balancer: { firstRoutedAt: 0, lastRoutedAt: 1000, connections: 1, brokenInFlight: 1, connectFailures: 0, brokenAt: [1011] } })];
    const reqs: RolloutRequest[] = [
      { t: 990, done: 1012, ok: false, latencyMs: 22, errorClass: 'socket_closed' },
      { t: 995, done: 1012, ok: false, latencyMs: 17, errorClass: 'socket_closed' },
    ];
    const c = classifyRequests(reqs, reps, 1000);
    expect(c.badBeforeRollout).toBe(0);
    expect(c.badByReplica).toEqual({ old: { socket_closed: 1 } });
    expect(c.unattributed).toEqual({ socket_closed: 1 });
  });
});

describe('health gate', () => {
  it('halts on the new release’s error ratio even when the overall ratio is diluted by healthy replicas', () => {
    const reqs: RolloutRequest[] = [];
    for (let i = 0; i < 300; i++) reqs.push({ t: i, done: 1000 + i, ok: true, latencyMs: 2, servedBy: i % 3 === 0 ? 'new' : 'old' });
    for (let i = 0; i < 6; i++) reqs.push({ t: i, done: 1100 + i, ok: false, latencyMs: 2, status: 500, errorClass: 'http_500', servedBy: 'new' });
    const g = judgeGate('canary', reqs, ['new'], 1000, 2000, { maxErrorRatio: 0.01, p99Below: 500 });
    expect(g.passed).toBe(false);
    expect(g.requests).toBe(106);
    expect(g.errorRatio).toBeCloseTo(6 / 106);
    expect(g.reason).toMatch(/new-release error ratio 5\.66 % > 1 %/);
    expect(judgeGate('canary', reqs.slice(0, 300), ['new'], 1000, 2000, { maxErrorRatio: 0.01, p99Below: 500 }).passed).toBe(true);
    expect(judgeGate('canary', reqs.slice(0, 300), ['nobody'], 1000, 2000, { maxErrorRatio: 0.01, p99Below: 500 }).reason).toMatch(/no request reached/);
  });
});

describe('rollout verdict rows', () => {
  it('a clean drain passes every drain row', () => {
    const x = drained('r1-v1', 1000, [503, 503, 503], 1050, 1060);
    const vs = judgeRollout(base([x]), opts);
    expect(row(vs, 'healthz-while-draining')?.passed).toBe(true);
    expect(row(vs, 'readyz-503-while-draining')?.passed).toBe(true);
    expect(row(vs, 'no-traffic-after-not-ready')?.passed).toBe(true);
    expect(row(vs, 'no-failed-requests')?.passed).toBe(true);
  });
  it('/readyz that never flips fails the readiness row and the routing row (traffic kept coming while draining)', () => {
    const x = drained('r1-v1', 1000, [200, 200, 200], 1900, null);
    const vs = judgeRollout(base([x]), opts);
    expect(row(vs, 'readyz-503-while-draining')).toMatchObject({ passed: false, observed: expect.stringMatching(/none 503/) });
    expect(row(vs, 'no-traffic-after-not-ready')).toMatchObject({ passed: false, observed: expect.stringMatching(/last new connection 900 ms after SIGTERM/) });
  });
  it('a replica that exits at once shows no drain on the liveness row', () => {
    const x = replica({ sigtermAt: 1000, exitedAt: 1003, listenerClosedAt: 1004, exit: { code: 0, signal: null }, polls: [{ t: 1004, path: 'healthz', status: null, error: 'ECONNREFUSED' }] });
    const vs = judgeRollout(base([x]), opts);
    expect(row(vs, 'healthz-while-draining')).toMatchObject({ passed: false, observed: expect.stringMatching(/0\/0 polls 200 \(no drain: exited 3 ms after SIGTERM\)/) });
  });
  it('a replica gone within one check interval of SIGTERM shows no drain, even when one /healthz poll landed first', () => {
    const x = replica({ sigtermAt: 1000, exitedAt: 1015, listenerClosedAt: 1014, exit: { code: 0, signal: null }, polls: [{ t: 1002, path: 'healthz', status: 200 }] });
    const vs = judgeRollout(base([x]), opts);
    expect(row(vs, 'healthz-while-draining')).toMatchObject({ passed: false, observed: expect.stringMatching(/1\/1 polls 200 \(no drain: stopped listening 14 ms after SIGTERM, within one 100 ms check interval\)/) });
  });
  it('a replacement routed before its first /readyz 200 fails the admission row', () => {
    const x = replica({ name: 'r1-v2', version: '2', role: 'replacement', startedAt: 2000, readyAt: 2400, exitedAt: 6000, stoppedAtEnd: true, balancer: { firstRoutedAt: 2050, lastRoutedAt: 3000, connections: 5, brokenInFlight: 0, connectFailures: 0, brokenAt: [] } });
    const vs = judgeRollout(base([x]), opts);
    expect(row(vs, 'replacement-after-ready')).toMatchObject({ passed: false, observed: expect.stringMatching(/first connection 50 ms after start — BEFORE ready/) });
    expect(row(vs, 'complete')?.passed).toBe(true);
  });
});
