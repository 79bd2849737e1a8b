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
import { VirtualClock } from '../../src/shared/index.ts';
import { createSloEngine, generatePrometheusRules, replaySeries, type SloDefinition } from '../../src/slo/index.ts';
import { historySamples } from '../../src/slo/history.ts';
import { parseSloText } from '../../src/slo/slo-spec.ts';
import { promtoolTestDoc } from '../../src/slo/rules.ts';

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

/** The api SLO with only the two page tiers; `fastExtra`/`slowExtra` add for/keep_firing_for. */
const pageTiers = (fastExtra = '', slowExtra = ''): SloDefinition =>
  parseSloText(`${SLO_TEXT}  tiers:
    - { name: page-fast, severity: page, factor: 14.4, longWindow: 1h, shortWindow: 5m${fastExtra} }
    - { name: page-slow, severity: page, factor: 6, longWindow: 6h, shortWindow: 30m${slowExtra} }
`);
const withFor = pageTiers(', for: 2m', ', keepFiringFor: 10m');
const pagesOnly = pageTiers();

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

/**
 * A fault after a long assumed history: the live engine starts from the history faultline synthesises
 * (3 days of samples before engine time 0), the fault is fed as recorded counts, and promtool
 * evaluates the whole series, history included. Alert times must agree exactly; the burn-rate
 * prediction (steady segments, so it is exact here) must agree too.
 */
interface HistoryCase {
  name: string;
  slo?: SloDefinition;
  timeScale?: number;
  /** Assumed history: requests per step and error ratio. */
  history: { reqPerStep: number; errorRatio: number };
  /** After engine time 0. */
  segments: Segment[];
  expectFired: string[];
  expectQuiet: string[];
  /** Fault start and end (steps after 0), for the prediction. */
  fault: [number, number];
}

const HISTORY_CASES: HistoryCase[] = [
  {
    // 99.9 %: a 9× slow burn after 3 healthy days (0.05 % errors). page-slow needs
    // 360 × (0.006 − 0.0005)/(0.009 − 0.0005) = 232.9 min, ticket-slow 4320 × 0.0005/0.0085 = 254.1 min;
    // ticket-fast would need 423.5 min of it; without the history all of them fire within minutes.
    name: 'slow burn after three days of healthy history',
    history: { reqPerStep: 1000, errorRatio: 0.0005 },
    segments: [ok(30), bad(300, 0.009), ok(120)],
    expectFired: ['page-slow', 'ticket-slow'],
    expectQuiet: ['page-fast', 'ticket-fast'],
    fault: [30, 330],
  },
  {
    // Page tiers only (the longest window is 6h): a 10-minute outage fires both and both clear.
    name: 'full outage after a long history at a fractional request rate',
    slo: pagesOnly,
    history: { reqPerStep: 1234.5, errorRatio: 0 },
    segments: [ok(20, 1234), bad(10, 1, 1234), ok(60, 1234)],
    expectFired: ['page-fast', 'page-slow'],
    expectQuiet: [],
    fault: [20, 30],
  },
  {
    name: 'compressed timeline (timeScale 60) with for and keep_firing_for after a history with errors',
    slo: withFor,
    timeScale: 60,
    history: { reqPerStep: 500, errorRatio: 0.0004 },
    segments: [ok(15, 500), bad(12, 1, 500), ok(60, 500)],
    expectFired: ['page-fast', 'page-slow'],
    expectQuiet: [],
    fault: [15, 27],
  },
];

