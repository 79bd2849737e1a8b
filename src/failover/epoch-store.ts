/** The controller's durable epoch: written tmp → fsync → rename; it only increases. */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { FaultlineError } from '../shared/index.ts';

export class EpochStore {
  constructor(private readonly file: string) {}

  read(): number {
    return (JSON.parse(readFileSync(this.file, 'utf8')) as { epoch: number }).epoch;
  }

  /** Persists `epoch` with `extra` (writer, state); refuses to lower it (FAULTLINE_FAILOVER_EPOCH). */
  write(epoch: number, extra: Record<string, unknown>): void {
    let current = 0;
    try {
      current = this.read();
    } catch {
      // no epoch yet
    }
    if (epoch < current) throw new FaultlineError('FAULTLINE_FAILOVER_EPOCH', `refusing to lower the epoch from ${current} to ${epoch}`);
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ epoch, ...extra }));
    const fd = openSync(tmp, 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.file);
  }
}
