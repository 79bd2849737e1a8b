/**
 * faultline's composition root: the only place that reads argv and env, writes stdout/stderr and
 * chooses exit codes. Commands are a typed const map (no self-registration).
 */
import { ExitCode, isFaultlineError, redact } from '../shared/index.ts';
import type { CliIo, Command } from './io.ts';
import { processIo } from './io.ts';
import { commands } from './commands.ts';

export type { CliIo, Command } from './io.ts';

const VERSION = '0.1.0';

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
    'Exit codes: 0 passed, 1 an expectation failed, 2 invalid input, 3 aborted, 4 harness error.',
    '',
  ].join('\n');
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(helpText());
    return name === undefined ? ExitCode.invalidInput : ExitCode.passed;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(`${VERSION}\n`);
    return ExitCode.passed;
  }
  const command: Command | undefined = (commands as Record<string, Command>)[name];
  if (!command) {
    io.stderr.write(`faultline: unknown command '${name}'\n\n${helpText()}`);
    return ExitCode.invalidInput;
  }
  // `--help` anywhere (also after a subcommand: `drill failover --help`, `slo replay --help`) prints usage, runs nothing.
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${command.usage.trimEnd()}\n`);
    return ExitCode.passed;
  }
  try {
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
