/** The command registry: a typed const map. Each command lives in its own `<name>-command.ts`. */
import type { Command } from './io.ts';
import { serveCommand } from './serve-command.ts';
import { sloCommand } from './slo-command.ts';
import { loadCommand } from './load-command.ts';
import { runCommand, validateCommand, selftestCommand } from './run-command.ts';
import { drillCommand } from './drill-command.ts';
import { checkCommand } from './check-command.ts';

export const commands = {
  selftest: selftestCommand,
  run: runCommand,
  validate: validateCommand,
  serve: serveCommand,
  load: loadCommand,
  slo: sloCommand,
  drill: drillCommand,
  check: checkCommand,
} as const satisfies Record<string, Command>;
