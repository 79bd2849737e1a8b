import { writeFileSync } from 'node:fs';
import { assertAllowed, ExitCode, InputError, networkPolicy, parseDuration, randomSeed } from '../shared/index.ts';
import { defaultPrewarmConnections, defaultWarmupMs, emitK6Script, runK6Script, runLoad, scheduleSchema, type LoadResult, type ScheduleShape, type SliOutcome } from '../load/index.ts';
import { parseFlags } from './args.ts';
import { stopController } from './stop-signals.ts';
import type { CliIo, Command } from './io.ts';

/**
 * A duration flag: a bare number is ambiguous on the command line (milliseconds? seconds?), so a unit
 * is required (250ms, 10s, 1m).
 */
export function flagDuration(value: string, flag: string): number {
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) {
    throw new InputError('FAULTLINE_CLI_USAGE', `--${flag} needs a unit, e.g. ${value.trim()}s or ${value.trim()}ms`, { field: flag });
  }
  return parseDuration(value, flag);
}

const usage = `faultline load — open-loop load with coordinated-omission-corrected latency

Usage:
  faultline load --url URL --rate N --duration D [--shape constant|soak|poisson|ramp|spike]
                 [--ramp-from N] [--spike-multiplier X --spike-at D --spike-duration D]
  faultline load --url URL --shape steps --steps RATE:D,RATE:D,… [options below]
                 [--timeout 2s] [--max-in-flight 10000] [--connections N] [--insecure] [--warmup D] [--prewarm N]
                 [--good-status LIST]
                 [--latency-threshold D] [--seed N] [--json FILE] [--allow-network CIDR]…
  faultline load --url URL --rate N --duration D [--shape …] --emit-k6 FILE
  faultline load --k6 SCRIPT [--json FILE]        (needs a k6 binary: K6_BIN or k6 on PATH)

Requests are sent at their scheduled times whatever the target does; latency is measured from the
intended send time (corrected) and from the moment the request got on the wire (service). A run
that sent fewer than 99 % of its scheduled requests, or queued client-side for more than 50 ms at
p99, is marked invalid, and the summary says whether the generator or the target made it so and
which flag to change. The target must be a loopback address, or an IP address that
--allow-network CIDR (repeatable) admits; else exit 2 naming --url (--emit-k6 too).

Warm-up: requests intended in the first --warmup (default 20 % of the run, at most 2s) are sent but
left out of the latency histograms and the validity rule (they pay for JIT and connection set-up).
--prewarm N opens N connections before the clock starts, sending nothing (default: the --rate ×
2 ms concurrency, at least 8, at most --connections; 0 turns it off).

Shapes: constant (default) and soak send --rate for --duration; poisson draws seeded exponential
gaps at --rate; ramp goes linearly from --ramp-from (default 0) to --rate; spike sends --rate and,
from --spike-at for --spike-duration, --rate × --spike-multiplier (all three are required); steps
runs each RATE:DURATION in turn. --good-status lists the statuses that count as good (e.g. 2xx,3xx
or 2xx,404); by default every status below 500 is good.`;

function shapeFrom(values: Record<string, string | boolean | string[] | undefined>): ScheduleShape {
  const num = (k: string): number => {
    const v = values[k];
    const n = Number(v);
    if (v === undefined || typeof v !== 'string' || !Number.isFinite(n)) {
      const spike = k.startsWith('spike-') ? ' (--shape spike needs --spike-multiplier X, --spike-at D and --spike-duration D)' : '';
      throw new InputError('FAULTLINE_CLI_USAGE', `--${k} needs a number${spike}`, { field: k });
    }
    return n;
  };
  const shape = String(values.shape ?? 'constant');
  if (shape === 'steps') {
    const list = String(values.steps ?? '');
    const steps = list.split(',').map((part) => {
      const m = /^\s*([\d.]+)\s*:\s*(\S+)\s*$/.exec(part);
      if (!m) throw new InputError('FAULTLINE_CLI_USAGE', `--steps needs RATE:DURATION,… (e.g. 100:5s,300:10s); got '${part}'`, { field: 'steps' });
      return { rate: Number(m[1]), duration: flagDuration(m[2] as string, 'steps') };
    });
    return parseShape({ type: 'steps', steps });
  }
  const rate = num('rate');
  const duration = flagDuration(String(values.duration ?? ''), 'duration');
  const raw: Record<string, unknown> =
    shape === 'ramp'
      ? { type: 'ramp', from: values['ramp-from'] === undefined ? 0 : num('ramp-from'), to: rate, duration }
      : shape === 'spike'
        ? {
            type: 'spike',
            rate,
            duration,
            multiplier: num('spike-multiplier'),
            spikeAt: flagDuration(String(values['spike-at'] ?? ''), 'spike-at'),
            spikeDuration: flagDuration(String(values['spike-duration'] ?? ''), 'spike-duration'),
          }
        : { type: shape, rate, duration };
  return parseShape(raw);
}

