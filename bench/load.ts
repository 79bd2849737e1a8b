/**
 * Load generator benchmark, against servers in child processes on loopback, in the same run:
 *  - the highest open-loop rate held with ≥ 99 % of scheduled requests sent and scheduling lag p99 ≤ 3 ms
 *    (target 15,000 req/s on 2 cores, server included), and generator CPU per request (target ≤ 45 µs);
 *  - the stall test (200 ms stall every 2 s) with faultline, wrk and autocannon side by side.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { runLoad, type LoadResult } from '../src/load/index.ts';
import { ensureBinary, nodeChild, r2, stop, writeBench } from './helpers.ts';

/** `npm run bench -- load --quick`: a short smoke run (fewer, shorter steps) written to load-quick.*. */
const QUICK = process.argv.includes('--quick');
const STEADY_MS = QUICK ? 2000 : 6000;
const STALL_S = QUICK ? 4 : 8;

const TRIVIAL = `const http = require('http'); const s = http.createServer((q, r) => r.end('ok')); s.keepAliveTimeout = 60000; s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
const STALL = `const http = require('http'); const s = http.createServer((q, r) => r.end('ok')); s.keepAliveTimeout = 60000; s.listen(0, '127.0.0.1', () => console.log(s.address().port)); setInterval(() => { const u = Date.now() + 200; while (Date.now() < u) {} }, 2000);`;

async function step(port: number, rate: number): Promise<{ rate: number; result: LoadResult; cpuUsPerRequest: number; ok: boolean }> {
  const cpu0 = process.cpuUsage();
  const result = await runLoad({
    target: { kind: 'http', url: `http://127.0.0.1:${port}/`, connections: 64 },
    // A 2 s ramp (left out of the histograms), then 6 s at the rate.
    schedule: { type: 'steps', steps: [{ rate: rate / 2, duration: 1000 }, { rate: (rate * 3) / 4, duration: 1000 }, { rate, duration: STEADY_MS }] },
    warmupMs: 2000,
    seed: 1,
  });
  const cpu = process.cpuUsage(cpu0);
  const cpuUsPerRequest = (cpu.user + cpu.system) / Math.max(1, result.sent);
  const ok = result.sent / result.scheduled >= 0.99 && (result.schedulingLagMs.p99 ?? Infinity) <= 3;
  return { rate, result, cpuUsPerRequest, ok };
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
  const trivial = await nodeChild(TRIVIAL);
  const port = Number(trivial.line);
  const steps: Awaited<ReturnType<typeof step>>[] = [];
  try {
    await step(port, 2000); // warm-up
    for (const rate of QUICK ? [5_000, 15_000] : [5_000, 10_000, 15_000, 17_500, 20_000, 22_500]) {
      const s = await step(port, rate);
      steps.push(s);
      console.log(`load: ${rate}/s → sent ${((s.result.sent / s.result.scheduled) * 100).toFixed(2)} %, lag p99 ${r2(s.result.schedulingLagMs.p99)} ms, corrected p99 ${r2(s.result.latencyMs.corrected.p99)} ms, CPU ${r2(s.cpuUsPerRequest)} µs/req`);
    }
  } finally {
    await stop(trivial.child);
  }
  // The highest rate held with every lower rate held too (a lucky step above a failed one does not count).
  const firstMiss = steps.findIndex((s) => !s.ok);
  const held = (firstMiss === -1 ? steps : steps.slice(0, firstMiss)).map((s) => s.rate);
  const best = held.length ? Math.max(...held) : null;
  const atBest = steps.find((s) => s.rate === best);

  const stall = await nodeChild(STALL);
  const sport = Number(stall.line);
  let fl: LoadResult;
  let wrk: ReturnType<typeof wrkStall>;
  let ac: Awaited<ReturnType<typeof autocannonStall>>;
  try {
    fl = await runLoad({ target: { kind: 'http', url: `http://127.0.0.1:${sport}/` }, schedule: { type: 'constant', rate: 2000, duration: STALL_S * 1000 }, warmupMs: 2000, seed: 2 });
    wrk = wrkStall(sport);
    ac = await autocannonStall(sport);
  } finally {
    await stop(stall.child);
  }
  const json = {
    rates: steps.map((s) => ({
      rate: s.rate,
      sentRatio: s.result.sent / s.result.scheduled,
      schedulingLagP99Ms: s.result.schedulingLagMs.p99,
      correctedP99Ms: s.result.latencyMs.corrected.p99,
      serviceP99Ms: s.result.latencyMs.service.p99,
      clientQueueP99Ms: s.result.clientQueueMs.p99,
      cpuUsPerRequest: s.cpuUsPerRequest,
      held: s.ok,
    })),
    highestHeldRate: best,
    cpuUsPerRequestAtHighest: atBest?.cpuUsPerRequest ?? null,
    stallTest: {
      trueP99Ms: '≈180 (stall 200 ms every 2 s)',
      faultline: { corrected: fl.latencyMs.corrected, service: fl.latencyMs.service, rate: 2000 },
      wrk,
      autocannon: ac,
    },
    targets: { rate: 15_000, cpuUsPerRequest: 45 },
  };
  const md = `# Load generator benchmark (open loop, server on the same 2 cores)

| rate req/s | sent | scheduling lag p99 ms | corrected p99 ms | client queue p99 ms | CPU µs/req | held |
|---|---|---|---|---|---|---|
${json.rates.map((r) => `| ${r.rate} | ${(r.sentRatio * 100).toFixed(2)} % | ${r2(r.schedulingLagP99Ms)} | ${r2(r.correctedP99Ms)} | ${r2(r.clientQueueP99Ms)} | ${r2(r.cpuUsPerRequest)} | ${r.held ? 'yes' : 'no'} |`).join('\n')}

- highest rate held, with every lower rate held too (≥ 99 % sent, lag p99 ≤ 3 ms): **${best ?? 'none'} req/s** (target 15,000)
- generator CPU at that rate: **${r2(atBest?.cpuUsPerRequest)} µs/request** (target ≤ 45)

## Stall test (200 ms stall every 2 s; true p99 ≈ 180 ms)

| tool | p50 ms | p90 ms | p99 ms | max ms |
|---|---|---|---|---|
| faultline, 2000 req/s open loop, corrected | ${r2(fl.latencyMs.corrected.p50)} | ${r2(fl.latencyMs.corrected.p90)} | ${r2(fl.latencyMs.corrected.p99)} | ${r2(fl.latencyMs.corrected.max)} |
| faultline, same run, service time | ${r2(fl.latencyMs.service.p50)} | ${r2(fl.latencyMs.service.p90)} | ${r2(fl.latencyMs.service.p99)} | ${r2(fl.latencyMs.service.max)} |
| wrk -t1 -c50 (closed loop + post-run correction) | ${r2(wrk?.p50)} | ${r2(wrk?.p90)} | ${r2(wrk?.p99)} | ${r2(wrk?.max)} |
| autocannon -c50 (closed loop) | ${r2(ac.p50)} | ${r2(ac.p90)} | ${r2(ac.p99)} | ${r2(ac.max)} |
`;
  writeBench(QUICK ? 'load-quick' : 'load', { ...json, quick: QUICK }, QUICK ? `> Smoke run (--quick): short steps, not the reported numbers.\n\n${md}` : md);
}
