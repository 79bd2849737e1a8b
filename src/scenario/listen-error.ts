/**
 * Listeners the scenario file names (`injector.listen`, `target.listen`, the alert receiver's
 * `listen`) or a flag names (`--metrics`): when one cannot be bound, the error names the file, line
 * and field (or the flag) and says why, instead of a bare `listen EADDRINUSE`. The run still ends as
 * a harness error (exit 4): the file is valid, the machine is not ready for it.
 */
import { FaultlineError, formatLocation } from '../shared/index.ts';

/** The bind failures a user can act on, and what each means. */
const WHY: Readonly<Record<string, string>> = {
  EADDRINUSE: 'another process already listens there',
  EACCES: 'this user may not bind it (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'it is not an address of this machine',
};

/** Where a scenario's fields are (the validated model's file and its line lookup). */
export interface FieldSource {
  file: string;
  lineOf?: (path: ReadonlyArray<string | number>) => number | undefined;
}

function bindErrno(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur !== null && typeof cur === 'object' && depth < 4; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && code in WHY) return code;
  }
  return undefined;
}

/** Runs `start` (which binds `address`); a bind failure becomes FAULTLINE_SCENARIO_LISTEN naming `what` and what to change. */
async function listenAs<T>(what: string, change: string, address: string, details: Record<string, unknown>, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (e) {
    const errno = bindErrno(e);
    if (errno === undefined) throw e;
    throw new FaultlineError('FAULTLINE_SCENARIO_LISTEN', `${what}: cannot listen on ${address}: ${WHY[errno]} (${errno}); stop what holds it, or give ${change} another address`, {
      cause: e,
      details: { ...details, address, errno },
    });
  }
}

/** A listener the scenario file names at `path`: the error names the file, line and field. */
export function listenNamed<T>(src: FieldSource, path: ReadonlyArray<string | number>, address: string, start: () => Promise<T>): Promise<T> {
  const field = path.join('.');
  return listenAs(formatLocation({ file: src.file, line: src.lineOf?.(path), field }), field, address, { field }, start);
}

/** A listener a command-line flag names (e.g. `--metrics`): the error names the flag. */
export function listenFlag<T>(flag: string, address: string, start: () => Promise<T>): Promise<T> {
  return listenAs(flag, flag, address, { flag }, start);
}
