/**
 * The failover checker, offline and pure: crafted histories that break one invariant each must be
 * flagged by name; the healthy history must pass.
 */
import { describe, expect, it } from 'vitest';
import { checkHistory, parseHistory, type DrillFacts, type FinalState, type HistoryOp } from '../../src/failover/checker.ts';

/** A healthy kill-and-failover history: eu writes ids 1..10 (epoch 1), fault at 1000, fence at 1200, cut at 1400, us writes 11..20 (epoch 2). */
function healthy(): { history: HistoryOp[]; final: FinalState; facts: DrillFacts } {
  const history: HistoryOp[] = [];
  for (let i = 1; i <= 10; i++) {
    history.push({ type: 'invoke', f: 'write', id: i, t: i * 90 }, { type: 'ok', f: 'write', id: i, t: i * 90 + 5, node: 'pg-eu', epoch: 1 });
  }
  for (let i = 21; i <= 25; i++) history.push({ type: 'invoke', f: 'write', id: i, t: 1200 + i }, { type: 'fail', f: 'write', id: i, t: 1201 + i, error: 'writes not usable (fenced)', retryAfterMs: 200 });
  for (let i = 11; i <= 20; i++) {
    history.push({ type: 'invoke', f: 'write', id: i, t: 1400 + i * 10 }, { type: 'ok', f: 'write', id: i, t: 1405 + i * 10, node: 'pg-us', epoch: 2 });
  }
  for (let t = 0; t <= 1800; t += 50) history.push({ type: 'ok', f: 'read', t, node: 'pg-us', staleMs: 3 }, { type: 'ok', f: 'ingest', t: t + 1 });
  history.sort((a, b) => a.t - b.t);
  const ids = Array.from({ length: 20 }, (_, i) => i + 1);
  return {
    history,
    final: { authoritative: 'pg-us', ids, perNode: { 'pg-eu': ids.slice(0, 10), 'pg-us': ids } },
    facts: {
      mode: 'sync',
      fault: 'kill',
      writer: 'fenced',
      timeline: { fault: 1000, detect: 1050, decide: 1190, fenced: 1200, promoted: 1350, stamped: 1380, endpointCut: 1400, firstWrite: 1515, reconverged: 1900, end: 1850 },
      epochs: [
        { t: 0, epoch: 1 },
        { t: 1200, epoch: 2 },
      ],
      readiness: [
        { t: 900, writesUsable: true, epoch: 1, stamp: 1, role: 'writer' },
        { t: 1300, writesUsable: false, epoch: 2, stamp: 0, role: 'reader' },
        { t: 1500, writesUsable: true, epoch: 2, stamp: 2, role: 'writer' },
      ],
      predictedLagBytes: 0,
      telemetryBackupRpoMs: 300_000,
      failover: true,
      fence: 'logical',
      followUp: 'none',
      ingest: { spooled: 37, drained: 37, peak: 10 },
    },
  };
}

const invariants = (r: ReturnType<typeof checkHistory>): string[] => [...new Set(r.violations.map((v) => v.invariant))].sort();

