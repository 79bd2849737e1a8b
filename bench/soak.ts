/**
 * `npm run bench -- soak`: open-loop load through `faultline serve` (its own process) with a latency
 * toxic toggled every 3 s; samples the serve process's RSS and open fds every second and reports their
 * slope (least squares after a 20 % warm-up; target: flat). FAULTLINE_SOAK_SECONDS (default 600) and
 * FAULTLINE_SOAK_RATE (default 2000 req/s) set the length and rate.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { runLoad } from '../src/load/index.ts';
import { nodeChild, stop, writeBench } from './helpers.ts';

const UPSTREAM = `const h = require('http').createServer((q, r) => r.end('ok')); h.keepAliveTimeout = 60000; h.listen(0, '127.0.0.1', () => console.log(h.address().port));`;

function sample(pid: number): { rssMB: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssMB: rssKb / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
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
  const seconds = Number(process.env.FAULTLINE_SOAK_SECONDS ?? 600);
  const rate = Number(process.env.FAULTLINE_SOAK_RATE ?? 2000);
  const up = await nodeChild(UPSTREAM);
  const serve = spawn(process.execPath, ['bin/faultline.mjs', 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise<string>((resolve) => {
      let out = '';
      serve.stdout?.on('data', (d) => {
        out += d;
        const m = /listening on (\S+)/.exec(out);
        if (m) resolve(m[1] as string);
      });
    });
    const made = (await (await fetch(`${url}/proxies`, { method: 'POST', body: JSON.stringify({ name: 'soak', listen: '127.0.0.1:0', upstream: `127.0.0.1:${up.line}` }) })).json()) as { listen: string };
    const pid = serve.pid as number;
    const baseline = sample(pid);
    const samples: Array<{ t: number; rssMB: number; fds: number }> = [];
    const t0 = performance.now();
    let toggles = 0;
    let on = false;
    const sampler = setInterval(() => samples.push({ t: (performance.now() - t0) / 1000, ...sample(pid) }), 1000);
    const toggler = setInterval(() => {
      on = !on;
      toggles++;
      void fetch(`${url}/proxies/soak/toxics${on ? '' : '/lat'}`, on ? { method: 'POST', body: JSON.stringify({ name: 'lat', type: 'latency', attributes: { latency: 5, jitter: 2 } }) } : { method: 'DELETE' }).catch(() => {});
    }, 3000);
    const load = await runLoad({ target: { kind: 'http', url: `http://${made.listen}/` }, schedule: { type: 'constant', rate, duration: seconds * 1000 }, warmupMs: 2000, seed: 1, maxInFlight: 20_000 });
    clearInterval(sampler);
    clearInterval(toggler);
    await fetch(`${url}/reset`, { method: 'POST' });
    await new Promise((r) => setTimeout(r, 2000));
    const after = sample(pid);
    const steady = samples.filter((s) => s.t >= seconds * 0.2);
    const rssSlope = slope(steady.map((s) => s.t / 60), steady.map((s) => s.rssMB));
    const fdSlope = slope(steady.map((s) => s.t / 60), steady.map((s) => s.fds));
    const md = [
      '# Soak through faultline serve',
      '',
      `${seconds} s at ${rate} req/s (open loop) through a proxy in \`faultline serve\`, a latency toxic toggled every 3 s (${toggles} toggles).`,
      '',
      '| sent | completed | bad | dropped | RSS start → end (MB) | RSS slope (MB/min, after 20 %) | fds baseline → peak → after | fd slope (/min) |',
      '|---|---|---|---|---|---|---|---|',
      `| ${load.sent} | ${load.completed} | ${load.bad} | ${load.dropped} | ${baseline.rssMB.toFixed(0)} → ${after.rssMB.toFixed(0)} | ${rssSlope.toFixed(2)} | ${baseline.fds} → ${Math.max(...samples.map((s) => s.fds))} → ${after.fds} | ${fdSlope.toFixed(2)} |`,
      '',
    ].join('\n');
    writeBench(seconds >= 600 ? 'soak' : 'soak-short', { seconds, rate, toggles, load: { sent: load.sent, completed: load.completed, bad: load.bad, dropped: load.dropped }, baseline, after, rssSlopeMBPerMin: rssSlope, fdSlopePerMin: fdSlope, samples }, md);
  } finally {
    await stop(serve);
    await stop(up.child);
  }
}
