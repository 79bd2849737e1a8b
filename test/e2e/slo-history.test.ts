/**
 * The same slow burn (10 % of requests stall past the 250 ms latency SLI: a 10× burn against 99 %)
 * run twice through the real CLI: with the default assumed history (the windows start full at the
 * baseline's measured rate and error ratio, as in a long-running Prometheus) and with `history: none`
 * (a freshly started Prometheus: truncated windows). The burn-rate maths predicts both, and the
 * difference is the point: without history page-slow fires after ~4.5 s and the ticket tiers fire
 * within a second or two; with history page-slow needs 30 s × 0.06/0.1 = 18 s and the tickets
 * (36 s) never fire in a 24 s fault.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { faultline } from '../helpers/cli.ts';

const scenario = (history: string): string => `apiVersion: faultline/v1
kind: Experiment
metadata: { name: slow-burn-${history} }
seed: 7
timeScale: 720
target: { builtin: reference, path: /v1/query }
load: { rate: 200, timeout: 2s, warmup: 1s, maxInFlight: 5000, sli: { goodStatus: 2xx, latencyThreshold: 250ms } }
slo:
  name: q
  objective: 99
  sli: { type: both, latencyThreshold: 250ms }
  history: { assume: ${history} }
experiments:
  - name: slow-burn
    baseline: 4s
    inject:
      duration: 24s
      faults: [{ type: loss, stream: upstream, attributes: { probability: 0.1, rto: 300 } }]
    recover: 3s
    expect:
      alerts:
        page-slow: { fires: true }
        page-fast: { fires: false }
`;

interface Tier {
  tier: string;
  predicted: { fireAt: number | null; binding: string | null };
  observed: { fireAt: number | null };
}
interface Journal {
  experiments: Array<{ plan: { injectAtMs: number }; slo: { history: { mode: string }; forecast: { tiers: Tier[]; fault: { errorRatio: number } } } }>;
}

async function run(history: 'none' | 'baseline'): Promise<{ code: number | null; stdout: string; journal: Journal }> {
  const dir = mkdtempSync(join(tmpdir(), `faultline-history-${history}-`));
  const file = join(dir, 'scenario.yaml');
  writeFileSync(file, scenario(history));
  const r = await faultline(['run', file, '--report-dir', join(dir, 'reports')]);
  const runDir = join(dir, 'reports', readdirSync(join(dir, 'reports'))[0] as string);
  return { code: r.code, stdout: r.stdout, journal: JSON.parse(readFileSync(join(runDir, 'journal.json'), 'utf8')) as Journal };
}

describe('assumed window history vs none (a freshly started Prometheus)', () => {
  it('the same slow burn fires page-slow at the production-true time with history, far sooner without; both as predicted', async () => {
    const none = await run('none');
    const full = await run('baseline');
    const fire = (j: Journal, tier: string): { predicted: number | null; observed: number | null } => {
      const x = j.experiments[0]!;
      const t = x.slo.forecast.tiers.find((r) => r.tier === tier)!;
      const rel = (v: number | null): number | null => (v === null ? null : v - x.plan.injectAtMs);
      return { predicted: rel(t.predicted.fireAt), observed: rel(t.observed.fireAt) };
    };
    expect(none.code, none.stdout).toBe(0);
    expect(full.code, full.stdout).toBe(0);
    expect(none.journal.experiments[0]!.slo.history.mode).toBe('none');
    expect(full.journal.experiments[0]!.slo.history.mode).toBe('baseline');
    for (const j of [none.journal, full.journal]) expect(j.experiments[0]!.slo.forecast.fault.errorRatio).toBeGreaterThan(0.07);

    const n = fire(none.journal, 'page-slow');
    const f = fire(full.journal, 'page-slow');
    // Without history: 0.1·s/(3 s of baseline + s) > 0.06 → s ≈ 4.5 s. With it: ≈ 18 s.
    expect(n.observed as number).toBeLessThan(9_000);
    expect(f.observed as number).toBeGreaterThan(14_000);
    expect(f.observed as number).toBeLessThan(24_000);
    // Each run agrees with its own prediction (the truncated windows are noisier: a wider band).
    expect(Math.abs((n.observed as number) - (n.predicted as number))).toBeLessThan(0.35 * (n.predicted as number));
    expect(Math.abs((f.observed as number) - (f.predicted as number))).toBeLessThan(0.15 * (f.predicted as number));
    // Ticket tiers: within seconds without history (the truncated 1d and 3d windows hold the same 10 %);
    // never in a 24 s fault with it (they need 36 s of a 10 % burn), and the maths says so.
    for (const tier of ['ticket-fast', 'ticket-slow']) {
      expect(fire(none.journal, tier).observed).not.toBeNull();
      expect(fire(none.journal, tier).predicted).not.toBeNull();
      expect(fire(full.journal, tier)).toEqual({ predicted: null, observed: null });
    }
    expect(full.stdout).toMatch(/SLO history: assumed \(baseline\)/);
    expect(none.stdout).toMatch(/SLO history: none/);
  }, 240_000);
});
