/** Flag parsing on top of node:util parseArgs, turning its errors into exit-code-2 input errors. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InputError } from '../shared/index.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parseFlags<O extends Options>(argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
  } catch (e) {
    throw new InputError('FAULTLINE_CLI_USAGE', (e as Error).message.replace(/\. To specify a positional.*$/s, ''), {}, { cause: e });
  }
}

export function requireFlag<T>(value: T | undefined, flag: string): T {
  if (value === undefined) throw new InputError('FAULTLINE_CLI_USAGE', `missing required flag --${flag}`);
  return value;
}
