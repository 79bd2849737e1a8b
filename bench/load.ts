/**
 * Load generator benchmark, against servers in child processes on loopback, in the same run:
 *  - the highest rate `faultline load` holds with its own validity rule (the CLI itself is run, with
 *    its defaults: its exit code and JSON are the verdict, judged by src/load/validity.ts), side by
 *    side with wrk's closed-loop maximum on the same upstream (measured before and after the steps);
 *    the ratio is the figure to improve. Also generator CPU per request at that rate;
 *  - the stall test (200 ms stall every 2 s) with faultline, wrk and autocannon side by side.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { runLoad, type LoadResult } from '../src/load/index.ts';
import { VALIDITY_RULE } from '../src/load/validity.ts';
import { ensureBinary, median, nodeChild, r2, reportRatio, stop, writeBench } from './helpers.ts';

/** `npm run bench -- load --quick`: a short smoke run (fewer, shorter steps) written to load-quick.*. */
const QUICK = process.argv.includes('--quick');
const STEP_S = QUICK ? 2 : 10;
const WRK_S = QUICK ? 1 : 5;
const STALL_S = QUICK ? 4 : 8;
const RATES = QUICK ? [5_000, 10_000, 20_000] : [5_000, 7_500, 10_000, 12_500, 15_000, 17_500, 20_000, 25_000, 30_000];
/** Runs at the highest valid rate whose CPU per request is reported (its median: one run varies by about ±10 %). */
const CPU_RUNS = QUICK ? 1 : 3;
/** Issue 17's targets. */
const TARGET_RATE = 20_000;
const TARGET_CPU_US = 25;

const TRIVIAL = `const http = require('http'); const s = http.createServer((q, r) => r.end('ok')); s.keepAliveTimeout = 60000; s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
const STALL = `const http = require('http'); const s = http.createServer((q, r) => r.end('ok')); s.keepAliveTimeout = 60000; s.listen(0, '127.0.0.1', () => console.log(s.address().port)); setInterval(() => { const u = Date.now() + 200; while (Date.now() < u) {} }, 2000);`;
const CLI = fileURLToPath(new URL('../bin/faultline.mjs', import.meta.url));
const run = promisify(execFile);

/** The highest valid rate with every lower rate valid too (a lucky step above a failed one does not count). */
function highestHeld(steps: readonly Step[]): number | null {
  const firstMiss = steps.findIndex((s) => !s.valid);
  const held = (firstMiss === -1 ? steps : steps.slice(0, firstMiss)).map((s) => s.rate);
  return held.length ? Math.max(...held) : null;
}

interface Step {
  rate: number;
  valid: boolean;
  exitCode: number;
  result: LoadResult;
}

/** `faultline load --url … --rate R --duration D` with no other flag, as a user runs it. */
async function cliStep(url: string, rate: number, dir: string): Promise<Step> {
  const file = join(dir, `load-${rate}.json`);
  const exitCode = await run(process.execPath, [CLI, 'load', '--url', url, '--rate', String(rate), '--duration', `${STEP_S}s`, '--seed', '1', '--json', file], { timeout: (STEP_S + 30) * 1000 }).then(
    () => 0,
    (e: { code?: number }) => e.code ?? 4,
  );
  if (exitCode !== 0 && exitCode !== 1) throw new Error(`faultline load exited ${exitCode} at ${rate} req/s`);
  const result = JSON.parse(readFileSync(file, 'utf8')) as LoadResult;
  return { rate, valid: result.valid, exitCode, result };
}

/** wrk's closed-loop maximum (req/s), 64 connections on one thread. */
function wrkMax(bin: string | undefined, url: string): number | null {
  if (!bin) return null;
  const r = spawnSync(bin, ['-t1', '-c64', `-d${WRK_S}s`, url], { encoding: 'utf8', timeout: (WRK_S + 20) * 1000 });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  return m ? Number(m[1]) : null;
}

function wrkStall(port: number): { p50: number; p90: number; p99: number; max: number } | null {
  const bin = ensureBinary('wrk', 'wrk');
  if (!bin) return null;
  const r = spawnSync(bin, ['-t1', '-c50', `-d${STALL_S - 2}s`, '--latency', `http://127.0.0.1:${port}/`], { encoding: 'utf8', timeout: 30_000 });
  const num = (label: string): number => {
    const m = new RegExp(`\\s${label}%?\\s+([\\d.]+)(us|ms|s)`).exec(r.stdout);
    if (!m) return NaN;
    const v = Number(m[1]);
    return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
  };
  const max = /Latency\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s)/.exec(r.stdout);
  const maxMs = max ? (max[2] === 'us' ? Number(max[1]) / 1000 : max[2] === 's' ? Number(max[1]) * 1000 : Number(max[1])) : NaN;
  return { p50: num('50'), p90: num('90'), p99: num('99'), max: maxMs };
}

