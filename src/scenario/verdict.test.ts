import { describe, expect, it } from 'vitest';
import { parseScenario, planScenario } from './model.ts';
import { judgeAll, type Observations } from './verdict.ts';

const scenario = `apiVersion: faultline/v1
kind: Experiment
metadata: { name: t }
target: { builtin: reference, path: /v1/query }
load: { rate: 10 }
slo: { name: s, objective: 99 }
experiments:
  - name: x
    baseline: 4s
    inject: { duration: 4s, faults: [{ type: latency, attributes: { latency: 10 } }] }
    recover: 4s
    expect:
      alerts: { page-fast: { fires: true }, page-slow: { fires: false } }
      recoveryWithin: 1s
`;

function obs(over: Partial<Observations>): Observations {
  return { intervals: {}, outcomes: { t: [], good: [], count: 0 }, probes: [], healVerified: true, timeScale: 1, warmupMs: 0, ...over };
}

const rows = (vs: ReturnType<typeof judgeAll>): Record<string, string> => Object.fromEntries(vs.map((v) => [v.id, v.notReached ? 'not reached' : v.passed ? 'pass' : 'FAIL']));

describe('verdicts after an abort', () => {
  const plan = planScenario(parseScenario(scenario)).experiments[0]!;
  // 40 good requests at baseline, then the run stops 2 s into inject.
  const t = Array.from({ length: 40 }, (_, i) => i * 100);
  const outcomes = { t, good: t.map(() => true), count: t.length };

  it('shows expectations whose phase never completed as not reached, never as pass', () => {
    const v = judgeAll(plan, obs({ outcomes, aborted: { phasesStarted: ['baseline', 'inject'], atMs: 6000 } }));
    expect(rows(v)).toEqual({
      'x/page-fast/fires': 'not reached',
      'x/page-fast/clears': 'not reached',
      'x/page-slow/quiet': 'not reached',
      'x/steady/baseline': 'pass',
      'x/steady/recovery': 'not reached',
      'x/recovery-time': 'not reached',
      'x/healed': 'pass',
    });
    expect(v.find((r) => r.id === 'x/recovery-time')!.observed).toBe('not reached (aborted at 6s, during inject)');
  });

  it('keeps a failure the evidence already proves (an alert that fired) even when the phase was cut short', () => {
    const v = judgeAll(plan, obs({ outcomes, intervals: { 'page-slow': [[4500, null]] }, aborted: { phasesStarted: ['baseline', 'inject'], atMs: 6000 } }));
    expect(rows(v)['x/page-slow/quiet']).toBe('FAIL');
  });

  it('judges every row normally when the experiment ran to its end', () => {
    const v = judgeAll(plan, obs({ outcomes }));
    expect(v.some((r) => r.notReached)).toBe(false);
    expect(rows(v)['x/recovery-time']).toBe('FAIL');
    expect(v.find((r) => r.id === 'x/recovery-time')!.observed).toBe('no traffic after heal');
  });
});
