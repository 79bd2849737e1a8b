import { describe, expect, it } from 'vitest';
import { serverArgs, unixSocketDir } from './postgres.ts';

describe('the server Unix socket', () => {
  it('lives in the run directory unless its path would pass the 107-byte limit; then there is none (TCP only)', () => {
    expect(unixSocketDir('/tmp/faultline-pg-run-abc', 54321)).toBe('/tmp/faultline-pg-run-abc');
    const long = `/tmp/${'x'.repeat(70)}/faultline-pg-cache/building-abcdef`;
    expect(unixSocketDir(long, 54321)).toBe('');
    const args = serverArgs('/d', 54321, long);
    expect(args[args.indexOf('-k') + 1]).toBe('');
    expect(args).toContain('listen_addresses=127.0.0.1');
  });
});