function writeHistoryCase(c: HistoryCase, index: number): { file: string; alerts: Record<string, Array<[number, number | null]>>; predicted: Record<string, [number | null, number | null]> } {
  const slo = c.slo ?? parseSloText(SLO_TEXT);
  const scale = c.timeScale ?? 1;
  const stepMs = 60_000 / scale;
  const engine = createSloEngine({ slo, timeScale: scale, clock: new VirtualClock() });
  const h = engine.assumeHistory({ ratePerSec: (c.history.reqPerStep * 1000) / stepMs, errorRatio: c.history.errorRatio });
  // The history as the engine synthesises it, then the recorded counts on top of its total at 0.
  const hist = historySamples(h, stepMs, 0);
  const live = timeline(c.segments);
  const atZero = { total: (h.ratePerSec * (0 - h.fromT)) / 1000, errors: ((h.ratePerSec * (0 - h.fromT)) / 1000) * h.errorRatio };
  const total = [...hist.map((s) => s.total), ...live.total.map((v) => atZero.total + v)];
  const errors = [...hist.map((s) => s.errors), ...live.errors.map((v) => atZero.errors + v)];
  for (let i = 1; i < live.total.length; i++) {
    engine.recordCounts((live.total[i] as number) - (live.total[i - 1] as number), (live.errors[i] as number) - (live.errors[i - 1] as number), (i - 0.5) * stepMs);
  }
  const endMs = (live.total.length - 1) * stepMs;
  engine.evaluate(endMs);
  // The engine's retained samples are exactly the tail of that series.
  const retained = engine.retainedSamples();
  const offset = hist.length - Math.round(-h.fromT / stepMs);
  const firstIndex = Math.round((retained[0]?.t as number) / stepMs) + hist.length - offset;
  expect(retained.map((s) => [s.total, s.errors])).toEqual(retained.map((_, i) => [total[firstIndex + i], errors[firstIndex + i]]));
  // Prometheus' view: the whole series from the first history sample, evaluated from there on.
  const shift = -h.fromT;
  const series = total.map((v, i) => ({ t: (i * stepMs) / 1000, total: v, errors: errors[i] as number }));
  const replay = replaySeries(slo, series, { evalIntervalSec: 60, timeScale: scale });
  const alertsMs: Record<string, Array<[number, number | null]>> = {};
  for (const [tier, iv] of Object.entries(replay.alerts)) alertsMs[tier] = iv.map(([a, b]) => [a * 1000, b === null ? null : b * 1000]);
  const engineShifted = Object.fromEntries(Object.entries(engine.alertIntervals()).map(([k, iv]) => [k, iv.map(([a, b]) => [a + shift, b === null ? null : b + shift])]));
  expect(engineShifted).toEqual(alertsMs);
  const forecast = engine.forecast(c.fault[0] * stepMs, c.fault[1] * stepMs, endMs);
  const predicted = Object.fromEntries(forecast.tiers.map((t) => [t.tier, [t.predicted.fireAt, t.predicted.clearAt] as [number | null, number | null]]));
  for (const t of forecast.tiers) {
    expect(t.observed.fireAt, `${t.tier} observed vs predicted fire`).toBe(t.predicted.fireAt);
    if (t.observed.clearAt !== null) expect(t.observed.clearAt, `${t.tier} observed vs predicted clear`).toBe(t.predicted.clearAt);
  }
  const rulesFile = `rules-h${index}.yml`;
  writeFileSync(join(dir, rulesFile), generatePrometheusRules(slo, { timeScale: scale }));
  const doc = promtoolTestDoc(slo, { intervalMs: stepMs, total, errors }, alertsMs, rulesFile, { timeScale: scale, name: c.name });
  const file = `test-h${index}.yml`;
  writeFileSync(join(dir, file), stringify(doc, { lineWidth: 0 }));
  return { file, alerts: engine.alertIntervals(), predicted };
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

  it.each(HISTORY_CASES.map((c, i) => [c.name, i] as const))('with a long history before the fault: %s', async (_name, i) => {
    const c = HISTORY_CASES[i] as HistoryCase;
    const { file, alerts, predicted } = writeHistoryCase(c, i);
    for (const tier of c.expectFired) expect(predicted[tier]?.[0], `${tier} should fire`).not.toBeNull();
    for (const tier of c.expectFired) expect(alerts[tier]?.length, `${tier} should fire`).toBeGreaterThan(0);
    for (const tier of c.expectQuiet) expect(alerts[tier], `${tier} should not fire`).toEqual([]);
    const r = await promtool([file]);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  }, 240_000);

  it('catches a disagreement: shifting one predicted fire time by one step makes promtool fail', async () => {
    const { file } = writeCase(CASES[0] as Case, 100, true);
    const r = await promtool([file]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('FAILED');
  });
});
