/**
 * Alerts observed in real monitoring (pure): label matching, the observation records the journal
 * keeps, trackers that turn polled snapshots into transitions, and the stage times of one alert
 * (Prometheus pending/firing/resolved, Alertmanager API, notifications at faultline's receiver).
 */
import type { Notification } from './alert-receiver.ts';

export type Matchers = Record<string, string>;

/** `value` = equality; `=~re`, `!=value`, `!~re` as in PromQL (regexes are fully anchored). */
export function matchesLabels(matchers: Matchers, labels: Record<string, string>): boolean {
  return Object.entries(matchers).every(([name, spec]) => {
    const v = labels[name] ?? '';
    if (spec.startsWith('=~')) return new RegExp(`^(?:${spec.slice(2)})$`).test(v);
    if (spec.startsWith('!~')) return !new RegExp(`^(?:${spec.slice(2)})$`).test(v);
    if (spec.startsWith('!=')) return v !== spec.slice(2);
    return v === spec;
  });
}

export function matcherText(m: Matchers): string {
  return `{${Object.entries(m)
    .map(([k, v]) => (v.startsWith('=~') || v.startsWith('!=') || v.startsWith('!~') ? `${k}${v.slice(0, 2)}"${v.slice(2)}"` : `${k}="${v}"`))
    .join(', ')}}`;
}

/** One thing faultline saw in the monitoring stack; `at` is epoch ms. */
export type Observation =
  | { source: 'prometheus'; at: number; kind: 'pending' | 'firing' | 'resolved'; labels: Record<string, string>; activeAt?: number; value?: string }
  | { source: 'alertmanager-api'; at: number; kind: 'active' | 'suppressed' | 'unprocessed' | 'gone'; labels: Record<string, string>; receivers: string[]; startsAt?: string; fingerprint: string }
  | { source: 'alertmanager-webhook'; at: number; notification: Notification }
  | { source: 'poll-error'; at: number; target: 'prometheus' | 'alertmanager'; error: string }
  | { source: 'poll-recovered'; at: number; target: 'prometheus' | 'alertmanager'; failures: number };

const keyOf = (labels: Record<string, string>): string =>
  JSON.stringify(
    Object.entries(labels)
      .filter(([k]) => k !== 'alertstate')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );

export interface PromAlert {
  labels: Record<string, string>;
  state: string;
  activeAt?: string;
  value?: string;
}

/** Turns successive /api/v1/alerts snapshots into pending/firing/resolved transitions. */
export class PrometheusAlertTracker {
  private readonly state = new Map<string, { state: 'pending' | 'firing'; labels: Record<string, string> }>();

  update(at: number, alerts: PromAlert[]): Observation[] {
    const out: Observation[] = [];
    const seen = new Set<string>();
    for (const a of alerts) {
      if (a.state !== 'pending' && a.state !== 'firing') continue;
      const key = keyOf(a.labels);
      seen.add(key);
      const prev = this.state.get(key);
      if (prev?.state === a.state) continue;
      this.state.set(key, { state: a.state, labels: a.labels });
      const activeAt = a.activeAt ? Date.parse(a.activeAt) : NaN;
      out.push({ source: 'prometheus', at, kind: a.state, labels: a.labels, ...(Number.isFinite(activeAt) ? { activeAt } : {}), ...(a.value !== undefined ? { value: a.value } : {}) });
    }
    for (const [key, prev] of this.state) {
      if (seen.has(key)) continue;
      this.state.delete(key);
      out.push({ source: 'prometheus', at, kind: 'resolved', labels: prev.labels });
    }
    return out;
  }
}

export interface AmAlert {
  labels: Record<string, string>;
  fingerprint: string;
  status: { state: string };
  receivers: Array<{ name: string }>;
  startsAt?: string;
}

/** Turns successive Alertmanager /api/v2/alerts snapshots into active/suppressed/gone transitions. */
export class AlertmanagerAlertTracker {
  private readonly state = new Map<string, { state: string; labels: Record<string, string>; receivers: string[] }>();

  update(at: number, alerts: AmAlert[]): Observation[] {
    const out: Observation[] = [];
    const seen = new Set<string>();
    for (const a of alerts) {
      const key = a.fingerprint || keyOf(a.labels);
      seen.add(key);
      const state = a.status.state;
      if (this.state.get(key)?.state === state) continue;
      const receivers = a.receivers.map((r) => r.name);
      this.state.set(key, { state, labels: a.labels, receivers });
      const kind = state === 'suppressed' || state === 'unprocessed' ? state : 'active';
      out.push({ source: 'alertmanager-api', at, kind, labels: a.labels, receivers, fingerprint: a.fingerprint, ...(a.startsAt ? { startsAt: a.startsAt } : {}) });
    }
    for (const [key, prev] of this.state) {
      if (seen.has(key)) continue;
      this.state.delete(key);
      out.push({ source: 'alertmanager-api', at, kind: 'gone', labels: prev.labels, receivers: prev.receivers, fingerprint: key });
    }
    return out;
  }
}

