import { join, relative } from 'node:path';
import { ExitCode, randomSeed } from '../shared/index.ts';
import { loadScenario, parseMetricsAddress, planScenario, RunEvents, runScenario } from '../scenario/index.ts';
import { progressReporter, runId, verdictTable, writeReports } from '../report/index.ts';
import { parseFlags } from './args.ts';
import { reapAtStart } from './reap-at-start.ts';
import { onStopSignal } from './stop-signals.ts';
import type { CliIo, Command } from './io.ts';
import { packageFile } from './package-files.ts';

async function runFile(file: string, argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags(argv, { 'report-dir': { type: 'string' }, seed: { type: 'string' }, metrics: { type: 'string' }, 'allow-network': { type: 'string', multiple: true }, 'allow-skip': { type: 'boolean' } });
  // Invalid input before anything starts (exit 2), not a harness error once the run is under way.
  if (values.metrics !== undefined) parseMetricsAddress(values.metrics);
  const model = loadScenario(file, { allowNetwork: values['allow-network'] ?? [] });
  const seed = values.seed ?? (model.spec.seed !== undefined ? String(model.spec.seed) : String(randomSeed()));
  const plan = planScenario(model, seed);
  const events = new RunEvents();
  const tty = io.stdout.isTTY === true && !io.env.CI;
  events.on(progressReporter((s) => io.stdout.write(s), { tty, columns: () => io.stdout.columns }));
  const controller = new AbortController();
  reapAtStart(io);
  const unsubscribe = onStopSignal(io, (reason) => controller.abort(reason));
  const dir = join(values['report-dir'] ?? join(io.cwd, 'reports'), runId(plan.name, Date.now(), seed));
  try {
    const result = await runScenario(model, plan, { events, signal: controller.signal, evidenceDir: dir, env: io.env, allowSkip: values['allow-skip'] === true, ...(values.metrics ? { metricsAddress: values.metrics } : {}) });
    const paths = writeReports(result, dir);
    io.stdout.write(`\n${verdictTable(result)}`);
    io.stdout.write(`reports: ${relative(io.cwd, paths.html) || paths.html} (+ journal.json, junit.xml, report.md)\n`);
    return result.exitCode;
  } finally {
    unsubscribe();
  }
}

export const runCommand: Command = {
  usage: `faultline run — run an experiment scenario

Usage: faultline run FILE [--report-dir DIR] [--seed N] [--metrics 127.0.0.1:PORT] [--allow-network CIDR]… [--allow-skip]

  --report-dir  where reports/<run-id>/ goes (default ./reports)
  --seed        seed for every random draw (default: the scenario's seed, else random; always reported)
  --metrics     serve live SLI counters, burn rates and alert states in Prometheus format (loopback)
  --allow-network CIDR  (repeatable) addresses beyond loopback the run may reach (targets, upstreams,
                probe hosts, the injector's listener), added to the scenario's network.allow
  --allow-skip  a skipped part (the failover drill without PostgreSQL) does not stop a pass

Exit codes: 0 passed, 1 an expectation failed, 2 invalid input, 3 aborted (SIGINT/SIGTERM or an
abort condition; faults are healed first), 4 harness error, 5 nothing failed but a part was skipped
(SKIPPED; --allow-skip makes it 0).`,
  async run(argv, io) {
    const [file, ...rest] = argv;
    if (!file || file.startsWith('-')) {
      io.stderr.write("faultline run: missing scenario FILE (see 'faultline run --help')\n");
      return ExitCode.invalidInput;
    }
    return runFile(file, rest, io);
  },
};

export const selftestCommand: Command = {
  usage: `faultline selftest — the chaos self-test (no Docker, no external service)

Usage: faultline selftest [--report-dir DIR] [--seed N] [--metrics 127.0.0.1:PORT] [--allow-network CIDR]… [--allow-skip]

Runs scenarios/chaos-selftest.yaml against the built-in reference service through the in-process
injector with open-loop load and time-compressed SLO windows: a healthy baseline must stay quiet
and its support bundle must hold none of its secrets; a full partition must fire page-fast
and page-slow and clear them after heal; a slow burn must fire page-slow but not page-fast; a mild
control fault must fire nothing. Then one failover drill against a real PostgreSQL primary/replica
pair (kill -9 of the primary, synchronous mode) while the reference service serves the drill's
readiness view on /readyz. Without PostgreSQL server binaries the drill is skipped with the reason and
how to install them, and the self-test ends SKIPPED (exit 5) unless --allow-skip.
Exit 0 only when every expectation holds.`,
  run: (argv, io) => runFile(packageFile('scenarios/chaos-selftest.yaml'), argv, io),
};
