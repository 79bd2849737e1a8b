import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/faultline.mjs', import.meta.url));

describe('faultline CLI', () => {
  it('prints help listing every command and exits 0', async () => {
    const { stdout } = await run(process.execPath, [bin, '--help']);
    for (const c of ['selftest', 'run', 'validate', 'serve', 'load', 'slo', 'drill']) expect(stdout).toContain(`  ${c}`);
    expect(stdout).toContain('Exit codes');
  });
  it('prints a command\'s usage for --help after a subcommand or other flags, and runs nothing', async () => {
    for (const [args, title] of [
      [['drill', 'failover', '--help'], 'faultline drill failover'],
      [['slo', 'replay', '--help'], 'faultline slo'],
      [['load', '--url', 'http://127.0.0.1:9', '--rate', '10', '--duration', '1s', '-h'], 'faultline load'],
    ] as const) {
      const { stdout } = await run(process.execPath, [bin, ...args]);
      expect(stdout).toContain(title);
      expect(stdout).toContain('Usage:');
      expect(stdout).not.toContain('verdict');
    }
  });
  it('rejects an unknown command with exit code 2 and no stack trace', async () => {
    const err = await run(process.execPath, [bin, 'frobnicate']).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(2);
    expect((err as { stderr: string }).stderr).toContain("unknown command 'frobnicate'");
    expect((err as { stderr: string }).stderr).not.toMatch(/\n\s+at /);
  });
});
