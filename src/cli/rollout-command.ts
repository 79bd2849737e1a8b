/**
 * `faultline drill rollout`: a zero-downtime rollout drill (src/scenario/rollout-step.ts) with its
 * verdict rows on stdout and the reports (report.html with the lanes timeline, report.md, junit.xml,
 * journal.json) under reports/<run-id>/.
 */
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { assertAllowed, ExitCode, InputError, loadSpecFile, networkPolicy, parseDuration, randomSeed, redactValue, type NetworkPolicy } from '../shared/index.ts';
import { parseRings, rolloutFileSchema, rolloutSchema, runRollout, type RolloutSpec, type RunResult } from '../scenario/index.ts';
import { BALANCE_POLICIES, type BalancePolicy } from '../injector/index.ts';
import { runId, verdictTable, writeReports } from '../report/index.ts';
import { parseFlags } from './args.ts';
import type { CliIo } from './io.ts';
import { onStopSignal } from './stop-signals.ts';

export const rolloutUsage = `faultline drill rollout — replace replicas one at a time under load, ring by ring, and prove no outage

Usage:
  faultline drill rollout [--scenario FILE] [--replicas 3] [--rings canary:1,early:1,main:rest]
                          [--from 1.0.0] [--to 2.0.0] [--rate 500] [--path /v1/editions]
                          [--bad-release errors:0.05|latency:MS|no-drain|readyz-never-flips]
                          [--no-health-check] [--interval 100ms] [--policy round-robin|least-connections]
                          [--gate-window 3s] [--gate-max-error-ratio 0.01] [--gate-p99 500ms]
                          [--latency-slo 500ms] [--no-slo-alerts] [--slo-objective 99.9] [--slo-time-scale 720]
                          [--lb-url URL --lb-ports P1,P2,… [--lb-check-interval 1s]] [--allow-network CIDR]…
                          [--seed S] [--report-dir DIR] [--json FILE]

Starts N replicas of the built-in reference service (or your own: a kind: RolloutDrill file with
rollout.commands.start [argv with {port}], stopSignal, readinessUrl) as real processes behind the
injector's readiness-gated balancer, drives open-loop load through it throughout, and replaces the
replicas one at a time: SIGTERM, watch the drain (/healthz must stay 200, /readyz must turn 503),
wait for the exit, start the replacement, admit it when /readyz is 200. After each ring a health gate
(the new replicas' error ratio and p99 over a window, and the SLO engine's burn-rate alerts fed by the
load: a page alert firing during the ring) halts the rollout and rolls the ring back.
--lb-url drives the load at your own load balancer instead: replica i listens on the i-th of
--lb-ports (your balancer's servers), --lb-check-interval is your balancer's health-check interval;
which replica served a request comes from the answers' x-faultline-replica header (rows that need it
say "not measurable" without it). The URL must be loopback unless --allow-network admits it.
--bad-release errors:R / latency:MS makes the new version bad; no-drain / readyz-never-flips makes
the replicas being replaced stop badly (the honesty controls); --no-health-check turns the
balancer's readiness check off. Every check names what it saw.
Exit codes: 0 every check held, 1 a check failed, 2 invalid input, 3 aborted, 4 harness error.`;

/** Applies --bad-release to a release spec. */
function badRelease(text: string): Record<string, unknown> {
  const [kind, value] = text.split(':');
  switch (kind) {
    case 'errors': {
      const r = Number(value);
      if (!(r > 0 && r <= 1)) throw new InputError('FAULTLINE_CLI_USAGE', `--bad-release errors:R needs 0 < R ≤ 1 (got '${value}')`, { field: 'bad-release' });
      return { errorRatio: r };
    }
    case 'latency':
      return { extraLatency: parseDuration(value ?? '', 'bad-release') };
    case 'no-drain':
      return { noDrain: true };
    case 'readyz-never-flips':
      return { readyzNeverFlips: true };
  }
  throw new InputError('FAULTLINE_CLI_USAGE', `--bad-release must be errors:R, latency:MS, no-drain or readyz-never-flips (got '${text}')`, { field: 'bad-release' });
}

