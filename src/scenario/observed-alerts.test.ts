import { describe, expect, it } from 'vitest';
import { matchesLabels, PrometheusAlertTracker, AlertmanagerAlertTracker, stageTimes, type Observation, type RuleInfo } from './observed-alerts.ts';
import { judgeObserved, observedDeadline, observedSettled, type ObservedContext } from './observed-verdict.ts';
import { parseWebhook } from './alert-receiver.ts';
import type { ExperimentPlan } from './model.ts';
import type { ObservedExpectationSpec } from './monitoring-spec.ts';

const T0 = 1_800_000_000_000;
const page = { alertname: 'SLOErrorBudgetBurnPageFast', slo: 'api', severity: 'page', tier: 'page-fast' };
const rule: RuleInfo = { name: 'SLOErrorBudgetBurnPageFast', group: 'g', intervalMs: 500, forMs: 0, query: 'x > 0.0144', health: 'ok' };
const plan = { name: 'partition', injectAtMs: 6000, healAtMs: 14_000, totalMs: 22_000, phases: [], faults: [], expectations: [] } as unknown as ExperimentPlan;

function ctx(observations: Observation[], over: Partial<ObservedContext> = {}): ObservedContext {
  return {
    plan,
    startedAt: T0,
    observations,
    rules: [rule],
    scrapeMs: 500,
    pollMs: 250,
    intervals: { 'page-fast': [[6500, 16_500]] },
    tierAlertNames: { 'page-fast': 'SLOErrorBudgetBurnPageFast', ticket: 'SLOErrorBudgetBurnTicket' },
    hasPrometheus: true,
    hasAlertmanagerApi: true,
    hasReceiver: true,
    timeScale: 120,
    ...over,
  };
}

const promFires: ObservedExpectationSpec = { source: 'prometheus', alert: { alertname: 'SLOErrorBudgetBurnPageFast' }, fires: true, within: 5000, clearsWithin: 8000 };
const amNotifies: ObservedExpectationSpec = { source: 'alertmanager', alert: { alertname: 'SLOErrorBudgetBurnPageFast', severity: 'page' }, notifies: true, within: 8000, resolvedWithin: 12_000 };

function notification(status: string, at: number, receiver = 'faultline-gameday'): Observation {
  return {
    source: 'alertmanager-webhook',
    at,
    notification: parseWebhook({ status, receiver, groupKey: '{}:{alertname="SLOErrorBudgetBurnPageFast"}', alerts: [{ status, labels: page, startsAt: 'a', endsAt: 'b', fingerprint: 'f' }] }, at),
  };
}

describe('label matchers', () => {
  it('match by equality, =~ (anchored), != and !~ as PromQL does', () => {
    expect(matchesLabels({ alertname: 'SLOErrorBudgetBurnPageFast' }, page)).toBe(true);
    expect(matchesLabels({ alertname: '=~SLOErrorBudgetBurn.*' }, page)).toBe(true);
    expect(matchesLabels({ alertname: '=~PageFast' }, page)).toBe(false);
    expect(matchesLabels({ severity: '!=ticket' }, page)).toBe(true);
    expect(matchesLabels({ severity: '!~page|ticket' }, page)).toBe(false);
    expect(matchesLabels({ team: 'sre' }, page)).toBe(false);
  });
});

