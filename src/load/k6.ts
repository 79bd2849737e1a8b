/**
 * k6 in the same SLI pipeline: run a script as a subprocess with `--out json=…` where a k6 binary
 * exists (`K6_BIN` or `k6` on PATH), and turn its `http_req_duration` / `http_req_failed` points into
 * SLI outcomes; and emit an equivalent k6 script (arrival-rate executors) for teams that run k6.
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { FaultlineError, InputError } from '../shared/index.ts';
import type { SliOutcome, SliSink } from './driver.ts';
import { scheduleDurationMs, type ScheduleShape } from './schedule.ts';

interface K6Point {
  type: 'Point';
  metric: string;
  data: { time: string; value: number; tags?: Record<string, string> };
}

/** One request, joined from its http_req_duration and http_req_failed points (time = request end). */
interface Joined {
  time: number;
  duration?: number;
  failed?: boolean;
  status?: number;
  errorCode?: number;
  error?: string;
}

/**
 * faultline's error classes from k6's `error_code` tag (k6 docs "Error codes": 1050 request timeout,
 * 1100–1199 DNS, 1200–1299 TCP, 1300–1399 TLS) and its `error` text for the TCP cases.
 */
export function k6ErrorClass(code: number | undefined, text = ''): string {
  if (code === 1050 || /timeout/i.test(text)) return 'timeout';
  if (/connection refused/i.test(text)) return 'connect_refused';
  if (/connection reset/i.test(text)) return 'reset';
  if (code !== undefined && code >= 1100 && code < 1200) return 'dns';
  if (code !== undefined && code >= 1200 && code < 1300) return 'tcp';
  if (code !== undefined && code >= 1300 && code < 1400) return 'tls';
  return 'error';
}

export interface K6IngestResult {
  requests: number;
  good: number;
  bad: number;
  /** Iterations k6 could not start on schedule (`dropped_iterations`), each recorded as a bad `drop` outcome. */
  dropped: number;
  skippedLines: number;
}

/**
 * Joins each `http_req_duration` point with the `http_req_failed` point of the same request (same
 * time and tags) and records one SLI outcome per request; each `dropped_iterations` point becomes that
 * many bad `drop` outcomes (as faultline's own driver counts starts it could not make on time). Lines
 * that are not JSON are counted and skipped (k6 writes nothing else on this stream, but be forgiving).
 */
export async function ingestK6Json(file: string, sink: SliSink, opts: { latencyThresholdMs?: number } = {}): Promise<K6IngestResult> {
  const pending = new Map<string, Joined>();
  const result: K6IngestResult = { requests: 0, good: 0, bad: 0, dropped: 0, skippedLines: 0 };
  const emit = (p: Joined): void => {
    const latency = p.duration ?? 0;
    const ok = p.failed === false;
    const good = ok && (opts.latencyThresholdMs === undefined || latency <= opts.latencyThresholdMs);
    const o: SliOutcome = { intendedAtMs: p.time - latency, completedAtMs: p.time, good, ok, latencyMs: latency, serviceMs: latency };
    if (!ok) o.errorClass = p.status && p.status > 0 ? `http_${p.status}` : k6ErrorClass(p.errorCode, p.error);
    else if (!good) o.errorClass = 'slow';
    if (p.status) o.status = p.status;
    sink.record(o);
    result.requests++;
    if (good) result.good++;
    else result.bad++;
  };
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of rl) {
    lineNo++;
    if (line.trim() === '') continue;
    let obj: K6Point | { type: string };
    try {
      obj = JSON.parse(line) as K6Point;
    } catch {
      result.skippedLines++;
      continue;
    }
    if (obj.type !== 'Point') continue;
    const pt = obj as K6Point;
    if (pt.metric !== 'http_req_duration' && pt.metric !== 'http_req_failed' && pt.metric !== 'dropped_iterations') continue;
    const time = typeof pt.data?.time === 'string' ? Date.parse(pt.data.time) : NaN;
    if (typeof pt.data?.value !== 'number' || Number.isNaN(time)) {
      throw new InputError('FAULTLINE_LOAD_K6_JSON', `malformed k6 Point (needs data.time as RFC 3339 and a numeric data.value)`, { file, line: lineNo, field: 'data' });
    }
    if (pt.metric === 'dropped_iterations') {
      for (let i = 0; i < pt.data.value; i++) {
        sink.record({ intendedAtMs: time, completedAtMs: time, good: false, ok: false, latencyMs: 0, serviceMs: 0, errorClass: 'drop' });
        result.dropped++;
        result.bad++;
      }
      continue;
    }
    const tags = pt.data.tags ?? {};
    const { expected_response: _e, ...joinTags } = tags;
    const key = `${pt.data.time}|${JSON.stringify(joinTags)}`;
    const entry = pending.get(key) ?? { time };
    if (tags.status) entry.status = Number(tags.status);
    if (tags.error_code) entry.errorCode = Number(tags.error_code);
    if (tags.error) entry.error = tags.error;
    if (pt.metric === 'http_req_duration') entry.duration = pt.data.value;
    else entry.failed = pt.data.value !== 0;
    if (entry.duration !== undefined && entry.failed !== undefined) {
      pending.delete(key);
      emit(entry);
    } else pending.set(key, entry);
  }
  // A duration without its failed point: judge by status alone.
  for (const e of pending.values()) {
    if (e.duration === undefined) continue;
    e.failed = e.status === undefined || e.status === 0 || e.status >= 500;
    emit(e);
  }
  return result;
}

