/**
 * The run's timeline for a game-day announcement (pure, nothing runs): phases with wall-clock
 * offsets from the run start, the faults, and for each alert tier when the burn-rate maths expects
 * it to fire and clear (src/slo predictTiers: piecewise-constant traffic at the scenario's load rate,
 * the fault's assumed error ratio during inject, Prometheus' window and state-machine semantics).
 * Observed rows (expect.observed) get the evaluator's prediction plus the stages real monitoring adds.
 *
 * The error ratio a fault causes is assumed from the fault alone (assumedErrorRatio); faults whose
 * effect depends on the service (loss, bandwidth, small latencies) give no prediction unless the
 * caller states a ratio (`faultline plan --error-ratio R`).
 */
import { formatDuration } from '../shared/index.ts';
import type { FaultSpec } from '../injector/index.ts';
import { alertName, compressMs, compressPolicy, predictTiers, type TierPrediction } from '../slo/index.ts';
import type { ScenarioModel, ScenarioPlan } from './model.ts';
import type { ExperimentSpec } from './spec.ts';
import type { ObservedExpectationSpec } from './monitoring-spec.ts';
import { tierFor } from './observed-verdict.ts';

export interface AssumedRatio {
  ratio: number | null;
  why: string;
}

const num = (v: unknown, d: number): number => (typeof v === 'number' ? v : d);

/** The share of requests a fault is assumed to fail (null: it depends on the service). */
export function assumedErrorRatio(f: FaultSpec, sli: { latencyThresholdMs?: number; timeoutMs: number }): AssumedRatio {
  const tox = f.toxicity ?? 1;
  const a = f.attributes ?? {};
  switch (f.type) {
    case 'partition':
      return { ratio: tox, why: `partition (${String(a.mode ?? 'blackhole')}): every request through the cut link fails` };
    case 'timeout':
    case 'reset_peer':
    case 'limit_data':
      return { ratio: tox, why: `${f.type}: the connection is cut, requests on it fail` };
    case 'latency': {
      const delay = num(a.latency, 0) + num(a.jitter, 0);
      const limit = Math.min(sli.latencyThresholdMs ?? Infinity, sli.timeoutMs);
      if (num(a.latency, 0) >= limit) return { ratio: tox, why: `latency ${num(a.latency, 0)} ms ≥ the ${formatDuration(limit)} latency SLI/timeout: every delayed request is bad` };
      if (delay < limit) return { ratio: 0, why: `latency ${delay} ms (with jitter) stays under the ${limit === Infinity ? 'request timeout' : formatDuration(limit)} limit: nothing is bad` };
      return { ratio: null, why: `latency ${num(a.latency, 0)} ± ${num(a.jitter, 0)} ms straddles the limit: the bad share depends on the jitter draw` };
    }
    case 'noop':
    case 'slow_close':
      return { ratio: 0, why: `${f.type}: requests still succeed` };
    default:
      return { ratio: null, why: `${f.type}: the bad share depends on the service (give --error-ratio)` };
  }
}

export interface PlannedAlert {
  tier: string;
  severity: string;
  alertname: string;
  /** ms from the experiment start (compressed), null = not expected to fire / clear. */
  fireAt: number | null;
  clearAt: number | null;
  firingAtFault: boolean;
  /** What the scenario expects of it (evaluator rows), e.g. "fires within 3s" or "quiet". */
  expected?: string;
  /** A row the maths says cannot pass. */
  conflict?: string;
}

export interface PlannedObserved {
  source: 'prometheus' | 'alertmanager';
  alert: Record<string, string>;
  tier: string | null;
  expectation: string;
  /** Evaluator prediction of the mapped tier, and what real monitoring adds. */
  fireAt: number | null;
  clearAt: number | null;
  adds: string;
  conflict?: string;
}