async function autocannonStall(port: number): Promise<{ p50: number; p90: number; p99: number; max: number }> {
  const require = createRequire(import.meta.url);
  const autocannon = require('autocannon') as (o: Record<string, unknown>) => Promise<{ latency: Record<string, number> }>;
  const r = await autocannon({ url: `http://127.0.0.1:${port}/`, connections: 50, duration: STALL_S - 2 });
  return { p50: r.latency.p50 as number, p90: r.latency.p90 as number, p99: r.latency.p99 as number, max: r.latency.max as number };
}

export default async function bench(): Promise<void> {
  const wrk = ensureBinary('wrk', 'wrk');
  const trivial = await nodeChild(TRIVIAL);
  const url = `http://127.0.0.1:${trivial.line}/`;
  const dir = mkdtempSync(join(tmpdir(), 'faultline-bench-load-'));
  const steps: Step[] = [];
  const cpuRepeats: Step[] = [];
  const wrkRuns: Array<number | null> = [];
  const t0 = performance.now();
  try {
    wrkRuns.push(wrkMax(wrk, url));
    for (const rate of RATES) {
      const s = await cliStep(url, rate, dir);
      steps.push(s);
      const g = s.result;
      console.log(
        `load: ${rate}/s → ${s.valid ? 'valid' : `INVALID (${g.invalidCause})`}, sent ${((g.sent / Math.max(1, g.scheduled)) * 100).toFixed(2)} %, queue p99 ${r2(g.clientQueueMs.p99)} ms, lag p99 ${r2(g.schedulingLagMs.p99)} ms, corrected p99 ${r2(g.latencyMs.corrected.p99)} ms, CPU ${r2(g.generator.cpuUsPerRequest)} µs/req (${r2(g.generator.steadyCpuUsPerRequest)} after the warm-up)`,
      );
      // Two invalid rates in a row: the generator is past its edge.
      if (steps.length >= 2 && !s.valid && !(steps[steps.length - 2] as Step).valid) break;
    }
    const top = highestHeld(steps);
    for (let i = 1; top !== null && i < CPU_RUNS; i++) {
      const again = await cliStep(url, top, dir);
      cpuRepeats.push(again);
      console.log(`load: ${top}/s again → ${again.valid ? 'valid' : 'INVALID'}, CPU ${r2(again.result.generator.cpuUsPerRequest)} µs/req (${r2(again.result.generator.steadyCpuUsPerRequest)} after the warm-up)`);
    }
    wrkRuns.push(wrkMax(wrk, url));
  } finally {
    await stop(trivial.child);
    rmSync(dir, { recursive: true, force: true });
  }
  const stepsSeconds = (performance.now() - t0) / 1000;
  const best = highestHeld(steps);
  const atBest = steps.find((s) => s.rate === best);
  const cpuRuns = atBest ? [atBest, ...cpuRepeats] : [];
  const cpuOf = (pick: (s: Step) => number | null): { median: number | null; runs: number[] } => {
    const runs = cpuRuns.map(pick).filter((x): x is number => x !== null);
    return { median: median(runs), runs };
  };
  const cpuWhole = cpuOf((s) => s.result.generator.cpuUsPerRequest);
  const cpuSteady = cpuOf((s) => s.result.generator.steadyCpuUsPerRequest);
  const wrkMeasured = wrkRuns.filter((v): v is number => v !== null);
  const wrkMaxRate = wrkMeasured.length ? wrkMeasured.reduce((a, b) => a + b, 0) / wrkMeasured.length : null;
  const ratio = best !== null && wrkMaxRate ? best / wrkMaxRate : null;

  const stall = await nodeChild(STALL);
  const sport = Number(stall.line);
  let fl: LoadResult;
  let wrkStallResult: ReturnType<typeof wrkStall>;
  let ac: Awaited<ReturnType<typeof autocannonStall>> | null;
  try {
    fl = await runLoad({ target: { kind: 'http', url: `http://127.0.0.1:${sport}/` }, schedule: { type: 'constant', rate: 2000, duration: STALL_S * 1000 }, warmupMs: 2000, seed: 2 });
    // The closed-loop tools' side of the stall test is the full run's (it asserts nothing about faultline).
    wrkStallResult = QUICK ? null : wrkStall(sport);
    ac = QUICK ? null : await autocannonStall(sport);
  } finally {
    await stop(stall.child);
  }
  const rule = `≥ ${VALIDITY_RULE.minSentShare * 100} % sent and client-side queueing p99 ≤ ${VALIDITY_RULE.maxClientQueueP99Ms} ms`;
  const json = {
    validityRule: rule,
    command: `faultline load --url URL --rate R --duration ${STEP_S}s --seed 1 (CLI defaults otherwise)`,
    rates: steps.map((s) => ({
      rate: s.rate,
      valid: s.valid,
      invalidCause: s.result.invalidCause,
      sentRatio: s.result.sent / Math.max(1, s.result.scheduled),
      clientQueueP99Ms: s.result.clientQueueMs.p99,
      schedulingLagP99Ms: s.result.schedulingLagMs.p99,
      correctedP99Ms: s.result.latencyMs.corrected.p99,
      serviceP99Ms: s.result.latencyMs.service.p99,
      cpuUsPerRequest: s.result.generator.cpuUsPerRequest,
      steadyCpuUsPerRequest: s.result.generator.steadyCpuUsPerRequest,
    })),
    highestValidRate: best,
    cpuUsPerRequestAtHighest: cpuWhole.median,
    cpuAtHighest: { runs: cpuRuns.length, valid: cpuRuns.filter((s) => s.valid).length, wholeRun: cpuWhole, afterWarmup: cpuSteady },
    wrkClosedLoopMax: { runs: wrkRuns, mean: wrkMaxRate, command: `wrk -t1 -c64 -d${WRK_S}s URL (before and after the steps)` },
    ratioToWrk: ratio,
    stepsSeconds,
    stallTest: {
      trueP99Ms: '≈180 (stall 200 ms every 2 s)',
      faultline: { corrected: fl.latencyMs.corrected, service: fl.latencyMs.service, rate: 2000 },
      wrk: wrkStallResult,
      autocannon: ac,
    },
    targets: { highestValidRate: TARGET_RATE, cpuUsPerRequest: TARGET_CPU_US },
  };
  const md = `# Load generator benchmark (open loop, server on the same 2 cores)

Each rate is one \`${json.command}\`, judged by the CLI's own validity rule (${rule}).

| rate req/s | valid | sent | client queue p99 ms | scheduling lag p99 ms | corrected p99 ms | service p99 ms | CPU µs/req | after the warm-up |
|---|---|---|---|---|---|---|---|---|
${json.rates.map((r) => `| ${r.rate} | ${r.valid ? 'yes' : `no (${r.invalidCause})`} | ${(r.sentRatio * 100).toFixed(2)} % | ${r2(r.clientQueueP99Ms)} | ${r2(r.schedulingLagP99Ms)} | ${r2(r.correctedP99Ms)} | ${r2(r.serviceP99Ms)} | ${r2(r.cpuUsPerRequest)} | ${r2(r.steadyCpuUsPerRequest)} |`).join('\n')}

- highest valid rate, every lower rate valid too: **${best ?? 'none'} req/s** (target ≥ ${TARGET_RATE})
- wrk closed-loop maximum on the same upstream, same run: **${r2(wrkMaxRate)} req/s** (runs: ${wrkRuns.map((v) => r2(v)).join(', ')})
- ratio highest valid rate / wrk maximum: **${r2(ratio)}** (target ≥ ${r2(TARGET_RATE / 63_000)}: ${TARGET_RATE} against the 63,000 wrk measured on a quiet machine)
- generator CPU at that rate, median of ${cpuRuns.length} run(s) (${cpuRuns.filter((s) => s.valid).length} valid): **${r2(cpuWhole.median)} µs/request** over the whole run, the warm-up's JIT compilation included (runs: ${cpuWhole.runs.map(r2).join(', ')}; target ≤ ${TARGET_CPU_US}); ${r2(cpuSteady.median)} µs/request after the warm-up (runs: ${cpuSteady.runs.map(r2).join(', ')})

## Stall test (200 ms stall every 2 s; true p99 ≈ 180 ms)

| tool | p50 ms | p90 ms | p99 ms | max ms |
|---|---|---|---|---|
| faultline, 2000 req/s open loop, corrected | ${r2(fl.latencyMs.corrected.p50)} | ${r2(fl.latencyMs.corrected.p90)} | ${r2(fl.latencyMs.corrected.p99)} | ${r2(fl.latencyMs.corrected.max)} |
| faultline, same run, service time | ${r2(fl.latencyMs.service.p50)} | ${r2(fl.latencyMs.service.p90)} | ${r2(fl.latencyMs.service.p99)} | ${r2(fl.latencyMs.service.max)} |
| wrk -t1 -c50 (closed loop + post-run correction) | ${r2(wrkStallResult?.p50)} | ${r2(wrkStallResult?.p90)} | ${r2(wrkStallResult?.p99)} | ${r2(wrkStallResult?.max)} |
| autocannon -c50 (closed loop) | ${r2(ac?.p50)} | ${r2(ac?.p90)} | ${r2(ac?.p99)} | ${r2(ac?.max)} |
`;
  reportRatio({ suite: 'load', name: 'highest valid rate / wrk closed-loop max', value: ratio, target: `≥ ${r2(TARGET_RATE / 63_000)}`, met: ratio === null ? false : ratio >= TARGET_RATE / 63_000 });
  reportRatio({ suite: 'load', name: 'highest valid rate (req/s)', value: best, target: `≥ ${TARGET_RATE}`, met: (best ?? 0) >= TARGET_RATE });
  const cpuAtBest = cpuWhole.median;
  reportRatio({ suite: 'load', name: `generator CPU µs/request at that rate (median of ${cpuRuns.length})`, value: cpuAtBest, target: `≤ ${TARGET_CPU_US}`, met: cpuAtBest === null ? null : cpuAtBest <= TARGET_CPU_US });
  const stallRatio = fl.latencyMs.corrected.p99 === null ? null : fl.latencyMs.corrected.p99 / 180;
  reportRatio({ suite: 'load', name: 'stall test corrected p99 / true 180 ms', value: stallRatio, target: '0.9–1.1', met: stallRatio === null ? false : stallRatio >= 0.9 && stallRatio <= 1.1 });
  writeBench(QUICK ? 'load-quick' : 'load', { ...json, quick: QUICK }, QUICK ? `> Smoke run (--quick): short steps, not the reported numbers.\n\n${md}` : md);
}
