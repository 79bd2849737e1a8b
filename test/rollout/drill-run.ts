/** Shared by the rollout drill tests: runs `faultline drill rollout …` in-process and reads its record. */
import { expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { drillCommand } from '../../src/cli/drill-command.ts';
import type { CliIo } from '../../src/cli/io.ts';
import type { RolloutResult } from '../../src/scenario/index.ts';

/** Runs the drill with `args` (reports under `dir`); checks every process it started has exited (by pid). */
export async function drill(dir: string, name: string, args: string[]): Promise<{ code: number; r: RolloutResult; out: string }> {
  let out = '';
  const io: CliIo = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (out += s) }, env: {}, cwd: dir };
  const json = join(dir, `${name}.json`);
  const code = await drillCommand.run(['rollout', '--seed', name, '--report-dir', join(dir, 'reports'), '--json', json, ...args], io);
  const r = JSON.parse(readFileSync(json, 'utf8')) as RolloutResult;
  for (const x of r.replicas) {
    expect(x.exitedAt, `${x.name} still running`).not.toBeNull();
    if (x.pid !== null) expect(() => process.kill(x.pid as number, 0)).toThrow();
  }
  return { code, r, out };
}

export const row = (r: RolloutResult, id: string) => r.verdicts.find((v) => v.id === `rollout/${id}`);
/** The rows as text, for failure messages. */
export const rows = (r: RolloutResult): string => r.verdicts.map((v) => `${v.passed ? 'pass' : 'FAIL'} ${v.id}: ${v.observed}`).join('\n');
