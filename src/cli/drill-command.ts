import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ExitCode, formatDuration, InputError, loadSpecFile, randomSeed, redactValue } from '../shared/index.ts';
import { recheck, runFailoverDrill, type CheckResult, type DrillFault, type DrillResult, type WriterKind } from '../failover/index.ts';
import { injectorLinks } from '../scenario/index.ts';
import { z } from 'zod';
import { parseFlags } from './args.ts';
import type { CliIo, Command } from './io.ts';

const usage = `faultline drill failover — replay a regional failover against a real PostgreSQL pair

Usage:
  faultline drill failover [--scenario scenarios/failover-drill.yaml] [--mode sync|async]
                           [--fault kill|partition|pause|switchover] [--runs N] [--seed S]
                           [--unfenced|--role-only] [--restart-stale] [--json FILE] [--report-dir DIR]
  faultline drill failover --check reports/<run-id>

Starts a primary ("eu") and a replica ("us") from PostgreSQL server binaries (PATH, pg_config or
/usr/lib/postgresql/*/bin), replication through an injector link, clients through a second injector
link (the writer endpoint). Records every operation (history.jsonl), checks the history against the
final state of the authoritative node, and reports RPO, RTO and invariant violations.
--unfenced / --role-only run the honesty controls (writers that must be caught).
Exit codes: 0 pass, 1 fail or inconclusive, 2 invalid input, 3 aborted, 4 harness error.`;

const drillSpec = z
  .object({
    apiVersion: z.literal('faultline/v1'),
    kind: z.literal('FailoverDrill'),
    metadata: z.object({ name: z.string() }).strict(),
    seed: z.union([z.number(), z.string()]).optional(),
    mode: z.enum(['sync', 'async']).default('async'),
    fault: z.enum(['kill', 'partition', 'pause', 'switchover']).default('kill'),
    writer: z.enum(['fenced', 'unfenced', 'role-only']).default('fenced'),
    restartStale: z.boolean().default(false),
    probeIntervalMs: z.number().int().positive().default(100),
    telemetryBackupRpo: z.number().int().nonnegative().default(300_000),
    runs: z.number().int().positive().default(1),
  })
  .strict();

function pct(xs: number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
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
  io.stdout.write(`RTO: ${c.rto.ms === null ? 'n/a' : `${c.rto.ms} ms`} (detect ${c.rto.detectMs ?? '-'} ms, decide→promoted ${c.rto.decideToPromotedMs ?? '-'} ms, promoted→stamped ${c.rto.promotedToStampedMs ?? '-'} ms, client write gap ${c.rto.writeGapMs ?? '-'} ms)\n`);
  for (const v of c.violations) io.stdout.write(`  VIOLATION ${v.invariant}: ${v.message}\n`);
  io.stdout.write(`verdict: ${c.verdict.toUpperCase()} — ${c.reason}\n`);
}

export interface DrillRunOptions {
  mode: 'sync' | 'async';
  fault: DrillFault;
  writer: WriterKind;
  seed: string;
  restartStale: boolean;
  probeIntervalMs: number;
  telemetryBackupRpoMs: number;
  reportDir: string;
}

/** One drill with evidence under reportDir/<run-id>; shared with `faultline selftest`. */
export async function runOneDrill(o: DrillRunOptions, io: CliIo): Promise<DrillResult> {
  const id = `failover-${o.fault}-${o.mode}-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${o.seed}`;
  const dir = join(o.reportDir, id);
  io.stdout.write(`drill: ${o.fault} (${o.mode}, ${o.writer} writer, seed ${o.seed}) → ${dir}\n`);
  return runFailoverDrill({
    mode: o.mode,
    fault: o.fault,
    writer: o.writer,
    seed: o.seed,
    links: injectorLinks,
    dir,
    restartStale: o.restartStale,
    probeIntervalMs: o.probeIntervalMs,
    telemetryBackupRpoMs: o.telemetryBackupRpoMs,
  });
}

