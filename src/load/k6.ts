/**
 * k6 in the same SLI pipeline: run a script as a subprocess with `--out json=…` where a k6 binary
 * exists (`K6_BIN` or `k6` on PATH), and turn its `http_req_duration` / `http_req_failed` points into
 * SLI outcomes; and emit an equivalent k6 script (arrival-rate executors) for teams that run k6.
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync } from 'node:fs';
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

export interface K6IngestResult {
  requests: number;
  good: number;
  bad: number;
  skippedLines: number;
}

/**
 * Joins each `http_req_duration` point with the `http_req_failed` point of the same request (same
 * time and tags) and records one SLI outcome per request. Lines that are not JSON are counted and
 * skipped (k6 may interleave nothing else on this stream, but be forgiving).
 */
export async function ingestK6Json(file: string, sink: SliSink, opts: { latencyThresholdMs?: number } = {}): Promise<K6IngestResult> {
  const pending = new Map<string, { duration?: number; failed?: boolean; time: number; status?: number }>();
  const result: K6IngestResult = { requests: 0, good: 0, bad: 0, skippedLines: 0 };
  const emit = (p: { duration?: number; failed?: boolean; time: number; status?: number }): void => {
    const latency = p.duration ?? 0;
    const ok = p.failed === false;
    const good = ok && (opts.latencyThresholdMs === undefined || latency <= opts.latencyThresholdMs);
    const o: SliOutcome = { intendedAtMs: p.time - latency, completedAtMs: p.time, good, ok, latencyMs: latency, serviceMs: latency };
    if (!ok) o.errorClass = p.status && p.status > 0 ? `http_${p.status}` : 'error';
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
    if (pt.metric !== 'http_req_duration' && pt.metric !== 'http_req_failed') continue;
    if (typeof pt.data?.value !== 'number' || typeof pt.data?.time !== 'string') {
      throw new InputError('FAULTLINE_LOAD_K6_JSON', `malformed k6 Point (needs data.time and data.value)`, { file, line: lineNo });
    }
    const tags = pt.data.tags ?? {};
    const { expected_response: _e, ...joinTags } = tags;
    const key = `${pt.data.time}|${JSON.stringify(joinTags)}`;
    const entry = pending.get(key) ?? { time: Date.parse(pt.data.time) };
    if (tags.status) entry.status = Number(tags.status);
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
): Promise<K6IngestResult & { exitCode: number | null }> {
  const bin = findK6(opts.env);
  if (!bin) {
    throw new FaultlineError(
      'FAULTLINE_LOAD_K6_MISSING',
      "no k6 binary found: install k6 from https://k6.io/docs/get-started/installation/ (or a release binary) and put it on PATH, or set K6_BIN=/path/to/k6. faultline's own generator ('faultline load') needs nothing extra.",
      { exitCode: 4 },
    );
  }
  const out = join(mkdtempSync(join(tmpdir(), 'faultline-k6-')), 'points.json');
  const child = spawn(bin, ['run', '--quiet', `--out`, `json=${out}`, script], { stdio: ['ignore', 'ignore', 'inherit'], signal: opts.signal });
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
  const r = await ingestK6Json(out, sink, { latencyThresholdMs: opts.latencyThresholdMs });
  return { ...r, exitCode };
}

/** An equivalent k6 script: constant-arrival-rate for constant shapes, ramping-arrival-rate otherwise. */
export function emitK6Script(url: string, shape: ScheduleShape, opts: { timeoutMs?: number; maxVUs?: number } = {}): string {
  const secs = (ms: number): string => `${Math.max(1, Math.round(ms / 1000))}s`;
  const maxVUs = opts.maxVUs ?? 1000;
  let scenario: Record<string, unknown>;
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
      startRate = shape.rate;
      stages = [
        { target: shape.rate, duration: secs(shape.spikeAt) },
        { target: high, duration: '0s' },
        { target: high, duration: secs(shape.spikeDuration) },
        { target: shape.rate, duration: '0s' },
        { target: shape.rate, duration: secs(scheduleDurationMs(shape) - shape.spikeAt - shape.spikeDuration) },
      ];
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
  http.get(${JSON.stringify(url)}, { timeout: '${Math.round((opts.timeoutMs ?? 2000) / 1000) || 1}s' });
}
`;
}
