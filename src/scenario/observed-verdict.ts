/**
 * `expect.observed` judged (pure): a verdict row per expectation, naming the stage that lost an
 * alert, and "where the time went" — one timeline per observed alert lining up inject, faultline's
 * own evaluator, Prometheus pending/firing/resolved, Alertmanager, the notifications and heal, with
 * disagreements between the evaluator and Prometheus beyond scrape + evaluation flagged.
 */
import { formatDuration } from '../shared/index.ts';
import type { ExperimentPlan } from './model.ts';
import type { ObservedExpectationSpec } from './monitoring-spec.ts';
import { matcherText, stageTimes, type Matchers, type Observation, type RuleInfo, type StageTimes } from './observed-alerts.ts';
import type { Verdict } from './verdict.ts';

/** What a run observed in the user's monitoring stack for one experiment. */
export interface ObservedReport {
  prometheusUrl?: string;
  alertmanagerUrl?: string;
  receiverUrl?: string;
  scrapeIntervalMs: number | null;
  rules: RuleInfo[] | null;
  /** Every transition and notification, `t` = ms since the experiment start. */
  observations: Array<Observation & { t: number }>;
  timelines: ObservedTimeline[];
  /** ms after the experiment's end that faultline kept watching. */
  watchedAfterEndMs: number;
}

export interface ObservedTimeline {
  alert: string;
  /** The evaluator tier compared with (null when none maps). */
  tier: string | null;
  injectAt: number;
  healAt: number;
  /** ms since the experiment start; null = not seen. */
  stages: Array<{ stage: string; fire: number | null; clear: number | null; note?: string }>;
  intervals: { scrapeMs: number | null; evalMs: number | null; forMs: number | null; pollMs: number; toleranceMs: number | null };
  /** "Where the time went", one line for detection and one for the clear. */
  breakdown: string[];
  disagreements: string[];
}

export interface ObservedContext {
  plan: ExperimentPlan;
  /** Epoch ms of the experiment start. */
  startedAt: number;
  observations: readonly Observation[];
  /** Alerting rules loaded in Prometheus (null: Prometheus not configured or its rules unreadable). */
  rules: RuleInfo[] | null;
  scrapeMs: number | null;
  pollMs: number;
  /** faultline's evaluator: per tier, [fire, clear | null] ms since the start. */
  intervals: Record<string, Array<[number, number | null]>>;
  /** Tier names of the SLO and the alertname each tier's rule has. */
  tierAlertNames: Record<string, string>;
  hasPrometheus: boolean;
  hasAlertmanagerApi: boolean;
  hasReceiver: boolean;
  timeScale: number;
}

const sec = (ms: number): string => `${(ms / 1000).toFixed(2)}s`;
const fmt = (ms: number): string => `${ms / 1000}s`;

/** The evaluator tier an observed alert is compared with. */
export function tierFor(e: ObservedExpectationSpec, tierAlertNames: Record<string, string>): string | null {
  if (e.tier !== undefined) return tierAlertNames[e.tier] !== undefined ? e.tier : null;
  const t = e.alert.tier;
  if (t !== undefined && tierAlertNames[t] !== undefined) return t;
  const name = e.alert.alertname;
  return Object.entries(tierAlertNames).find(([, a]) => a === name)?.[0] ?? null;
}

function ruleFor(m: Matchers, rules: RuleInfo[] | null): RuleInfo | undefined {
  const name = m.alertname;
  if (!rules || name === undefined || /^(=~|!=|!~)/.test(name)) return undefined;
  return rules.find((r) => r.name === name);
}

function pollErrors(obs: readonly Observation[], target: 'prometheus' | 'alertmanager'): string | null {
  const errs = obs.filter((o): o is Extract<Observation, { source: 'poll-error' }> => o.source === 'poll-error' && o.target === target);
  const ok = obs.some((o) => o.source === 'poll-recovered' && o.target === target);
  return errs.length > 0 && !ok ? (errs[0] as { error: string }).error : null;
}

