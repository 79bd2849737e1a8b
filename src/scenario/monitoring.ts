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

export async function startMonitoring(model: ScenarioModel, events: RunEvents): Promise<MonitoringSession | undefined> {
  const spec: MonitoringSpec | undefined = model.spec.monitoring;
  if (!spec) return undefined;
  // Validation checked these already; checked again here because a model can be built in code.
  if (spec.prometheus) checkUrl(spec.prometheus.url, 'monitoring.prometheus.url', model.network);
  if (spec.alertmanager?.url) checkUrl(spec.alertmanager.url, 'monitoring.alertmanager.url', model.network);
  const receiver: AlertReceiver | undefined = spec.alertmanager?.receiver ? await startAlertReceiver(spec.alertmanager.receiver.listen, model.network) : undefined;
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
      const promTracker = new PrometheusAlertTracker();
      const amTracker = new AlertmanagerAlertTracker();
      const failures = { prometheus: 0, alertmanager: 0 };
      const polled = async (target: 'prometheus' | 'alertmanager', fn: () => Promise<void>): Promise<void> => {
        try {
          await fn();
          if (failures[target] > 0) record({ source: 'poll-recovered', at: Date.now(), target, failures: failures[target] });
          failures[target] = 0;
        } catch (e) {
          if (failures[target]++ === 0) record({ source: 'poll-error', at: Date.now(), target, error: errorMessage(e) });
        }
      };
      const loop = async (intervalMs: number, fn: () => Promise<void>): Promise<void> => {
        while (!stop.signal.aborted) {
          const t0 = Date.now();
          await fn();
          const wait = Math.max(0, intervalMs - (Date.now() - t0));
          await sleep(wait, stop.signal);
        }
      };
      const loops: Array<Promise<void>> = [];
      const prom = spec.prometheus;
      let rules: Promise<RuleInfo[] | null> = Promise.resolve(null);
      let scrape: Promise<number | null> = Promise.resolve(null);
      if (prom) {
        rules = fetchPrometheusRules(prom.url).catch(() => null);
        scrape = prom.scrapeInterval !== undefined ? Promise.resolve(prom.scrapeInterval) : fetchScrapeInterval(prom.url).catch(() => null);
        loops.push(
          loop(prom.pollInterval, () =>
            polled('prometheus', async () => {
              const body = (await getJson(`${base(prom.url)}/api/v1/alerts`)) as { data?: { alerts?: PromAlert[] } };
              for (const o of promTracker.update(Date.now(), body.data?.alerts ?? [])) record(o);
            }),
          ),
        );
      }
      const am = spec.alertmanager;
      if (am?.url) {
        const amUrl = am.url;
        loops.push(
          loop(am.pollInterval, () =>
            polled('alertmanager', async () => {
              const body = (await getJson(`${base(amUrl)}/api/v2/alerts`)) as AmAlert[];
              for (const o of amTracker.update(Date.now(), Array.isArray(body) ? body : [])) record(o);
            }),
          ),
        );
      }

      return {
        async finish(result, signal) {
          const endedAt = Date.now();
          const loaded = await rules;
          const deadline = result.startedAt + observedDeadline(x, expectations);
          while (!signal.aborted && Date.now() < deadline && !observedSettled({ observations, startedAt: result.startedAt, rules: loaded }, expectations)) {
            await new Promise((r) => setTimeout(r, 100));
          }
          stop.abort();
          await Promise.all(loops);
          sink = undefined;
          // Rules once more: a rule's health and last error after the experiment say the most.
          const finalRules = prom ? ((await fetchPrometheusRules(prom.url).catch(() => null)) ?? loaded) : null;
          const scrapeMs = await scrape;
          const judged = judgeObserved(
            {
              plan: x,
              startedAt: result.startedAt,
              observations,
              rules: finalRules,
              scrapeMs,
              pollMs: prom?.pollInterval ?? am?.pollInterval ?? 250,
              intervals: result.slo.intervals,
              tierAlertNames,
              hasPrometheus: prom !== undefined,
              hasAlertmanagerApi: am?.url !== undefined,
              hasReceiver: receiver !== undefined,
              timeScale: result.slo.timeScale,
            },
            expectations,
          );
          const observed: ObservedReport = {
            ...(prom ? { prometheusUrl: prom.url } : {}),
            ...(am?.url ? { alertmanagerUrl: am.url } : {}),
            ...(receiver ? { receiverUrl: receiver.url } : {}),
            scrapeIntervalMs: scrapeMs,
            rules: finalRules,
            observations: observations.map((o) => ({ ...o, t: o.at - result.startedAt })),
            timelines: judged.timelines,
            watchedAfterEndMs: Math.max(0, Date.now() - endedAt),
          };
          events.emit({ type: 'observed-end', experiment: x.name, verdicts: judged.verdicts, passed: judged.verdicts.every((v) => v.passed), watchedAfterEndMs: observed.watchedAfterEndMs });
          const verdicts = [...result.verdicts, ...judged.verdicts];
          return { ...result, verdicts, observed, passed: result.passed && judged.verdicts.every((v) => v.passed) };
        },
      };
    },
    async close() {
      sink = undefined;
      await receiver?.close();
    },
  };
}
