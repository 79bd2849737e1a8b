/**
 * `npm run bench -- soak`: the issue's soak — open-loop load (default 2,000 req/s for 10 minutes)
 * through a proxy in `faultline serve` (its own process) while a fault is toggled every 3 s through the
 * control API, rotating through latency, loss (retransmission stalls), bandwidth, timeout (a share of
 * connections stalled and closed), partition (reset of a share of new connections) and slicer; samples
 * the serve process's RSS and open fds every second and reports their start and end values and slopes
 * (least-squares regression per minute, after a 20 % warm-up; target: flat, i.e. no leak).
 *
 * Flags (parsed here): `--duration 60s` / `--duration=10m` (default 10m; FAULTLINE_SOAK_SECONDS too),
 * `--rate N` (default 2000; FAULTLINE_SOAK_RATE), `--toggle 3s`. `--quick`: 20 s.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runLoad } from '../src/load/index.ts';
import { parseDuration } from '../src/shared/index.ts';
import { flagValue, nodeChild, stop, writeBench } from './helpers.ts';

const UPSTREAM = `const h = require('http').createServer((q, r) => r.end('ok')); h.keepAliveTimeout = 60000; h.listen(0, '127.0.0.1', () => console.log(h.address().port));`;

/** The faults toggled on and off in turn (each on for one toggle period, then off for one). */
const FAULTS: Array<{ type: string; toxicity?: number; stream?: string; attributes: Record<string, unknown> }> = [
  { type: 'latency', attributes: { latency: 5, jitter: 2 } },
  { type: 'loss', stream: 'upstream', attributes: { probability: 0.05, rto: 50 } },
  { type: 'bandwidth', attributes: { rate: 2000 } },
  { type: 'timeout', toxicity: 0.05, attributes: { timeout: 200 } },
  { type: 'partition', toxicity: 0.1, attributes: { mode: 'reset', scope: 'new' } },
  { type: 'slicer', attributes: { average_size: 16, size_variation: 8, delay: 0 } },
];

function sample(pid: number): { rssMB: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssMB: rssKb / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
}

