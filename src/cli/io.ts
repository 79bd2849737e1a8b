/** What a command may touch: the CLI is the only place that sees argv, env, stdout and exit codes. */
export interface CliIo {
  stdout: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  env: Record<string, string | undefined>;
  cwd: string;
  /** The parent process when faultline started (to notice being orphaned by an npm wrapper). */
  parentPid?: number;
}

/** A command's module exports one of these; its one-line summary is in the registry (commands.ts). */
export interface Command {
  /** Full usage text for `faultline <command> --help`. */
  usage: string;
  /** Returns the process exit code (see ExitCode in src/shared). */
  run(argv: string[], io: CliIo): Promise<number>;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), parentPid: process.ppid };
}
