/**
 * `npm run bench`: runs every benchmark suite (or those named: `npm run bench -- injector slo`) and
 * writes results under reports/bench/. Targets are reported, never asserted.
 */
import { mkdirSync } from 'node:fs';

type Suite = () => Promise<void>;
const suites: Record<string, () => Promise<{ default: Suite }>> = {
  injector: () => import('./injector.ts'),
  slo: () => import('./slo.ts'),
  load: () => import('./load.ts'),
  startup: () => import('./startup.ts'),
};

mkdirSync('reports/bench', { recursive: true });
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length > 0 ? wanted : Object.keys(suites);
for (const name of names) {
  const load = suites[name];
  if (!load) {
    console.error(`bench: unknown suite '${name}' (have: ${Object.keys(suites).join(', ')})`);
    process.exit(2);
  }
  console.log(`\n== bench: ${name} ==`);
  const mod = await load();
  await mod.default();
}
