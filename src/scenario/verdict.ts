/**
 * The verdict: each planned expectation judged against what was observed (pure).
 */
import { formatDuration, percentileOfSorted } from '../shared/index.ts';
import type { ExperimentPlan, PlannedExpectation } from './model.ts';
import type { ProbeSample } from './probes.ts';
import { both, judgeAlertClears, judgeAlertFires, judgeAlertQuiet, type AlertObservations } from './alert-verdicts.ts';

/** One expectation judged: what was expected, what was observed, and whether that passes. */
export interface Verdict {
  id: string;
  experiment: string;
  title: string;
  passed: boolean;
  expected: string;
  observed: string;
  /** The run was aborted before this expectation's phase completed: shown as `not reached`, never as a pass. */
  notReached?: boolean;
}

export interface Observations extends AlertObservations {
  /** Outcomes by intended time (ms since start): good/bad. */
  outcomes: { t: Float64Array | number[]; good: Uint8Array | boolean[]; latencyMs?: number[]; count: number };
  probes: ProbeSample[];
  healVerified: boolean;
  warmupMs: number;
  /** Set when the experiment was aborted: the phases that had started, and when (ms since start) it stopped. */
  aborted?: { phasesStarted: readonly string[]; atMs: number };
}

function ratio(obs: Observations, from: number, to: number): { ratio: number | null; n: number } {
  let n = 0;
  let bad = 0;
  for (let i = 0; i < obs.outcomes.count; i++) {
    const t = obs.outcomes.t[i] as number;
    if (t >= from && t < to) {
      n++;
      if (!obs.outcomes.good[i]) bad++;
    }
  }
  return { ratio: n === 0 ? null : bad / n, n };
}

const pct = (r: number | null): string => (r === null ? 'no traffic' : `${(r * 100).toFixed(2)} %`);

type Judged = { passed: boolean; expected: string; observed: string };

/** recovery-time: the first 250 ms step after heal from which every later step stays within the error ratio. */
function judgeRecoveryTime(plan: ExperimentPlan, e: PlannedExpectation, obs: Observations): Judged {
  const expected = `≤ ${both(e.withinMs ?? 0, obs.timeScale)}`;
  if (ratio(obs, plan.healAtMs, plan.totalMs).n === 0) return { passed: false, expected, observed: 'no traffic after heal' };
  const step = 250;
  const badStep = (u: number): boolean => {
    const r = ratio(obs, u, Math.min(plan.totalMs, u + step));
    return r.ratio !== null && r.ratio > (e.maxErrorRatio ?? 0);
  };
  let recoveredAt: number | null = null;
  for (let t = plan.healAtMs; t < plan.totalMs && recoveredAt === null; t += step) {
    let allOk = true;
    for (let u = t; u < plan.totalMs && allOk; u += step) allOk = !badStep(u);
    if (allOk) recoveredAt = t;
  }
  if (recoveredAt === null) return { passed: false, expected, observed: 'did not recover before the end' };
  const dt = recoveredAt - plan.healAtMs;
  return { passed: dt <= (e.withinMs ?? 0), expected, observed: `recovered after ${both(dt, obs.timeScale)}` };
}

/** latency-baseline: p99 of the baseline's latencies (from intended send time) under the bound. */
function judgeLatencyBaseline(plan: ExperimentPlan, e: PlannedExpectation, obs: Observations): Judged {
  const lat: number[] = [];
  for (let i = 0; i < obs.outcomes.count; i++) {
    const t = obs.outcomes.t[i] as number;
    const l = obs.outcomes.latencyMs?.[i];
    if (t >= obs.warmupMs && t < plan.injectAtMs && l !== undefined) lat.push(l);
  }
  lat.sort((a, b) => a - b);
  const p99 = percentileOfSorted(lat, 99);
  const expected = `p99 < ${formatDuration(e.withinMs ?? 0)}`;
  if (p99 === null) return { passed: false, expected, observed: 'no requests at baseline' };
  return { passed: p99 < (e.withinMs ?? 0), expected, observed: `p99 ${p99.toFixed(1)} ms over ${lat.length} requests (from intended send time)` };
}