describe('trackers turn polled snapshots into transitions', () => {
  it('Prometheus: pending, then firing, then resolved — each once, pending and firing kept apart', () => {
    const tr = new PrometheusAlertTracker();
    const pending = { labels: page, state: 'pending', activeAt: new Date(T0 + 6500).toISOString() };
    expect(tr.update(T0 + 6600, [pending]).map((o) => (o as { kind: string }).kind)).toEqual(['pending']);
    expect(tr.update(T0 + 6850, [pending])).toEqual([]);
    const firing = tr.update(T0 + 8600, [{ ...pending, state: 'firing' }]);
    expect(firing).toEqual([{ source: 'prometheus', at: T0 + 8600, kind: 'firing', labels: page, activeAt: T0 + 6500 }]);
    expect(tr.update(T0 + 17_000, []).map((o) => (o as { kind: string }).kind)).toEqual(['resolved']);
    expect(tr.update(T0 + 17_250, [])).toEqual([]);
  });

  it('Alertmanager API: active with its receivers, then gone', () => {
    const tr = new AlertmanagerAlertTracker();
    const a = { labels: page, fingerprint: 'f1', status: { state: 'active' }, receivers: [{ name: 'default' }] };
    expect(tr.update(T0 + 7000, [a])).toEqual([{ source: 'alertmanager-api', at: T0 + 7000, kind: 'active', labels: page, receivers: ['default'], fingerprint: 'f1' }]);
    expect(tr.update(T0 + 7250, [a])).toEqual([]);
    expect(tr.update(T0 + 18_000, []).map((o) => (o as { kind: string }).kind)).toEqual(['gone']);
  });
});

describe('stage times', () => {
  it("take Prometheus' own firing time: activeAt + for rounded up to the rule's evaluation grid, never after the poll that saw it", () => {
    const withFor = { ...rule, forMs: 1200 };
    const obs: Observation[] = [
      { source: 'prometheus', at: T0 + 6700, kind: 'pending', labels: page, activeAt: T0 + 6500 },
      { source: 'prometheus', at: T0 + 8100, kind: 'firing', labels: page, activeAt: T0 + 6500 },
    ];
    const t = stageTimes(obs, { alertname: page.alertname }, T0, withFor);
    expect(t.prometheus.pendingAt).toBe(T0 + 6500);
    // for: 1.2 s on a 0.5 s grid → the third evaluation after activeAt: +1.5 s.
    expect(t.prometheus.firingAt).toBe(T0 + 8000);
    expect(t.prometheus.firingSeenAt).toBe(T0 + 8100);
  });
});

