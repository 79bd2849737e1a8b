import { readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ExitCode, formatDuration, InputError, loadSpecFile, percentile, randomSeed, redactValue } from '../shared/index.ts';
import {
  CLUSTER_PROVIDERS,
  defaultFollowUp,
  DRILL_FAULTS,
  FOLLOW_UPS,
  PROVIDER_NAMES,
  externalProvider,
  parsePgUrl,
  recheck,
  runFailoverDrill,
  type CheckResult,
  type ClusterProvider,
  type DrillFault,
  type DrillResult,
  type FollowUp,
  type ProviderName,
  type ReadinessView,
  type WriterKind,
} from '../failover/index.ts';
import { injectorLinks } from '../scenario/index.ts';
import { z } from 'zod';
import { parseFlags } from './args.ts';
import { reapAtStart } from './reap-at-start.ts';
import { onStopSignal } from './stop-signals.ts';
import type { CliIo, Command } from './io.ts';
import { rolloutUsage, runRolloutCommand } from './rollout-command.ts';

const usage = `faultline drill failover — replay a regional failover against a real PostgreSQL pair

Usage:
  faultline drill failover [--scenario scenarios/failover-drill.yaml] [--mode sync|async]
                           [--fault kill|partition|partition-clients|partition-replica|pause|switchover]
                           [--follow-up none|restart|rewind|reclone] [--runs N] [--seed S]
                           [--unfenced|--role-only] [--json FILE] [--report-dir DIR]
                           [--provider native|testcontainers] [--image IMAGE]
  faultline drill failover --check reports/<run-id>

Starts a primary ("eu") and a replica ("us") from PostgreSQL server binaries (PATH, pg_config or
/usr/lib/postgresql/*/bin), replication through an injector link, clients through a second injector
link (the writer endpoint). Records every operation (history.jsonl), checks the history against the
final state of the authoritative node, and reports RPO, RTO and invariant violations.
Faults: kill (-9 of every pid), partition (full region loss: replication, then clients),
partition-clients, partition-replica (no failover expected while clients reach the writer),
pause (SIGSTOP, resumed as a zombie), switchover (planned).
--follow-up: what happens to the stale ex-primary after the failover (kill and pause default to restart).
--unfenced / --role-only run the honesty controls (writers that must be caught).
--provider testcontainers runs the pair in two containers (testcontainers, host network, loopback
ports) from --image (default: a PostgreSQL 15 image built locally from Debian packages, cached by
content hash); kill = docker kill, pause = docker pause. Needs a Docker daemon (DOCKER_HOST).
The scenario file may name an external provider (your own nodes, loopback connection strings and
commands; see docs/failover.md).
Exit codes: 0 pass, 1 fail or inconclusive, 2 invalid input, 3 aborted, 4 harness error.`;

const commandsSpec = z
  .object({
    stopPrimary: z.string().min(1),
    startPrimary: z.string().min(1),
    pausePrimary: z.string().min(1),
    resumePrimary: z.string().min(1),
    partitionReplication: z.string().min(1),
    healReplication: z.string().min(1),
    promoteReplica: z.string().min(1),
    rewindPrimary: z.string().min(1),
    reclonePrimary: z.string().min(1),
  })
  .partial()
  .strict();

/** A connection string from the scenario; `${VAR}` is taken from the environment (keep passwords out of files). */
const connectionString = z.string().superRefine((v, ctx) => {
  try {
    parsePgUrl(v.replace(/\$\{\w+\}/g, 'x'), 'provider');
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message.replace(/^field 'provider': /, '') });
  }
});

