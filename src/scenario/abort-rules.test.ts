import { describe, expect, it } from 'vitest';
import { errorRateAbort, probeFailureAbort, type ErrorRateRule, type ProbeFailureRule } from './abort-rules.ts';

const errorRule: ErrorRateRule = { above: 0.2, window: 5000, minRequests: 20, phases: ['baseline', 'inject'] };

describe('error-rate abort', () => {
  it('trips when the bad ratio is above the threshold with enough requests, naming ratio, window and phase', () => {
    expect(errorRateAbort(errorRule, 'inject', { count: 20, badCount: 5 })).toBe('error ratio 25.0 % over the last 5s above 20.0 % at inject');
  });

  it('does not trip at exactly the threshold (above means strictly above)', () => {
    expect(errorRateAbort(errorRule, 'baseline', { count: 20, badCount: 4 })).toBeUndefined();
  });

  it('does not trip with fewer than minRequests outcomes in the window, however bad', () => {
    expect(errorRateAbort(errorRule, 'baseline', { count: 19, badCount: 19 })).toBeUndefined();
  });

  it('does not trip in a phase the rule does not watch', () => {
    expect(errorRateAbort(errorRule, 'recover', { count: 100, badCount: 100 })).toBeUndefined();
  });

  it('does not trip on an empty window', () => {
    expect(errorRateAbort({ ...errorRule, minRequests: 1 }, 'baseline', { count: 0, badCount: 0 })).toBeUndefined();
  });
});

describe('probe-failure abort', () => {
  const sample = { probe: 'readyz', phase: 'baseline', consecutiveFailures: 3, detail: 'HTTP 503' };

  it('trips when any probe has failed `after` times in a row in a watched phase', () => {
    const rule: ProbeFailureRule = { after: 3, phases: ['baseline'] };
    expect(probeFailureAbort(rule, sample)).toBe('probe readyz failed 3 times in a row at baseline: HTTP 503');
    expect(probeFailureAbort(rule, { ...sample, consecutiveFailures: 2 })).toBeUndefined();
  });

  it('watches only the named probes when the rule names some', () => {
    const rule: ProbeFailureRule = { after: 1, probes: ['db'], phases: ['baseline'] };
    expect(probeFailureAbort(rule, sample)).toBeUndefined();
    expect(probeFailureAbort(rule, { ...sample, probe: 'db' })).toMatch(/^probe db failed 3 times/);
  });

  it('ignores failures in phases the rule does not watch', () => {
    const rule: ProbeFailureRule = { after: 1, phases: ['baseline'] };
    expect(probeFailureAbort(rule, { ...sample, phase: 'inject' })).toBeUndefined();
  });
});
