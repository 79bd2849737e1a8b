/**
 * Typed errors with stable codes (`FAULTLINE_<AREA>_<WHAT>`), a process exit code and an optional `cause`.
 * The CLI prints `code: message` (never a stack trace) and exits with `exitCode`.
 */

/** Exit codes shared by every command (see README, "CLI reference"). */
export const ExitCode = {
  passed: 0,
  expectationFailed: 1,
  invalidInput: 2,
  aborted: 3,
  harnessError: 4,
  /** Everything that ran passed, but a part was skipped (e.g. no PostgreSQL for the failover drill); `--allow-skip` makes it 0. */
  skipped: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface FaultlineErrorOptions {
  cause?: unknown;
  exitCode?: ExitCode;
  /** Structured, secret-free details for reports and JSON output. */
  details?: Record<string, unknown>;
}

export class FaultlineError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: FaultlineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options.exitCode ?? ExitCode.harnessError;
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/** Where in a user's input file a problem is. Line and column are 1-based. */
export interface InputLocation {
  file?: string;
  line?: number;
  column?: number;
  /** Dotted path of the offending field, e.g. `phases[1].faults[0].latency`. */
  field?: string;
}

export function formatLocation(loc: InputLocation): string {
  const parts: string[] = [];
  if (loc.file !== undefined) {
    let where = loc.file;
    if (loc.line !== undefined) where += `:${loc.line}`;
    if (loc.line !== undefined && loc.column !== undefined) where += `:${loc.column}`;
    parts.push(where);
  }
  if (loc.field !== undefined && loc.field !== '') parts.push(`field '${loc.field}'`);
  return parts.join(' ');
}

/** Bad user input (a file, a flag, an API body). Exit code 2. */
export class InputError extends FaultlineError {
  readonly location: InputLocation;

  constructor(code: string, message: string, location: InputLocation = {}, options: Omit<FaultlineErrorOptions, 'exitCode'> = {}) {
    const where = formatLocation(location);
    super(code, where ? `${where}: ${message}` : message, { ...options, exitCode: ExitCode.invalidInput });
    this.location = location;
  }
}

/** Several input problems reported together (e.g. every schema violation in one file). */
export class InputErrors extends InputError {
  readonly problems: readonly InputError[];

  constructor(code: string, problems: readonly InputError[]) {
    super(code, `${problems.length} problem(s):\n  ${problems.map((p) => p.message).join('\n  ')}`);
    this.problems = problems;
  }
}

export function isFaultlineError(e: unknown): e is FaultlineError {
  return e instanceof FaultlineError;
}

/** Message of any thrown value, for logs and reports. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
