/**
 * The rollout drill's record (what happened, times in ms since the drill started) and its pure
 * judge: request classification and attribution, the health gate of a ring, and the verdict rows.
 */
import { formatDuration, percentile } from '../shared/index.ts';
import type { Verdict } from './verdict.ts';

export const ROLLOUT_STEP = 'rollout';

/** One firing episode of an SLO burn-rate alert tier, in ms since the drill started. */
export interface FiredAlert {
  slo: string;
  tier: string;
  severity: 'page' | 'ticket';
  firedAt: number;
  clearedAt: number | null;
  /** The tier's windows as the policy states them (real-equivalent), e.g. `1h/5m`. */
  windows: string;
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** How an alert reads in a row: `SLO alert rollout/page-slow (page, 6h/30m) fired at 7.42 s`. */
export function alertText(a: FiredAlert): string {
  return `SLO alert ${a.slo}/${a.tier} (${a.severity}, ${a.windows}) fired at ${secs(a.firedAt)}${a.clearedAt === null ? '' : `, cleared at ${secs(a.clearedAt)}`}`;
}

export interface RolloutSloRecord {
  slo: string;
  objective: number;
  sli: { type: 'availability' | 'latency' | 'both'; latencyThresholdMs?: number };
  timeScale: number;
  /** The severities whose alerts halt a ring. */
  halt: string[];
  /** Every firing episode of every tier (ms since the drill started). */
  alerts: FiredAlert[];
  events: { total: number; errors: number };
}


/** One request as the load saw it (times in ms since the drill started). */
export interface RolloutRequest {
  t: number;
  /** Completion time. */
  done: number;
  ok: boolean;
  latencyMs: number;
  errorClass?: string;
  status?: number;
  /** The replica that answered (its header), when one did. */
  servedBy?: string;
}

/** One poll of a draining replica's /healthz or /readyz. */
export interface DrainPoll {
  t: number;
  path: 'healthz' | 'readyz';
  status: number | null;
  error?: string;
}

export interface ReplicaRecord {
  /** Upstream name (also the replica's header value), e.g. `r1-v2.0.0`. */
  name: string;
  slot: number;
  version: string;
  ring: string | null;
  role: 'initial' | 'replacement' | 'rollback';
  port: number;
  pid: number | null;
  startedAt: number;
  /** First /readyz 200 seen by the drill's own poll or the balancer's check. */
  readyAt: number | null;
  /** Sent time of the last /readyz poll that was not 200 before it became ready (answers before it came too early). */
  notReadyPollAt?: number;
  /** Entered the balancer's rotation. */
  admittedAt: number | null;
  sigtermAt: number | null;
  /** The balancer took it out of rotation (check failed or removed). */
  outOfRotationAt: number | null;
  /** How long the check that took it out of rotation took (ms). */
  outOfRotationCheckMs?: number;
  /** 'check': a failed readiness check took it out; 'removed': it stayed in rotation until the drill removed it after it stopped. */
  outOfRotationBy?: 'check' | 'removed';
  /** First refused poll after SIGTERM (listener closed). */
  listenerClosedAt: number | null;
  exitedAt: number | null;
  exit: { code: number | null; signal: string | null } | null;
  /** SIGKILLed after the drain timeout. */
  killed: boolean;
  /** Still serving when the drill ended, then stopped by it (not part of the rollout). */
  stoppedAtEnd?: boolean;
  polls: DrainPoll[];
  /**
   * Its traffic: from faultline's balancer (connections), or through your load balancer from the
   * answers' replica header (requests: first/last sent, first answered, answers in `connections`).
   */
  balancer: { firstRoutedAt: number | null; lastRoutedAt: number | null; firstAnsweredAt?: number; connections: number; brokenInFlight: number; connectFailures: number; brokenAt: number[]; transitions?: Array<{ t: number; to: string; reason: string }> };
  /** The tail of its output, for diagnosis. */
  output?: string;
}

export interface GateResult {
  ring: string;
  passed: boolean;
  windowMs: [number, number];
  newReplicas: string[];
  requests: number;
  bad: number;
  errorRatio: number | null;
  p99Ms: number | null;
  overall: { requests: number; bad: number; errorRatio: number | null };
  /** SLO alerts of a halting severity that fired during the ring (ms since the drill started). */
  alerts?: FiredAlert[];
  reason: string;
}

export interface RingRecord {
  name: string;
  slots: number[];
  startedAt: number;
  endedAt: number;
  gate?: GateResult;
  rolledBack: boolean;
}

export interface RolloutResult {
  status: 'passed' | 'failed' | 'error';
  reason: string;
  seed: string;
  wallMs: number;
  /** When the first replica was signalled, and when the last replacement was admitted (or the halt). */
  rollout: { startedAt: number | null; endedAt: number | null };
  from: string;
  to: string;
  rings: RingRecord[];
  halted: { ring: string; reason: string } | null;
  replicas: ReplicaRecord[];
  /** `external`: your load balancer at `url` (`header`: answers named their replica). */
  balancer: { url: string; policy: string; healthCheck: boolean; intervalMs: number; refused: number; external?: { header: boolean } };
  /** The SLO engine fed with the load (absent when alerts are off). */
  slo?: RolloutSloRecord;
  load: { rate: number; sent: number; completed: number; good: number; bad: number; dropped: number; p99Ms: number | null; valid: boolean; invalidReasons: string[] };
  /** Per second since the drill started: requests and failures (for the chart). */
  perSecond: Array<{ second: number; requests: number; bad: number }>;
  classification: Classification;
  verdicts: Verdict[];
}

export interface Classification {
  total: number;
  good: number;
  dropped: number;
  /** Bad requests per replica that served them (header) or broke their connection (balancer), by class. */
  badByReplica: Record<string, Record<string, number>>;
  /** Bad requests no replica can be blamed for (e.g. refused by the balancer), by class. */
  unattributed: Record<string, number>;
  goodByReplica: Record<string, number>;
  /** Bad requests sent before the first replica was signalled (not attributable to the rollout). */
  badBeforeRollout: number;
}

/** The check round trip assumed when no check took the replica out (it never said 503, or checks are off). */
const DEFAULT_CHECK_RTT_MS = 100;

/** How far apart (ms) a transport failure and the balancer's record of the broken connection may be. */
const ATTRIBUTION_SLACK_MS = 250;

/** Every request classified: good (by replica), bad (by replica and class, or unattributed), dropped. */
export function classifyRequests(requests: readonly RolloutRequest[], replicas: readonly ReplicaRecord[], rolloutStart: number | null): Classification {
  const c: Classification = { total: requests.length, good: 0, dropped: 0, badByReplica: {}, unattributed: {}, goodByReplica: {}, badBeforeRollout: 0 };
  const broken = replicas.flatMap((r) => r.balancer.brokenAt.map((t) => ({ t, name: r.name }))).sort((a, b) => a.t - b.t);
  const used = new Set<number>();
  const add = (m: Record<string, number>, k: string): void => {
    m[k] = (m[k] ?? 0) + 1;
  };
  for (const q of requests) {
    if (q.ok) {
      c.good++;
      add(c.goodByReplica, q.servedBy ?? 'unknown');
      continue;
    }
    const cls = q.errorClass ?? 'error';
    if (cls === 'drop') {
      c.dropped++;
      continue;
    }
    // Failed before the first replica was signalled: not the rollout's doing (a cold start, a slow
    // baseline). A request still in flight at the signal that fails afterwards is: letting in-flight
    // requests finish is what a drain is for (a replica that exits at once fails exactly those).
    if (rolloutStart === null || q.done < rolloutStart) c.badBeforeRollout++;
    let who = q.servedBy;
    if (who === undefined) {
      // A transport failure: the replica whose connection the balancer saw break closest in time.
      let best = -1;
      for (let i = 0; i < broken.length; i++) {
        const b = broken[i] as { t: number; name: string };
        if (used.has(i) || Math.abs(b.t - q.done) > ATTRIBUTION_SLACK_MS) continue;
        if (best < 0 || Math.abs(b.t - q.done) < Math.abs((broken[best] as { t: number }).t - q.done)) best = i;
      }
      if (best >= 0) {
        used.add(best);
        who = (broken[best] as { name: string }).name;
      }
    }
    if (who === undefined) add(c.unattributed, cls);
    else add((c.badByReplica[who] ??= {}), cls);
  }
  return c;
}

/** The health gate over [from, to]: the ring's new replicas' error ratio and p99, and the overall error ratio. */
export function judgeGate(ring: string, requests: readonly RolloutRequest[], newReplicas: readonly string[], from: number, to: number, o: { maxErrorRatio: number; p99Below: number }, classification?: (qs: RolloutRequest[]) => Classification): GateResult {
  const inWindow = requests.filter((q) => q.done >= from && q.done <= to && q.errorClass !== 'drop');
  const names = new Set(newReplicas);
  const mine = inWindow.filter((q) => q.servedBy !== undefined && names.has(q.servedBy));
  // Transport failures the balancer attributes to the ring's replicas count against them too.
  let brokenMine = 0;
  if (classification) {
    const c = classification(inWindow.filter((q) => !q.ok && q.servedBy === undefined));
    for (const n of newReplicas) brokenMine += Object.values(c.badByReplica[n] ?? {}).reduce((a, b) => a + b, 0);
  }
  const bad = mine.filter((q) => !q.ok).length + brokenMine;
  const requestsMine = mine.length + brokenMine;
  const errorRatio = requestsMine > 0 ? bad / requestsMine : null;
  const p99Ms = percentile(
    mine.filter((q) => q.ok).map((q) => q.latencyMs),
    99,
  );
  const overallBad = inWindow.filter((q) => !q.ok).length;
  const overall = { requests: inWindow.length, bad: overallBad, errorRatio: inWindow.length > 0 ? overallBad / inWindow.length : null };
  const problems: string[] = [];
  if (requestsMine === 0) problems.push('no request reached the ring’s new replicas');
  if (errorRatio !== null && errorRatio > o.maxErrorRatio) problems.push(`new-release error ratio ${pct(errorRatio)} > ${pct(o.maxErrorRatio)}`);
  if (p99Ms !== null && p99Ms > o.p99Below) problems.push(`new-release p99 ${p99Ms.toFixed(1)} ms > ${o.p99Below} ms`);
  if (overall.errorRatio !== null && overall.errorRatio > o.maxErrorRatio) problems.push(`overall error ratio ${pct(overall.errorRatio)} > ${pct(o.maxErrorRatio)}`);
  return {
    ring,
    passed: problems.length === 0,
    windowMs: [from, to],
    newReplicas: [...newReplicas],
    requests: requestsMine,
    bad,
    errorRatio,
    p99Ms,
    overall,
    reason: problems.length ? problems.join('; ') : `new release ${pct(errorRatio ?? 0)} errors over ${requestsMine} requests, p99 ${p99Ms === null ? '-' : `${p99Ms.toFixed(1)} ms`}; overall ${pct(overall.errorRatio ?? 0)}`,
  };
}

const pct = (x: number): string => `${Number((x * 100).toFixed(3))} %`;
const ms = (x: number | null): string => (x === null ? '-' : `${Math.round(x)} ms`);

export interface JudgeOptions {
  intervalMs: number;
  healthCheck: boolean;
  latencyP99Below: number;
  drainTimeoutMs: number;
  to: string;
  totalReplicas: number;
}

/** Pure: the verdict rows of a rollout from its record. */
export function judgeRollout(r: Draft, o: JudgeOptions): Verdict[] {
  const row: Row = (id, title, passed, expected, observed) => ({ id: `${ROLLOUT_STEP}/${id}`, experiment: ROLLOUT_STEP, title, passed, expected, observed });
  const signalled = r.replicas.filter((x) => x.sigtermAt !== null);
  const out: Verdict[] = [failedRequestsRow(r, row), ...drainRows(signalled, o, row)];
  out.push(r.balancer.external ? routedAfterNotReadyByHeader(r, signalled, o, row) : routedAfterNotReady(signalled, o, row));
  out.push(r.balancer.external ? admittedByHeader(r, row) : admittedAfterReady(r, row));
  out.push(row('latency-slo', `latency SLO held (corrected p99 ≤ ${o.latencyP99Below} ms)`, r.load.p99Ms !== null && r.load.p99Ms <= o.latencyP99Below, `p99 ≤ ${o.latencyP99Below} ms`, `p99 ${r.load.p99Ms === null ? '-' : `${r.load.p99Ms} ms`} over ${r.load.completed} requests at ${r.load.rate} req/s${r.load.valid ? '' : ` (load invalid: ${r.load.invalidReasons.join('; ')})`}`));
  for (const ring of r.rings) {
    if (!ring.gate) continue;
    const g = ring.gate;
    out.push(row(`gate/${ring.name}`, `health gate after ring ${ring.name} (${g.newReplicas.join(', ')})`, g.passed, `new-release error ratio ≤ limit, p99 ≤ limit over ${formatDuration(g.windowMs[1] - g.windowMs[0])}${r.slo ? `, no SLO alert of severity ${r.slo.halt.join('/')} firing` : ''}`, `${g.passed ? '' : 'HALT: '}${g.reason}${ring.rolledBack ? '; ring rolled back' : ''}`));
  }
  if (r.slo) out.push(sloAlertsRow(r, row));
  out.push(completeRow(r, o, row), timingRow(r, signalled, o, row));
  return out;
}

type Draft = Omit<RolloutResult, 'verdicts' | 'status' | 'reason'>;

/** Every request classified; none failed after the first signal, none dropped. */
function failedRequestsRow(r: Draft, row: Row): Verdict {
  const c = r.classification;
  const badTotal = Object.values(c.badByReplica).reduce((a, m) => a + Object.values(m).reduce((x, y) => x + y, 0), 0) + Object.values(c.unattributed).reduce((a, b) => a + b, 0);
  const byReplica = Object.entries(c.badByReplica)
    .map(([name, m]) => `${name}: ${Object.entries(m).map(([k, v]) => `${v} ${k}`).join(', ')}`)
    .concat(Object.keys(c.unattributed).length ? [`unattributed: ${Object.entries(c.unattributed).map(([k, v]) => `${v} ${k}`).join(', ')}`] : []);
  const goodText = Object.entries(c.goodByReplica).map(([k, v]) => `${k} ${v}`).join(', ');
  return row(
    'no-failed-requests',
    'zero failed requests attributable to the rollout (every request classified)',
    badTotal - c.badBeforeRollout === 0 && c.dropped === 0,
    '0 failed, 0 dropped',
    `${c.total} requests: ${c.good} good (${goodText || 'none'}), ${badTotal} failed${byReplica.length ? ` (${byReplica.join('; ')})` : ''}${c.badBeforeRollout ? `, ${c.badBeforeRollout} of them before the rollout` : ''}, ${c.dropped} dropped`,
  );
}

/** Liveness and readiness while draining, per signalled replica. */
function drainRows(signalled: readonly ReplicaRecord[], o: JudgeOptions, row: Row): [Verdict, Verdict] {
  const healthz: string[] = [];
  const readyz: string[] = [];
  let healthOk = signalled.length > 0;
  let readyOk = signalled.length > 0;
  for (const x of signalled) {
    const since = x.sigtermAt as number;
    const gone = Math.min(x.listenerClosedAt ?? Infinity, x.exitedAt ?? Infinity);
    const during = x.polls.filter((p) => p.t >= since && p.t < gone && p.status !== null);
    const h = during.filter((p) => p.path === 'healthz');
    const hBad = h.filter((p) => p.status !== 200);
    const exitNote = x.exitedAt !== null ? `exited ${ms(x.exitedAt - since)} after SIGTERM` : 'did not exit';
    // A drain must outlast one balancer check interval (the time the balancer needs to see /readyz 503):
    // a replica gone sooner did not drain, even if one poll happened to land in those milliseconds.
    const tooShort = gone - since < o.intervalMs;
    const noDrain = h.length === 0 || tooShort;
    if (noDrain || hBad.length > 0) healthOk = false;
    const why = h.length === 0 ? exitNote : `stopped listening ${ms(gone - since)} after SIGTERM, within one ${o.intervalMs} ms check interval`;
    healthz.push(`${x.name}: ${h.length - hBad.length}/${h.length} polls 200${noDrain ? ` (no drain: ${why})` : ''}`);
    const rz = during.filter((p) => p.path === 'readyz');
    const first503 = rz.findIndex((p) => p.status === 503);
    const after = first503 < 0 ? [] : rz.slice(first503);
    const flipped = first503 >= 0 && after.every((p) => p.status === 503);
    const lateMs = first503 >= 0 ? (rz[first503] as DrainPoll).t - since : null;
    // The first 503 must come within one check interval of SIGTERM (the poll is faster than the balancer).
    const timely = lateMs !== null && lateMs <= o.intervalMs;
    if (!(flipped && timely)) readyOk = false;
    readyz.push(
      `${x.name}: ${rz.length === 0 ? `no poll answered (${exitNote})` : first503 < 0 ? `${rz.length} polls, none 503 (status ${[...new Set(rz.map((p) => p.status))].join('/')})` : `503 from ${ms(lateMs)} after SIGTERM on ${after.length} polls${after.length !== after.filter((p) => p.status === 503).length ? ', then not 503 again' : ''}`}`,
    );
  }
  return [
    row('healthz-while-draining', '/healthz 200 on every poll of a draining replica until it stops listening', healthOk, 'every poll 200, at least one per replica', healthz.join('; ') || 'no replica was signalled'),
    row('readyz-503-while-draining', '/readyz 503 while draining (from SIGTERM on, within one check interval)', readyOk, `503 within ${o.intervalMs} ms of SIGTERM and on every poll after`, readyz.join('; ') || 'no replica was signalled'),
  ];
}

/** Every replica on the new release and no halt; when halted, what was never started or signalled. */
function completeRow(r: Draft, o: JudgeOptions, row: Row): Verdict {
  // Serving at the end: never signalled by the rollout and still up when the drill stopped everything.
  const onNew = r.replicas.filter((x) => x.sigtermAt === null && (x.exitedAt === null || x.stoppedAtEnd === true) && x.version === o.to).length;
  const complete = r.halted === null && onNew === o.totalReplicas;
  const untouched = r.halted ? r.replicas.filter((x) => x.role === 'initial' && x.sigtermAt === null).map((x) => x.name) : [];
  const notStarted = r.halted ? [...new Set(r.replicas.filter((x) => x.role === 'initial' && x.ring !== null && !r.rings.some((g) => g.name === x.ring)).map((x) => x.ring as string))] : [];
  return row(
    'complete',
    `every replica runs ${o.to}`,
    complete,
    `${o.totalReplicas} of ${o.totalReplicas} on ${o.to}, no halt`,
    r.halted
      ? `halted at ring ${r.halted.ring} (${r.halted.reason}), rolled back; ${onNew} on ${o.to}; rings never started: ${notStarted.join(', ') || 'none'}; replicas never signalled: ${untouched.join(', ') || 'none'}`
      : `${onNew} of ${o.totalReplicas} on ${o.to}`,
  );
}

/** The rollout's wall time and each signalled replica's drain. */
function timingRow(r: Draft, signalled: readonly ReplicaRecord[], o: JudgeOptions, row: Row): Verdict {
  const drains = signalled.map((x) => `${x.name} ${x.exitedAt === null ? 'did not exit' : `${ms(x.exitedAt - (x.sigtermAt as number))}${x.killed ? ' (SIGKILLed)' : ''}`}`);
  const wall = r.rollout.startedAt !== null && r.rollout.endedAt !== null ? r.rollout.endedAt - r.rollout.startedAt : null;
  return row(
    'timing',
    `rollout wall time and per-replica drain time (each drained within ${formatDuration(o.drainTimeoutMs)})`,
    signalled.every((x) => x.exitedAt !== null && !x.killed),
    `every signalled replica exits by itself within ${formatDuration(o.drainTimeoutMs)}`,
    `rollout ${wall === null ? '-' : formatDuration(wall)}; drain: ${drains.join(', ') || 'none'}`,
  );
}

type Row = (id: string, title: string, passed: boolean, expected: string, observed: string) => Verdict;

/** Through faultline's balancer: its record of each new connection and of the check that took the replica out. */
function routedAfterNotReady(signalled: readonly ReplicaRecord[], o: JudgeOptions, row: Row): Verdict {
  // No new connection routed to a replica later than one check interval (plus the round trip of the
  // check that saw it not ready) after it stopped being ready (SIGTERM: from then on it must say 503).
  const late: string[] = [];
  let routeOk = signalled.length > 0;
  for (const x of signalled) {
    const since = x.sigtermAt as number;
    const last = x.balancer.lastRoutedAt;
    const after = last !== null && last > since ? last - since : null;
    // The check's round trip counts, up to one more interval (a check that timed out says nothing about readiness).
    const rtt = Math.min(x.outOfRotationCheckMs ?? DEFAULT_CHECK_RTT_MS, o.intervalMs);
    const bound = o.intervalMs + rtt;
    const outText =
      x.outOfRotationAt === null
        ? 'never taken out of rotation'
        : x.outOfRotationBy === 'removed'
          ? `never failed a readiness check: in rotation until removed ${ms(x.outOfRotationAt - since)} after SIGTERM`
          : `out of rotation ${ms(x.outOfRotationAt - since)} after SIGTERM (check took ${ms(rtt)})`;
    if (after !== null && after > bound) routeOk = false;
    late.push(`${x.name}: ${after === null ? 'no new connection after SIGTERM' : `last new connection ${ms(after)} after SIGTERM`}${after !== null && after > bound ? ` (> ${ms(bound)})` : ''}, ${outText}`);
  }
  return row('no-traffic-after-not-ready', `no new connection routed to a replica more than one check interval (${o.intervalMs} ms + the check's round trip, at most one more interval) after it stopped being ready`, routeOk, `last new connection ≤ ${o.intervalMs} ms + check round trip (≤ ${2 * o.intervalMs} ms) after SIGTERM`, late.join('; ') || 'no replica was signalled');
}

const NOT_MEASURABLE = 'not measurable through an external load balancer: no answer named its replica (x-faultline-replica header)';

/**
 * Through your load balancer: the requests each draining replica answered (its header), by the time
 * they were sent; the bound is your balancer's check interval plus a check's round trip.
 */
function routedAfterNotReadyByHeader(r: Omit<RolloutResult, 'verdicts' | 'status' | 'reason'>, signalled: readonly ReplicaRecord[], o: JudgeOptions, row: Row): Verdict {
  const id = 'no-traffic-after-not-ready';
  const title = `no request routed to a replica more than your load balancer's check interval (${o.intervalMs} ms + ${DEFAULT_CHECK_RTT_MS} ms round trip) after it stopped being ready — by the replica header of the answers`;
  const bound = o.intervalMs + DEFAULT_CHECK_RTT_MS;
  const expected = `last request it answered sent ≤ ${bound} ms after SIGTERM`;
  if (!r.balancer.external?.header) return row(id, title, false, expected, NOT_MEASURABLE);
  let ok = signalled.length > 0;
  const parts = signalled.map((x) => {
    const since = x.sigtermAt as number;
    const last = x.balancer.lastRoutedAt;
    const after = last !== null && last > since ? last - since : null;
    if (after !== null && after > bound) ok = false;
    return `${x.name}: ${after === null ? 'answered no request sent after SIGTERM' : `last request it answered sent ${ms(after)} after SIGTERM${after > bound ? ` (> ${ms(bound)})` : ''}`}`;
  });
  return row(id, title, ok, expected, parts.join('; ') || 'no replica was signalled');
}

/** Through faultline's balancer: each replacement's first connection against its first /readyz 200. */
function admittedAfterReady(r: Omit<RolloutResult, 'verdicts' | 'status' | 'reason'>, row: Row): Verdict {
  const started = r.replicas.filter((x) => x.role !== 'initial');
  let admitOk = true;
  const admit: string[] = [];
  for (const x of started) {
    const first = x.balancer.firstRoutedAt;
    const early = first !== null && (x.readyAt === null || first < x.readyAt);
    if (early) admitOk = false;
    admit.push(`${x.name}: ready ${x.readyAt === null ? 'never' : `${ms(x.readyAt - x.startedAt)} after start`}, first connection ${first === null ? 'none' : `${ms(first - x.startedAt)} after start`}${early ? ' — BEFORE ready' : ''}`);
  }
  return row('replacement-after-ready', 'each replacement received traffic only after its /readyz returned 200', admitOk, 'first connection after the first /readyz 200', admit.join('; ') || 'no replacement started');
}

/**
 * Through your load balancer: a replacement that answered a request before a /readyz poll (sent
 * later) still said not ready got traffic before it was ready.
 */
function admittedByHeader(r: Omit<RolloutResult, 'verdicts' | 'status' | 'reason'>, row: Row): Verdict {
  const id = 'replacement-after-ready';
  const title = 'each replacement received traffic only after its /readyz returned 200 — by the replica header of the answers';
  const expected = 'no answer from it before its last not-ready /readyz poll was sent';
  if (!r.balancer.external?.header) return row(id, title, false, expected, NOT_MEASURABLE);
  let ok = true;
  const parts = r.replicas
    .filter((x) => x.role !== 'initial')
    .map((x) => {
      const first = x.balancer.firstAnsweredAt ?? null;
      const early = first !== null && (x.readyAt === null || (x.notReadyPollAt !== undefined && first < x.notReadyPollAt));
      if (early) ok = false;
      return `${x.name}: ready ${x.readyAt === null ? 'never' : `${ms(x.readyAt - x.startedAt)} after start`}, first answer ${first === null ? 'none' : `${ms(first - x.startedAt)} after start`}${early ? ` — BEFORE ready (a /readyz poll ${ms((x.notReadyPollAt ?? first) - x.startedAt)} after start still said not ready)` : ''}`;
    });
  return row(id, title, ok, expected, parts.join('; ') || 'no replacement started');
}

/** The SLO engine's alerts over the whole rollout (from the first signal on). */
function sloAlertsRow(r: Omit<RolloutResult, 'verdicts' | 'status' | 'reason'>, row: Row): Verdict {
  const s = r.slo as RolloutSloRecord;
  const from = r.rollout.startedAt ?? Infinity;
  const halting = s.alerts.filter((a) => s.halt.includes(a.severity) && (a.clearedAt === null || a.clearedAt >= from));
  const sli = s.sli.type === 'availability' ? 'availability' : `${s.sli.type}, ${s.sli.latencyThresholdMs} ms`;
  return row(
    'slo-alerts',
    `no SLO burn-rate alert of severity ${s.halt.join('/')} fired during the rollout (SLO ${s.slo} ${s.objective} %, ${sli}, windows ÷${s.timeScale})`,
    halting.length === 0,
    'no alert firing from the first signal on',
    `${s.events.total} events, ${s.events.errors} bad; ${halting.length ? halting.map(alertText).join('; ') : 'no alert fired'}${s.alerts.length > halting.length ? ` (${s.alerts.length - halting.length} other episode(s): ${s.alerts.filter((a) => !halting.includes(a)).map(alertText).join('; ')})` : ''}`,
  );
}