function parseShape(raw: Record<string, unknown>): ScheduleShape {
  const parsed = scheduleSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError('FAULTLINE_CLI_USAGE', `bad --shape ${String(raw.type)}: ${issue ? `${issue.path.join('.') || 'shape'}: ${issue.message}` : 'invalid'}`, { field: 'shape' });
  }
  return parsed.data;
}

function positiveInt(v: string | undefined, flag: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InputError('FAULTLINE_CLI_USAGE', `--${flag} must be a positive integer (got '${v}')`, { field: flag });
  return n;
}

const fmt = (v: number | null): string => (v === null ? '-' : v.toFixed(2));

function summary(r: LoadResult): string {
  const c = r.latencyMs.corrected;
  const s = r.latencyMs.service;
  const lines = [
    `target     ${r.target}   seed ${r.seed}`,
    `requests   scheduled ${r.scheduled}  sent ${r.sent}  dropped ${r.dropped}  completed ${r.completed}  good ${r.good}  bad ${r.bad}`,
    `latency ms        p50      p90      p99    p99.9      max`,
    `  corrected  ${[c.p50, c.p90, c.p99, c.p999, c.max].map((v) => fmt(v).padStart(8)).join(' ')}   (from intended send time)`,
    `  service    ${[s.p50, s.p90, s.p99, s.p999, s.max].map((v) => fmt(v).padStart(8)).join(' ')}   (from on the wire)`,
    `scheduling lag p99 ${fmt(r.schedulingLagMs.p99)} ms   client queue p99 ${fmt(r.clientQueueMs.p99)} ms   Little's L = ${r.littlesLaw.concurrency === null ? '-' : r.littlesLaw.concurrency.toFixed(2)}`,
    `generator  warm-up ${fmt(r.generator.warmupMs / 1000)} s   ${r.generator.prewarmedConnections} connections opened ahead${r.generator.connections === undefined ? '' : ` (cap ${r.generator.connections})`}   CPU ${fmt(r.generator.cpuUsPerRequest)} µs/request (${fmt(r.generator.steadyCpuUsPerRequest)} after the warm-up)`,
    `errors     ${Object.keys(r.errors).length === 0 ? 'none' : Object.entries(r.errors).map(([k, v]) => `${k}=${v}`).join(' ')}`,
    `valid      ${r.valid ? 'yes' : `NO — ${r.invalidReasons.join('; ')}`}`,
  ];
  if (!r.valid) {
    lines.push(
      r.invalidCause === 'generator'
        ? `cause      the load generator, not the target: the numbers above do not describe the target`
        : `cause      the target: too slow for the generator's in-flight cap`,
    );
    for (const a of r.advice) lines.push(`  - ${a}`);
  }
  return `${lines.join('\n')}\n`;
}

function progressWriter(io: CliIo): (line: string) => void {
  const tty = io.stderr.isTTY === true;
  return (line) => io.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
}

