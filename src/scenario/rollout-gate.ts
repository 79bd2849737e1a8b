/**
 * The rollout's decisions as pure functions: which SLO alerts count against a ring, the gate's verdict
 * (error ratio and latency of the ring's new replicas, plus the SLO engine's alerts), which slots a
 * rollback replaces, the per-second series and the drill's status. No IO, no clock.
 */
import type { Verdict } from './verdict.ts';
import { alertText, type FiredAlert, type GateResult, type RolloutRequest } from './rollout-checks.ts';
export type { FiredAlert } from './rollout-checks.ts';
import type { Ring } from './rollout-spec.ts';

/** Episodes of a `halt` severity overlapping [from, to] (firing at any evaluation of the span). */
export function alertsInSpan(alerts: readonly FiredAlert[], from: number, to: number, halt: readonly string[]): FiredAlert[] {
  return alerts.filter((a) => halt.includes(a.severity) && a.firedAt <= to && (a.clearedAt === null || a.clearedAt >= from));
}

/**
 * The gate's verdict: the error-ratio/latency judgement (judgeGate), failed too when a replacement of
 * the ring never became ready or a halting SLO alert fired during the ring.
 */
export function decideGate(base: GateResult, alerts: readonly FiredAlert[], replacementsReady: boolean): GateResult {
  const fired = alerts.length ? [alerts.map(alertText).join('; ')] : [];
  const passed = base.passed && replacementsReady && alerts.length === 0;
  // What halted first: a replacement that never became ready, then the error ratio/latency, then the alerts.
  const parts = [...(replacementsReady ? [] : ['a replacement never became ready']), ...(base.passed ? [...fired, base.reason] : [base.reason, ...fired])];
  const reason = passed ? `${base.reason}; no SLO alert fired` : parts.join('; ');
  return { ...base, passed, reason, alerts: alerts.map((a) => ({ ...a })) };
}

/** The ring's slots to roll back (last replaced first): those on the new release or left empty. */
export function rollbackSlots(ring: Ring, versionIn: (slot: number) => string | undefined, to: string): number[] {
  return [...ring.slots].reverse().filter((s) => {
    const v = versionIn(s);
    return v === undefined || v === to;
  });
}

/** Requests and failures per second since the drill started (by completion). */
export function perSecond(requests: readonly RolloutRequest[]): Array<{ second: number; requests: number; bad: number }> {
  const by = new Map<number, { requests: number; bad: number }>();
  for (const q of requests) {
    const s = Math.floor(q.done / 1000);
    const b = by.get(s) ?? { requests: 0, bad: 0 };
    b.requests++;
    if (!q.ok) b.bad++;
    by.set(s, b);
  }
  return [...by.entries()].sort((a, b) => a[0] - b[0]).map(([second, v]) => ({ second, ...v }));
}

/** The drill's status and reason from a harness error (if any) and its rows. */
export function rolloutStatus(error: string | undefined, verdicts: readonly Verdict[]): { status: 'passed' | 'failed' | 'error'; reason: string } {
  const failed = verdicts.filter((v) => !v.passed);
  if (error !== undefined) return { status: 'error', reason: error };
  return failed.length ? { status: 'failed', reason: `failed: ${failed.map((v) => v.id).join(', ')}` } : { status: 'passed', reason: 'every check held' };
}

/** Per replica, from the answers' replica header: first/last request sent, first answer, count. */
export interface ServedTally {
  firstSentAt: number;
  lastSentAt: number;
  firstAnsweredAt: number;
  answers: number;
}

/** Adds requests[from..] to the tally; returns the new index. */
export function tallyServed(requests: readonly RolloutRequest[], from: number, into: Map<string, ServedTally>): number {
  for (let i = from; i < requests.length; i++) {
    const q = requests[i] as RolloutRequest;
    if (q.servedBy === undefined) continue;
    const t = into.get(q.servedBy);
    if (!t) into.set(q.servedBy, { firstSentAt: q.t, lastSentAt: q.t, firstAnsweredAt: q.done, answers: 1 });
    else {
      t.firstSentAt = Math.min(t.firstSentAt, q.t);
      t.lastSentAt = Math.max(t.lastSentAt, q.t);
      t.firstAnsweredAt = Math.min(t.firstAnsweredAt, q.done);
      t.answers++;
    }
  }
  return requests.length;
}