/** Why Prometheus never fired the alert, naming the stage. */
function lostAtPrometheus(ctx: ObservedContext, m: Matchers, times: StageTimes): string {
  const err = pollErrors(ctx.observations, 'prometheus');
  if (err) return `Prometheus stage: /api/v1/alerts unreachable (${err})`;
  const rule = ruleFor(m, ctx.rules);
  if (ctx.rules && m.alertname !== undefined && !/^(=~|!=|!~)/.test(m.alertname) && !rule) return `Prometheus stage: no alerting rule named ${m.alertname} is loaded (check rule_files)`;
  if (rule && rule.health !== 'ok' && rule.health !== 'unknown') return `Prometheus stage: rule ${rule.name} is ${rule.health}${rule.lastError ? `: ${rule.lastError}` : ''}`;
  if (times.prometheus.pendingEpisodes > 0) return `Prometheus stage: pending ${times.prometheus.pendingEpisodes}× but never firing (for: ${rule ? formatDuration(rule.forMs) : '?'} not reached)`;
  const expr = rule ? `: ${rule.query.replace(/\s+/g, ' ').slice(0, 160)}` : '';
  return `Prometheus stage: the rule${rule ? ` ${rule.name} (group ${rule.group})` : ''} never went pending or firing — its expression stayed false${expr}`;
}

/** What judging one observed expectation needs: its context, stage times and wording helpers. */
interface Judging<E extends ObservedExpectationSpec> {
  ctx: ObservedContext;
  e: E;
  times: StageTimes;
  /** A stage time relative to the experiment's start (null: never). */
  rel: (at: number | null) => number | null;
  alert: string;
  base: (suffix: string, title: string) => Pick<Verdict, 'id' | 'experiment' | 'title'>;
  before: string;
}

function judgeOne(ctx: ObservedContext, e: ObservedExpectationSpec, i: number, times: StageTimes): Verdict[] {
  const { plan, startedAt } = ctx;
  const common = {
    ctx,
    times,
    rel: (at: number | null): number | null => (at === null ? null : at - startedAt),
    alert: matcherText(e.alert),
    base: (suffix: string, title: string): Pick<Verdict, 'id' | 'experiment' | 'title'> => ({ id: `${plan.name}/observed/${i}/${suffix}`, experiment: plan.name, title }),
    before: times.activeBefore ? ' (already active before the experiment started)' : '',
  };
  return e.source === 'prometheus' ? judgeAtPrometheus({ ...common, e }) : judgeAtAlertmanager({ ...common, e });
}

/** A Prometheus expectation: fires (within) and resolves (within), or stays quiet. */
function judgeAtPrometheus(j: Judging<Extract<ObservedExpectationSpec, { source: 'prometheus' }>>): Verdict[] {
  const { ctx, e, times, rel, alert, base, before } = j;
  const { plan } = ctx;
  const firing = rel(times.prometheus.firingAt);
  const pending = rel(times.prometheus.pendingAt);
  if (!e.fires) {
    const pend = times.prometheus.pendingEpisodes > 0 ? ` (pending ${times.prometheus.pendingEpisodes}×, first at ${sec((pending ?? 0) - plan.injectAtMs)} from inject)` : '';
    return [
      {
        ...base('quiet', `Prometheus: ${alert} never fires`),
        passed: firing === null && !times.activeBefore,
        expected: 'never firing in Prometheus',
        observed: firing === null ? `never firing${pend}${before}` : `firing ${sec(firing - plan.injectAtMs)} from inject${before}`,
      },
    ];
  }
  const out: Verdict[] = [];
  const expectedFire = e.within !== undefined ? `firing ≤ ${fmt(e.within)} after inject` : 'firing during the experiment';
  if (firing === null) {
    out.push({ ...base('fires', `Prometheus: ${alert} fires${e.within !== undefined ? ` within ${fmt(e.within)} of inject start` : ''}`), passed: false, expected: expectedFire, observed: `never fired — lost at the ${lostAtPrometheus(ctx, e.alert, times)}` });
  } else {
    const dt = firing - plan.injectAtMs;
    const pend = pending !== null && pending < firing ? ` (pending at ${sec(pending - plan.injectAtMs)})` : '';
    out.push({
      ...base('fires', `Prometheus: ${alert} fires${e.within !== undefined ? ` within ${fmt(e.within)} of inject start` : ''}`),
      passed: dt >= 0 && (e.within === undefined || dt <= e.within) && !times.activeBefore,
      expected: expectedFire,
      observed: dt < 0 ? `firing ${sec(-dt)} before inject${before}` : `firing after ${sec(dt)}${pend}${before}`,
    });
  }
  if (e.clearsWithin !== undefined || firing !== null) {
    const resolved = rel(times.prometheus.resolvedAt);
    const expected = e.clearsWithin !== undefined ? `resolved ≤ ${fmt(e.clearsWithin)} after heal` : 'resolved before the end';
    const title = `Prometheus: ${alert} resolves${e.clearsWithin !== undefined ? ` within ${fmt(e.clearsWithin)} of heal` : ''}`;
    if (firing === null) out.push({ ...base('clears', title), passed: false, expected, observed: 'never fired, so never resolved' });
    else if (resolved === null) out.push({ ...base('clears', title), passed: false, expected, observed: 'still active in Prometheus when faultline stopped watching' });
    else {
      const dt = resolved - plan.healAtMs;
      out.push({ ...base('clears', title), passed: e.clearsWithin === undefined || dt <= e.clearsWithin, expected, observed: dt < 0 ? `resolved ${sec(-dt)} before heal` : `resolved after ${sec(dt)}` });
    }
  }
  return out;
}