export interface PlannedExperimentTimeline {
  name: string;
  /** ms from the run start. */
  startsAt: number;
  phases: Array<{ name: string; from: number; to: number }>;
  injectAt: number;
  healAt: number;
  faults: Array<{ type: string; stream: string; attributes: Record<string, unknown>; toxicity: number }>;
  errorRatio: AssumedRatio;
  alerts: PlannedAlert[];
  observed: PlannedObserved[];
}

export interface GameDayPlan {
  scenario: string;
  timeScale: number;
  slo: { name: string; objective: number };
  totalMs: number;
  evalIntervalMs: number;
  loadRate: number;
  monitoring: { prometheus?: string; alertmanager?: string; receiver?: string };
  experiments: PlannedExperimentTimeline[];
}

/** Combines several faults' ratios as independent failures: 1 − Π(1 − r). */
function combine(rs: AssumedRatio[]): AssumedRatio {
  if (rs.length === 0) return { ratio: 0, why: 'no fault: a healthy baseline' };
  if (rs.some((r) => r.ratio === null)) return { ratio: null, why: rs.filter((r) => r.ratio === null).map((r) => r.why).join('; ') };
  const ok = rs.reduce((p, r) => p * (1 - (r.ratio as number)), 1);
  return { ratio: 1 - ok, why: rs.map((r) => r.why).join('; ') };
}

/** One tier's predicted fire/clear times, the scenario's expectation in words, and any conflict between the two. */
function plannedAlert(t: ScenarioModel['slo']['policy'][number], p: TierPrediction | undefined, e: ExperimentSpec['expect']['alerts'][string] | undefined, injectAtMs: number): PlannedAlert {
  const a: PlannedAlert = { tier: t.name, severity: t.severity, alertname: alertName(t.name), fireAt: p?.fireAt ?? null, clearAt: p?.clearAt ?? null, firingAtFault: p?.firingAtFault ?? false };
  if (e) {
    const clears = e.clearsWithin;
    const fires = typeof e.fires === 'object' ? ' as predicted' : e.within !== undefined ? ` within ${formatDuration(e.within)}` : '';
    a.expected = e.fires ? `fires${fires}${typeof clears === 'number' ? `, clears within ${formatDuration(clears)}` : clears !== undefined ? ', clears as predicted' : ''}` : 'quiet';
    if (p) {
      if (e.fires && p.fireAt === null) a.conflict = 'the maths says it does not fire';
      else if (e.fires && e.within !== undefined && p.fireAt !== null && p.fireAt - injectAtMs > e.within) a.conflict = `predicted to fire ${formatDuration(p.fireAt - injectAtMs)} after inject, later than ${formatDuration(e.within)}`;
      else if (!e.fires && p.fireAt !== null) a.conflict = `predicted to fire ${formatDuration(p.fireAt - injectAtMs)} after inject`;
    }
  }
  return a;
}

/** One observed expectation with its tier's prediction and what monitoring adds on top; a conflict when the maths disagrees. */
function plannedObserved(o: ObservedExpectationSpec, tierAlertNames: Record<string, string>, pred: (tier: string) => TierPrediction | undefined, injectAtMs: number): PlannedObserved {
  const tier = tierFor(o, tierAlertNames);
  const p = tier ? pred(tier) : undefined;
  const positive = o.source === 'prometheus' ? o.fires : o.notifies;
  const clear = o.source === 'prometheus' ? o.clearsWithin : o.resolvedWithin;
  const expectation = positive
    ? `${o.source === 'prometheus' ? 'fires' : 'notifies'}${o.within !== undefined ? ` within ${formatDuration(o.within)}` : ''}${clear !== undefined ? `, ${o.source === 'prometheus' ? 'resolves' : 'resolved notification'} within ${formatDuration(clear)}` : ''}`
    : o.source === 'prometheus'
      ? 'never fires'
      : 'no notification';
  const adds = o.source === 'prometheus' ? "+ up to one scrape and one rule evaluation + the rule's for:" : '+ scrape + evaluation + for: in Prometheus + group_wait (fire) / group_interval (resolved) in Alertmanager';
  const out: PlannedObserved = { source: o.source, alert: o.alert, tier, expectation, fireAt: p?.fireAt ?? null, clearAt: p?.clearAt ?? null, adds };
  if (p && positive && p.fireAt === null) out.conflict = 'the maths says its tier does not fire';
  else if (p && positive && o.within !== undefined && p.fireAt !== null && p.fireAt - injectAtMs > o.within) out.conflict = `its tier is predicted to fire ${formatDuration(p.fireAt - injectAtMs)} after inject, later than ${formatDuration(o.within)} before monitoring adds anything`;
  else if (p && !positive && p.fireAt !== null) out.conflict = `its tier is predicted to fire ${formatDuration(p.fireAt - injectAtMs)} after inject`;
  return out;
}

