/** Runs the real CLI (bin/faultline.mjs) in a child process with CI=true, collecting its output. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const faultlineBin = fileURLToPath(new URL('../../bin/faultline.mjs', import.meta.url));

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunCliOptions {
  /** Extra environment on top of this process's. */
  env?: Record<string, string>;
  /** Called with all stdout so far on every chunk, and a way to signal the child. */
  onStdout?: (all: string, kill: (sig: NodeJS.Signals) => void) => void;
  /** The same for stderr (where live progress goes). */
  onStderr?: (all: string, kill: (sig: NodeJS.Signals) => void) => void;
}

export function faultline(args: string[], opts: RunCliOptions = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [faultlineBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true', ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      opts.onStdout?.(stdout, (sig) => child.kill(sig));
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      opts.onStderr?.(stderr, (sig) => child.kill(sig));
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs the CLI and expects exit 0: resolves with its stdout, rejects naming the exit code and stderr otherwise. */
export async function faultlineOk(args: string[], opts: RunCliOptions = {}): Promise<string> {
  const r = await faultline(args, opts);
  if (r.code !== 0) throw new Error(`faultline ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}
