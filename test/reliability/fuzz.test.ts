/**
 * Property-based fuzzing (fast-check): a few hundred hostile scenario files through `faultline
 * validate` and hostile control-API requests. Every outcome is exit 0 or 2 (never 4, never a stack
 * trace) and never a 5xx; the control plane answers afterwards. `npm run bench -- fuzz` runs ≥ 10,000.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlServer } from '../../src/injector/index.ts';
import { type ControlServer } from '../../src/injector/control-server.ts';
import { apiRequestArb, scenarioTextArb } from '../helpers/fuzz-arbitraries.ts';
import { sendRequest, validateText } from '../helpers/fuzz-checks.ts';

describe('fuzz', () => {
  it('hostile scenario files: exit 0 or 2 with a FAULTLINE_ code, never exit 4 or a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-fuzz-'));
    const codes = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(scenarioTextArb, async (text) => {
        const r = await validateText(text, dir);
        codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
        if (r.problem) throw new Error(`${r.problem}\n--- stderr ---\n${r.stderr}\n--- input ---\n${text.slice(0, 2000)}`);
      }),
      { numRuns: 300, seed: 14 },
    );
    // Not vacuous: most mutations are refused, and some inputs are still valid.
    expect(codes.get(2) ?? 0).toBeGreaterThan(100);
    expect([...codes.keys()].sort()).toEqual(expect.arrayContaining([2]));
  }, 120_000);

  describe('control API', () => {
    let control: ControlServer;
    beforeAll(async () => {
      control = await startControlServer({ port: 0 });
    });
    afterAll(() => control.stop());

    it('hostile requests: never a 5xx, always JSON, and the server still answers', async () => {
      const statuses = new Map<number, number>();
      let i = 0;
      await fc.assert(
        fc.asyncProperty(apiRequestArb, async (r) => {
          const out = await sendRequest(control.url, r);
          statuses.set(out.status, (statuses.get(out.status) ?? 0) + 1);
          if (out.problem) throw new Error(`${out.problem}\n${r.method} ${r.path}\n${r.body ?? ''}`);
          // Keep the number of listeners bounded.
          if (++i % 40 === 0) for (const p of control.proxies()) await fetch(`${control.url}/proxies/${encodeURIComponent(p.name)}`, { method: 'DELETE' });
        }),
        { numRuns: 400, seed: 14 },
      );
      expect((await fetch(`${control.url}/version`)).status).toBe(200);
      expect(statuses.get(400) ?? 0).toBeGreaterThan(50);
    }, 120_000);
  });
});
