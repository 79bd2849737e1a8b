/** Names users give to things addressed by URL path (proxies, toxics): refused when a path cannot carry them. */
import { InputError } from './errors.ts';

/** Throws unless `name` is 1–128 characters, without '/', '%', whitespace or control characters, and not '.' or '..'. */
export function checkResourceName(name: unknown, what: string, field = 'name'): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 128 || name === '.' || name === '..' || /[/%\\\s\p{Cc}]/u.test(name)) {
    const got = typeof name === 'string' ? JSON.stringify(name) : name === null ? 'null' : `${typeof name} ${JSON.stringify(name) ?? ''}`.trim();
    throw new InputError('FAULTLINE_INPUT_NAME', `${what} name must be 1–128 characters without '/', '%', '\\\\', whitespace or control characters, and not '.' or '..' (got ${got})`, { field });
  }
  return name;
}