/** Least-squares slope of y over x. */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    den += ((xs[i] as number) - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export default async function soak(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const durationFlag = flagValue('duration');
  const seconds = durationFlag !== undefined ? parseDuration(durationFlag, '--duration') / 1000 : Number(process.env.FAULTLINE_SOAK_SECONDS ?? (quick ? 20 : 600));
  const rate = Number(flagValue('rate') ?? process.env.FAULTLINE_SOAK_RATE ?? 2000);
  const toggleMs = parseDuration(flagValue('toggle') ?? '3s', '--toggle');
  if (!(seconds >= 5) || !(rate > 0)) throw new Error(`bench soak: --duration must be at least 5s and --rate positive (got ${seconds} s, ${rate})`);
  const up = await nodeChild(UPSTREAM);
  // The serve process runs a full GC every 10 s and appends its heap in use afterwards to a file: RSS alone
  // cannot tell a leak from V8 growing its heap lazily; the live heap after a full collection can.
  const heapFile = join(mkdtempSync(join(tmpdir(), 'faultline-soak-')), 'heap.txt');
  const heapProbe = `import fs from 'node:fs'; setInterval(() => { globalThis.gc(); fs.appendFileSync(${JSON.stringify(heapFile)}, (performance.now() / 1000).toFixed(1) + ' ' + (process.memoryUsage().heapUsed / 1048576).toFixed(2) + '\\n'); }, 10000).unref();`;
  const serve = spawn(process.execPath, ['--expose-gc', '--import', `data:text/javascript,${encodeURIComponent(heapProbe)}`, 'bin/faultline.mjs', 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      serve.stdout?.on('data', (d) => {
        out += d;
        const m = /listening on (\S+)/.exec(out);
        if (m) resolve(m[1] as string);
      });
      serve.once('exit', (c) => reject(new Error(`faultline serve exited early (${c})`)));
    });
    const made = (await (await fetch(`${url}/proxies`, { method: 'POST', body: JSON.stringify({ name: 'soak', listen: '127.0.0.1:0', upstream: `127.0.0.1:${up.line}` }) })).json()) as { listen: string };
    const pid = serve.pid as number;
    const baseline = sample(pid);
    const samples: Array<{ t: number; rssMB: number; fds: number }> = [];
    const t0 = performance.now();
    let toggles = 0;
    let failedToggles = 0;
    let on: string | undefined;
    const byType: Record<string, number> = {};
    const sampler = setInterval(() => samples.push({ t: (performance.now() - t0) / 1000, ...sample(pid) }), 1000);
    const toggle = async (): Promise<void> => {
      toggles++;
      try {
        if (on) {
          const res = await fetch(`${url}/proxies/soak/toxics/${on}`, { method: 'DELETE' });
          if (res.status !== 204) failedToggles++;
          on = undefined;
        } else {
          const f = FAULTS[Math.floor(toggles / 2) % FAULTS.length] as (typeof FAULTS)[number];
          const res = await fetch(`${url}/proxies/soak/toxics`, { method: 'POST', body: JSON.stringify({ name: `f-${f.type}`, ...f }) });
          if (res.status === 200) {
            on = `f-${f.type}`;
            byType[f.type] = (byType[f.type] ?? 0) + 1;
          } else failedToggles++;
        }
      } catch {
        failedToggles++;
      }
    };
    const toggler = setInterval(() => void toggle(), toggleMs);
    const load = await runLoad({ target: { kind: 'http', url: `http://${made.listen}/` }, schedule: { type: 'constant', rate, duration: seconds * 1000 }, timeoutMs: 1000, warmupMs: 2000, seed: 1, maxInFlight: 20_000 });
    clearInterval(sampler);
    clearInterval(toggler);
    await fetch(`${url}/reset`, { method: 'POST' });
    await new Promise((r) => setTimeout(r, 2000));
    const after = sample(pid);
    const steady = samples.filter((s) => s.t >= seconds * 0.2);
    const perMin = (k: 'rssMB' | 'fds'): number => slope(steady.map((s) => s.t / 60), steady.map((s) => s[k]));
    const rssSlope = perMin('rssMB');
    // Heap after a full GC, over the same steady part of the run (the probe's clock starts with the process).
    const heap = readFileSync(heapFile, 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number) as [number, number]);
    const heapSteady = heap.filter(([t]) => t >= (heap[0]?.[0] ?? 0) + seconds * 0.2);
    const heapSlope = slope(heapSteady.map(([t]) => t / 60), heapSteady.map(([, mb]) => mb));
    const heapFirst = heapSteady[0]?.[1] ?? NaN;
    const heapLast = heapSteady.at(-1)?.[1] ?? NaN;
    const fdSlope = perMin('fds');
    const first = steady[0] ?? baseline;
    const last = steady.at(-1) ?? after;
    const errors = Object.entries(load.errors).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none';
    const md = [
      '# Soak through faultline serve, faults toggled',
      '',
      `${seconds} s at ${rate} req/s (open loop, 1 s request timeout) through a proxy in \`faultline serve\`; a fault toggled every ${toggleMs / 1000} s (${toggles} toggles, ${failedToggles} failed), in turn: ${FAULTS.map((f) => `${f.type}${f.toxicity !== undefined ? ` (toxicity ${f.toxicity})` : ''}`).join(', ')}; times on: ${Object.entries(byType).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
      '',
      '| sent | completed | good | bad | dropped | errors |',
      '|---|---|---|---|---|---|',
      `| ${load.sent} | ${load.completed} | ${load.good} | ${load.bad} | ${load.dropped} | ${errors} |`,
      '',
      '| serve process | before load | steady start (20 %) | end of load | 2 s after reset | slope per minute (regression over the last 80 %) |',
      '|---|---|---|---|---|---|',
      `| RSS (MB) | ${baseline.rssMB.toFixed(1)} | ${first.rssMB.toFixed(1)} | ${last.rssMB.toFixed(1)} | ${after.rssMB.toFixed(1)} | ${rssSlope.toFixed(2)} MB/min |`,
      `| heap in use after a full GC (MB) | ${heap[0]?.[1].toFixed(1) ?? '-'} (first probe) | ${heapFirst.toFixed(1)} | ${heapLast.toFixed(1)} | - | ${heapSlope.toFixed(2)} MB/min |`,
      `| open fds | ${baseline.fds} | ${first.fds} | ${last.fds} | ${after.fds} | ${fdSlope.toFixed(2)} /min (peak ${Math.max(...samples.map((s) => s.fds))}) |`,
      '',
    ].join('\n');
    writeBench(seconds >= 600 ? 'soak' : 'soak-short', { seconds, rate, toggleMs, toggles, failedToggles, faultsOn: byType, load: { sent: load.sent, completed: load.completed, good: load.good, bad: load.bad, dropped: load.dropped, errors: load.errors }, baseline, steadyStart: first, end: last, after, rssSlopeMBPerMin: rssSlope, heapAfterGcMB: { first: heapFirst, last: heapLast, slopePerMin: heapSlope, samples: heap }, fdSlopePerMin: fdSlope, samples }, md);
  } finally {
    await stop(serve);
    await stop(up.child);
    rmSync(dirname(heapFile), { recursive: true, force: true });
  }
}