export function gameDayPlan(model: ScenarioModel, plan: ScenarioPlan, opts: { errorRatio?: number } = {}): GameDayPlan {
  const { spec, slo } = model;
  const scale = plan.timeScale;
  const evalIntervalMs = compressMs(60_000, scale);
  const policy = compressPolicy(slo.policy, scale);
  const tierAlertNames = Object.fromEntries(slo.policy.map((t) => [t.name, alertName(t.name)]));
  let offset = 0;
  const experiments = plan.experiments.map((x, i): PlannedExperimentTimeline => {
    const xs = spec.experiments[i];
    const assumed =
      opts.errorRatio !== undefined
        ? { ratio: opts.errorRatio, why: `given: ${opts.errorRatio} of requests fail during inject` }
        : combine(x.faults.map((f) => assumedErrorRatio(f, { ...(slo.sli.type !== 'availability' && slo.sli.latencyThresholdMs !== undefined ? { latencyThresholdMs: slo.sli.latencyThresholdMs } : {}), timeoutMs: spec.load.timeout })));
    const from = Math.min(spec.load.warmup, x.injectAtMs);
    let predictions: TierPrediction[] = [];
    if (assumed.ratio !== null) {
      predictions = predictTiers({
        policy,
        errorBudget: slo.errorBudget,
        periodMs: slo.periodMs / scale,
        segments: [
          { from, to: x.injectAtMs, ratePerSec: spec.load.rate, errorRatio: 0, label: 'baseline' },
          { from: x.injectAtMs, to: x.healAtMs, ratePerSec: spec.load.rate, errorRatio: assumed.ratio, label: 'inject' },
          { from: x.healAtMs, to: x.totalMs, ratePerSec: spec.load.rate, errorRatio: 0, label: 'recover' },
        ],
        sampleIntervalMs: evalIntervalMs,
        evalIntervalMs,
        evalFrom: from,
        evalTo: x.totalMs,
        faultAt: x.injectAtMs,
      });
    }
    const pred = (tier: string): TierPrediction | undefined => predictions.find((p) => p.tier === tier);
    const alerts = slo.policy.map((t) => plannedAlert(t, pred(t.name), xs?.expect.alerts[t.name], x.injectAtMs));
    const observed = (xs?.expect.observed ?? []).map((o) => plannedObserved(o, tierAlertNames, pred, x.injectAtMs));
    const timeline: PlannedExperimentTimeline = {
      name: x.name,
      startsAt: offset,
      phases: x.phases.map((ph) => ({ name: ph.name, from: ph.startMs, to: ph.endMs })),
      injectAt: x.injectAtMs,
      healAt: x.healAtMs,
      faults: x.faults.map((f) => ({ type: f.type, stream: f.stream ?? 'downstream', attributes: f.attributes ?? {}, toxicity: f.toxicity ?? 1 })),
      errorRatio: assumed,
      alerts,
      observed,
    };
    offset += x.totalMs;
    return timeline;
  });
  const mon = spec.monitoring;
  return {
    scenario: plan.name,
    timeScale: scale,
    slo: { name: slo.name, objective: slo.objective },
    totalMs: plan.totalMs,
    evalIntervalMs,
    loadRate: spec.load.rate,
    monitoring: {
      ...(mon?.prometheus ? { prometheus: mon.prometheus.url } : {}),
      ...(mon?.alertmanager?.url ? { alertmanager: mon.alertmanager.url } : {}),
      ...(mon?.alertmanager?.receiver ? { receiver: mon.alertmanager.receiver.listen } : {}),
    },
    experiments,
  };
}

