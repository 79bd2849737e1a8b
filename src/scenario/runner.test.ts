import { describe, expect, it } from 'vitest';
import { runOutcome } from './runner.ts';
import type { ExperimentResult } from './events.ts';

const x = (passed: boolean): ExperimentResult => ({ passed }) as ExperimentResult;
const base = { error: undefined, aborted: false, experiments: [x(true)], drill: undefined, rollout: undefined, faultsLeft: 0, allowSkip: false };

describe('runOutcome (the run status and exit code)', () => {
  it('passes (exit 0) only when every part passed and no fault was left injected', () => {
    expect(runOutcome(base)).toEqual({ status: 'passed', exitCode: 0, skipped: [] });
    expect(runOutcome({ ...base, experiments: [x(true), x(false)] })).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(runOutcome({ ...base, faultsLeft: 1 })).toMatchObject({ status: 'failed', exitCode: 1 });
  });
  it('a harness error wins over an abort, an abort over a failure', () => {
    expect(runOutcome({ ...base, error: 'boom', aborted: true, experiments: [x(false)] })).toMatchObject({ status: 'error', exitCode: 4 });
    expect(runOutcome({ ...base, aborted: true, experiments: [x(false)] })).toMatchObject({ status: 'aborted', exitCode: 3 });
  });
  it('a skipped drill is its own verdict (exit 5) unless skips are allowed', () => {
    const drill = { status: 'skipped', reason: 'no PostgreSQL' } as NonNullable<Parameters<typeof runOutcome>[0]['drill']>;
    expect(runOutcome({ ...base, drill })).toEqual({ status: 'skipped', exitCode: 5, skipped: ['failover drill: no PostgreSQL'] });
    expect(runOutcome({ ...base, drill, allowSkip: true })).toMatchObject({ status: 'passed', exitCode: 0, skipped: ['failover drill: no PostgreSQL'] });
  });
});
