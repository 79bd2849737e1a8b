import { describe, expect, it } from 'vitest';
import type { SloForecast, TierForecast } from '../slo/index.ts';
import { parseScenario, planScenario } from './model.ts';
import { judgeAll, type Observations } from './verdict.ts';

const scenario = (alerts: string, history = ''): string => `apiVersion: faultline/v1
kind: Experiment
metadata: { name: t }
timeScale: 720
target: { builtin: reference, path: /v1/query }
load: { rate: 10 }
slo: { name: s, objective: 99${history} }
experiments:
  - name: x
    baseline: 5s
    inject: { duration: 20s, faults: [{ type: latency, attributes: { latency: 10 } }] }
    recover: 5s
    expect:
      alerts: ${alerts}
`;

/** A forecast with the given per-tier predicted/observed times (ms since the experiment start). */
function forecast(tiers: Array<{ tier: string; pFire: number | null; pClear: number | null; oFire?: number | null; oClear?: number | null; pAtFault?: boolean }>): SloForecast {
  return {
    timeScale: 720,
    evalIntervalMs: 83,
    history: { mode: 'baseline', ratePerSec: 10, errorRatio: 0, fromT: -361_000, untilT: 1000 },
    faultAt: 5000,
    healAt: 25_000,
    endAt: 30_000,
    badFrom: 5000,
    badUntil: 25_000,
    fault: { ratePerSec: 10, errorRatio: 0.1 },
    segments: [],
    tiers: tiers.map(
      (t): TierForecast => ({
        tier: t.tier,
        severity: 'page',
        threshold: 0.06,
        predicted: {
          tier: t.tier,
          severity: 'page',
          threshold: 0.06,
          longCrossAt: t.pFire,
          shortCrossAt: t.pFire === null ? null : 6000,
          binding: t.pFire === null ? null : 'long',
          firingAtFault: t.pAtFault ?? false,
          fireAt: t.pFire,
          clearAt: t.pClear,
          budgetAtFire: t.pFire === null ? null : 0.05,
        },
        observed: { firingAtFault: false, fireAt: t.oFire ?? null, clearAt: t.oClear ?? null, budgetAtFire: t.oFire ? 0.051 : null },
      }),
    ),
  };
}

function judge(alerts: string, intervals: Observations['intervals'], f: SloForecast | undefined): Record<string, { passed: boolean; expected: string; observed: string }> {
  const plan = planScenario(parseScenario(scenario(alerts))).experiments[0]!;
  const obs: Observations = { intervals, outcomes: { t: [], good: [], count: 0 }, probes: [], healVerified: true, timeScale: 720, warmupMs: 0, ...(f ? { forecast: f } : {}) };
  return Object.fromEntries(judgeAll(plan, obs).filter((v) => v.id.includes('page')).map((v) => [v.id, v]));
}

