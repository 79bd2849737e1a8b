/**
 * Real monitoring during a run (IO shell): faultline's Alertmanager webhook receiver for the whole
 * run, and per experiment a watch that polls Prometheus' /api/v1/alerts (pending vs firing) and,
 * when configured, Alertmanager's /api/v2/alerts, recording every transition and notification.
 * After the experiment the watch keeps looking until each `expect.observed` row has seen what it
 * waits for or its deadline passed, then judges them (observed-verdict.ts).
 */
import { parse } from 'yaml';
import { assertAllowed, errorMessage, parseDuration, sleep, type NetworkPolicy } from '../shared/index.ts';
import { alertName } from '../slo/index.ts';
import type { ExperimentPlan, ScenarioModel } from './model.ts';
import type { MonitoringSpec, ObservedExpectationSpec } from './monitoring-spec.ts';
import { startAlertReceiver, type AlertReceiver } from './alert-receiver.ts';
import { listenNamed } from './listen-error.ts';
import { AlertmanagerAlertTracker, PrometheusAlertTracker, type AmAlert, type Observation, type PromAlert, type RuleInfo } from './observed-alerts.ts';
import { judgeObserved, observedDeadline, observedSettled, type ObservedReport } from './observed-verdict.ts';
import type { ExperimentResult, RunEvents } from './events.ts';

/** What the journal keeps about an experiment's observed alerts. */
const FETCH_TIMEOUT_MS = 2000;

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

const base = (url: string): string => url.replace(/\/+$/, '');

/** Alerting rules as Prometheus has them loaded (name, group interval, for:, health). */
export async function fetchPrometheusRules(url: string): Promise<RuleInfo[]> {
  const body = (await getJson(`${base(url)}/api/v1/rules?type=alert`)) as {
    data?: { groups?: Array<{ name: string; interval?: number; rules?: Array<{ type?: string; name: string; query?: string; duration?: number; health?: string; lastError?: string }> }> };
  };
  const out: RuleInfo[] = [];
  for (const g of body.data?.groups ?? []) {
    for (const r of g.rules ?? []) {
      if (r.type !== undefined && r.type !== 'alerting') continue;
      out.push({
        name: r.name,
        group: g.name,
        intervalMs: Math.round((g.interval ?? 60) * 1000),
        forMs: Math.round((r.duration ?? 0) * 1000),
        query: r.query ?? '',
        health: r.health ?? 'unknown',
        ...(r.lastError ? { lastError: r.lastError } : {}),
      });
    }
  }
  return out;
}

/** The largest scrape interval in Prometheus' own config (global default 1m). */
export async function fetchScrapeInterval(url: string): Promise<number> {
  const body = (await getJson(`${base(url)}/api/v1/status/config`)) as { data?: { yaml?: string } };
  const cfg = (parse(body.data?.yaml ?? '') ?? {}) as { global?: { scrape_interval?: string }; scrape_configs?: Array<{ scrape_interval?: string }> };
  const global = cfg.global?.scrape_interval ? parseDuration(cfg.global.scrape_interval) : 60_000;
  const jobs = (cfg.scrape_configs ?? []).map((j) => (j.scrape_interval ? parseDuration(j.scrape_interval) : global));
  return jobs.length > 0 ? Math.max(...jobs) : global;
}

function checkUrl(url: string, field: string, policy: NetworkPolicy): void {
  assertAllowed(new URL(url).hostname, 'monitoring URL host', field, policy);
}

/** One experiment's watch; `finish` keeps watching until settled or the deadline, then judges. */
export interface ExperimentWatch {
  finish(result: ExperimentResult, signal: AbortSignal): Promise<ExperimentResult>;
}

export interface MonitoringSession {
  readonly receiverUrl: string | undefined;
  watch(x: ExperimentPlan, expectations: readonly ObservedExpectationSpec[]): ExperimentWatch;
  close(): Promise<void>;
}