/** Finds a k6 binary: K6_BIN, else `k6` on PATH. */
export function findK6(env: Record<string, string | undefined>): string | undefined {
  if (env.K6_BIN) return existsSync(env.K6_BIN) ? env.K6_BIN : undefined;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const p = join(dir, 'k6');
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/** Runs `k6 run --out json=FILE script` and streams its request points into the sink. */
export async function runK6Script(
  script: string,
  sink: SliSink,
  opts: { env: Record<string, string | undefined>; latencyThresholdMs?: number; signal?: AbortSignal },
): Promise<K6IngestResult & { exitCode: number | null; stderrTail: string }> {
  const bin = findK6(opts.env);
  if (!bin) {
    const named = opts.env.K6_BIN ? `K6_BIN=${opts.env.K6_BIN} does not exist; ` : '';
    throw new FaultlineError(
      'FAULTLINE_LOAD_K6_MISSING',
      named +
        "no k6 binary found: install k6 from https://k6.io/docs/get-started/installation/ (or a release binary) and put it on PATH, or set K6_BIN=/path/to/k6. faultline's own generator ('faultline load') needs nothing extra.",
      { exitCode: 4 },
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'faultline-k6-'));
  const out = join(dir, 'points.json');
  try {
    // k6's own messages are kept (last 4 kB) for the caller instead of being written to our stderr.
    const child = spawn(bin, ['run', '--quiet', '--out', `json=${out}`, script], { stdio: ['ignore', 'ignore', 'pipe'], env: opts.env, signal: opts.signal });
    let stderrTail = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderrTail = (stderrTail + d.toString('utf8')).slice(-4096);
    });
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve(code));
    });
    if (!existsSync(out)) {
      throw new FaultlineError('FAULTLINE_LOAD_K6_FAILED', `k6 exited ${exitCode} without writing any points: ${stderrTail.trim() || '(no output)'}`, { exitCode: 4 });
    }
    const r = await ingestK6Json(out, sink, { latencyThresholdMs: opts.latencyThresholdMs });
    return { ...r, exitCode, stderrTail };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An equivalent k6 script: constant-arrival-rate for constant shapes, ramping-arrival-rate otherwise. */
export function emitK6Script(url: string, shape: ScheduleShape, opts: { timeoutMs?: number; maxVUs?: number } = {}): string {
  // k6 durations: whole seconds where exact, else milliseconds.
  const secs = (ms: number): string => (Math.round(ms) % 1000 === 0 ? `${Math.round(ms) / 1000}s` : `${Math.round(ms)}ms`);
  const maxVUs = opts.maxVUs ?? 1000;
  let scenario: Record<string, unknown>;
  // k6 has no Poisson arrivals: a Poisson shape is emitted at its mean rate.
  if (shape.type === 'constant' || shape.type === 'soak' || shape.type === 'poisson') {
    scenario = { executor: 'constant-arrival-rate', rate: shape.rate, timeUnit: '1s', duration: secs(shape.duration), preAllocatedVUs: Math.min(maxVUs, Math.max(10, Math.ceil(shape.rate / 10))), maxVUs };
  } else {
    let stages: Array<{ target: number; duration: string }>;
    let startRate: number;
    if (shape.type === 'ramp') {
      startRate = shape.from;
      stages = [{ target: shape.to, duration: secs(shape.duration) }];
    } else if (shape.type === 'steps') {
      startRate = shape.steps[0]?.rate ?? 0;
      stages = shape.steps.flatMap((s) => [
        { target: s.rate, duration: '0s' },
        { target: s.rate, duration: secs(s.duration) },
      ]);
    } else {
      const high = shape.rate * shape.multiplier;
      const spikeStart = Math.min(shape.spikeAt, shape.duration);
      const spikeEnd = Math.min(shape.duration, spikeStart + shape.spikeDuration);
      startRate = shape.rate;
      stages = [
        { target: shape.rate, duration: secs(spikeStart) },
        { target: high, duration: '0s' },
        { target: high, duration: secs(spikeEnd - spikeStart) },
        { target: shape.rate, duration: '0s' },
        { target: shape.rate, duration: secs(scheduleDurationMs(shape) - spikeEnd) },
      ].filter((st, i) => i % 2 === 1 || st.duration !== '0s');
    }
    scenario = { executor: 'ramping-arrival-rate', startRate, timeUnit: '1s', preAllocatedVUs: Math.min(maxVUs, 50), maxVUs, stages };
  }
  return `// Generated by faultline: the same open-loop schedule as 'faultline load', for k6.
// Run: k6 run --out json=points.json this-script.js  (faultline can ingest points.json)
import http from 'k6/http';

export const options = {
  discardResponseBodies: true,
  scenarios: {
    faultline: ${JSON.stringify(scenario, null, 2).replace(/\n/g, '\n    ')},
  },
};

export default function () {
  http.get(${JSON.stringify(url)}, { timeout: '${Math.max(1, Math.round(opts.timeoutMs ?? 2000))}ms' });
}
`;
}
