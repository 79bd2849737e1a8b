/**
 * Cross-check with the real thing: every timeline becomes a promtool unit-test file built from the
 * rules faultline generates and the alerts faultline's evaluator predicts, asserted at every
 * evaluation step; `promtool test rules` (Prometheus 2.42, Debian package `prometheus`) must agree.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { generatePrometheusRules, parseSloText, promtoolTestDoc, replaySeries, type SloDefinition } from '../../src/slo/index.ts';

const exec = promisify(execFile);

interface Segment {
  minutes: number;
  reqPerStep: number;
  errPerStep: number;
}

/** Cumulative counters sampled every step from segments of constant traffic; optional counter reset. */
function timeline(segments: Segment[], resetAtStep?: number): { total: number[]; errors: number[] } {
  const total = [0];
  const errors = [0];
  let t = 0;
  let e = 0;
  let step = 0;
  for (const s of segments) {
    for (let i = 0; i < s.minutes; i++) {
      step++;
      if (step === resetAtStep) {
        t = 0;
        e = 0;
      }
      t += s.reqPerStep;
      e += s.errPerStep;
      total.push(t);
      errors.push(e);
    }
  }
  return { total, errors };
}

const SLO_TEXT = `apiVersion: faultline/v1
kind: SLO
name: api
objective: 99.9
alerting:
  runbook: https://runbooks.example.internal/api
`;

interface Case {
  name: string;
  segments: Segment[];
  resetAtStep?: number;
  timeScale?: number;
  slo?: SloDefinition;
  /** What the maths says must happen (checked on faultline's own result). */
  expectFired: string[];
  expectQuiet: string[];
  /** Tiers whose last interval must have closed before the end of the timeline. */
  expectCleared?: string[];
}

const ok = (minutes: number, req = 1000): Segment => ({ minutes, reqPerStep: req, errPerStep: 0 });
const bad = (minutes: number, ratio: number, req = 1000): Segment => ({ minutes, reqPerStep: req, errPerStep: Math.round(req * ratio) });

const withFor = parseSloText(`apiVersion: faultline/v1
kind: SLO
name: api
objective: 99.9
alerting:
  runbook: https://runbooks.example.internal/api
  tiers:
    - { name: page-fast, severity: page, factor: 14.4, longWindow: 1h, shortWindow: 5m, for: 2m }
    - { name: page-slow, severity: page, factor: 6, longWindow: 6h, shortWindow: 30m, keepFiringFor: 10m }
`);

const CASES: Case[] = [
  { name: 'full outage for 10 minutes', segments: [ok(60), bad(10, 1), ok(60)], expectFired: ['page-fast', 'page-slow'], expectQuiet: [] },
  { name: 'short heavy burst fires only the fast tier', segments: [ok(400), bad(3, 0.5), ok(60)], expectFired: ['page-fast'], expectQuiet: ['page-slow'] },
  { name: 'steady 1.5 % error rate', segments: [ok(30), bad(150, 0.015)], expectFired: ['page-fast', 'page-slow'], expectQuiet: [] },
  { name: 'steady 0.8 % error rate fires the slow tier only', segments: [ok(30), bad(150, 0.008)], expectFired: ['page-slow'], expectQuiet: ['page-fast'] },
  {
    name: 'flapping',
    segments: [ok(60), bad(5, 1), ok(5), bad(5, 1), ok(5), bad(5, 1), ok(5), bad(5, 1), ok(40)],
    expectFired: ['page-fast', 'page-slow'],
    expectQuiet: [],
  },
  { name: 'counter reset during an outage', segments: [ok(60), bad(12, 1), ok(40)], resetAtStep: 66, expectFired: ['page-fast'], expectQuiet: [] },
  { name: 'very low traffic', segments: [ok(30, 1), bad(1, 1, 1), ok(60, 0), ok(30, 1)], expectFired: ['page-fast'], expectQuiet: [] },
  { name: 'compressed timeline (timeScale 60)', segments: [ok(60), bad(10, 1), ok(60)], timeScale: 60, expectFired: ['page-fast', 'page-slow'], expectQuiet: [] },
  { name: 'for and keep_firing_for', segments: [ok(60), bad(10, 1), ok(60)], slo: withFor, expectFired: ['page-fast', 'page-slow'], expectQuiet: [] },
  {
    name: 'ticket tiers fire and clear over three compressed days (timeScale 60)',
    segments: [ok(60), bad(120, 0.05), ok(4400)],
    timeScale: 60,
    expectFired: ['page-fast', 'page-slow', 'ticket-fast', 'ticket-slow'],
    expectQuiet: [],
    expectCleared: ['ticket-fast', 'ticket-slow'],
  },
];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'faultline-promtool-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function promtool(files: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await exec('promtool', ['test', 'rules', ...files], { cwd: dir, maxBuffer: 64 << 20 });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string };
    if (err.code === 'ENOENT') throw new Error("promtool not found: install Debian's 'prometheus' package (.ci/run does this)");
    return { code: Number(err.code), out: (err.stdout ?? '') + (err.stderr ?? '') };
  }
}

function writeCase(c: Case, index: number, shiftFirstFire = false): { file: string; alerts: Record<string, Array<[number, number | null]>> } {
  const slo = c.slo ?? parseSloText(SLO_TEXT);
  const scale = c.timeScale ?? 1;
  const stepMs = 60_000 / scale;
  const tl = timeline(c.segments, c.resetAtStep);
  const series = tl.total.map((total, i) => ({ t: (i * stepMs) / 1000, total, errors: tl.errors[i] as number }));
  // The evaluation interval is given real-equivalent (60 s) and compressed by timeScale, like the windows.
  const result = replaySeries(slo, series, { evalIntervalSec: 60, timeScale: scale });
  const alertsMs: Record<string, Array<[number, number | null]>> = {};
  for (const [tier, iv] of Object.entries(result.alerts)) alertsMs[tier] = iv.map(([a, b]) => [a * 1000, b === null ? null : b * 1000]);
  if (shiftFirstFire) {
    const first = alertsMs['page-fast']?.[0];
    if (first) first[0] += stepMs;
  }
  const rulesFile = `rules-${index}.yml`;
  writeFileSync(join(dir, rulesFile), generatePrometheusRules(slo, { timeScale: scale }));
  const doc = promtoolTestDoc(slo, { intervalMs: stepMs, total: tl.total, errors: tl.errors }, alertsMs, rulesFile, { timeScale: scale, name: c.name });
  const file = `test-${index}${shiftFirstFire ? '-shifted' : ''}.yml`;
  writeFileSync(join(dir, file), stringify(doc, { lineWidth: 0 }));
  return { file, alerts: result.alerts };
}

describe('faultline and promtool agree on every fire and clear time', () => {
  it.each(CASES.map((c, i) => [c.name, i] as const))('%s', async (_name, i) => {
    const c = CASES[i] as Case;
    const { file, alerts } = writeCase(c, i);
    for (const tier of c.expectFired) expect(alerts[tier]?.length, `${tier} should fire`).toBeGreaterThan(0);
    for (const tier of c.expectQuiet) expect(alerts[tier], `${tier} should not fire`).toEqual([]);
    for (const tier of c.expectCleared ?? []) expect(alerts[tier]?.at(-1)?.[1], `${tier} should clear`).not.toBeNull();
    const r = await promtool([file]);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  }, 180_000); // the three-day case runs ~40 s of promtool alone; room for a contended machine

  it('catches a disagreement: shifting one predicted fire time by one step makes promtool fail', async () => {
    const { file } = writeCase(CASES[0] as Case, 100, true);
    const r = await promtool([file]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('FAILED');
  });
});
