/**
 * `npm run bench`: runs every benchmark suite (or those named: `npm run bench -- injector slo`) and
 * writes results under reports/bench/. Targets are reported, never asserted.
 *
 * `npm run bench -- --quick` is the regression guard (under a minute): the suites' short smoke runs,
 * fuzz with 500 inputs of each kind, and no kill or soak trials (minutes each) unless they are named.
 */
import { mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { r2, reportedRatios } from './helpers.ts';

type Suite = () => Promise<void>;
const suites: Record<string, () => Promise<{ default: Suite }>> = {
  injector: () => import('./injector.ts'),
  slo: () => import('./slo.ts'),
  load: () => import('./load.ts'),
  startup: () => import('./startup.ts'),
  fuzz: () => import('./fuzz.ts'),
  kill: () => import('./kill.ts'),
  soak: () => import('./soak.ts'),
  rollout: () => import('./rollout.ts'),
};

mkdirSync('reports/bench', { recursive: true });
const QUICK = process.argv.includes('--quick');
/** Suites that take minutes whatever the flags: in a --quick run they run only when named. */
const SLOW_SUITES = new Set(['kill', 'soak']);
// A suite's own flags may take a value as the next argument (`kill --trials 10`, `soak --duration 60s`): not a suite name.
const VALUE_FLAGS = new Set(['--trials', '--only', '--seed', '--duration', '--rate', '--toggle']);
const wanted = process.argv.slice(2).filter((a, i, all) => !a.startsWith('-') && !VALUE_FLAGS.has(all[i - 1] ?? ''));
const names = wanted.length > 0 ? wanted : Object.keys(suites).filter((n) => !(QUICK && SLOW_SUITES.has(n)));
// The fuzz suite reads its input count from the environment; a quick run fuzzes 500 of each.
if (QUICK) process.env.FAULTLINE_FUZZ_RUNS ??= '500';
const unknown = names.filter((n) => !suites[n]);
if (unknown.length > 0) {
  console.error(`bench: unknown suite '${unknown[0]}' (have: ${Object.keys(suites).join(', ')})`);
  process.exit(2);
}
const t0 = Date.now();
// Ratios measured in one run are what count on a shared machine; say how busy it was.
const busy = (): string => `load average ${loadavg().map((v) => v.toFixed(1)).join(' / ')} on ${cpus().length} cores`;
console.log(`bench: ${busy()} at the start`);
const secs = (ms: number): string => `${Math.round(ms / 1000)}s`;
for (const [i, name] of names.entries()) {
  const elapsed = Date.now() - t0;
  const left = i === 0 ? '' : `, about ${secs((elapsed / i) * (names.length - i))} left`;
  console.log(`\n== bench ${i + 1}/${names.length}: ${name} (${secs(elapsed)} elapsed${left}) ==`);
  // A suite can measure for a minute or more without printing: say that it is still running.
  const started = Date.now();
  const heartbeat = setInterval(() => console.log(`   … ${name} still measuring (${secs(Date.now() - started)})`), 15_000);
  try {
    const mod = await suites[name]!();
    await mod.default();
  } finally {
    clearInterval(heartbeat);
  }
}
const ratios = reportedRatios();
if (ratios.length > 0) {
  console.log('\nratio against target:');
  for (const r of ratios) console.log(`  ${`${r.suite}: ${r.name}`.padEnd(58)} ${r2(r.value).padStart(10)}   target ${r.target}${r.met === null ? '' : r.met ? '   met' : '   NOT met'}`);
}
const skipped = QUICK && wanted.length === 0 ? `; not run in --quick: ${[...SLOW_SUITES].join(', ')} (name them to run them)` : '';
console.log(`\nbench: ${names.length} suite(s) in ${secs(Date.now() - t0)}; ${busy()} at the end${QUICK ? ' (--quick: smoke numbers on this machine now, not the reported ones)' : ''}${skipped}`);