export function judge(plan: ExperimentPlan, e: PlannedExpectation, obs: Observations): Verdict {
  const base = { id: e.id, experiment: plan.name, title: e.title };
  switch (e.kind) {
    case 'alert-fires':
      return { ...base, ...judgeAlertFires(plan, e, obs) };
    case 'alert-clears':
      return { ...base, ...judgeAlertClears(plan, e, obs) };
    case 'alert-quiet':
      return { ...base, ...judgeAlertQuiet(plan, e, obs) };
    case 'steady-baseline': {
      const r = ratio(obs, obs.warmupMs, plan.injectAtMs);
      const probesBad = e.probes ? obs.probes.filter((p) => p.phase === 'baseline' && p.failing) : [];
      const firedEarly = Object.entries(obs.intervals).filter(([, list]) => list.some(([a]) => a < plan.injectAtMs)).map(([k]) => k);
      const ok = (r.ratio ?? 0) <= (e.maxErrorRatio ?? 0) && probesBad.length === 0 && firedEarly.length === 0 && r.n > 0;
      const parts = [`error ratio ${pct(r.ratio)} over ${r.n} requests`];
      if (probesBad.length) parts.push(`probe ${probesBad[0]!.probe} failing: ${probesBad[0]!.detail}`);
      if (firedEarly.length) parts.push(`alert ${firedEarly.join(', ')} fired at baseline`);
      return { ...base, passed: ok, expected: `error ratio ≤ ${pct(e.maxErrorRatio ?? 0)}${e.probes ? ', probes pass' : ''}, no alert`, observed: parts.join('; ') };
    }
    case 'steady-recovery': {
      const end = plan.totalMs;
      const from = plan.healAtMs + (end - plan.healAtMs) / 2;
      const r = ratio(obs, from, end);
      const lastProbe = new Map<string, ProbeSample>();
      for (const p of obs.probes) if (p.phase === 'recover') lastProbe.set(p.probe, p);
      const probesBad = e.probes ? [...lastProbe.values()].filter((p) => !p.ok) : [];
      const ok = (r.ratio ?? 0) <= (e.maxErrorRatio ?? 0) && probesBad.length === 0 && r.n > 0;
      const parts = [`error ratio ${pct(r.ratio)} in the second half of recovery`];
      if (probesBad.length) parts.push(`probe ${probesBad[0]!.probe} still failing: ${probesBad[0]!.detail}`);
      return { ...base, passed: ok, expected: `error ratio ≤ ${pct(e.maxErrorRatio ?? 0)}${e.probes ? ', probes pass' : ''}`, observed: parts.join('; ') };
    }
    case 'recovery-time':
      return { ...base, ...judgeRecoveryTime(plan, e, obs) };
    case 'probe-fails': {
      const samples = obs.probes.filter((p) => p.probe === e.probe && p.phase === 'inject');
      const failed = samples.find((p) => p.failing);
      return { ...base, passed: failed !== undefined, expected: 'fails during inject', observed: failed ? `failed: ${failed.detail}` : `passed all ${samples.length} samples` };
    }
    case 'probe-passes': {
      const samples = obs.probes.filter((p) => p.probe === e.probe);
      const failed = samples.find((p) => !p.ok);
      if (samples.length === 0) return { ...base, passed: false, expected: 'passes at every sample', observed: 'never sampled' };
      return { ...base, passed: failed === undefined, expected: 'passes at every sample', observed: failed ? `failed at ${failed.phase}: ${failed.detail}` : `passed all ${samples.length} samples` };
    }
    case 'latency-baseline':
      return { ...base, ...judgeLatencyBaseline(plan, e, obs) };
    case 'healed':
      return { ...base, passed: obs.healVerified, expected: 'no fault left on the proxy', observed: obs.healVerified ? 'verified: none left' : 'faults still present after heal' };
  }
}

/** The phase whose completion an expectation needs before it can be judged (undefined: always judged). */
const JUDGED_AFTER: Record<PlannedExpectation['kind'], 'baseline' | 'inject' | 'recover' | undefined> = {
  'steady-baseline': 'baseline',
  'latency-baseline': 'baseline',
  'alert-fires': 'inject',
  'alert-quiet': 'inject',
  'probe-fails': 'inject',
  'alert-clears': 'recover',
  'steady-recovery': 'recover',
  'recovery-time': 'recover',
  'probe-passes': 'recover',
  healed: undefined,
};

/** Failures that are conclusive even when the phase was cut short (the evidence is already there). */
function conclusiveFailure(e: PlannedExpectation, v: Verdict, obs: Observations): boolean {
  if (v.passed) return false;
  if (e.kind === 'alert-quiet' || e.kind === 'steady-baseline' || e.kind === 'latency-baseline') return true;
  if (e.kind === 'probe-passes') return obs.probes.some((p) => p.probe === e.probe && !p.ok);
  return false;
}

/**
 * An aborted experiment: an expectation whose phase did not complete is `not reached` (never a pass),
 * unless what was observed already fails it.
 */
function markNotReached(plan: ExperimentPlan, e: PlannedExpectation, v: Verdict, obs: Observations): Verdict {
  const a = obs.aborted;
  const phase = JUDGED_AFTER[e.kind];
  if (!a || !phase) return v;
  const next = { baseline: 'inject', inject: 'recover', recover: undefined }[phase];
  const completed = next !== undefined && a.phasesStarted.includes(next);
  if (completed || conclusiveFailure(e, v, obs)) return v;
  const where = [...a.phasesStarted].pop() ?? 'baseline';
  return { ...v, passed: false, notReached: true, observed: `not reached (aborted at ${formatDuration(a.atMs)}, during ${where})` };
}

export function judgeAll(plan: ExperimentPlan, obs: Observations): Verdict[] {
  return plan.expectations.map((e) => markNotReached(plan, e, judge(plan, e, obs), obs));
}