/** Runs `fn` every `intervalMs` (start to start) until `signal` aborts. */
async function pollEvery(intervalMs: number, signal: AbortSignal, fn: () => Promise<void>): Promise<void> {
  while (!signal.aborted) {
    const t0 = Date.now();
    await fn();
    const wait = Math.max(0, intervalMs - (Date.now() - t0));
    await sleep(wait, signal);
  }
}

type PollTarget = 'prometheus' | 'alertmanager';

/** Wraps a poll so the first failure in a row is recorded (poll-error), and so is the recovery after failures (poll-recovered). */
function failureRecorder(record: (o: Observation) => void): (target: PollTarget, fn: () => Promise<void>) => Promise<void> {
  const failures = { prometheus: 0, alertmanager: 0 };
  return async (target, fn) => {
    try {
      await fn();
      if (failures[target] > 0) record({ source: 'poll-recovered', at: Date.now(), target, failures: failures[target] });
      failures[target] = 0;
    } catch (e) {
      if (failures[target]++ === 0) record({ source: 'poll-error', at: Date.now(), target, error: errorMessage(e) });
    }
  };
}

/** One experiment's poll loops: Prometheus' /api/v1/alerts and Alertmanager's /api/v2/alerts, as configured. */
function startPolling(spec: MonitoringSpec, signal: AbortSignal, record: (o: Observation) => void): Array<Promise<void>> {
  const polled = failureRecorder(record);
  const loops: Array<Promise<void>> = [];
  const prom = spec.prometheus;
  if (prom) {
    const tracker = new PrometheusAlertTracker();
    loops.push(
      pollEvery(prom.pollInterval, signal, () =>
        polled('prometheus', async () => {
          const body = (await getJson(`${base(prom.url)}/api/v1/alerts`)) as { data?: { alerts?: PromAlert[] } };
          for (const o of tracker.update(Date.now(), body.data?.alerts ?? [])) record(o);
        }),
      ),
    );
  }
  const am = spec.alertmanager;
  if (am?.url) {
    const amUrl = am.url;
    const tracker = new AlertmanagerAlertTracker();
    loops.push(
      pollEvery(am.pollInterval, signal, () =>
        polled('alertmanager', async () => {
          const body = (await getJson(`${base(amUrl)}/api/v2/alerts`)) as AmAlert[];
          for (const o of tracker.update(Date.now(), Array.isArray(body) ? body : [])) record(o);
        }),
      ),
    );
  }
  return loops;
}

/** What finishing one experiment's watch needs: its plan and rows, what was observed, and how to stop the polling. */
interface WatchState {
  plan: ExperimentPlan;
  expectations: readonly ObservedExpectationSpec[];
  spec: MonitoringSpec;
  receiverUrl: string | undefined;
  tierAlertNames: Record<string, string>;
  events: RunEvents;
  observations: Observation[];
  rules: Promise<RuleInfo[] | null>;
  scrape: Promise<number | null>;
  /** Ends the poll loops (awaited) and stops recording webhook notifications. */
  stopWatching(): Promise<void>;
}

