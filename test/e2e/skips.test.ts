/**
 * A skipped part is never a silent pass: a run whose failover drill was skipped (no PostgreSQL) ends
 * SKIPPED with exit 5 and says why and how to install PostgreSQL, unless skips are allowed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { okServer, type TestServer } from '../load/http-fixture.ts';
import { FaultlineError, ExitCode } from '../../src/shared/index.ts';
import { NO_POSTGRES_MESSAGE } from '../../src/failover/postgres.ts';
import { planScenario, runScenario } from '../../src/scenario/index.ts';
import { parseScenario } from '../../src/scenario/model.ts';
import { verdictTable } from '../../src/report/index.ts';
import { renderMarkdown } from '../../src/report/render.ts';

describe('skips are visible', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await okServer();
  });
  afterAll(() => server.close());

  const noPostgres = (): never => {
    throw new FaultlineError('FAULTLINE_FAILOVER_NO_POSTGRES', NO_POSTGRES_MESSAGE);
  };
  const text = (): string => `apiVersion: faultline/v1
kind: Experiment
metadata: { name: skip }
seed: 5
timeScale: 3600
target: { url: "${server.url}" }
load: { rate: 20, timeout: 5s }
slo: { name: t, objective: 50 }
experiments:
  - name: quiet
    baseline: 300ms
    inject: { duration: 300ms, faults: [] }
    recover: 300ms
    # The experiment passes even on a busy machine: this test is about the skipped drill.
    expect: { steadyState: { maxErrorRatio: 1, probes: false } }
failoverDrill: { ifNoPostgres: skip }
`;

  it('without PostgreSQL the run ends SKIPPED (exit 5), naming the skipped part and how to install PostgreSQL', async () => {
    const model = parseScenario(text(), 'skip.yaml');
    const r = await runScenario(model, planScenario(model), { locatePostgres: noPostgres });
    expect(r.experiments.every((x) => x.passed)).toBe(true);
    expect(r.status).toBe('skipped');
    expect(r.exitCode).toBe(ExitCode.skipped);
    expect(r.exitCode).toBe(5);
    expect(r.skipped?.[0]).toMatch(/^failover drill: skipped: no PostgreSQL server binaries/);
    const table = verdictTable(r);
    expect(table).toMatch(/apt-get install postgresql-15/);
    expect(table).toMatch(/skipped: failover drill: .* — the run is not a pass \(exit 5\); --allow-skip accepts a skipped part/);
    expect(table).toMatch(/result: SKIPPED \(exit 5\)/);
    expect(table).not.toMatch(/PASSED/);
    expect(renderMarkdown(r)).toMatch(/\*\*SKIPPED\*\*/);
  }, 30_000);

  it('with --allow-skip (allowSkip) the same run passes and still lists what was skipped', async () => {
    const model = parseScenario(text(), 'skip.yaml');
    const r = await runScenario(model, planScenario(model), { locatePostgres: noPostgres, allowSkip: true });
    expect(r.status).toBe('passed');
    expect(r.exitCode).toBe(0);
    expect(verdictTable(r)).toMatch(/skipped: failover drill: .*\(allowed by --allow-skip\)/);
  }, 30_000);
});