describe('alert expectations against the burn-rate prediction', () => {
  const predicted = '{ page-slow: { fires: { within: predicted, tolerance: 15% } } }';

  it('passes a fire and clear within 15 % of the predicted times (fire from inject, clear from heal)', () => {
    // Predicted: fire 18 s after inject (23 s), clear 1 s after heal (26 s). Observed: 19.5 s and 1.1 s.
    const v = judge(predicted, { 'page-slow': [[24_500, 26_100]] }, forecast([{ tier: 'page-slow', pFire: 23_000, pClear: 26_000, oFire: 24_500, oClear: 26_100 }]));
    expect(v['x/page-slow/fires']?.passed).toBe(true);
    expect(v['x/page-slow/fires']?.expected).toBe('fires 18s (3h36m real-equivalent) after inject ± 2.7s (32m24s real-equivalent) (predicted, long window binds)');
    expect(v['x/page-slow/fires']?.observed).toContain('fired after 19.5s (3h54m real-equivalent) (+8.3 % vs predicted)');
    expect(v['x/page-slow/fires']?.observed).toContain('budget consumed before detection 5.10 % (predicted 5.00 %)');
    expect(v['x/page-slow/clears']?.passed).toBe(true);
  });

  it('fails a fire outside the tolerance, and a clear off by more than one evaluation interval when 15 % is less', () => {
    const v = judge(predicted, { 'page-slow': [[26_000, 26_300]] }, forecast([{ tier: 'page-slow', pFire: 23_000, pClear: 26_000, oFire: 26_000, oClear: 26_300 }]));
    expect(v['x/page-slow/fires']?.passed).toBe(false);
    // 15 % of 1 s is 150 ms; 300 ms late is outside.
    expect(v['x/page-slow/clears']?.passed).toBe(false);
    // One evaluation interval (83 ms) is the floor: 80 ms late on a 100 ms prediction passes.
    const tight = judge(predicted, { 'page-slow': [[23_000, 25_180]] }, forecast([{ tier: 'page-slow', pFire: 23_000, pClear: 25_100 }]));
    expect(tight['x/page-slow/clears']?.passed).toBe(true);
  });

  it('predicted not to fire: the same expectation asserts that it stays quiet', () => {
    const quiet = forecast([{ tier: 'page-slow', pFire: null, pClear: null }]);
    expect(judge(predicted, { 'page-slow': [] }, quiet)['x/page-slow/fires']?.passed).toBe(true);
    expect(judge(predicted, { 'page-slow': [] }, quiet)['x/page-slow/clears']?.expected).toBe('nothing to clear (predicted not to fire)');
    expect(judge(predicted, { 'page-slow': [[10_000, 12_000]] }, quiet)['x/page-slow/fires']?.passed).toBe(false);
  });

  it('a clear predicted after the end of the run expects the alert still firing at the end', () => {
    const late = forecast([{ tier: 'page-slow', pFire: 23_000, pClear: 60_000 }]);
    const v = judge(predicted, { 'page-slow': [[23_100, null]] }, late);
    expect(v['x/page-slow/clears']?.expected).toBe('still firing at the end (predicted clear: 35s (7h real-equivalent) after heal, after the run)');
    expect(v['x/page-slow/clears']?.passed).toBe(true);
    expect(judge(predicted, { 'page-slow': [[23_100, 26_000]] }, late)['x/page-slow/clears']?.passed).toBe(false);
  });

  it('fires: false also needs the maths to agree, and says so when it does not', () => {
    const contradicting = forecast([{ tier: 'page-slow', pFire: 23_000, pClear: 26_000 }]);
    const v = judge('{ page-slow: { fires: false } }', { 'page-slow': [] }, contradicting);
    expect(v['x/page-slow/quiet']?.passed).toBe(false);
    expect(v['x/page-slow/quiet']?.observed).toContain('the expectation contradicts the burn-rate maths');
    const agreeing = judge('{ page-slow: { fires: false } }', { 'page-slow': [] }, forecast([{ tier: 'page-slow', pFire: null, pClear: null }]));
    expect(agreeing['x/page-slow/quiet']?.passed).toBe(true);
    expect(agreeing['x/page-slow/quiet']?.observed).toBe('never fired; predicted: never fires (the burn-rate maths does not reach the threshold in the run)');
  });

  it('without a prediction the predicted form fails and says why', () => {
    expect(judge(predicted, { 'page-slow': [[23_000, 26_000]] }, undefined)['x/page-slow/fires']?.observed).toBe('no prediction was made for this experiment');
  });
});

describe('spec: slo.history and the predicted expectation form', () => {
  it('defaults to the measured baseline, accepts none and a stated history', () => {
    expect(parseScenario(scenario('{}')).history).toEqual({ assume: 'baseline' });
    expect(parseScenario(scenario('{}', ', history: { assume: none }')).history).toEqual({ assume: 'none' });
    expect(parseScenario(scenario('{}', ', history: { assume: stated, rate: 50, errorRatio: 0.001 }')).history).toEqual({ assume: 'stated', rate: 50, errorRatio: 0.001 });
  });

  it('names file, line and field of a bad history or tolerance', () => {
    expect(() => parseScenario(scenario('{}', ', history: { assume: stated, rate: 50 }'), 's.yaml')).toThrow(/s\.yaml:7 .*slo\.history/);
    expect(() => parseScenario(scenario('{ page-slow: { fires: { within: predicted, tolerance: lots } } }'), 's.yaml')).toThrow(/s\.yaml:\d+ .*tolerance/);
  });

  it('plans the predicted form as a fire and a clear row, and clearsWithin: predicted on fires: true', () => {
    const plan = planScenario(parseScenario(scenario('{ page-slow: { fires: { within: predicted, tolerance: 10% } }, page-fast: { fires: true, clearsWithin: { within: predicted } } }'))).experiments[0]!;
    const rows = plan.expectations.filter((e) => e.tier).map((e) => [e.id, e.tolerance]);
    expect(rows).toEqual([
      ['x/page-slow/fires', 0.1],
      ['x/page-slow/clears', 0.1],
      ['x/page-fast/fires', undefined],
      ['x/page-fast/clears', 0.15],
    ]);
  });
});