/** Keeps watching until every row has seen what it waits for or its deadline passed, then judges and reports. */
async function finishWatch(w: WatchState, result: ExperimentResult, signal: AbortSignal): Promise<ExperimentResult> {
  const { plan: x, expectations, observations, spec } = w;
  const prom = spec.prometheus;
  const am = spec.alertmanager;
  const endedAt = Date.now();
  const loaded = await w.rules;
  const deadline = result.startedAt + observedDeadline(x, expectations);
  while (!signal.aborted && Date.now() < deadline && !observedSettled({ observations, startedAt: result.startedAt, rules: loaded }, expectations)) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await w.stopWatching();
  // Rules once more: a rule's health and last error after the experiment say the most.
  const finalRules = prom ? ((await fetchPrometheusRules(prom.url).catch(() => null)) ?? loaded) : null;
  const scrapeMs = await w.scrape;
  const judged = judgeObserved(
    {
      plan: x,
      startedAt: result.startedAt,
      observations,
      rules: finalRules,
      scrapeMs,
      pollMs: prom?.pollInterval ?? am?.pollInterval ?? 250,
      intervals: result.slo.intervals,
      tierAlertNames: w.tierAlertNames,
      hasPrometheus: prom !== undefined,
      hasAlertmanagerApi: am?.url !== undefined,
      hasReceiver: w.receiverUrl !== undefined,
      timeScale: result.slo.timeScale,
    },
    expectations,
  );
  const observed: ObservedReport = {
    ...(prom ? { prometheusUrl: prom.url } : {}),
    ...(am?.url ? { alertmanagerUrl: am.url } : {}),
    ...(w.receiverUrl !== undefined ? { receiverUrl: w.receiverUrl } : {}),
    scrapeIntervalMs: scrapeMs,
    rules: finalRules,
    observations: observations.map((o) => ({ ...o, t: o.at - result.startedAt })),
    timelines: judged.timelines,
    watchedAfterEndMs: Math.max(0, Date.now() - endedAt),
  };
  w.events.emit({ type: 'observed-end', experiment: x.name, verdicts: judged.verdicts, passed: judged.verdicts.every((v) => v.passed), watchedAfterEndMs: observed.watchedAfterEndMs });
  const verdicts = [...result.verdicts, ...judged.verdicts];
  return { ...result, verdicts, observed, passed: result.passed && judged.verdicts.every((v) => v.passed) };
}

export async function startMonitoring(model: ScenarioModel, events: RunEvents): Promise<MonitoringSession | undefined> {
  const spec: MonitoringSpec | undefined = model.spec.monitoring;
  if (!spec) return undefined;
  // Validation checked these already; checked again here because a model can be built in code.
  if (spec.prometheus) checkUrl(spec.prometheus.url, 'monitoring.prometheus.url', model.network);
  if (spec.alertmanager?.url) checkUrl(spec.alertmanager.url, 'monitoring.alertmanager.url', model.network);
  const receiverListen = spec.alertmanager?.receiver?.listen;
  const receiver: AlertReceiver | undefined =
    receiverListen !== undefined ? await listenNamed(model, ['monitoring', 'alertmanager', 'receiver', 'listen'], receiverListen, () => startAlertReceiver(receiverListen, model.network)) : undefined;
  const tierAlertNames = Object.fromEntries(model.slo.policy.map((t) => [t.name, alertName(t.name)]));
  let sink: ((o: Observation) => void) | undefined;
  receiver?.onNotification((n) => sink?.({ source: 'alertmanager-webhook', at: n.receivedAt, notification: n }));

  return {
    receiverUrl: receiver?.url,
    watch(x, expectations) {
      const observations: Observation[] = [];
      const record = (o: Observation): void => {
        observations.push(o);
        events.emit({ type: 'observation', experiment: x.name, observation: o });
      };
      sink = record;
      const stop = new AbortController();
      const prom = spec.prometheus;
      const rules: Promise<RuleInfo[] | null> = prom ? fetchPrometheusRules(prom.url).catch(() => null) : Promise.resolve(null);
      const scrape: Promise<number | null> = !prom ? Promise.resolve(null) : prom.scrapeInterval !== undefined ? Promise.resolve(prom.scrapeInterval) : fetchScrapeInterval(prom.url).catch(() => null);
      const loops = startPolling(spec, stop.signal, record);
      const stopWatching = async (): Promise<void> => {
        stop.abort();
        await Promise.all(loops);
        sink = undefined;
      };
      const state: WatchState = { plan: x, expectations, spec, receiverUrl: receiver?.url, tierAlertNames, events, observations, rules, scrape, stopWatching };
      return { finish: (result, signal) => finishWatch(state, result, signal) };
    },
    async close() {
      sink = undefined;
      await receiver?.close();
    },
  };
}
