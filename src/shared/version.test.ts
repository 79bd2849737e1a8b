import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { faultlineVersion } from './version.ts';

describe('faultlineVersion', () => {
  it("is package.json's version (the one source), the same on every call", () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(faultlineVersion()).toBe(pkg.version);
    expect(faultlineVersion()).toBe(faultlineVersion());
  });
});