/** An Alertmanager expectation: faultline's receiver gets the firing (and resolved) notification, or none. */
function judgeAtAlertmanager(j: Judging<Exclude<ObservedExpectationSpec, { source: 'prometheus' }>>): Verdict[] {
  const { ctx, e, times, rel, alert, base } = j;
  const { plan } = ctx;
  const fired = rel(times.notified.firingAt);
  const to = times.notified.receivers.length > 0 ? ` (receiver ${times.notified.receivers.join(', ')})` : '';
  if (!e.notifies) {
    return [
      {
        ...base('quiet', `Alertmanager: ${alert} sends no notification`),
        passed: fired === null,
        expected: 'no firing notification at faultline\u2019s receiver',
        observed: fired === null ? 'none received' : `firing notification ${sec(fired - plan.injectAtMs)} from inject${to}`,
      },
    ];
  }
  const out: Verdict[] = [];
  const title = `Alertmanager: ${alert} notifies faultline's receiver${e.within !== undefined ? ` within ${fmt(e.within)} of inject start` : ''}`;
  const expected = e.within !== undefined ? `firing notification ≤ ${fmt(e.within)} after inject` : 'a firing notification during the experiment';
  if (fired === null) out.push({ ...base('notifies', title), passed: false, expected, observed: `never notified — ${lostBeforeReceiver(ctx, e.alert, times)}` });
  else {
    const dt = fired - plan.injectAtMs;
    out.push({ ...base('notifies', title), passed: dt >= 0 && (e.within === undefined || dt <= e.within), expected, observed: `${dt < 0 ? `notified ${sec(-dt)} before inject` : `notified after ${sec(dt)}`}${to}` });
  }
  if (e.resolvedWithin !== undefined || fired !== null) {
    const resolved = rel(times.notified.resolvedAt);
    const rtitle = `Alertmanager: ${alert} sends the resolved notification${e.resolvedWithin !== undefined ? ` within ${fmt(e.resolvedWithin)} of heal` : ''}`;
    const rexp = e.resolvedWithin !== undefined ? `resolved notification ≤ ${fmt(e.resolvedWithin)} after heal` : 'a resolved notification before the end';
    if (fired === null) out.push({ ...base('resolved', rtitle), passed: false, expected: rexp, observed: 'never notified firing, so no resolved notification' });
    else if (resolved === null) {
      const promResolved = rel(times.prometheus.resolvedAt);
      const why = promResolved !== null ? ` (Prometheus resolved it ${sec(promResolved - plan.healAtMs)} after heal: lost at the Alertmanager stage — is send_resolved set?)` : '';
      out.push({ ...base('resolved', rtitle), passed: false, expected: rexp, observed: `no resolved notification when faultline stopped watching${why}` });
    } else {
      const dt = resolved - plan.healAtMs;
      out.push({ ...base('resolved', rtitle), passed: e.resolvedWithin === undefined || dt <= e.resolvedWithin, expected: rexp, observed: dt < 0 ? `resolved notification ${sec(-dt)} before heal` : `resolved notification after ${sec(dt)}` });
    }
  }
  return out;
}

