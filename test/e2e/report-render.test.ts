/**
 * Report rendering of the failover step (pure): a skipped drill is a JUnit <skipped/> case with its
 * reason, shows in the tables, and the progress display prints the reason.
 */
import { describe, expect, it } from 'vitest';
import { progressReporter, verdictTable } from '../../src/report/index.ts';
import { renderJunit, renderMarkdown } from '../../src/report/render.ts';
import type { DrillStepResult, RunResult } from '../../src/scenario/index.ts';

const skipped: DrillStepResult = {
  status: 'skipped',
  reason: 'skipped: no PostgreSQL server binaries on this machine — install postgresql-15',
  fault: 'kill',
  mode: 'sync',
  seed: '1-failover',
  wallMs: 3,
  readiness: { polls: 0, non200: 0, notReady: 0, changes: [] },
  verdicts: [],
};

const result = (drill: DrillStepResult): RunResult => ({
  scenario: 's',
  file: 's.yaml',
  seed: '1',
  timeScale: 720,
  status: 'passed',
  exitCode: 0,
  startedAt: 0,
  endedAt: 1,
  wallMs: 1000,
  experiments: [],
  spec: {},
  cleanup: { faultsLeft: 0, verified: true },
  drill,
});

describe('failover step in the reports', () => {
  it('a skipped drill is a skipped JUnit case with the reason, and a line in the tables', () => {
    const junit = renderJunit(result(skipped));
    expect(junit).toContain('<testsuite name="s/failover-drill" tests="1" failures="0" errors="0" skipped="1"');
    expect(junit).toContain('<skipped message="skipped: no PostgreSQL server binaries on this machine — install postgresql-15"/>');
    expect(renderMarkdown(result(skipped))).toContain('failover drill: SKIPPED — skipped: no PostgreSQL server binaries');
    expect(verdictTable(result(skipped))).toContain('failover drill: SKIPPED');
    const out: string[] = [];
    progressReporter((s) => out.push(s), { tty: false })({ type: 'drill-skipped', reason: skipped.reason });
    expect(out.join('')).toContain('no PostgreSQL server binaries');
  });

  it('a failed drill verdict is a JUnit failure with expected and observed', () => {
    const failed: DrillStepResult = {
      ...skipped,
      status: 'failed',
      reason: '2 violation(s)',
      readiness: { polls: 40, non200: 0, notReady: 0, changes: [] },
      verdicts: [{ id: 'failover-drill/readyz-writes', experiment: 'failover-drill', title: '/readyz: writes_usable false during the failover, then true again', passed: false, expected: 'true → false → true', observed: 'sequence true' }],
    };
    const junit = renderJunit({ ...result(failed), status: 'failed', exitCode: 1 });
    expect(junit).toContain('<failure message="expected true → false → true; observed sequence true">');
    expect(renderMarkdown(result(failed))).toContain('| failover-drill | /readyz: writes_usable false during the failover, then true again | true → false → true | sequence true | ❌ FAIL |');
  });
});