/** The plan as text for the announcement: offsets as T+m:ss from the run start, real-equivalent in brackets. */
export function gameDayPlanText(p: GameDayPlan): string {
  const clock = (ms: number): string => {
    const s = Math.round(ms / 1000);
    return `T+${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  };
  const rel = (ms: number | null, from: number): string => (ms === null ? '—' : `${formatDuration(Math.max(0, ms - from))}${p.timeScale === 1 ? '' : ` (${formatDuration(Math.max(0, ms - from) * p.timeScale)} real-equivalent)`}`);
  const lines = [
    `${p.scenario}: ${p.experiments.length} experiment(s), about ${formatDuration(p.totalMs)} in all; SLO ${p.slo.name} ${p.slo.objective}%; timeScale ${p.timeScale} (rule evaluation every ${formatDuration(p.evalIntervalMs)}); load ${p.loadRate}/s`,
  ];
  const m = p.monitoring;
  if (m.prometheus || m.alertmanager || m.receiver) lines.push(`monitoring: ${[m.prometheus && `Prometheus ${m.prometheus}`, m.alertmanager && `Alertmanager ${m.alertmanager}`, m.receiver && `faultline receiver on ${m.receiver}`].filter(Boolean).join(', ')}`);
  for (const x of p.experiments) {
    lines.push('', `${x.name}`);
    for (const ph of x.phases) lines.push(`  ${clock(x.startsAt + ph.from)}  ${ph.name.padEnd(9)} ${formatDuration(ph.to - ph.from)}${ph.name === 'inject' ? `: ${x.faults.map((f) => `${f.type} ${f.stream} ${JSON.stringify(f.attributes)}${f.toxicity !== 1 ? ` toxicity ${f.toxicity}` : ''}`).join('; ') || 'nothing (healthy baseline)'}` : ''}`);
    lines.push(`  ${clock(x.startsAt + (x.phases.at(-1)?.to ?? 0))}  end`);
    lines.push(`  assumed error ratio during inject: ${x.errorRatio.ratio === null ? 'unknown' : `${(x.errorRatio.ratio * 100).toFixed(1)} %`} — ${x.errorRatio.why}`);
    if (x.errorRatio.ratio === null) {
      lines.push('  no alert prediction without an error ratio: faultline plan FILE --error-ratio R');
    } else {
      lines.push('  alert (faultline evaluator)      fires after inject                clears after heal                 expected');
      for (const a of x.alerts) {
        const fire = a.firingAtFault ? 'already firing' : rel(a.fireAt, x.injectAt);
        lines.push(`  ${`${a.tier} (${a.severity})`.padEnd(32)} ${fire.padEnd(33)} ${rel(a.clearAt, x.healAt).padEnd(33)} ${a.expected ?? ''}${a.conflict ? `  ⚠ ${a.conflict}` : ''}`);
      }
    }
    for (const o of x.observed) {
      const name = Object.entries(o.alert).map(([k, v]) => `${k}=${v}`).join(',');
      lines.push(`  observed in ${o.source === 'prometheus' ? 'Prometheus' : 'Alertmanager'}: {${name}} ${o.expectation}${o.conflict ? `  ⚠ ${o.conflict}` : ''}`);
      lines.push(
        o.tier === null
          ? '      no faultline tier maps to it (name a tier with `tier:`): no prediction'
          : `      evaluator (${o.tier}): fires ${rel(o.fireAt, x.injectAt)} after inject, clears ${rel(o.clearAt, x.healAt)} after heal; then ${o.adds}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
