/**
 * Jepsen-style history and its offline checker. The history records every operation (invoke, then
 * ok / fail / info = unknown) with node and epoch; the checker compares it with the final state read
 * from the authoritative node after quiescence and enforces the drill's invariants.
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../shared/index.ts';

export type OpType = 'invoke' | 'ok' | 'fail' | 'info';

export interface HistoryOp {
  type: OpType;
  f: 'write' | 'read' | 'ingest';
  /** Write id (unique per drill). */
  id?: number;
  /** ms since the drill start (monotonic clock). */
  t: number;
  node?: string;
  epoch?: number;
  error?: string;
  retryAfterMs?: number;
  staleMs?: number;
}

export interface TimelineMarks {
  /** Fault injected (ms). */
  fault?: number;
  /** Replication stopped flowing (partition of the replication link), if any. */
  replicationStall?: number;
  detect?: number;
  decide?: number;
  fenced?: number;
  promoted?: number;
  stamped?: number;
  endpointCut?: number;
  firstWrite?: number;
  reconverged?: number;
  end?: number;
}

export interface ReadinessSample {
  t: number;
  writesUsable: boolean;
  /** The controller's epoch shown in the view. */
  epoch: number;
  /** The epoch stamped in the node the writer endpoint reached (ha_fence), 0 when unreachable. */
  stamp?: number;
  role: string;
}

export interface DrillFacts {
  mode: 'sync' | 'async';
  fault: string;
  writer: 'fenced' | 'unfenced' | 'role-only';
  timeline: TimelineMarks;
  /** Controller epoch history (t, epoch), non-decreasing if healthy. */
  epochs: Array<{ t: number; epoch: number }>;
  readiness: ReadinessSample[];
  /** Lag (bytes) of the replica at fault time, as sampled. */
  predictedLagBytes: number | null;
  /** Telemetry-store RPO from the scenario (backup cadence), reported beside the durable-state RPO. */
  telemetryBackupRpoMs: number;
  /** Whether the controller failed over (false: it judged the writer healthy, e.g. replication-only partition). */
  failover?: boolean;
  /** active: the old primary was reachable, made read-only and the replica caught up; logical: the epoch only. */
  fence?: 'active' | 'logical';
  followUp?: 'none' | 'restart' | 'rewind' | 'reclone';
  initialEpoch?: number;
  /** Telemetry spool counters at the end (after the final drain). */
  ingest?: { spooled: number; drained: number; peak: number };
  /** The stale ex-primary rejoined as a replica of the new primary (follow-up rewind / reclone). */
  rejoin?: {
    how: 'rewind' | 'reclone';
    node: string;
    inRecovery: boolean;
    streaming: boolean;
    timeline: number | null;
    expectedTimeline: number;
    stamp: number | null;
    caughtUp?: boolean;
  };
}

export interface FinalState {
  /** Node read as authoritative (the controller's writer after quiescence). */
  authoritative: string;
  ids: number[];
  /** Every node's ids, for the evidence diff. */
  perNode: Record<string, number[] | null>;
}

export interface Violation {
  invariant: string;
  message: string;
  ids?: number[];
}

export interface CheckResult {
  verdict: 'pass' | 'fail' | 'inconclusive';
  reason: string;
  violations: Violation[];
  counts: { invoked: number; ok: number; fail: number; info: number; reads: { ok: number; fail: number }; ingest: { ok: number; fail: number } };
  rpo: {
    lostAcknowledgedWrites: number;
    lostIds: number[];
    windowMs: number | null;
    predictedLagBytes: number | null;
    telemetryBackupRpoMs: number;
  };
  rto: { ms: number | null; detectMs: number | null; decideToPromotedMs: number | null; promotedToStampedMs: number | null; writeGapMs: number | null };
  unexpected: number[];
  recoveredUnknown: number;
  /** Whether a failover happened (false when the controller rightly kept the writer). */
  failover: boolean;
}

export function parseHistory(text: string, file = 'history.jsonl'): HistoryOp[] {
  return text
    .split('\n')
    .map((l, i) => [l, i] as const)
    .filter(([l]) => l.trim() !== '')
    .map(([l, i]) => {
      try {
        return JSON.parse(l) as HistoryOp;
      } catch {
        throw new InputError('FAULTLINE_FAILOVER_HISTORY', 'not a JSON line', { file, line: i + 1 });
      }
    });
}

export function readHistory(file: string): HistoryOp[] {
  return parseHistory(readFileSync(file, 'utf8'), file);
}

/** Checks a history against the final state. Pure. */
/** What every invariant check reads: the history split by outcome, the final rows, the drill's facts. */
interface HistoryView {
  history: HistoryOp[];
  final: FinalState;
  facts: DrillFacts;
  tl: DrillFacts['timeline'];
  invoked: Set<number>;
  ok: HistoryOp[];
  fail: HistoryOp[];
  present: Set<number>;
  lost: HistoryOp[];
  lostIds: number[];
  failover: boolean;
}