/** --lb-url / --lb-ports / --lb-check-interval over the file's `loadBalancer` (ports: one per replica). */
function applyLoadBalancerFlags(spec: RolloutSpec, values: { 'lb-url'?: string; 'lb-ports'?: string; 'lb-check-interval'?: string }): void {
  const url = values['lb-url'];
  if (url !== undefined) {
    let u: URL | undefined;
    try {
      u = new URL(url);
    } catch {
      // reported below
    }
    if (!u || !/^https?:$/.test(u.protocol)) throw new InputError('FAULTLINE_CLI_USAGE', `--lb-url must be an http(s) URL (got '${url}')`, { field: 'lb-url' });
    spec.loadBalancer = { url, ports: spec.loadBalancer?.ports ?? [], checkInterval: spec.loadBalancer?.checkInterval ?? 1000 };
  }
  if ((values['lb-ports'] !== undefined || values['lb-check-interval'] !== undefined) && !spec.loadBalancer) throw new InputError('FAULTLINE_CLI_USAGE', '--lb-ports and --lb-check-interval need --lb-url (or rollout.loadBalancer in the file)', { field: 'lb-url' });
  if (!spec.loadBalancer) return;
  if (values['lb-ports'] !== undefined) {
    const ports = values['lb-ports'].split(',').map((p) => Number(p.trim()));
    if (!ports.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535)) throw new InputError('FAULTLINE_CLI_USAGE', `--lb-ports must be ports 1..65535 separated by commas (got '${values['lb-ports']}')`, { field: 'lb-ports' });
    spec.loadBalancer.ports = ports;
  }
  if (values['lb-check-interval'] !== undefined) spec.loadBalancer.checkInterval = parseDuration(values['lb-check-interval'], 'lb-check-interval');
  const n = spec.loadBalancer.ports.length;
  if (n !== spec.replicas || new Set(spec.loadBalancer.ports).size !== n) throw new InputError('FAULTLINE_CLI_USAGE', `--lb-ports must name ${spec.replicas} different ports, one per replica (got ${n === 0 ? 'none' : spec.loadBalancer.ports.join(',')})`, { field: 'lb-ports' });
}

const FLAGS = {
  scenario: { type: 'string' },
  replicas: { type: 'string' },
  rings: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  rate: { type: 'string' },
  path: { type: 'string' },
  'bad-release': { type: 'string' },
  'no-health-check': { type: 'boolean' },
  interval: { type: 'string' },
  policy: { type: 'string' },
  'gate-window': { type: 'string' },
  'gate-max-error-ratio': { type: 'string' },
  'gate-p99': { type: 'string' },
  'latency-slo': { type: 'string' },
  'no-slo-alerts': { type: 'boolean' },
  'slo-objective': { type: 'string' },
  'slo-time-scale': { type: 'string' },
  'lb-url': { type: 'string' },
  'lb-ports': { type: 'string' },
  'lb-check-interval': { type: 'string' },
  'allow-network': { type: 'string', multiple: true },
  seed: { type: 'string' },
  'report-dir': { type: 'string' },
  json: { type: 'string' },
} as const;

type Flags = ReturnType<typeof parseRolloutFlags>['values'];

function parseRolloutFlags(argv: string[]) {
  return parseFlags(argv, FLAGS);
}