export const drillCommand: Command = {
  summary: 'replay a regional PostgreSQL failover with split-brain fencing; RPO, RTO and invariants',
  usage,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub !== 'failover') throw new InputError('FAULTLINE_CLI_USAGE', `expected 'failover' (got ${sub === undefined ? 'nothing' : `'${sub}'`}); see 'faultline drill --help'`);
    const { values } = parseFlags(rest, {
      scenario: { type: 'string' },
      mode: { type: 'string' },
      fault: { type: 'string' },
      runs: { type: 'string' },
      seed: { type: 'string' },
      unfenced: { type: 'boolean' },
      'role-only': { type: 'boolean' },
      'restart-stale': { type: 'boolean' },
      json: { type: 'string' },
      check: { type: 'string' },
      'report-dir': { type: 'string' },
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
    if (!['kill', 'partition', 'pause', 'switchover'].includes(fault)) throw new InputError('FAULTLINE_CLI_USAGE', `--fault must be kill, partition, pause or switchover (got '${fault}')`, { field: 'fault' });
    const writer: WriterKind = values.unfenced ? 'unfenced' : values['role-only'] ? 'role-only' : spec.writer;
    const runs = values.runs ? Number(values.runs) : spec.runs;
    if (!Number.isInteger(runs) || runs < 1) throw new InputError('FAULTLINE_CLI_USAGE', `--runs must be a positive integer`, { field: 'runs' });
    const baseSeed = values.seed ?? (spec.seed !== undefined ? String(spec.seed) : String(randomSeed()));
    // The controls need the stale ex-primary to come back to be caught; so does the fenced writer's proof.
    const restartStale = values['restart-stale'] ?? (spec.restartStale || fault === 'kill');
    const reportDir = values['report-dir'] ?? join(io.cwd, 'reports');
    const results: DrillResult[] = [];
    const controller = new AbortController();
    const onSignal = (): void => controller.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      for (let i = 0; i < runs && !controller.signal.aborted; i++) {
        const seed = runs === 1 ? baseSeed : `${baseSeed}-${i + 1}`;
        const r = await runOneDrill({ mode, fault, writer, seed, restartStale, probeIntervalMs: spec.probeIntervalMs, telemetryBackupRpoMs: spec.telemetryBackupRpo, reportDir }, io);
        results.push(r);
        printCheck(io, r.check, r);
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    const rtos = results.map((r) => r.check.rto.ms).filter((x): x is number => x !== null);
    const rpos = results.map((r) => r.check.rpo.lostAcknowledgedWrites);
    const failures = results.filter((r) => r.check.verdict !== 'pass');
    const verdict = failures.some((r) => r.check.verdict === 'fail') ? 'fail' : failures.length ? 'inconclusive' : 'pass';
    if (runs > 1) {
      io.stdout.write(
        `\n${results.length} runs: RTO p50 ${pct(rtos, 50)} ms / p95 ${pct(rtos, 95)} ms / max ${rtos.length ? Math.max(...rtos) : '-'} ms · lost acknowledged writes p50 ${pct(rpos, 50)} / p95 ${pct(rpos, 95)} / max ${Math.max(...rpos)} · violations ${results.reduce((a, r) => a + r.check.violations.length, 0)}${failures.length ? ` · not passed: ${failures.map((r) => `${r.seed} (${r.check.verdict})`).join(', ')}` : ''}\n`,
      );
    }
    const summary = {
      verdict,
      mode,
      fault,
      writer,
      runs: results.length,
      rpo: {
        lostAcknowledgedWrites: Math.max(0, ...rpos),
        perRun: rpos,
        p50: pct(rpos, 50),
        p95: pct(rpos, 95),
        windowMs: results[0]?.check.rpo.windowMs ?? null,
        predictedLagBytes: results[0]?.check.rpo.predictedLagBytes ?? null,
        telemetryBackupRpoMs: spec.telemetryBackupRpo,
      },
      rto: { ms: rtos.length ? Math.max(...rtos) : null, perRun: rtos, p50: pct(rtos, 50), p95: pct(rtos, 95), max: rtos.length ? Math.max(...rtos) : null },
      violations: results.flatMap((r) => r.check.violations.map((v) => ({ seed: r.seed, ...v }))),
      failedSeeds: failures.map((r) => r.seed),
      evidence: results.map((r) => r.runDir),
    };
    if (values.json) writeFileSync(values.json, `${JSON.stringify(redactValue(summary), null, 2)}\n`);
    if (controller.signal.aborted) return ExitCode.aborted;
    return verdict === 'pass' ? ExitCode.passed : ExitCode.expectationFailed;
  },
};
