/**
 * The drill's client workloads, each a loop until stop(): the writer under test (a write every
 * ~4 ms, and for the fenced writer a probe every probe interval), reads from any healthy node
 * labelled with their staleness, and telemetry ingest that never pauses (spooled by the writer).
 */
import { sleep } from '../shared/index.ts';
import { query } from './postgres.ts';
import type { ClusterNode } from './provider.ts';
import type { DrillRecord } from './drill-record.ts';
import type { WriterUnderTest } from './writer.ts';

export interface Workloads {
  /** Ends every loop after its current step; resolves when all have ended. */
  stop(): Promise<void>;
}

const STALENESS_SQL = 'select extract(epoch from (clock_timestamp() - coalesce(pg_last_xact_replay_timestamp(), clock_timestamp()))) * 1000 as stale';

/** One read from the first healthy node of `nodes`, recorded with its staleness (or a failed read). */
async function readAny(nodes: ClusterNode[], record: DrillRecord): Promise<void> {
  for (const n of nodes) {
    try {
      const rows = await query<{ stale: number | null }>(n.target, STALENESS_SQL, [], 300);
      record.history.push({ type: 'ok', f: 'read', t: record.rel(), node: n.name, staleMs: Math.round(Number(rows[0]?.stale ?? 0)) });
      return;
    } catch {
      // try the next node
    }
  }
  record.history.push({ type: 'fail', f: 'read', t: record.rel(), error: 'no healthy node' });
}

/** Every loop ends after its current step on stop() or once `signal` aborts (a fenced write is refused without IO: an aborted loop must not go on spinning). */
export function startWorkloads(writer: WriterUnderTest, readNodes: ClusterNode[], record: DrillRecord, probeIntervalMs: number, signal?: AbortSignal): Workloads {
  let running = true;
  const loop = async (step: () => Promise<void>, pauseMs: number): Promise<void> => {
    while (running && !signal?.aborted) {
      await step();
      await sleep(pauseMs, signal);
    }
  };
  const loops = [loop(() => writer.write(), 4)];
  if (writer.fenced) loops.push(loop(() => writer.probe(), probeIntervalMs));
  loops.push(loop(() => readAny(readNodes, record), 50));
  loops.push(loop(() => writer.ingest(), 25));
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}