export const loadCommand: Command = {
  usage,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      url: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      shape: { type: 'string' },
      steps: { type: 'string' },
      'ramp-from': { type: 'string' },
      'spike-multiplier': { type: 'string' },
      'spike-at': { type: 'string' },
      'spike-duration': { type: 'string' },
      timeout: { type: 'string' },
      'max-in-flight': { type: 'string' },
      connections: { type: 'string' },
      insecure: { type: 'boolean' },
      warmup: { type: 'string' },
      prewarm: { type: 'string' },
      'good-status': { type: 'string' },
      'latency-threshold': { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'string' },
      'emit-k6': { type: 'string' },
      k6: { type: 'string' },
      'allow-network': { type: 'string', multiple: true },
    });
    if (values.k6) {
      const counts = { good: 0, bad: 0 };
      const r = await runK6Script(values.k6, { record: (o: SliOutcome) => void (o.good ? counts.good++ : counts.bad++) }, { env: io.env });
      if (r.stderrTail.trim()) io.stderr.write(`${r.stderrTail.trimEnd()}\n`);
      io.stdout.write(`k6 exited ${r.exitCode}: ${r.requests} requests, ${r.good} good, ${r.bad} bad (${r.dropped} dropped iterations)\n`);
      if (values.json) writeFileSync(values.json, `${JSON.stringify(r, null, 2)}\n`);
      return ExitCode.passed;
    }
    if (!values.url) throw new InputError('FAULTLINE_CLI_USAGE', 'missing required flag --url', { field: 'url' });
    if (!URL.canParse(values.url)) throw new InputError('FAULTLINE_CLI_USAGE', `--url is not a URL: '${values.url}'`, { field: 'url' });
    const network = networkPolicy(values['allow-network'] ?? [], '--allow-network');
    // Before anything is sent or written (a k6 script aimed elsewhere included).
    assertAllowed(new URL(values.url).hostname, 'load target', 'url', network);
    const schedule = shapeFrom(values);
    const timeoutMs = flagDuration(values.timeout ?? '2s', 'timeout');
    if (values['emit-k6']) {
      writeFileSync(values['emit-k6'], emitK6Script(values.url, schedule, { timeoutMs }));
      io.stdout.write(`wrote k6 script ${values['emit-k6']}\n`);
      return ExitCode.passed;
    }
    const seed = values.seed ?? String(randomSeed());
    const progress = progressWriter(io);
    // SIGINT, SIGTERM or (started through npm) the end of its parent stop the run: summary, exit 3.
    const stop = stopController(io);
    const result = await runLoad({
      signal: stop.signal,
      target: {
        kind: 'http',
        url: values.url,
        ...(values.connections ? { connections: positiveInt(values.connections, 'connections', 1) } : {}),
        ...(values.insecure ? { insecure: true } : {}),
      },
      schedule,
      timeoutMs,
      network,
      maxInFlight: positiveInt(values['max-in-flight'], 'max-in-flight', 10_000),
      warmupMs: values.warmup ? flagDuration(values.warmup, 'warmup') : defaultWarmupMs(schedule),
      prewarmConnections: values.prewarm === '0' ? 0 : positiveInt(values.prewarm, 'prewarm', defaultPrewarmConnections(schedule)),
      sli: {
        ...(values['good-status'] ? { goodStatus: values['good-status'] } : {}),
        ...(values['latency-threshold'] ? { latencyThresholdMs: flagDuration(values['latency-threshold'], 'latency-threshold') } : {}),
      },
      seed,
      onProgress: (p) =>
        progress(
          `${(p.elapsedMs / 1000).toFixed(0)}s  rate ${p.sentPerSec.toFixed(0)}/s  done ${p.completedPerSec.toFixed(0)}/s  errors ${(p.errorRate * 100).toFixed(2)}%  p99 ${fmt(p.p99Ms)} ms  in-flight ${p.inFlight}`,
        ),
    }).finally(stop.dispose);
    if (io.stderr.isTTY) io.stderr.write('\n');
    io.stdout.write(summary(result));
    if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
    if (stop.signal.aborted) {
      io.stdout.write(`aborted: ${String(stop.signal.reason)} (exit 3)\n`);
      return ExitCode.aborted;
    }
    return result.valid ? ExitCode.passed : ExitCode.expectationFailed;
  },
};
