/**
 * `npm run bench -- fuzz`: ≥ 10,000 hostile scenario files through `faultline validate` and ≥ 10,000
 * hostile control-API requests (fast-check, seeded). Reports crashes, exit 4s, 5xx and other problems
 * (targets: all 0), Node warnings printed meanwhile (target 0: e.g. the yaml library's warning on a
 * collection used as a mapping key) and the outcome mix. FAULTLINE_FUZZ_RUNS overrides the count per kind.
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlServer } from '../src/injector/index.ts';
import { apiRequestArb, scenarioTextArb } from '../test/helpers/fuzz-arbitraries.ts';
import { sendRequest, validateText } from '../test/helpers/fuzz-checks.ts';
import { writeBench } from './helpers.ts';

export default async function fuzz(): Promise<void> {
  const runs = Number(process.env.FAULTLINE_FUZZ_RUNS ?? 10_000);
  const seed = Number(process.env.FAULTLINE_FUZZ_SEED ?? 2026);
  const dir = mkdtempSync(join(tmpdir(), 'faultline-bench-fuzz-'));
  const scenario = { runs: 0, exit: {} as Record<string, number>, problems: [] as string[], ms: 0 };
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.message.slice(0, 160));
  process.on('warning', onWarning);
  let t = performance.now();
  const texts = fc.sample(scenarioTextArb, { numRuns: runs, seed });
  for (const text of texts) {
    const r = await validateText(text, dir);
    scenario.runs++;
    scenario.exit[r.code] = (scenario.exit[r.code] ?? 0) + 1;
    if (r.problem && scenario.problems.length < 20) scenario.problems.push(`${r.problem}: ${r.stderr.slice(0, 200)}`);
    else if (r.problem) scenario.problems.push(r.problem);
  }
  scenario.ms = performance.now() - t;
  await new Promise((r) => setImmediate(r));
  process.off('warning', onWarning);
  rmSync(dir, { recursive: true, force: true });

  const api = { runs: 0, status: {} as Record<string, number>, problems: [] as string[], ms: 0, aliveAfter: false };
  const control = await startControlServer({ port: 0 });
  t = performance.now();
  try {
    const reqs = fc.sample(apiRequestArb, { numRuns: runs, seed });
    for (const [i, r] of reqs.entries()) {
      const out = await sendRequest(control.url, r);
      api.runs++;
      api.status[out.status] = (api.status[out.status] ?? 0) + 1;
      if (out.problem) api.problems.push(`${out.problem} (${r.method} ${r.path})`);
      if (i % 40 === 39) for (const p of control.proxies()) await fetch(`${control.url}/proxies/${encodeURIComponent(p.name)}`, { method: 'DELETE' });
    }
    api.aliveAfter = (await fetch(`${control.url}/version`)).status === 200;
  } finally {
    api.ms = performance.now() - t;
    await control.stop();
  }
  const crashes = scenario.problems.filter((p) => p.startsWith('threw')).length;
  const exit4 = scenario.exit['4'] ?? 0;
  const fivexx = Object.entries(api.status).filter(([s]) => Number(s) >= 500).reduce((a, [, n]) => a + n, 0);
  const md = [
    '# Fuzz (fast-check)',
    '',
    `seed ${seed}; ${scenario.runs} scenario files, ${api.runs} control-API requests`,
    '',
    '| kind | inputs | crashes | exit 4 | 5xx | Node warnings | other problems | outcome mix | time |',
    '|---|---|---|---|---|---|---|---|---|',
    `| scenario files (validate) | ${scenario.runs} | ${crashes} | ${exit4} | - | ${warnings.length} | ${scenario.problems.length - crashes} | ${Object.entries(scenario.exit).map(([k, v]) => `exit ${k}: ${v}`).join(', ')} | ${(scenario.ms / 1000).toFixed(1)} s |`,
    `| control API | ${api.runs} | ${api.aliveAfter ? 0 : 1} | - | ${fivexx} | - | ${api.problems.length - fivexx} | ${Object.entries(api.status).map(([k, v]) => `${k}: ${v}`).join(', ')} | ${(api.ms / 1000).toFixed(1)} s |`,
    '',
    ...(scenario.problems.length + api.problems.length + warnings.length > 0 ? ['Problems (first 20):', ...[...scenario.problems, ...warnings.map((w) => `Node warning: ${w}`), ...api.problems].slice(0, 20).map((p) => `- ${p}`), ''] : ['Targets met: 0 crashes, 0 exit 4, 0 5xx, 0 Node warnings.', '']),
  ].join('\n');
  writeBench(runs >= 10_000 ? 'fuzz' : 'fuzz-quick', { seed, scenario, api: { ...api }, crashes, exit4, fivexx, warnings: warnings.length }, md);
}