describe('failover checker (offline, crafted histories)', () => {
  it('passes a healthy history and computes RTO from client operations', () => {
    const { history, final, facts } = healthy();
    const r = checkHistory(history, final, facts);
    expect(r.violations).toEqual([]);
    expect(r.verdict).toBe('pass');
    expect(r.rto.ms).toBe(1515 - 1000);
    expect(r.rto.writeGapMs).toBe(1515 - 905);
    expect(r.rpo.lostAcknowledgedWrites).toBe(0);
    expect(r.counts).toMatchObject({ invoked: 25, ok: 20, fail: 5, info: 0 });
  });

  it('single writer per epoch: two nodes acknowledging under epoch 2, and a stale ex-primary after the fence', () => {
    const { history, final, facts } = healthy();
    history.push({ type: 'invoke', f: 'write', id: 30, t: 1600 }, { type: 'ok', f: 'write', id: 30, t: 1601, node: 'pg-eu', epoch: 2 });
    const r = checkHistory(history, { ...final, ids: [...final.ids, 30] }, facts);
    expect(invariants(r)).toEqual(['no-stale-writer', 'single-writer-per-epoch']);
    expect(r.verdict).toBe('fail');
  });

  it('single writer per epoch: an acknowledgement under a superseded epoch', () => {
    const { history, final, facts } = healthy();
    history.push({ type: 'invoke', f: 'write', id: 31, t: 1600 }, { type: 'ok', f: 'write', id: 31, t: 1601, node: 'pg-us', epoch: 1 });
    const r = checkHistory(history, { ...final, ids: [...final.ids, 31] }, facts);
    expect(invariants(r)).toEqual(['single-writer-per-epoch']);
    expect(r.violations[0]!.ids).toEqual([31]);
  });

  it('epochs never decrease: controller log and readiness view', () => {
    const { history, final, facts } = healthy();
    const a = checkHistory(history, final, { ...facts, epochs: [...facts.epochs, { t: 1700, epoch: 1 }] });
    expect(invariants(a)).toContain('monotonic-epoch');
    const b = checkHistory(history, final, { ...facts, readiness: [...facts.readiness, { t: 1700, writesUsable: false, epoch: 1, role: 'reader' }] });
    expect(invariants(b)).toEqual(['monotonic-epoch']);
  });

  it('fail closed: an acknowledgement between the fence and the verified new primary, and the readiness view over the same interval', () => {
    const { history, final, facts } = healthy();
    history.push({ type: 'invoke', f: 'write', id: 32, t: 1250 }, { type: 'ok', f: 'write', id: 32, t: 1260, node: 'pg-us', epoch: 2 });
    const r = checkHistory(history, { ...final, ids: [...final.ids, 32] }, facts);
    expect(invariants(r)).toEqual(['fail-closed']);
    const usable = checkHistory(healthy().history, final, { ...facts, readiness: [...facts.readiness, { t: 1250, writesUsable: true, epoch: 2, stamp: 2, role: 'writer' }] });
    expect(invariants(usable)).toEqual(['readiness-truthful']);
  });

  it('a node stamped with an older epoch is never writes_usable; refusals carry retry_after_ms', () => {
    const { history, final, facts } = healthy();
    const stale = checkHistory(history, final, { ...facts, readiness: [...facts.readiness, { t: 1700, writesUsable: true, epoch: 2, stamp: 1, role: 'writer' }] });
    expect(invariants(stale)).toEqual(['stale-node-never-usable']);
    const bare = history.map((o) => (o.type === 'fail' ? { ...o, retryAfterMs: undefined } : o));
    expect(invariants(checkHistory(bare, final, facts))).toEqual(['fail-closed']);
  });

  it('no unexpected or duplicate rows; a write reported failed must be absent', () => {
    const { history, final, facts } = healthy();
    expect(invariants(checkHistory(history, { ...final, ids: [...final.ids, 999] }, facts))).toEqual(['no-unexpected-rows']);
    expect(invariants(checkHistory(history, { ...final, ids: [...final.ids, 5] }, facts))).toEqual(['no-duplicate-rows']);
    expect(invariants(checkHistory(history, { ...final, ids: [...final.ids, 22] }, facts))).toEqual(['failed-writes-absent']);
  });

  it('reads and ingest kept flowing through the flip, and the spool drained afterwards', () => {
    const { history, final, facts } = healthy();
    const noReads = history.filter((o) => !(o.f === 'read' && o.t >= 1000 && o.t <= 1515));
    expect(invariants(checkHistory(noReads, final, facts))).toEqual(['reads-kept-flowing']);
    const refused = [...history, { type: 'fail' as const, f: 'ingest' as const, t: 1100, error: 'paused' }];
    expect(invariants(checkHistory(refused, final, facts))).toEqual(['ingest-never-pauses']);
    const noIngest = history.filter((o) => !(o.f === 'ingest' && o.t >= 1000 && o.t <= 1515));
    expect(invariants(checkHistory(noIngest, final, facts))).toEqual(['ingest-never-pauses']);
    expect(invariants(checkHistory(history, final, { ...facts, ingest: { spooled: 40, drained: 37, peak: 10 } }))).toEqual(['ingest-spool-drained']);
  });

  it('lost acknowledged writes: never in sync mode; in async mode only inside the stall window', () => {
    const { history, final, facts } = healthy();
    const lost9and10 = { ...final, ids: final.ids.filter((id) => id !== 9 && id !== 10) };
    const sync = checkHistory(history, lost9and10, facts);
    expect(invariants(sync)).toEqual(['no-lost-acknowledged-writes']);
    expect(sync.rpo.lostIds).toEqual([9, 10]);
    // Async partition: the stall began at 800; writes 9 (815) and 10 (905) are inside [800, fence].
    const partition = { ...facts, mode: 'async' as const, fault: 'partition', timeline: { ...facts.timeline, replicationStall: 800 } };
    const inside = checkHistory(history, lost9and10, partition);
    expect(inside.verdict).toBe('pass');
    expect(inside.rpo).toMatchObject({ lostAcknowledgedWrites: 2, windowMs: 90 });
    const outside = checkHistory(history, { ...final, ids: final.ids.filter((id) => id !== 2) }, partition);
    expect(invariants(outside)).toEqual(['lost-writes-inside-stall-window']);
  });

  it('an asynchronous partition that shows RPO = 0 is inconclusive, not a pass', () => {
    const { history, final, facts } = healthy();
    const r = checkHistory(history, final, { ...facts, mode: 'async', fault: 'partition', timeline: { ...facts.timeline, replicationStall: 800 } });
    expect(r.verdict).toBe('inconclusive');
    expect(r.reason).toMatch(/RPO = 0/);
  });

  it('an active fence (reachable old primary drained) and a kept writer (no failover) allow no loss', () => {
    const { history, final, facts } = healthy();
    const lost = { ...final, ids: final.ids.filter((id) => id !== 10) };
    const active = checkHistory(history, lost, { ...facts, mode: 'async', fault: 'partition-clients', fence: 'active' });
    expect(invariants(active)).toEqual(['no-lost-acknowledged-writes']);
    // partition-replica: no fence, no promotion, the writer stays eu; every ack must survive.
    const kept = healthy();
    const eu = kept.history.map((o) => (o.node === 'pg-us' && o.f === 'write' ? { ...o, node: 'pg-eu', epoch: 1 } : o));
    const noFailover = {
      ...facts,
      mode: 'async' as const,
      fault: 'partition-replica',
      failover: false,
      timeline: { fault: 1000, replicationStall: 1000, reconverged: 2500, end: 2600 },
      epochs: [{ t: 0, epoch: 1 }],
      readiness: [{ t: 900, writesUsable: true, epoch: 1, stamp: 1, role: 'writer' }],
    };
    const passed = checkHistory(eu, { ...final, authoritative: 'pg-eu' }, noFailover);
    expect(passed.verdict).toBe('pass');
    expect(passed.failover).toBe(false);
    expect(invariants(checkHistory(eu, { ...lost, authoritative: 'pg-eu' }, noFailover))).toEqual(['no-lost-acknowledged-writes']);
  });

  it('a rejoined ex-primary must stream on the new timeline with its divergent rows gone', () => {
    const { history, final, facts } = healthy();
    const rejoin = { how: 'rewind' as const, node: 'pg-eu', inRecovery: true, streaming: true, timeline: 2, expectedTimeline: 2, stamp: 2, caughtUp: true };
    expect(checkHistory(history, final, { ...facts, rejoin }).verdict).toBe('pass');
    const divergent = checkHistory(history, { ...final, perNode: { ...final.perNode, 'pg-eu': [...final.ids, 77] } }, { ...facts, rejoin });
    expect(invariants(divergent)).toEqual(['rejoined-and-reconverged']);
    expect(divergent.violations[0]!.message).toMatch(/divergent row/);
    const notStreaming = checkHistory(history, final, { ...facts, rejoin: { ...rejoin, streaming: false, inRecovery: false, timeline: 1 } });
    expect(notStreaming.violations[0]!.message).toMatch(/not in recovery.*does not stream.*timeline 1/);
  });

  it('parses history.jsonl and names the line of a bad record', () => {
    expect(parseHistory('{"type":"invoke","f":"write","id":1,"t":0}\n\n')).toHaveLength(1);
    expect(() => parseHistory('{"type":"invoke"}\nnot json\n', 'h.jsonl')).toThrow(/h\.jsonl:2/);
  });
});