/** I6: set sanity — unexpected rows, duplicates, failed writes present. */
function setSanity(h: HistoryView): Violation[] {
  const { final, invoked, fail, present } = h;
  const out: Violation[] = [];
  const unexpected = final.ids.filter((id) => !invoked.has(id));
  if (unexpected.length) out.push({ invariant: 'no-unexpected-rows', message: `${unexpected.length} row(s) present that no client ever wrote`, ids: unexpected.slice(0, 20) });
  if (present.size !== final.ids.length) out.push({ invariant: 'no-duplicate-rows', message: `${final.ids.length - present.size} duplicate row(s)` });
  const failedPresent = fail.filter((o) => present.has(o.id as number)).map((o) => o.id as number);
  if (failedPresent.length) out.push({ invariant: 'failed-writes-absent', message: `${failedPresent.length} write(s) reported failed are present`, ids: failedPresent.slice(0, 20) });
  return out;
}

/** I1: acknowledged writes lost only where the mode and fence allow, and inside the stall window. */
function lostWrites(h: HistoryView): Violation[] {
  const { facts, tl, lost, lostIds, failover } = h;
  const out: Violation[] = [];
  // Loss is tolerated only in async mode, after a failover whose fence could not drain the old primary.
  const lossAllowed = facts.mode === 'async' && facts.fault !== 'switchover' && failover && facts.fence !== 'active';
  if (lost.length && !lossAllowed) {
    const why = !failover ? 'without a failover' : facts.fence === 'active' ? 'after an active fence' : `in ${facts.mode} mode`;
    out.push({ invariant: 'no-lost-acknowledged-writes', message: `${lost.length} acknowledged write(s) lost ${why} (${facts.fault})`, ids: lostIds.slice(0, 20) });
  } else if (lost.length) {
    // In async mode every lost ack must lie inside the replication stall window [stall start, fence].
    const from = tl.replicationStall ?? tl.fault ?? 0;
    const to = tl.fenced ?? Infinity;
    const outside = lost.filter((o) => o.t < from - 5 || o.t > to);
    if (outside.length) out.push({ invariant: 'lost-writes-inside-stall-window', message: `${outside.length} lost acknowledged write(s) outside the replication stall window`, ids: outside.map((o) => o.id as number).slice(0, 20) });
  }
  return out;
}

/** I2: a single writer per epoch, and no stale writer after the fence. */
function singleWriter(h: HistoryView): Violation[] {
  const { final, facts, tl, ok } = h;
  const out: Violation[] = [];
  // I2: single writer per epoch — an ok op's epoch equals the epoch in force when it completed, every
  // epoch's acknowledged writes landed on one node, and nothing was acknowledged by a stale node after the fence.
  const epochAt = (t: number): number => {
    let e = facts.epochs[0]?.epoch ?? 1;
    for (const x of facts.epochs) if (x.t <= t) e = x.epoch;
    return e;
  };
  const wrongEpoch = ok.filter((o) => o.epoch !== undefined && o.epoch !== epochAt(o.t));
  if (wrongEpoch.length) out.push({ invariant: 'single-writer-per-epoch', message: `${wrongEpoch.length} write(s) acknowledged under a superseded epoch`, ids: wrongEpoch.map((o) => o.id as number).slice(0, 20) });
  const nodesByEpoch = new Map<number, Set<string>>();
  for (const o of ok) {
    if (o.node === undefined) continue;
    const e = epochAt(o.t);
    const set = nodesByEpoch.get(e) ?? new Set<string>();
    set.add(o.node);
    nodesByEpoch.set(e, set);
  }
  for (const [e, nodes] of nodesByEpoch) {
    if (nodes.size > 1) out.push({ invariant: 'single-writer-per-epoch', message: `epoch ${e} had ${nodes.size} writers (${[...nodes].sort().join(', ')})` });
  }
  if (tl.fenced !== undefined) {
    const stale = ok.filter((o) => o.t > tl.fenced! && o.node !== undefined && o.node !== final.authoritative);
    if (stale.length) out.push({ invariant: 'no-stale-writer', message: `${stale.length} write(s) acknowledged by the stale ex-primary after the fence (split brain)`, ids: stale.map((o) => o.id as number).slice(0, 20) });
  }
  return out;
}

