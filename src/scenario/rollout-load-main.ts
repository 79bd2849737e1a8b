/**
 * The rollout drill's load generator as its own process (started by rollout-load.ts with an IPC
 * channel), so the open-loop schedule is not disturbed by the balancer's work in the drill process.
 * Receives { type: 'start', options, t0Epoch }, streams each request as a RolloutRequest (times in ms
 * since the drill's t0) in batches, stops on { type: 'stop' } and ends with { type: 'done', summary }.
 */
import { runLoad, type LoadOptions } from '../load/index.ts';
import type { RolloutRequest } from './rollout-checks.ts';

type Start = { type: 'start'; options: Omit<LoadOptions, 'sink' | 'signal'>; t0Epoch: number };

const send = (m: unknown): void => {
  process.send?.(m);
};
const stop = new AbortController();
let batch: RolloutRequest[] = [];
const flush = (): void => {
  if (batch.length === 0) return;
  send({ type: 'batch', items: batch });
  batch = [];
};

process.on('message', (m: { type: string }) => {
  if (m.type === 'stop') stop.abort();
  if (m.type !== 'start') return;
  const { options, t0Epoch } = m as Start;
  // This process's monotonic clock → ms since the drill's t0 (both through the epoch).
  const rel = (ms: number): number => Math.round((performance.timeOrigin + ms - t0Epoch) * 10) / 10;
  const timer = setInterval(flush, 100);
  runLoad({
    ...options,
    signal: stop.signal,
    sink: {
      record: (x) => {
        const q: RolloutRequest = { t: rel(x.intendedAtMs), done: rel(x.completedAtMs), ok: x.ok, latencyMs: Math.round(x.latencyMs * 100) / 100 };
        if (x.errorClass !== undefined && !x.ok) q.errorClass = x.errorClass;
        if (x.status !== undefined) q.status = x.status;
        if (x.servedBy !== undefined) q.servedBy = x.servedBy;
        batch.push(q);
      },
    },
  }).then(
    (r) => {
      clearInterval(timer);
      flush();
      send({ type: 'done', summary: { sent: r.sent, completed: r.completed, good: r.good, bad: r.bad, dropped: r.dropped, p99Ms: r.latencyMs.corrected.p99, valid: r.valid, invalidReasons: r.invalidReasons } });
      process.disconnect?.();
    },
    (e: unknown) => {
      clearInterval(timer);
      send({ type: 'error', message: e instanceof Error ? e.message : String(e) });
      process.disconnect?.();
    },
  );
});
// The parent went away: stop.
process.on('disconnect', () => stop.abort());
