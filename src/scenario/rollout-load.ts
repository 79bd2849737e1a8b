/**
 * Starts the rollout drill's load generator in its own process (rollout-load-main.ts) and collects
 * its requests. Stopped by message, then by pid if it does not end in time.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadOptions } from '../load/index.ts';
import type { RolloutRequest, RolloutResult } from './rollout-checks.ts';

export type LoadSummary = Omit<RolloutResult['load'], 'rate'>;

/** The compiled entry next to this file (dist/), or the TypeScript source through tsx's loader. */
function entry(): { file: string; execArgv: string[] } {
  if (import.meta.url.endsWith('.js')) return { file: fileURLToPath(new URL('./rollout-load-main.js', import.meta.url)), execArgv: [] };
  return { file: fileURLToPath(new URL('./rollout-load-main.ts', import.meta.url)), execArgv: ['--import', 'tsx/esm'] };
}

export interface LoadProcess {
  readonly pid: number | undefined;
  /** Resolves when the first requests have completed (the generator is up), or when it ended. */
  readonly flowing: Promise<void>;
  /** Stops the schedule, waits for in-flight requests, returns the summary (null if the process failed). */
  stop(): Promise<LoadSummary | null>;
}

export function startLoadProcess(options: Omit<LoadOptions, 'sink' | 'signal'>, t0Epoch: number, into: RolloutRequest[], onError: (message: string) => void): LoadProcess {
  const { file, execArgv } = entry();
  const child: ChildProcess = fork(file, [], { execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-2000)));
  let summary: LoadSummary | null = null;
  let markFlowing!: () => void;
  const flowing = new Promise<void>((r) => (markFlowing = r));
  const ended = new Promise<void>((resolve) => {
    child.on('message', (m: { type: string; items?: RolloutRequest[]; summary?: LoadSummary; message?: string }) => {
      if (m.type === 'batch' && m.items) {
        for (const q of m.items) into.push(q);
        markFlowing();
      }
      if (m.type === 'done' && m.summary) summary = m.summary;
      if (m.type === 'error') onError(`load generator: ${m.message ?? 'failed'}`);
    });
    child.once('exit', (code) => {
      markFlowing();
      if (summary === null && code !== 0) onError(`load generator exited ${code}: ${stderr.trim().split('\n').pop() ?? ''}`);
      resolve();
    });
  });
  child.send({ type: 'start', options, t0Epoch });
  return {
    pid: child.pid,
    flowing,
    async stop() {
      if (child.connected) child.send({ type: 'stop' });
      const deadline = new Promise<void>((r) => setTimeout(r, (options.timeoutMs ?? 2000) + 5000).unref());
      await Promise.race([ended, deadline]);
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // gone
        }
        await ended;
      }
      return summary;
    },
  };
}