/** I3: epochs never decrease; a stale node is never writes_usable; refusals say when to retry. */
function epochsAndReadiness(h: HistoryView): Violation[] {
  const { facts, fail } = h;
  const out: Violation[] = [];
  // I3: epochs never decrease (the controller's, and as the readiness view showed them); a node whose
  // stamp is below the controller's epoch is never writes_usable.
  const nonMonotonic = (xs: number[]): boolean => xs.some((x, i) => i > 0 && x < (xs[i - 1] as number));
  if (nonMonotonic(facts.epochs.map((x) => x.epoch))) out.push({ invariant: 'monotonic-epoch', message: 'the controller epoch decreased' });
  if (nonMonotonic(facts.readiness.map((r) => r.epoch))) out.push({ invariant: 'monotonic-epoch', message: 'the epoch in the readiness view decreased' });
  if (facts.writer === 'fenced') {
    const staleUsable = facts.readiness.filter((r) => r.writesUsable && r.stamp !== undefined && r.stamp !== r.epoch);
    if (staleUsable.length) out.push({ invariant: 'stale-node-never-usable', message: `readiness said writes_usable:true ${staleUsable.length}× while the writer endpoint reached a node stamped with another epoch` });
    const bare = fail.filter((o) => /not usable/.test(o.error ?? '') && !(Number(o.retryAfterMs) > 0));
    if (bare.length) out.push({ invariant: 'fail-closed', message: `${bare.length} refused write(s) without retry_after_ms`, ids: bare.map((o) => o.id as number).slice(0, 20) });
  }
  return out;
}

/** I4: fail closed between the fence and the stamped, cut-over primary. */
function failClosed(h: HistoryView): Violation[] {
  const { facts, tl, ok } = h;
  const out: Violation[] = [];
  if (tl.fenced !== undefined) {
    const until = tl.endpointCut ?? tl.stamped ?? Infinity;
    const during = ok.filter((o) => o.t > tl.fenced! && o.t < until);
    if (during.length) out.push({ invariant: 'fail-closed', message: `${during.length} write(s) acknowledged between the fence and the verified new primary`, ids: during.map((o) => o.id as number).slice(0, 20) });
    const usable = facts.readiness.filter((r) => r.t > tl.fenced! && r.t < until && r.writesUsable);
    if (facts.writer === 'fenced' && usable.length) out.push({ invariant: 'readiness-truthful', message: `readiness view said writes_usable:true ${usable.length}× during the fence` });
  }
  return out;
}

/** I5: reads and ingest kept flowing. */
function keptFlowing(h: HistoryView): Violation[] {
  const { history, facts, tl, failover } = h;
  const out: Violation[] = [];
  const reads = history.filter((o) => o.f === 'read');
  const ingest = history.filter((o) => o.f === 'ingest');
  const ingestFail = ingest.filter((o) => o.type === 'fail').length;
  // The window to judge: fault → first acknowledged write after it (a failover), or fault → replica caught
  // up again (no failover). Reads poll every 50 ms with 300 ms deadlines: windows under 400 ms prove nothing.
  const flipEnd = failover ? (tl.firstWrite ?? tl.end) : (tl.reconverged ?? tl.end);
  if (tl.fault !== undefined && flipEnd !== undefined && flipEnd - tl.fault >= 400) {
    const duringFlip = reads.filter((o) => o.type === 'ok' && o.t >= tl.fault! && o.t <= flipEnd).length;
    if (duringFlip === 0) out.push({ invariant: 'reads-kept-flowing', message: `no read succeeded in the ${Math.round(flipEnd - tl.fault)} ms after the fault` });
    const ingested = ingest.filter((o) => o.type === 'ok' && o.t >= tl.fault! && o.t <= flipEnd).length;
    if (ingested === 0) out.push({ invariant: 'ingest-never-pauses', message: `no telemetry was ingested in the ${Math.round(flipEnd - tl.fault)} ms after the fault` });
  }
  if (ingestFail > 0) out.push({ invariant: 'ingest-never-pauses', message: `${ingestFail} telemetry ingest(s) refused` });
  if (facts.ingest && facts.writer === 'fenced' && tl.firstWrite !== undefined && facts.ingest.drained < facts.ingest.spooled) {
    out.push({ invariant: 'ingest-spool-drained', message: `the telemetry spool still held ${facts.ingest.spooled - facts.ingest.drained} item(s) after writes became usable again` });
  }
  return out;
}

/** I8: a rejoined ex-primary streams on the new timeline, fenced, its divergent rows gone. */
function rejoined(h: HistoryView): Violation[] {
  const { final, facts, present } = h;
  const out: Violation[] = [];
  if (facts.rejoin) {
    const r = facts.rejoin;
    const problems: string[] = [];
    if (!r.inRecovery) problems.push('it is not in recovery');
    if (!r.streaming) problems.push('it does not stream from the new primary');
    if (r.timeline !== r.expectedTimeline) problems.push(`it follows timeline ${r.timeline ?? 'none'}, not ${r.expectedTimeline}`);
    const rows = final.perNode[r.node];
    if (r.caughtUp !== false && rows) {
      const divergent = rows.filter((id) => !present.has(id));
      if (divergent.length) problems.push(`${divergent.length} divergent row(s) survived (${divergent.slice(0, 5).join(', ')})`);
    }
    if (problems.length) out.push({ invariant: 'rejoined-and-reconverged', message: `${r.how} of ${r.node}: ${problems.join('; ')}` });
  }
  return out;
}

