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
  epoch: number;
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
export function checkHistory(history: HistoryOp[], final: FinalState, facts: DrillFacts): CheckResult {
  const writes = history.filter((o) => o.f === 'write');
  const invoked = new Set(writes.filter((o) => o.type === 'invoke').map((o) => o.id as number));
  const ok = writes.filter((o) => o.type === 'ok');
  const fail = writes.filter((o) => o.type === 'fail');
  const info = writes.filter((o) => o.type === 'info');
  const present = new Set(final.ids);
  const violations: Violation[] = [];
  const tl = facts.timeline;

  // I6: set sanity — unexpected rows, duplicates, failed writes present.
  const unexpected = final.ids.filter((id) => !invoked.has(id));
  if (unexpected.length) violations.push({ invariant: 'no-unexpected-rows', message: `${unexpected.length} row(s) present that no client ever wrote`, ids: unexpected.slice(0, 20) });
  if (present.size !== final.ids.length) violations.push({ invariant: 'no-duplicate-rows', message: `${final.ids.length - present.size} duplicate row(s)` });
  const failedPresent = fail.filter((o) => present.has(o.id as number)).map((o) => o.id as number);
  if (failedPresent.length) violations.push({ invariant: 'failed-writes-absent', message: `${failedPresent.length} write(s) reported failed are present`, ids: failedPresent.slice(0, 20) });

  // I1: lost acknowledged writes.
  const lost = ok.filter((o) => !present.has(o.id as number));
  const lostIds = lost.map((o) => o.id as number);
  const lostWindow = lost.length ? Math.max(...lost.map((o) => o.t)) - Math.min(...lost.map((o) => o.t)) : null;
  const lossAllowed = facts.mode === 'async' && facts.fault !== 'switchover';
  if (lost.length && !lossAllowed) {
    violations.push({ invariant: 'no-lost-acknowledged-writes', message: `${lost.length} acknowledged write(s) lost in ${facts.mode} mode (${facts.fault})`, ids: lostIds.slice(0, 20) });
  } else if (lost.length) {
    // In async mode every lost ack must lie inside the replication stall window [stall start, fence].
    const from = tl.replicationStall ?? tl.fault ?? 0;
    const to = tl.fenced ?? Infinity;
    const outside = lost.filter((o) => o.t < from - 5 || o.t > to);
    if (outside.length) violations.push({ invariant: 'lost-writes-inside-stall-window', message: `${outside.length} lost acknowledged write(s) outside the replication stall window`, ids: outside.map((o) => o.id as number).slice(0, 20) });
  }

  // I2: single writer per epoch — an ok op's epoch equals the epoch in force when it completed.
  const epochAt = (t: number): number => {
    let e = facts.epochs[0]?.epoch ?? 1;
    for (const x of facts.epochs) if (x.t <= t) e = x.epoch;
    return e;
  };
  const wrongEpoch = ok.filter((o) => o.epoch !== undefined && o.epoch !== epochAt(o.t));
  if (wrongEpoch.length) violations.push({ invariant: 'single-writer-per-epoch', message: `${wrongEpoch.length} write(s) acknowledged under a superseded epoch`, ids: wrongEpoch.map((o) => o.id as number).slice(0, 20) });

  // I3: epochs never decrease.
  for (let i = 1; i < facts.epochs.length; i++) {
    if ((facts.epochs[i] as { epoch: number }).epoch < (facts.epochs[i - 1] as { epoch: number }).epoch) {
      violations.push({ invariant: 'monotonic-epoch', message: 'the controller epoch decreased' });
      break;
    }
  }

  // I4: fail closed between the fence and the stamped, cut-over primary.
  if (tl.fenced !== undefined) {
    const until = tl.endpointCut ?? tl.stamped ?? Infinity;
    const during = ok.filter((o) => o.t > tl.fenced! && o.t < until);
    if (during.length) violations.push({ invariant: 'fail-closed', message: `${during.length} write(s) acknowledged between the fence and the verified new primary`, ids: during.map((o) => o.id as number).slice(0, 20) });
    const usable = facts.readiness.filter((r) => r.t > tl.fenced! && r.t < until && r.writesUsable);
    if (facts.writer === 'fenced' && usable.length) violations.push({ invariant: 'readiness-truthful', message: `readiness view said writes_usable:true ${usable.length}× during the fence` });
  }

  // I5: reads and ingest kept flowing.
  const reads = history.filter((o) => o.f === 'read');
  const ingest = history.filter((o) => o.f === 'ingest');
  const readsOk = reads.filter((o) => o.type === 'ok').length;
  const ingestFail = ingest.filter((o) => o.type === 'fail').length;
  if (tl.fault !== undefined && tl.firstWrite !== undefined) {
    const duringFlip = reads.filter((o) => o.type === 'ok' && o.t >= tl.fault! && o.t <= tl.firstWrite!).length;
    if (duringFlip === 0) violations.push({ invariant: 'reads-kept-flowing', message: 'no read succeeded between the fault and the first write after it' });
  }
  if (ingestFail > 0) violations.push({ invariant: 'ingest-never-pauses', message: `${ingestFail} telemetry ingest(s) refused` });

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
  if (verdict === 'pass' && facts.mode === 'async' && facts.fault === 'partition' && lost.length === 0) {
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
  };
}