/** Why no notification reached faultline's receiver, naming the stage that lost it. */
function lostBeforeReceiver(ctx: ObservedContext, m: Matchers, times: StageTimes): string {
  const fromInject = (at: number): string => `${sec(at - ctx.startedAt - ctx.plan.injectAtMs)} from inject`;
  if (!ctx.hasReceiver) return 'no receiver configured (monitoring.alertmanager.receiver)';
  if (ctx.hasPrometheus && times.prometheus.firingAt === null) return `lost at the ${lostAtPrometheus(ctx, m, times)}`;
  const fired = times.prometheus.firingAt !== null ? `Prometheus fired it ${fromInject(times.prometheus.firingAt)}, but ` : '';
  if (ctx.hasAlertmanagerApi) {
    const amErr = pollErrors(ctx.observations, 'alertmanager');
    if (amErr) return `lost at the Alertmanager stage: ${fired}its API was unreachable (${amErr})`;
    if (times.alertmanagerApi.activeAt === null) return `lost between Prometheus and Alertmanager: ${fired}Alertmanager's API never showed it (check alerting.alertmanagers in Prometheus)`;
    return `lost at the Alertmanager stage: ${fired}Alertmanager had it ${fromInject(times.alertmanagerApi.activeAt)} and routed it to ${times.alertmanagerApi.receivers.join(', ') || 'no receiver'}; nothing reached faultline's receiver (check the route)`;
  }
  return `lost at the Alertmanager stage: ${fired}no notification reached faultline's receiver (check the route and receiver)`;
}

function firstEpisode(iv: Array<[number, number | null]> | undefined, injectAt: number): [number, number | null] | null {
  if (!iv || iv.length === 0) return null;
  return iv.find(([a]) => a >= injectAt) ?? iv[0] ?? null;
}

function timelineFor(ctx: ObservedContext, m: Matchers, tier: string | null, times: StageTimes): ObservedTimeline {
  const { plan, startedAt } = ctx;
  const rel = (at: number | null): number | null => (at === null ? null : at - startedAt);
  const rule = ruleFor(m, ctx.rules);
  const evalMs = rule?.intervalMs ?? null;
  const tolerance = ctx.scrapeMs !== null && evalMs !== null ? ctx.scrapeMs + evalMs : null;
  const ep = tier ? firstEpisode(ctx.intervals[tier], plan.injectAtMs) : null;
  const stages: ObservedTimeline['stages'] = [];
  if (tier) stages.push({ stage: `faultline evaluator (${tier})`, fire: ep ? ep[0] : null, clear: ep ? ep[1] : null });
  if (ctx.hasPrometheus) {
    stages.push({ stage: 'Prometheus pending', fire: rel(times.prometheus.pendingAt), clear: null, ...(times.prometheus.pendingAt === null ? { note: 'not seen pending (for: 0 fires at once)' } : {}) });
    stages.push({ stage: 'Prometheus firing', fire: rel(times.prometheus.firingAt), clear: rel(times.prometheus.resolvedAt) });
  }
  if (ctx.hasAlertmanagerApi) stages.push({ stage: 'Alertmanager API', fire: rel(times.alertmanagerApi.activeAt), clear: rel(times.alertmanagerApi.goneAt), ...(times.alertmanagerApi.receivers.length ? { note: `receivers ${times.alertmanagerApi.receivers.join(', ')}` } : {}) });
  if (ctx.hasReceiver) stages.push({ stage: 'Alertmanager notification', fire: rel(times.notified.firingAt), clear: rel(times.notified.resolvedAt), ...(times.notified.receivers.length ? { note: `receiver ${times.notified.receivers.join(', ')}` } : {}) });

  const step = (label: string, from: number | null, to: number | null, why: string): string | null => (from === null || to === null ? null : `${label} +${sec(to - from)}${why ? ` (${why})` : ''}`);
  const promFire = rel(times.prometheus.firingAt);
  const promPend = rel(times.prometheus.pendingAt);
  const detect = [
    step('evaluator', plan.injectAtMs, ep ? ep[0] : null, 'same SLO, same load'),
    step('Prometheus pending', plan.injectAtMs, promPend, `scrape ${ctx.scrapeMs !== null ? formatDuration(ctx.scrapeMs) : '?'} + evaluation ${evalMs !== null ? formatDuration(evalMs) : '?'}`),
    step('firing', promPend ?? plan.injectAtMs, promFire, `for: ${rule ? formatDuration(rule.forMs) : '?'}`),
    step('notified', promFire ?? plan.injectAtMs, rel(times.notified.firingAt), 'group_wait + webhook'),
  ].filter((s): s is string => s !== null);
  const promRes = rel(times.prometheus.resolvedAt);
  const clear = [
    step('evaluator cleared', plan.healAtMs, ep ? ep[1] : null, 'short window empties'),
    step('Prometheus resolved', plan.healAtMs, promRes, `seen by polling every ${formatDuration(ctx.pollMs)}`),
    step('resolved notification', promRes ?? plan.healAtMs, rel(times.notified.resolvedAt), 'group_interval + webhook'),
  ].filter((s): s is string => s !== null);
  const breakdown = [`inject → ${detect.length ? detect.join(' → ') : 'nothing observed'}`, `heal → ${clear.length ? clear.join(' → ') : 'nothing observed'}`];

  const disagreements: string[] = [];
  if (tier && ctx.hasPrometheus) {
    if (ep && promFire === null) disagreements.push(`faultline's evaluator fired ${tier} ${sec(ep[0] - plan.injectAtMs)} after inject; Prometheus never fired ${matcherText(m)}`);
    if (!ep && promFire !== null) disagreements.push(`Prometheus fired ${matcherText(m)} ${sec(promFire - plan.injectAtMs)} after inject; faultline's evaluator never fired ${tier}`);
    if (ep && promFire !== null && tolerance !== null && Math.abs(promFire - ep[0]) > tolerance) {
      disagreements.push(`fire: Prometheus ${sec(promFire - ep[0])} from the evaluator, beyond scrape + evaluation (${formatDuration(tolerance)})`);
    }
    const clearTol = tolerance === null ? null : tolerance + ctx.pollMs;
    if (ep && ep[1] !== null && promRes !== null && clearTol !== null && Math.abs(promRes - ep[1]) > clearTol) {
      disagreements.push(`clear: Prometheus ${sec(promRes - ep[1])} from the evaluator, beyond scrape + evaluation + poll (${formatDuration(clearTol)})`);
    }
  }
  return {
    alert: matcherText(m),
    tier,
    injectAt: plan.injectAtMs,
    healAt: plan.healAtMs,
    stages,
    intervals: { scrapeMs: ctx.scrapeMs, evalMs, forMs: rule?.forMs ?? null, pollMs: ctx.pollMs, toleranceMs: tolerance },
    breakdown,
    disagreements,
  };
}

