import { describe, expect, it } from 'vitest';
import { faultline, faultlineOk } from '../helpers/cli.ts';

describe('faultline CLI', () => {
  it('prints help listing every command and exits 0', async () => {
    const stdout = await faultlineOk(['--help']);
    for (const c of ['selftest', 'run', 'validate', 'serve', 'load', 'slo', 'drill']) expect(stdout).toContain(`  ${c}`);
    expect(stdout).toContain('Exit codes');
  });
  it('prints a command\'s usage for --help after a subcommand or other flags, and runs nothing', async () => {
    for (const [args, title] of [
      [['drill', 'failover', '--help'], 'faultline drill failover'],
      [['slo', 'replay', '--help'], 'faultline slo'],
      [['load', '--url', 'http://127.0.0.1:9', '--rate', '10', '--duration', '1s', '-h'], 'faultline load'],
    ] as const) {
      const stdout = await faultlineOk([...args]);
      expect(stdout).toContain(title);
      expect(stdout).toContain('Usage:');
      expect(stdout).not.toContain('verdict');
    }
  });
  it('rejects an unknown command with exit code 2 and no stack trace', async () => {
    const r = await faultline(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
  it('prints the version from package.json and exits 0', async () => {
    const { default: pkg } = await import('../../package.json', { with: { type: 'json' } });
    expect((await faultlineOk(['--version'])).trim()).toBe(pkg.version);
  });
});
