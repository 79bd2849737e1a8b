/** Running one fuzz case: a scenario through `faultline validate` (in process), a request against the control API. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main, type CliIo } from '../../src/cli/index.ts';
import type { ApiRequest } from './fuzz-arbitraries.ts';

export interface ScenarioOutcome {
  code: number;
  stderr: string;
  /** Why the outcome is not acceptable, or undefined (exit 0 or 2, a FAULTLINE_ code, no stack trace). */
  problem?: string;
}

let n = 0;
export async function validateText(text: string, dir: string): Promise<ScenarioOutcome> {
  const file = join(dir, `fuzz-${++n % 8}.yaml`);
  writeFileSync(file, text);
  let stderr = '';
  const io: CliIo = { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) }, env: {}, cwd: dir };
  let code: number;
  try {
    code = await main(['validate', file], io);
  } catch (e) {
    return { code: -1, stderr, problem: `threw: ${(e as Error).stack ?? String(e)}` };
  }
  let problem: string | undefined;
  if (code !== 0 && code !== 2) problem = `exit ${code}`;
  else if (/FAULTLINE_INTERNAL/.test(stderr)) problem = 'FAULTLINE_INTERNAL';
  else if (/\n\s+at .*\(/.test(stderr)) problem = 'stack trace';
  else if (code === 2 && !/^faultline validate: FAULTLINE_[A-Z_]+: /.test(stderr)) problem = 'exit 2 without a FAULTLINE_ code';
  return { code, stderr, ...(problem ? { problem } : {}) };
}

export interface ApiOutcome {
  status: number;
  problem?: string;
}

export async function sendRequest(base: string, r: ApiRequest): Promise<ApiOutcome> {
  let res: Response;
  try {
    res = await fetch(`${base}${r.path}`, { method: r.method, ...(r.body !== undefined && r.method !== 'GET' ? { body: r.body } : {}), signal: AbortSignal.timeout(5000) });
  } catch (e) {
    // A path fetch() itself refuses to send (e.g. a malformed URL) never reached the server.
    if (e instanceof TypeError && !/fetch failed/.test(e.message)) return { status: 0 };
    return { status: -1, problem: `request failed: ${(e as Error).message} ${String((e as { cause?: unknown }).cause ?? '')}` };
  }
  const text = await res.text();
  if (res.status >= 500) return { status: res.status, problem: `${res.status}: ${text.slice(0, 200)}` };
  if ((res.headers.get('content-type') ?? '').includes('json') && text !== '') {
    try {
      JSON.parse(text);
    } catch {
      return { status: res.status, problem: 'invalid JSON body' };
    }
  }
  return { status: res.status };
}