export interface ObservedJudgement {
  verdicts: Verdict[];
  timelines: ObservedTimeline[];
}

export function judgeObserved(ctx: ObservedContext, expectations: readonly ObservedExpectationSpec[]): ObservedJudgement {
  const verdicts: Verdict[] = [];
  const timelines = new Map<string, ObservedTimeline>();
  expectations.forEach((e, i) => {
    const rule = ruleFor(e.alert, ctx.rules);
    const times = stageTimes(ctx.observations, e.alert, ctx.startedAt, rule);
    verdicts.push(...judgeOne(ctx, e, i, times));
    const key = matcherText(e.alert);
    if (!timelines.has(key)) timelines.set(key, timelineFor(ctx, e.alert, tierFor(e, ctx.tierAlertNames), times));
  });
  return { verdicts, timelines: [...timelines.values()] };
}

/** Has every positive expectation seen what it waits for (so watching can stop early)? */
export function observedSettled(ctx: Pick<ObservedContext, 'observations' | 'startedAt' | 'rules'>, expectations: readonly ObservedExpectationSpec[]): boolean {
  return expectations.every((e) => {
    const t = stageTimes(ctx.observations, e.alert, ctx.startedAt, ruleFor(e.alert, ctx.rules));
    if (e.source === 'prometheus') return !e.fires || (t.prometheus.firingAt !== null && t.prometheus.resolvedAt !== null);
    return !e.notifies || (t.notified.firingAt !== null && t.notified.resolvedAt !== null);
  });
}

/** The latest deadline (ms since the experiment start) an expectation still waits for. */
export function observedDeadline(plan: ExperimentPlan, expectations: readonly ObservedExpectationSpec[]): number {
  let d = plan.totalMs;
  for (const e of expectations) {
    if (e.within !== undefined) d = Math.max(d, plan.injectAtMs + e.within);
    const clear = e.source === 'prometheus' ? e.clearsWithin : e.resolvedWithin;
    if (clear !== undefined) d = Math.max(d, plan.healAtMs + clear);
  }
  return d;
}
