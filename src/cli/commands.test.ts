import { describe, expect, it } from 'vitest';
import { ExitCode } from '../shared/index.ts';
import { commands, isCommandName } from './commands.ts';
import { main, type CliIo } from './index.ts';

function memoryIo(): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env: {},
    cwd: process.cwd(),
    out: () => out,
    err: () => err,
  };
}

describe('command registry', () => {
  it('loads, for every name, a command whose usage is titled with that name', async () => {
    for (const [name, entry] of Object.entries(commands)) {
      const command = await entry.load();
      expect(command.usage).toMatch(new RegExp(`^faultline ${name}\\b`));
      expect(typeof command.run).toBe('function');
      expect(entry.summary.length).toBeGreaterThan(0);
    }
  });

  it('knows only its own names (not Object.prototype members)', () => {
    expect(isCommandName('drill')).toBe(true);
    expect(isCommandName('toString')).toBe(false);
    expect(isCommandName('__proto__')).toBe(false);
  });
});

describe('main', () => {
  it('answers --help with every summary and exit passed, no arguments with exit invalid input', async () => {
    const io = memoryIo();
    expect(await main(['--help'], io)).toBe(ExitCode.passed);
    for (const [name, entry] of Object.entries(commands)) expect(io.out()).toMatch(new RegExp(`^  ${name} +${entry.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    expect(await main([], memoryIo())).toBe(ExitCode.invalidInput);
  });

  it('rejects an unknown command with exit invalid input, including prototype names', async () => {
    for (const name of ['frobnicate', 'constructor']) {
      const io = memoryIo();
      expect(await main([name], io)).toBe(ExitCode.invalidInput);
      expect(io.err()).toContain(`unknown command '${name}'`);
    }
  });

  it("prints a command's usage for --help and exit passed", async () => {
    const io = memoryIo();
    expect(await main(['slo', 'rules', '--help'], io)).toBe(ExitCode.passed);
    expect(io.out()).toMatch(/^faultline slo/);
  });
});
