/**
 * How a long command learns it must stop: SIGINT, SIGTERM, and — when it was started through npm
 * (`npx faultline`, `npm exec`, `npm run`) — the end of its parent. A SIGTERM to the top of an npm tree
 * ends npm and its shell but is not passed on, which would orphan faultline; faultline notices that its
 * parent is gone (it is re-parented) and stops exactly as on SIGTERM: heal, reports, exit 3.
 */
import type { CliIo } from './io.ts';

/** Calls `stop(reason)` once on SIGINT/SIGTERM or (under npm) when the parent process exits. Returns the unsubscribe. */
export function onStopSignal(io: CliIo, stop: (reason: string) => void): () => void {
  let fired = false;
  const fire = (reason: string): void => {
    if (fired) return;
    fired = true;
    stop(reason);
  };
  const onInt = (): void => fire('received SIGINT');
  const onTerm = (): void => fire('received SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  let watch: NodeJS.Timeout | undefined;
  const underNpm = io.env.npm_command !== undefined || io.env.npm_lifecycle_event !== undefined || io.env.FAULTLINE_STOP_WITH_PARENT === '1';
  if (underNpm) {
    // The parent recorded when faultline started: npm may already be gone before this command runs.
    const parent = io.parentPid ?? process.ppid;
    const check = (): void => {
      if (process.ppid !== parent || process.ppid === 1) fire(`its parent process (pid ${parent}, npm/npx) exited`);
    };
    watch = setInterval(check, 250);
    watch.unref();
    setImmediate(check);
  }
  return () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    if (watch) clearInterval(watch);
  };
}

/** An AbortSignal that onStopSignal aborts (its reason says why); dispose() unsubscribes. */
export function stopController(io: CliIo): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const dispose = onStopSignal(io, (reason) => controller.abort(reason));
  return { signal: controller.signal, dispose };
}
