/**
 * The external provider's user commands: real /bin/sh processes. A deadline or an abort kills the
 * whole process group (a compound command's children too), and output is captured and redacted.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProviderCommand } from '../../src/failover/provider.ts';
import { pollUntil } from '../helpers/until.ts';

/** Running (a killed child reparented to an init that does not reap it stays a zombie: not running). */
const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
};

/** The pid the command wrote (it has started its child by then). */
async function childOf(pidFile: string): Promise<number> {
  let text = '';
  await pollUntil('the command to write its pid', () => (text = readFileSync(pidFile, 'utf8').trim()) !== '', 2000);
  return Number(text);
}

describe('external provider commands', () => {
  it('captures the output of a command that succeeds, with secrets redacted', async () => {
    const r = await runProviderCommand('promoteReplica', "echo promoted; echo 'postgresql://drill:hunter2@127.0.0.1:15433/drill' >&2", 5000);
    expect(r.output).toContain('promoted');
    expect(r.output).not.toContain('hunter2');
  });

  it('a deadline kills the whole process group, not only the shell', async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), 'faultline-cmd-')), 'pid');
    const run = runProviderCommand('stopPrimary', `sleep 30 & echo $! > ${pidFile}; wait`, 400);
    const child = await childOf(pidFile);
    expect(alive(child)).toBe(true);
    await expect(run).rejects.toMatchObject({ code: 'FAULTLINE_FAILOVER_COMMAND', message: expect.stringContaining('timed out after 400 ms') });
    // The group is killed by the time the command settles; the child is reaped by init soon after.
    await pollUntil('the child to be gone', () => !alive(child), 2000);
    expect(alive(child)).toBe(false);
  });

  it('an abort (SIGINT/SIGTERM of the drill) stops a running command and its children at once', async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), 'faultline-cmd-')), 'pid');
    const ac = new AbortController();
    const t0 = performance.now();
    const run = runProviderCommand('pausePrimary', `sleep 30 & echo $! > ${pidFile}; wait`, 60_000, ac.signal);
    const child = await childOf(pidFile);
    ac.abort();
    await expect(run).rejects.toMatchObject({ code: 'FAULTLINE_FAILOVER_ABORTED', exitCode: 3 });
    expect(performance.now() - t0).toBeLessThan(5000);
    // The group is killed by the time the command settles; the child is reaped by init soon after.
    await pollUntil('the child to be gone', () => !alive(child), 2000);
    expect(alive(child)).toBe(false);
  });

  it('a failing command reports its exit code and last output lines', async () => {
    await expect(runProviderCommand('healReplication', 'echo nope >&2; exit 7', 5000)).rejects.toMatchObject({
      code: 'FAULTLINE_FAILOVER_COMMAND',
      message: expect.stringMatching(/healReplication exited 7: nope/),
    });
  });
});
