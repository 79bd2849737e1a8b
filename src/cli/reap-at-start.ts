/** At the start of a run or drill: the debris of dead runs (working copies, servers left running) is reaped, and said. */
import { reapDebris } from '../failover/index.ts';
import type { CliIo } from './io.ts';

/** Reaps the debris of dead runs (working copies, servers left running) and says what it reaped. */
export function reapAtStart(io: CliIo): void {
  for (const line of reapDebris()) io.stderr.write(`faultline: reaped debris of a dead run: ${line}\n`);
}
