/**
 * faultline's composition root: the only place that reads argv and env, writes stdout/stderr and
 * chooses exit codes. Commands are a typed const map (no self-registration), loaded on demand:
 * `faultline --help` imports nothing but this file and the registry, `--version` adds only
 * src/shared/version.ts (package.json's version, the one source), and a command imports only its own
 * module's dependencies.
 */
import type { ExitCode } from '../shared/index.ts';
import type { CliIo, Command } from './io.ts';
import { processIo } from './io.ts';
import { commands, isCommandName } from './commands.ts';

export type { CliIo } from './io.ts';

// Help, version and unknown-command answers return these without loading src/shared (its front door
// pulls in yaml and zod, ~0.1 s); the types pin them to ExitCode's values at compile time.
const PASSED: (typeof ExitCode)['passed'] = 0;
const INVALID_INPUT: (typeof ExitCode)['invalidInput'] = 2;

function helpText(): string {
  const width = Math.max(...Object.keys(commands).map((k) => k.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'faultline — resilience test harness and chaos self-test suite',
    '',
    'Usage: faultline <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    "Run 'faultline <command> --help' for a command's options.",
    'Exit codes: 0 passed, 1 an expectation failed, 2 invalid input, 3 aborted, 4 harness error, 5 a part was skipped (--allow-skip).',
    '',
  ].join('\n');
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(helpText());
    return name === undefined ? INVALID_INPUT : PASSED;
  }
  if (name === '--version' || name === '-v') {
    const { faultlineVersion } = await import('../shared/version.ts');
    io.stdout.write(`${faultlineVersion()}\n`);
    return PASSED;
  }
  if (!isCommandName(name)) {
    io.stderr.write(`faultline: unknown command '${name}'\n\n${helpText()}`);
    return INVALID_INPUT;
  }
  const { ExitCode, isFaultlineError, redact } = await import('../shared/index.ts');
  try {
    const command: Command = await commands[name].load();
    // `--help` anywhere (also after a subcommand: `drill failover --help`, `slo replay --help`) prints usage, runs nothing.
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(`${command.usage.trimEnd()}\n`);
      return ExitCode.passed;
    }
    return await command.run(rest, io);
  } catch (e) {
    if (isFaultlineError(e)) {
      io.stderr.write(`faultline ${name}: ${e.code}: ${redact(e.message)}\n`);
      return e.exitCode;
    }
    const msg = e instanceof Error ? e.message : String(e);
    io.stderr.write(`faultline ${name}: FAULTLINE_INTERNAL: ${redact(msg)}\n`);
    if (io.env.FAULTLINE_DEBUG && e instanceof Error && e.stack) io.stderr.write(`${redact(e.stack)}\n`);
    return ExitCode.harnessError;
  }
}