describe('observed verdicts and where the time went', () => {
  const happy: Observation[] = [
    { source: 'prometheus', at: T0 + 7200, kind: 'firing', labels: page, activeAt: T0 + 7000 },
    { source: 'alertmanager-api', at: T0 + 7300, kind: 'active', labels: page, receivers: ['faultline-gameday'], fingerprint: 'f' },
    notification('firing', T0 + 7400),
    { source: 'prometheus', at: T0 + 16_750, kind: 'resolved', labels: page },
    notification('resolved', T0 + 17_300),
  ];

  it('pass with stage times from inject and heal, and no disagreement within scrape + evaluation', () => {
    const j = judgeObserved(ctx(happy), [promFires, amNotifies]);
    expect(j.verdicts.map((v) => [v.title, v.passed, v.observed])).toEqual([
      ['Prometheus: {alertname="SLOErrorBudgetBurnPageFast"} fires within 5s of inject start', true, 'firing after 1.00s'],
      ['Prometheus: {alertname="SLOErrorBudgetBurnPageFast"} resolves within 8s of heal', true, 'resolved after 2.75s'],
      ['Alertmanager: {alertname="SLOErrorBudgetBurnPageFast", severity="page"} notifies faultline\'s receiver within 8s of inject start', true, 'notified after 1.40s (receiver faultline-gameday)'],
      ['Alertmanager: {alertname="SLOErrorBudgetBurnPageFast", severity="page"} sends the resolved notification within 12s of heal', true, 'resolved notification after 3.30s'],
    ]);
    const tl = j.timelines[0]!;
    expect(tl.tier).toBe('page-fast');
    expect(tl.intervals.toleranceMs).toBe(1000);
    expect(tl.stages.find((s) => s.stage === 'Prometheus firing')).toEqual({ stage: 'Prometheus firing', fire: 7000, clear: 16_750 });
    expect(tl.disagreements).toEqual([]);
    expect(tl.breakdown[0]).toContain('evaluator +0.50s');
  });

  it('flags Prometheus firing further from the evaluator than scrape + evaluation', () => {
    const late: Observation[] = [{ source: 'prometheus', at: T0 + 9000, kind: 'firing', labels: page, activeAt: T0 + 8800 }, { source: 'prometheus', at: T0 + 16_750, kind: 'resolved', labels: page }];
    const tl = judgeObserved(ctx(late), [promFires]).timelines[0]!;
    expect(tl.disagreements).toEqual(['fire: Prometheus 2.30s from the evaluator, beyond scrape + evaluation (1s)']);
  });

  it('name the Prometheus stage when no rule of that name is loaded, and the Alertmanager stage when the route sends it elsewhere', () => {
    const noRule = judgeObserved(ctx([], { rules: [] }), [promFires, amNotifies]);
    expect(noRule.verdicts[0]!.observed).toBe('never fired — lost at the Prometheus stage: no alerting rule named SLOErrorBudgetBurnPageFast is loaded (check rule_files)');
    expect(noRule.verdicts[2]!.observed).toMatch(/^never notified — lost at the Prometheus stage: no alerting rule/);
    const misrouted: Observation[] = [
      { source: 'prometheus', at: T0 + 7200, kind: 'firing', labels: page, activeAt: T0 + 7000 },
      { source: 'alertmanager-api', at: T0 + 7300, kind: 'active', labels: page, receivers: ['default'], fingerprint: 'f' },
    ];
    const lost = judgeObserved(ctx(misrouted), [amNotifies]).verdicts[0]!;
    expect(lost.passed).toBe(false);
    expect(lost.observed).toBe(
      "never notified — lost at the Alertmanager stage: Prometheus fired it 1.00s from inject, but Alertmanager had it 1.30s from inject and routed it to default; nothing reached faultline's receiver (check the route)",
    );
    const neverArrived = judgeObserved(ctx(misrouted.slice(0, 1)), [amNotifies]).verdicts[0]!;
    expect(neverArrived.observed).toMatch(/lost between Prometheus and Alertmanager: .*check alerting\.alertmanagers/);
  });

  it('fires: false passes while the alert is only pending, and fails once it fires', () => {
    const ticket = { alertname: 'SLOErrorBudgetBurnTicket', slo: 'api', severity: 'ticket', tier: 'ticket' };
    const quiet: ObservedExpectationSpec = { source: 'prometheus', alert: { alertname: 'SLOErrorBudgetBurnTicket' }, fires: false };
    const pendingOnly: Observation[] = [{ source: 'prometheus', at: T0 + 7000, kind: 'pending', labels: ticket, activeAt: T0 + 6900 }];
    const v = judgeObserved(ctx(pendingOnly, { rules: [rule, { ...rule, name: 'SLOErrorBudgetBurnTicket', forMs: 60_000 }] }), [quiet]).verdicts[0]!;
    expect([v.passed, v.observed]).toEqual([true, 'never firing (pending 1×, first at 0.90s from inject)']);
    const fired = judgeObserved(ctx([...pendingOnly, { source: 'prometheus', at: T0 + 67_000, kind: 'firing', labels: ticket, activeAt: T0 + 6900 }]), [quiet]).verdicts[0]!;
    expect(fired.passed).toBe(false);
  });

  it('keep watching until every positive row has seen fire and clear, up to the latest deadline', () => {
    expect(observedSettled({ observations: happy.slice(0, 3), startedAt: T0, rules: [rule] }, [promFires, amNotifies])).toBe(false);
    expect(observedSettled({ observations: happy, startedAt: T0, rules: [rule] }, [promFires, amNotifies])).toBe(true);
    expect(observedDeadline(plan, [promFires, amNotifies])).toBe(14_000 + 12_000);
  });

  it('a webhook body that is not an Alertmanager payload is refused', () => {
    expect(() => parseWebhook({ hello: 1 }, 0)).toThrow(/no alerts/);
    expect(parseWebhook({ status: 'firing', receiver: 'r', groupKey: 'k', alerts: [{ labels: { a: 1 } }] }, 5).alerts[0]!.labels).toEqual({ a: '1' });
  });
});
