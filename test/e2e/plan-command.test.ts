/**
 * `faultline plan FILE [--json]`: the game-day announcement timeline — phases with offsets from the
 * run start, faults, and alert fire/clear times predicted by the burn-rate maths — with nothing run.
 */
import { describe, expect, it } from 'vitest';
import { faultline, type Ran } from '../helpers/cli.ts';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const scen = (name: string): string => fileURLToPath(new URL(`../../scenarios/${name}`, import.meta.url));

const plan = (args: string[]): Promise<Ran> => faultline(['plan', ...args]);

interface PlanJson {
  timeScale: number;
  experiments: Array<{
    name: string;
    startsAt: number;
    injectAt: number;
    healAt: number;
    errorRatio: { ratio: number | null };
    alerts: Array<{ tier: string; fireAt: number | null; clearAt: number | null; conflict?: string }>;
    observed: Array<{ source: string; tier: string | null; fireAt: number | null; conflict?: string }>;
  }>;
}

describe('faultline plan', () => {
  it('prints the game day: offsets, the fault, and page-fast firing one evaluation after inject and clearing one short window after heal', async () => {
    const r = await plan([scen('gameday-alertmanager.yaml')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('T+0:06  inject    8s: partition both {"mode":"refuse","scope":"both"}');
    expect(r.stdout).toContain('T+0:22  end');
    expect(r.stdout).toMatch(/page-fast \(page\)\s+500ms \(1m real-equivalent\)\s+2\.5s \(5m real-equivalent\)\s+fires within 3s, clears within 5s/);
    expect(r.stdout).toMatch(/ticket \(ticket\)\s+—\s+—\s+quiet/);
    expect(r.stdout).toContain('observed in Alertmanager: {alertname=SLOErrorBudgetBurnPageFast,severity=page} notifies within 8s');
    expect(r.stdout).not.toContain('⚠');
    const j = JSON.parse((await plan([scen('gameday-alertmanager.yaml'), '--json'])).stdout) as PlanJson;
    const x = j.experiments[0]!;
    expect(x.errorRatio.ratio).toBe(1);
    // 100 % errors: both page-fast windows pass 1.44 % at the first evaluation after inject (500 ms grid).
    expect(x.alerts.find((a) => a.tier === 'page-fast')).toMatchObject({ fireAt: 6500, clearAt: 16_500 });
    expect(x.observed.map((o) => [o.source, o.tier, o.fireAt])).toEqual([
      ['prometheus', 'page-fast', 6500],
      ['alertmanager', 'page-fast', 6500],
      ['prometheus', 'ticket', null],
    ]);
  });

  it('offsets later experiments by the earlier ones, and predicts nothing for a fault whose effect depends on the service unless --error-ratio says', async () => {
    const j = JSON.parse((await plan([scen('chaos-selftest.yaml'), '--json'])).stdout) as PlanJson;
    expect(j.experiments.map((x) => x.startsAt)).toEqual([0, 8000, 26_000, 63_000]);
    const slow = j.experiments.find((x) => x.name === 'slow-burn')!;
    expect(slow.errorRatio.ratio).toBeNull();
    expect(slow.alerts.every((a) => a.fireAt === null)).toBe(true);
    const given = JSON.parse((await plan([scen('chaos-selftest.yaml'), '--json', '--error-ratio', '0.1'])).stdout) as PlanJson;
    const g = given.experiments.find((x) => x.name === 'slow-burn')!;
    // 10 % bad = 10× burn: page-slow (6×) fires, page-fast (14.4×) does not.
    expect(g.alerts.find((a) => a.tier === 'page-slow')!.fireAt).not.toBeNull();
    expect(g.alerts.find((a) => a.tier === 'page-fast')!.fireAt).toBeNull();
  });

  it('warns where the maths says an expectation cannot hold', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-plan-'));
    writeFileSync(join(dir, 'gameday-slo.yaml'), readFileSync(scen('gameday-slo.yaml'), 'utf8'));
    const text = readFileSync(scen('gameday-alertmanager.yaml'), 'utf8').replace('ticket: { fires: false }', 'ticket: { fires: true, within: 2s }');
    writeFileSync(join(dir, 'g.yaml'), text);
    const r = await plan([join(dir, 'g.yaml')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ticket \(ticket\).*fires within 2s\s+⚠ the maths says it does not fire/);
  });

  it('refuses a missing file or a ratio outside 0..1 (exit 2)', async () => {
    expect((await plan([])).code).toBe(2);
    const bad = await plan([scen('gameday-alertmanager.yaml'), '--error-ratio', '1.5']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--error-ratio must be between 0 and 1');
  });
});
