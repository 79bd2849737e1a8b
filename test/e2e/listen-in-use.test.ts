/**
 * A listen address the scenario names is taken by another process: the run ends as a harness error
 * (exit 4) whose message names the file, line and field and says why — not a bare EADDRINUSE, never a
 * stack trace.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { faultline } from '../helpers/cli.ts';

const scenarioText = (name: string): string => readFileSync(fileURLToPath(new URL(`../../scenarios/${name}`, import.meta.url)), 'utf8');
const selftest = scenarioText('chaos-selftest.yaml');

let dir: string;
let holder: net.Server;
let port: number;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'faultline-listen-'));
  holder = net.createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
  port = (holder.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((r) => holder.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

/** Writes a shipped scenario (the self-test by default) with one edit; returns its path and the 1-based line of `marker`. */
function scenario(name: string, edit: (s: string) => string, marker: string, base = selftest): { file: string; line: number } {
  const text = edit(base);
  expect(text).not.toBe(base);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, text);
  return { file, line: text.split('\n').findIndex((l) => l.includes(marker)) + 1 };
}

/** Runs the scenario: exit 4, its message names the file, line and field and why, and no stack trace. */
async function expectInUse(scenarioFile: { file: string; line: number }, field: string): Promise<void> {
  const { file, line } = scenarioFile;
  const r = await faultline(['run', file, '--report-dir', join(dir, `reports-${field}`)]);
  const out = r.stdout + r.stderr;
  expect(r.code, out).toBe(4);
  expect(out).toContain(`${file}:${line} field '${field}': cannot listen on 127.0.0.1:${port}: another process already listens there (EADDRINUSE)`);
  expect(out).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
}

describe('a listen address in use', () => {
  it('target.listen taken: exit 4 naming the file, line and field, and that another process listens there', async () => {
    await expectInUse(scenario('target', (s) => s.replace('  builtin: reference\n', `  builtin: reference\n  listen: 127.0.0.1:${port}\n`), `listen: 127.0.0.1:${port}`), 'target.listen');
  });

  it('injector.listen taken: the same, for the injector', async () => {
    await expectInUse(scenario('injector', (s) => s.replace('injector:\n  listen: 127.0.0.1:0', `injector:\n  listen: 127.0.0.1:${port}`), `listen: 127.0.0.1:${port}`), 'injector.listen');
  });

  it("the game day's webhook receiver taken: the same, naming monitoring.alertmanager.receiver.listen", async () => {
    copyFileSync(fileURLToPath(new URL('../../scenarios/gameday-slo.yaml', import.meta.url)), join(dir, 'gameday-slo.yaml'));
    const edit = (s: string): string => s.replace('listen: 127.0.0.1:9095', `listen: 127.0.0.1:${port}`).replace('listen: 127.0.0.1:9101', 'listen: 127.0.0.1:0');
    await expectInUse(scenario('receiver', edit, `listen: 127.0.0.1:${port}`, scenarioText('gameday-alertmanager.yaml')), 'monitoring.alertmanager.receiver.listen');
  });

  it('--metrics taken: exit 4 naming the flag', async () => {
    const r = await faultline(['run', fileURLToPath(new URL('../../scenarios/chaos-selftest.yaml', import.meta.url)), '--metrics', `127.0.0.1:${port}`, '--report-dir', join(dir, 'reports-metrics')]);
    const out = r.stdout + r.stderr;
    expect(r.code, out).toBe(4);
    expect(out).toContain(`--metrics: cannot listen on 127.0.0.1:${port}: another process already listens there (EADDRINUSE); stop what holds it, or give --metrics another address`);
    expect(out).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
  });
});
