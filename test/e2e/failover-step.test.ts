/**
 * The failover step: a real drill against a real PostgreSQL pair while the reference service serves
 * the drill's readiness view on /readyz. This test polls /readyz itself, over HTTP, as a load
 * balancer would.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultlineError } from '../../src/shared/index.ts';
import { RunEvents, type DrillStepResult } from '../../src/scenario/index.ts';
import { runFailoverStep } from '../../src/scenario/failover-step.ts';

interface Seen {
  http: number;
  status: string;
  writesUsable: boolean;
  role: string;
  epoch: number | undefined;
  region: string;
}

describe('failover step', () => {
  it('serves the drill readiness view on /readyz: writes_usable false during the failover then true, status ready throughout', async () => {
    const events = new RunEvents();
    const seen: Seen[] = [];
    let polling = true;
    let poller: Promise<void> | undefined;
    events.on((e) => {
      if (e.type !== 'drill-start') return;
      poller = (async () => {
        while (polling) {
          const res = await fetch(e.readyzUrl);
          const body = (await res.json()) as { status: string; cluster: { writes_usable: boolean; writer: { role: string; epoch?: number }; topology: { region: string } } };
          seen.push({ http: res.status, status: body.status, writesUsable: body.cluster.writes_usable, role: body.cluster.writer.role, epoch: body.cluster.writer.epoch, region: body.cluster.topology.region });
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
    });
    const dir = mkdtempSync(join(tmpdir(), 'faultline-step-'));
    let r: DrillStepResult;
    try {
      r = await runFailoverStep({ spec: { fault: 'kill', mode: 'sync', probeInterval: 100, ifNoPostgres: 'fail' }, seed: 'step-1', dir, events });
    } finally {
      polling = false;
      await poller;
    }
    expect(r.status, JSON.stringify(r.verdicts, null, 1)).toBe('passed');
    expect(r.check?.rpo.lostAcknowledgedWrites).toBe(0);
    // What this test saw over HTTP: every answer 200 "ready"; writes_usable true → false → true on the drill's views.
    expect(seen.length).toBeGreaterThan(20);
    expect(seen.every((s) => s.http === 200 && s.status === 'ready')).toBe(true);
    const views = seen.filter((s) => s.role !== 'unknown');
    const t1 = views.findIndex((s) => s.writesUsable);
    const f = views.findIndex((s, i) => i > t1 && !s.writesUsable);
    const t2 = views.findIndex((s, i) => i > f && s.writesUsable);
    expect(t1).toBeGreaterThanOrEqual(0);
    expect(f).toBeGreaterThan(t1);
    expect(t2).toBeGreaterThan(f);
    // The epoch moved with the promotion: the writer after the failover carries a higher epoch.
    expect(views[t2]!.epoch).toBeGreaterThan(views[t1]!.epoch!);
    // ...and the writer region moved from the primary's (eu) to the promoted replica's (us).
    expect(views[t1]!.region).toBe('eu');
    expect(views.at(-1)!.region).toBe('us');
    expect(r.verdicts.map((v) => [v.id, v.passed])).toEqual([
      ['failover-drill/invariants', true],
      ['failover-drill/rpo', true],
      ['failover-drill/readyz-writes', true],
      ['failover-drill/readyz-status', true],
    ]);
  }, 60_000);

  it('is skipped with the reason when no PostgreSQL server binaries exist (and only then)', async () => {
    const missing = (): never => {
      throw new FaultlineError('FAULTLINE_FAILOVER_NO_POSTGRES', 'PostgreSQL server binaries not found');
    };
    const events = new RunEvents();
    const printed: string[] = [];
    events.on((e) => e.type === 'drill-skipped' && printed.push(e.reason));
    const spec = { fault: 'kill', mode: 'sync', probeInterval: 100, ifNoPostgres: 'skip' } as const;
    const skipped = await runFailoverStep({ spec, seed: 's', dir: mkdtempSync(join(tmpdir(), 'faultline-step-')), events, locatePostgres: missing });
    expect(skipped.status).toBe('skipped');
    expect(printed[0]).toMatch(/no PostgreSQL server binaries/);
    // ifNoPostgres: fail turns the same situation into a harness error, never a pass.
    const failed = await runFailoverStep({ spec: { ...spec, ifNoPostgres: 'fail' }, seed: 's', dir: mkdtempSync(join(tmpdir(), 'faultline-step-')), locatePostgres: missing });
    expect(failed.status).toBe('error');
    expect(failed.verdicts.some((v) => !v.passed)).toBe(true);
    // Any other PostgreSQL problem is not a reason to skip.
    const other = await runFailoverStep({
      spec,
      seed: 's',
      dir: mkdtempSync(join(tmpdir(), 'faultline-step-')),
      locatePostgres: () => {
        throw new FaultlineError('FAULTLINE_FAILOVER_NO_PG_USER', 'no postgres OS user');
      },
    });
    expect(other.status).toBe('error');
  });
});