/** What Prometheus knows about the rule behind an alert (from /api/v1/rules), when it has one. */
export interface RuleInfo {
  name: string;
  group: string;
  /** The rule group's evaluation interval, ms. */
  intervalMs: number;
  /** `for:`, ms. */
  forMs: number;
  query: string;
  health: string;
  lastError?: string;
}

/** Stage times of one alert (epoch ms), first episode at or after `fromAt`. */
export interface StageTimes {
  prometheus: { pendingAt: number | null; firingAt: number | null; firingSeenAt: number | null; resolvedAt: number | null; activeAt: number | null; pendingEpisodes: number };
  alertmanagerApi: { activeAt: number | null; goneAt: number | null; receivers: string[] };
  notified: { firingAt: number | null; resolvedAt: number | null; receivers: string[] };
  /** Active (pending or firing) in Prometheus before `fromAt`. */
  activeBefore: boolean;
}

/**
 * The first episode of the matched alert from `fromAt` on. The firing time is Prometheus' own
 * (activeAt + for, rounded up to the rule's evaluation grid, never after the poll that saw it);
 * resolved times are when a poll first missed it.
 */
export function stageTimes(obs: readonly Observation[], m: Matchers, fromAt: number, rule?: RuleInfo): StageTimes {
  const t: StageTimes = {
    prometheus: { pendingAt: null, firingAt: null, firingSeenAt: null, resolvedAt: null, activeAt: null, pendingEpisodes: 0 },
    alertmanagerApi: { activeAt: null, goneAt: null, receivers: [] },
    notified: { firingAt: null, resolvedAt: null, receivers: [] },
    activeBefore: false,
  };
  const active = new Set<string>();
  for (const o of obs) {
    if (o.source === 'prometheus' && matchesLabels(m, o.labels)) {
      const key = keyOf(o.labels);
      if (o.kind === 'resolved') active.delete(key);
      else active.add(key);
      if (o.at < fromAt) {
        t.activeBefore = active.size > 0;
        continue;
      }
      const p = t.prometheus;
      if (o.kind === 'pending') {
        p.pendingEpisodes++;
        if (p.firingAt === null) {
          p.pendingAt = o.activeAt ?? o.at;
          p.activeAt = o.activeAt ?? null;
        }
      } else if (o.kind === 'firing' && p.firingAt === null) {
        const activeAt = o.activeAt ?? p.activeAt;
        let firing = o.at;
        if (activeAt !== null && activeAt !== undefined) {
          const forMs = rule?.forMs ?? 0;
          const grid = rule && rule.intervalMs > 0 ? Math.ceil(forMs / rule.intervalMs - 1e-9) * rule.intervalMs : forMs;
          firing = Math.min(o.at, activeAt + grid);
          if (p.pendingAt === null && forMs > 0) p.pendingAt = activeAt;
          p.activeAt = activeAt;
        }
        p.firingAt = firing;
        p.firingSeenAt = o.at;
      } else if (o.kind === 'resolved' && p.firingAt !== null && p.resolvedAt === null && active.size === 0) {
        p.resolvedAt = o.at;
      }
    } else if (o.source === 'alertmanager-api' && o.at >= fromAt && matchesLabels(m, o.labels)) {
      const a = t.alertmanagerApi;
      if (o.kind !== 'gone' && a.activeAt === null) a.activeAt = o.at;
      if (o.kind !== 'gone') a.receivers = [...new Set([...a.receivers, ...o.receivers])];
      if (o.kind === 'gone' && a.activeAt !== null && a.goneAt === null) a.goneAt = o.at;
    } else if (o.source === 'alertmanager-webhook' && o.at >= fromAt) {
      const n = o.notification;
      const matched = n.alerts.filter((a) => matchesLabels(m, a.labels));
      if (matched.length === 0) continue;
      if (!t.notified.receivers.includes(n.receiver)) t.notified.receivers.push(n.receiver);
      if (matched.some((a) => a.status === 'firing') && t.notified.firingAt === null) t.notified.firingAt = n.receivedAt;
      if (t.notified.firingAt !== null && t.notified.resolvedAt === null && matched.every((a) => a.status === 'resolved')) t.notified.resolvedAt = n.receivedAt;
    }
  }
  return t;
}
