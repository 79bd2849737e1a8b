/**
 * A SIGTERM to the top of an npm-made tree (npm → sh → node, as `npx faultline` / `npm run` create it)
 * ends npm and its shell without passing the signal on. faultline must still stop cleanly: it notices
 * it was re-parented and aborts as on SIGTERM — heal, reports, exit 3 — instead of running on orphaned.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { okServer, type TestServer } from '../load/http-fixture.ts';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from '../helpers/until.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));

function childrenOf(ppid: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

const running = (pid: number): boolean => {
  try {
    return !/^\d+ \([^)]*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe('stopping through npm', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await okServer();
  });
  afterAll(() => server.close());

  it('SIGTERM to npm (npm run faultline -- run …) stops faultline cleanly: reports written, ABORTED, exit 3, no orphan', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-npm-'));
    const file = join(dir, 's.yaml');
    writeFileSync(
      file,
      `apiVersion: faultline/v1
kind: Experiment
metadata: { name: npm }
seed: 1
timeScale: 3600
target: { url: "${server.url}" }
load: { rate: 20, timeout: 500ms }
slo: { name: t, objective: 99 }
experiments:
  - name: long
    baseline: 2s
    inject: { duration: 60s, faults: [{ type: latency, attributes: { latency: 1 } }] }
    recover: 2s
`,
    );
    const reports = join(dir, 'reports');
    const npm = spawn('npm', ['run', '--silent', 'faultline', '--', 'run', file, '--report-dir', reports], { cwd: repo, stdio: 'ignore' });
    const npmPid = npm.pid as number;
    // Find faultline: npm → sh → node bin/faultline.mjs (or npm → node).
    let faultline: number | undefined;
    const isFaultline = (pid: number): boolean => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('bin/faultline.mjs');
      } catch {
        return false;
      }
    };
    await until(() => {
      const level1 = childrenOf(npmPid);
      faultline = [...level1, ...level1.flatMap(childrenOf)].find((p) => isFaultline(p) && !readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('sh'));
      return faultline !== undefined;
    }, 30_000);
    expect(faultline).toBeDefined();
    // Let the run get into its experiment, then SIGTERM the top of the tree only.
    await new Promise((r) => setTimeout(r, 2500));
    process.kill(npmPid, 'SIGTERM');
    expect(await until(() => !running(faultline as number), 20_000)).toBe(true);
    const runDir = join(reports, readdirSync(reports)[0] as string);
    const journal = JSON.parse(readFileSync(join(runDir, 'journal.json'), 'utf8')) as { status: string; exitCode: number; abort?: { cause: string }; cleanup: { faultsLeft: number } };
    expect(journal.status).toBe('aborted');
    expect(journal.exitCode).toBe(3);
    expect(journal.abort?.cause).toMatch(/parent process .* exited/);
    expect(journal.cleanup.faultsLeft).toBe(0);
  }, 90_000);
});