/** The drill's spec: the (validated) file or the defaults, each flag over it checked on its own; and the network allowlist. */
function specFromFlags(values: Flags, file: { rollout: RolloutSpec } | undefined): { spec: RolloutSpec; network: NetworkPolicy } {
  // Flags override the (already validated) file or the defaults; each flag is checked on its own.
  const spec: RolloutSpec = structuredClone(file?.rollout ?? rolloutSchema.parse({}));
  const num = (v: string, flag: string, ok: (n: number) => boolean, what: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || !ok(n)) throw new InputError('FAULTLINE_CLI_USAGE', `--${flag} must be ${what} (got '${v}')`, { field: flag });
    return n;
  };
  if (values.replicas !== undefined) spec.replicas = num(values.replicas, 'replicas', (n) => Number.isInteger(n) && n >= 1 && n <= 32, 'an integer from 1 to 32');
  if (values.rings !== undefined) spec.rings = values.rings;
  if (values.from !== undefined) spec.from = { ...spec.from, version: values.from };
  if (values.to !== undefined) spec.to = { ...spec.to, version: values.to };
  if (values['bad-release'] !== undefined) {
    // Errors and latency make the new release bad; no-drain and readyz-never-flips make the replicas being replaced (the old release) stop badly.
    const bad = badRelease(values['bad-release']);
    if ('noDrain' in bad || 'readyzNeverFlips' in bad) spec.from = { ...spec.from, ...bad };
    else spec.to = { ...spec.to, ...bad };
  }
  if (values.rate !== undefined) spec.load.rate = num(values.rate, 'rate', (n) => n > 0, 'a positive number');
  if (values.path !== undefined) {
    if (!values.path.startsWith('/')) throw new InputError('FAULTLINE_CLI_USAGE', `--path must start with / (got '${values.path}')`, { field: 'path' });
    spec.load.path = values.path;
  }
  if (values['no-health-check']) spec.balancer.healthCheck = false;
  if (values.interval !== undefined) spec.balancer.interval = parseDuration(values.interval, 'interval');
  if (values.policy !== undefined) {
    if (!BALANCE_POLICIES.includes(values.policy as BalancePolicy)) throw new InputError('FAULTLINE_CLI_USAGE', `--policy must be one of ${BALANCE_POLICIES.join(', ')} (got '${values.policy}')`, { field: 'policy' });
    spec.balancer.policy = values.policy as BalancePolicy;
  }
  if (values['gate-window'] !== undefined) spec.gate.window = parseDuration(values['gate-window'], 'gate-window');
  if (values['gate-max-error-ratio'] !== undefined) spec.gate.maxErrorRatio = num(values['gate-max-error-ratio'], 'gate-max-error-ratio', (n) => n >= 0 && n <= 1, 'a ratio from 0 to 1');
  if (values['gate-p99'] !== undefined) spec.gate.p99Below = parseDuration(values['gate-p99'], 'gate-p99');
  if (values['latency-slo'] !== undefined) spec.latencySlo.p99Below = parseDuration(values['latency-slo'], 'latency-slo');
  if (values['no-slo-alerts']) spec.alerts.enabled = false;
  if (values['slo-objective'] !== undefined) spec.alerts.slo.objective = num(values['slo-objective'], 'slo-objective', (n) => n > 0 && n < 100, 'a percentage between 0 and 100, e.g. 99.9');
  if (values['slo-time-scale'] !== undefined) spec.alerts.timeScale = num(values['slo-time-scale'], 'slo-time-scale', (n) => n > 0, 'a positive number');
  applyLoadBalancerFlags(spec, values);
  const network = networkPolicy(values['allow-network'] ?? [], 'allow-network');
  if (spec.loadBalancer) assertAllowed(new URL(spec.loadBalancer.url).hostname, 'load balancer URL', values['lb-url'] !== undefined ? 'lb-url' : 'rollout.loadBalancer.url', network);
  try {
    parseRings(spec.rings, spec.replicas);
  } catch (e) {
    throw new InputError('FAULTLINE_CLI_USAGE', `--rings: ${(e as Error).message}`, { field: 'rings' }, { cause: e });
  }
  return { spec, network };
}

export async function runRolloutCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseRolloutFlags(argv);
  const file = values.scenario ? loadSpecFile(values.scenario, 'RolloutDrill', rolloutFileSchema) : undefined;
  const { spec, network } = specFromFlags(values, file);
  const seed = values.seed ?? (file?.seed !== undefined ? String(file.seed) : String(randomSeed()));
  const name = file?.metadata.name ?? 'rollout';
  const controller = new AbortController();
  // SIGINT, SIGTERM, or (started through npm) the end of its parent: the replicas must not run on orphaned.
  const unsubscribe = onStopSignal(io, (reason) => controller.abort(reason));
  const startedAt = Date.now();
  io.stdout.write(`rollout drill: ${spec.replicas} replicas ${spec.from.version} → ${spec.to.version}, rings ${spec.rings}, ${spec.load.rate} req/s, seed ${seed}\n`);
  let rollout;
  try {
    rollout = await runRollout({ spec, seed, signal: controller.signal, network, onStep: (line) => io.stdout.write(`  ${line}\n`) });
  } finally {
    unsubscribe();
  }
  const aborted = controller.signal.aborted;
  const exitCode = aborted ? ExitCode.aborted : rollout.status === 'error' ? ExitCode.harnessError : rollout.status === 'passed' ? ExitCode.passed : ExitCode.expectationFailed;
  const result: RunResult = {
    scenario: name,
    file: values.scenario ?? '<flags>',
    seed,
    timeScale: 1,
    status: aborted ? 'aborted' : rollout.status === 'error' ? 'error' : rollout.status,
    exitCode,
    startedAt,
    endedAt: Date.now(),
    wallMs: rollout.wallMs,
    ...(aborted ? { abort: { cause: 'signal' } } : {}),
    ...(rollout.status === 'error' ? { error: rollout.reason } : {}),
    experiments: [],
    spec: redactValue(spec),
    cleanup: { faultsLeft: 0, verified: true },
    rollout,
  };
  const dir = join(values['report-dir'] ?? join(io.cwd, 'reports'), runId(name, startedAt, seed));
  const paths = writeReports(result, dir);
  io.stdout.write(`\n${verdictTable(result)}`);
  io.stdout.write(`reports: ${relative(io.cwd, paths.html) || paths.html} (+ journal.json, junit.xml, report.md)\n`);
  if (values.json) writeFileSync(values.json, `${JSON.stringify(redactValue(rollout), null, 2)}\n`);
  return exitCode;
}