export function checkHistory(history: HistoryOp[], final: FinalState, facts: DrillFacts): CheckResult {
  const writes = history.filter((o) => o.f === 'write');
  const invoked = new Set(writes.filter((o) => o.type === 'invoke').map((o) => o.id as number));
  const ok = writes.filter((o) => o.type === 'ok');
  const fail = writes.filter((o) => o.type === 'fail');
  const info = writes.filter((o) => o.type === 'info');
  const present = new Set(final.ids);
  const tl = facts.timeline;
  const lost = ok.filter((o) => !present.has(o.id as number));
  const lostIds = lost.map((o) => o.id as number);
  const lostWindow = lost.length ? Math.max(...lost.map((o) => o.t)) - Math.min(...lost.map((o) => o.t)) : null;
  const failover = facts.failover ?? tl.fenced !== undefined;
  const reads = history.filter((o) => o.f === 'read');
  const ingest = history.filter((o) => o.f === 'ingest');
  const readsOk = reads.filter((o) => o.type === 'ok').length;
  const ingestFail = ingest.filter((o) => o.type === 'fail').length;
  const unexpected = final.ids.filter((id) => !invoked.has(id));
  const h: HistoryView = { history, final, facts, tl, invoked, ok, fail, present, lost, lostIds, failover };
  const violations: Violation[] = [...setSanity(h), ...lostWrites(h), ...singleWriter(h), ...epochsAndReadiness(h), ...failClosed(h), ...keptFlowing(h), ...rejoined(h)];

  // Writes acknowledged after the fault but before the fence are the old primary finishing in-flight work
  // (or, in async mode, the stall window): recovery is the first acknowledgement after the fence.
  const recoveryFrom = tl.fenced ?? tl.fault;
  const firstOkAfter = recoveryFrom !== undefined ? ok.find((o) => o.t > recoveryFrom) : undefined;
  const lastOkBefore = tl.fault !== undefined ? [...ok].reverse().find((o) => o.t <= tl.fault!) : undefined;
  const rto = {
    ms: firstOkAfter && tl.fault !== undefined ? Math.round(firstOkAfter.t - tl.fault) : null,
    detectMs: tl.detect !== undefined && tl.fault !== undefined ? Math.round(tl.detect - tl.fault) : null,
    decideToPromotedMs: tl.promoted !== undefined && tl.decide !== undefined ? Math.round(tl.promoted - tl.decide) : null,
    promotedToStampedMs: tl.stamped !== undefined && tl.promoted !== undefined ? Math.round(tl.stamped - tl.promoted) : null,
    writeGapMs: firstOkAfter && lastOkBefore ? Math.round(firstOkAfter.t - lastOkBefore.t) : null,
  };

  let verdict: CheckResult['verdict'] = violations.length ? 'fail' : 'pass';
  let reason = violations.length ? violations.map((v) => v.message).join('; ') : 'all invariants hold';
  if (!violations.length && facts.writer === 'fenced' && firstOkAfter === undefined) {
    verdict = 'inconclusive';
    reason = 'no write was acknowledged after the fault: RTO unknown';
  }
  // An asynchronous partition must show RPO > 0, or the replay did not exercise what it claims.
  if (verdict === 'pass' && facts.mode === 'async' && facts.fault === 'partition' && failover && lost.length === 0) {
    verdict = 'inconclusive';
    reason = 'asynchronous partition lost no acknowledged write (RPO = 0): the stall did not bite, so the run proves nothing about RPO';
  }
  return {
    verdict,
    reason,
    violations,
    counts: {
      invoked: invoked.size,
      ok: ok.length,
      fail: fail.length,
      info: info.length,
      reads: { ok: readsOk, fail: reads.length - readsOk },
      ingest: { ok: ingest.length - ingestFail, fail: ingestFail },
    },
    rpo: { lostAcknowledgedWrites: lost.length, lostIds: lostIds.slice(0, 50), windowMs: lostWindow === null ? null : Math.round(lostWindow), predictedLagBytes: facts.predictedLagBytes, telemetryBackupRpoMs: facts.telemetryBackupRpoMs },
    rto,
    unexpected,
    recoveredUnknown: info.filter((o) => present.has(o.id as number)).length,
    failover,
  };
}