const providerSpec = z.union([
  z.enum(PROVIDER_NAMES as [ProviderName, ...ProviderName[]]),
  z.object({ type: z.literal('testcontainers'), image: z.string().min(1).optional() }).strict(),
  z
    .object({
      type: z.literal('external'),
      primary: connectionString,
      replica: connectionString,
      commands: commandsSpec.default({}),
      commandTimeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
]);

/** The FailoverDrill scenario schema (exported so tests validate scenario files exactly as the command does). */
export const drillSpec = z
  .object({
    apiVersion: z.literal('faultline/v1'),
    kind: z.literal('FailoverDrill'),
    metadata: z.object({ name: z.string() }).strict(),
    seed: z.union([z.number(), z.string()]).optional(),
    mode: z.enum(['sync', 'async']).default('async'),
    synchronousCommit: z.enum(['on', 'remote_apply']).default('on'),
    fault: z.enum(DRILL_FAULTS as [DrillFault, ...DrillFault[]]).default('kill'),
    writer: z.enum(['fenced', 'unfenced', 'role-only']).default('fenced'),
    followUp: z.enum(FOLLOW_UPS as [FollowUp, ...FollowUp[]]).optional(),
    provider: providerSpec.default('native'),
    probeIntervalMs: z.number().int().positive().default(100),
    telemetryBackupRpo: z.number().int().nonnegative().default(300_000),
    runs: z.number().int().positive().default(1),
  })
  .strict();
export type DrillSpec = z.output<typeof drillSpec>;

/** The scenario's provider; an external one gets its `${VAR}` references from `env` (InputError when unset). */
export function providerFrom(spec: DrillSpec, env: Record<string, string | undefined>, flags: { provider?: string; image?: string } = {}): ClusterProvider {
  if (flags.provider !== undefined && !PROVIDER_NAMES.includes(flags.provider as ProviderName)) {
    throw new InputError('FAULTLINE_CLI_USAGE', `--provider must be one of ${PROVIDER_NAMES.join(', ')} (got '${flags.provider}')`, { field: 'provider' });
  }
  const named = (flags.provider ?? (typeof spec.provider === 'string' ? spec.provider : spec.provider.type === 'testcontainers' ? 'testcontainers' : undefined)) as ProviderName | undefined;
  if (named) {
    const image = flags.image ?? (typeof spec.provider === 'object' && spec.provider.type === 'testcontainers' ? spec.provider.image : undefined);
    if (image !== undefined && named !== 'testcontainers') throw new InputError('FAULTLINE_CLI_USAGE', '--image needs --provider testcontainers', { field: 'image' });
    if (named === 'testcontainers') {
      // testcontainers' reaper (Ryuk) is an image pulled from a registry; faultline labels and reaps its own containers.
      env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
      // Host networking on loopback: without this, testcontainers inside a container looks for the bridge gateway.
      env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
    }
    return CLUSTER_PROVIDERS[named](image ? { image } : {});
  }
  if (typeof spec.provider !== 'object' || spec.provider.type !== 'external') throw new InputError('FAULTLINE_CLI_USAGE', 'unknown provider', { field: 'provider' });
  const expand = (v: string, field: string): string =>
    v.replace(/\$\{(\w+)\}/g, (_m, name: string) => {
      const x = env[name];
      if (x === undefined) throw new InputError('FAULTLINE_CLI_USAGE', `environment variable ${name} is not set`, { field });
      return encodeURIComponent(x);
    });
  return externalProvider({
    primary: expand(spec.provider.primary, 'provider.primary'),
    replica: expand(spec.provider.replica, 'provider.replica'),
    commands: spec.provider.commands,
    ...(spec.provider.commandTimeoutMs ? { commandTimeoutMs: spec.provider.commandTimeoutMs } : {}),
  });
}

function printCheck(io: CliIo, c: CheckResult, r?: DrillResult): void {
  if (r) {
    const t = r.timeline;
    const mark = (k: keyof typeof t): string => (t[k] === undefined ? '-' : `${Math.round(t[k] as number)}ms`);
    io.stdout.write(
      `timeline: fault ${mark('fault')}  detect ${mark('detect')}  decide ${mark('decide')}  fenced ${mark('fenced')}  promoted ${mark('promoted')}  stamped ${mark('stamped')}  endpoint-cut ${mark('endpointCut')}  first-write ${mark('firstWrite')}  reconverged ${mark('reconverged')}\n`,
    );
  }
  io.stdout.write(
    `writes: ${c.counts.invoked} invoked, ${c.counts.ok} ok, ${c.counts.fail} fail (fenced/refused), ${c.counts.info} unknown · reads ${c.counts.reads.ok} ok / ${c.counts.reads.fail} failed · ingest ${c.counts.ingest.ok} spooled, ${c.counts.ingest.fail} refused\n`,
  );
  io.stdout.write(
    `RPO: ${c.rpo.lostAcknowledgedWrites} lost acknowledged write(s)${c.rpo.windowMs !== null ? ` over ${c.rpo.windowMs} ms` : ''}; predicted lag at fault ${c.rpo.predictedLagBytes ?? 'n/a'} bytes; telemetry store RPO (backup cadence) ${formatDuration(c.rpo.telemetryBackupRpoMs)}\n`,
  );
  if (r) {
    const fence = (r.evidence.fault as { fence?: string } | undefined)?.fence;
    io.stdout.write(`controller: ${c.failover ? `failed over (${fence ?? 'logical'} fence)` : 'no failover (the writer stayed healthy to clients)'} · follow-up: ${r.followUp}${r.facts.rejoin ? ` (in recovery ${r.facts.rejoin.inRecovery}, streaming ${r.facts.rejoin.streaming}, timeline ${r.facts.rejoin.timeline ?? '-'})` : ''}\n`);
  }
  const ms = (v: number | null): string => (v === null ? 'n/a' : `${v} ms`);
  io.stdout.write(`RTO: ${ms(c.rto.ms)} (detect ${ms(c.rto.detectMs)}, decide→promoted ${ms(c.rto.decideToPromotedMs)}, promoted→stamped ${ms(c.rto.promotedToStampedMs)}, client write gap ${ms(c.rto.writeGapMs)})\n`);
  for (const v of c.violations) io.stdout.write(`  VIOLATION ${v.invariant}: ${v.message}\n`);
  io.stdout.write(`verdict: ${c.verdict.toUpperCase()} — ${c.reason}\n`);
}

export interface DrillRunOptions {
  mode: 'sync' | 'async';
  fault: DrillFault;
  writer: WriterKind;
  seed: string;
  probeIntervalMs: number;
  telemetryBackupRpoMs: number;
  reportDir: string;
  /** sync mode: synchronous_commit level (default on). */
  syncCommit?: 'on' | 'remote_apply';
  /** Default: defaultFollowUp(fault). */
  followUp?: FollowUp;
  /** Default: native PostgreSQL processes. */
  provider?: ClusterProvider;
  /** Aborts the drill; it stops everything it started, then throws FAULTLINE_FAILOVER_ABORTED (exit 3). */
  signal?: AbortSignal;
  onReadiness?: (view: ReadinessView) => void;
}

/** One drill with evidence under reportDir/<run-id>; shared with `faultline selftest`. */
export async function runOneDrill(o: DrillRunOptions, io: CliIo): Promise<DrillResult> {
  const id = `failover-${o.fault}-${o.mode}-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${o.seed}`;
  const dir = join(o.reportDir, id);
  const followUp = o.followUp ?? defaultFollowUp(o.fault);
  io.stdout.write(`drill: ${o.fault} (${o.mode}, ${o.writer} writer, follow-up ${followUp}, ${o.provider?.name ?? 'native'} provider, seed ${o.seed}) → ${dir}\n`);
  try {
    return await runFailoverDrill({
    mode: o.mode,
    fault: o.fault,
    writer: o.writer,
    seed: o.seed,
    links: injectorLinks,
    dir,
    followUp,
    probeIntervalMs: o.probeIntervalMs,
    telemetryBackupRpoMs: o.telemetryBackupRpoMs,
    ...(o.syncCommit ? { syncCommit: o.syncCommit } : {}),
    ...(o.provider ? { provider: o.provider } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.onReadiness ? { onReadiness: o.onReadiness } : {}),
    });
  } catch (e) {
    // A drill that failed before writing any evidence leaves no empty report directory behind.
    try {
      if (readdirSync(dir).length === 0) rmdirSync(dir);
    } catch {
      // never created
    }
    throw e;
  }
}

const dist = (xs: number[]): { p50: number | null; p95: number | null; max: number | null } => ({ p50: percentile(xs, 50), p95: percentile(xs, 95), max: xs.length ? Math.max(...xs) : null });

/** The --json summary of one or more drill runs: the worst RPO and RTO, their distributions, every run and violation. */
function summariseDrills(results: DrillResult[], o: { mode: string; fault: DrillFault; writer: WriterKind; followUp: FollowUp; provider: string; seed: string; telemetryBackupRpoMs: number }) {
  const rtos = results.map((r) => r.check.rto.ms).filter((x): x is number => x !== null);
  const rpos = results.map((r) => r.check.rpo.lostAcknowledgedWrites);
  const windows = results.map((r) => r.check.rpo.windowMs ?? 0);
  const failures = results.filter((r) => r.check.verdict !== 'pass');
  const verdict = failures.some((r) => r.check.verdict === 'fail') ? 'fail' : failures.length || results.length === 0 ? 'inconclusive' : 'pass';
  return {
    verdict,
    mode: o.mode,
    fault: o.fault,
    writer: o.writer,
    followUp: o.followUp,
    provider: o.provider,
    seed: o.seed,
    runs: results.length,
    rpo: {
      lostAcknowledgedWrites: Math.max(0, ...rpos),
      perRun: rpos,
      ...dist(rpos),
      windowMs: windows.length ? Math.max(...windows) : null,
      window: dist(windows),
      predictedLagBytes: results[0]?.check.rpo.predictedLagBytes ?? null,
      telemetryBackupRpoMs: o.telemetryBackupRpoMs,
    },
    rto: { ms: rtos.length ? Math.max(...rtos) : null, perRun: rtos, ...dist(rtos) },
    perRun: results.map((r) => ({ seed: r.seed, verdict: r.check.verdict, failover: r.check.failover, rtoMs: r.check.rto.ms, lostAcknowledgedWrites: r.check.rpo.lostAcknowledgedWrites, windowMs: r.check.rpo.windowMs, violations: r.check.violations.length, evidence: r.runDir })),
    violations: results.flatMap((r) => r.check.violations.map((v) => ({ seed: r.seed, ...v }))),
    failedSeeds: failures.map((r) => r.seed),
    evidence: results.map((r) => r.runDir),
  };
}

/** The one-line distribution after several runs. */
function printRunsLine(io: CliIo, results: DrillResult[], s: ReturnType<typeof summariseDrills>): void {
  const d = s.rto;
  const l = s.rpo;
  const w = s.rpo.window;
  const notPassed = s.perRun.filter((r) => r.verdict !== 'pass');
  io.stdout.write(
    `\n${results.length} runs: RTO p50 ${d.p50 ?? '-'} ms / p95 ${d.p95 ?? '-'} ms / max ${d.max ?? '-'} ms · RPO lost acknowledged writes p50 ${l.p50 ?? '-'} / p95 ${l.p95 ?? '-'} / max ${l.max ?? '-'} (window p50 ${w.p50 ?? '-'} / p95 ${w.p95 ?? '-'} / max ${w.max ?? '-'} ms) · failovers ${results.filter((r) => r.check.failover).length} · violations ${s.violations.length}${notPassed.length ? ` · not passed: ${notPassed.map((r) => `${r.seed} (${r.verdict})`).join(', ')}` : ''}\n`,
  );
}

export const drillCommand: Command = {
  usage: `${usage}

${rolloutUsage}`,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === 'rollout') return runRolloutCommand(rest, io);
    if (sub !== 'failover') throw new InputError('FAULTLINE_CLI_USAGE', `expected 'failover' or 'rollout' (got ${sub === undefined ? 'nothing' : `'${sub}'`}); see 'faultline drill --help'`);
    const { values } = parseFlags(rest, {
      scenario: { type: 'string' },
      mode: { type: 'string' },
      fault: { type: 'string' },
      runs: { type: 'string' },
      seed: { type: 'string' },
      unfenced: { type: 'boolean' },
      'role-only': { type: 'boolean' },
      'follow-up': { type: 'string' },
      json: { type: 'string' },
      check: { type: 'string' },
      'report-dir': { type: 'string' },
      provider: { type: 'string' },
      image: { type: 'string' },
    });
    if (values.check) {
      const c = recheck(resolve(io.cwd, values.check));
      printCheck(io, c);
      if (values.json) writeFileSync(values.json, `${JSON.stringify(c, null, 2)}\n`);
      return c.verdict === 'pass' ? ExitCode.passed : ExitCode.expectationFailed;
    }
    const spec = values.scenario ? loadSpecFile(values.scenario, 'FailoverDrill', drillSpec) : drillSpec.parse({ apiVersion: 'faultline/v1', kind: 'FailoverDrill', metadata: { name: 'failover' } });
    const mode = (values.mode ?? spec.mode) as 'sync' | 'async';
    if (!['sync', 'async'].includes(mode)) throw new InputError('FAULTLINE_CLI_USAGE', `--mode must be sync or async (got '${mode}')`, { field: 'mode' });
    const fault = (values.fault ?? spec.fault) as DrillFault;
    if (!DRILL_FAULTS.includes(fault)) throw new InputError('FAULTLINE_CLI_USAGE', `--fault must be one of ${DRILL_FAULTS.join(', ')} (got '${fault}')`, { field: 'fault' });
    const writer: WriterKind = values.unfenced ? 'unfenced' : values['role-only'] ? 'role-only' : spec.writer;
    const runs = values.runs ? Number(values.runs) : spec.runs;
    if (!Number.isInteger(runs) || runs < 1) throw new InputError('FAULTLINE_CLI_USAGE', `--runs must be a positive integer`, { field: 'runs' });
    const baseSeed = values.seed ?? (spec.seed !== undefined ? String(spec.seed) : String(randomSeed()));
    // The controls need the stale ex-primary to come back to be caught; so does the fenced writer's proof.
    const followUp = (values['follow-up'] ?? spec.followUp ?? defaultFollowUp(fault)) as FollowUp;
    if (!FOLLOW_UPS.includes(followUp)) throw new InputError('FAULTLINE_CLI_USAGE', `--follow-up must be one of ${FOLLOW_UPS.join(', ')} (got '${followUp}')`, { field: 'followUp' });
    const provider = providerFrom(spec, io.env, { ...(values.provider ? { provider: values.provider } : {}), ...(values.image ? { image: values.image } : {}) });
    const reportDir = values['report-dir'] ?? join(io.cwd, 'reports');
    const results: DrillResult[] = [];
    const controller = new AbortController();
    // Every signal aborts the drill; it stops its processes by pid before the command returns exit 3.
    reapAtStart(io);
    const unsubscribe = onStopSignal(io, (reason) => controller.abort(reason));
    try {
      const t0 = Date.now();
      for (let i = 0; i < runs && !controller.signal.aborted; i++) {
        const seed = runs === 1 ? baseSeed : `${baseSeed}-${i + 1}`;
        if (runs > 1) {
          const elapsed = Date.now() - t0;
          const left = i === 0 ? '' : `, about ${formatDuration(Math.round(((runs - i) * elapsed) / i / 1000) * 1000)} left`;
          io.stdout.write(`\nrun ${i + 1}/${runs} (${formatDuration(Math.round(elapsed / 1000) * 1000)} elapsed${left})\n`);
        }
        const r = await runOneDrill(
          { mode, syncCommit: spec.synchronousCommit, fault, writer, seed, followUp, provider, signal: controller.signal, probeIntervalMs: spec.probeIntervalMs, telemetryBackupRpoMs: spec.telemetryBackupRpo, reportDir },
          io,
        );
        results.push(r);
        printCheck(io, r.check, r);
      }
    } finally {
      unsubscribe();
    }
    const summary = summariseDrills(results, { mode, fault, writer, followUp, provider: provider.name, seed: baseSeed, telemetryBackupRpoMs: spec.telemetryBackupRpo });
    if (runs > 1) printRunsLine(io, results, summary);
    const { verdict } = summary;
    if (values.json) writeFileSync(values.json, `${JSON.stringify(redactValue(summary), null, 2)}\n`);
    if (controller.signal.aborted) return ExitCode.aborted;
    return verdict === 'pass' ? ExitCode.passed : ExitCode.expectationFailed;
  },
};
