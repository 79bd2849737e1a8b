import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectOutcome, echoServer } from '../helpers/sockets.ts';
import { until } from '../helpers/until.ts';

const bin = fileURLToPath(new URL('../../bin/faultline.mjs', import.meta.url));

/** Starts `faultline serve …` (stopped by the test through its pid). */
function serve(args: string[]) {
  const child = spawn(process.execPath, [bin, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
    void exit.then(() => reject(new Error(`serve exited early: ${err}`)));
  });
  url.catch(() => {});
  return { child, url, exit, stdout: () => out, stderr: () => err };
}

const tmpFile = (name: string, text: string): string => {
  const file = join(mkdtempSync(join(tmpdir(), 'faultline-serve-')), name);
  writeFileSync(file, text);
  return file;
};

describe('faultline serve', () => {
  it('serves the Toxiproxy API on loopback and heals everything on SIGTERM', async () => {
    const echo = await echoServer();
    const s = serve(['--port', '0']);
    const url = await s.url;
    const created = await fetch(`${url}/proxies`, { method: 'POST', body: JSON.stringify({ name: 'p', upstream: echo.address, listen: '127.0.0.1:0' }) });
    expect(created.status).toBe(201);
    const { listen } = (await created.json()) as { listen: string };
    const port = Number(listen.split(':')[1]);
    await fetch(`${url}/proxies/p/toxics`, { method: 'POST', body: JSON.stringify({ type: 'partition', attributes: { mode: 'refuse', scope: 'new' } }) });
    expect(await connectOutcome(port)).toBe('ECONNREFUSED');
    process.kill(s.child.pid as number, 'SIGTERM');
    expect(await s.exit).toBe(0);
    expect(s.stderr()).toContain('healing every fault');
    await echo.close();
  });

  it('started through npm, it heals and stops when its parent goes (a SIGTERM to the top of the npm tree is not passed on)', async () => {
    const echo = await echoServer();
    // As npm runs it: a shell (that does not exec) with npm's environment; the test then ends the shell only.
    const shell = spawn('/bin/sh', ['-c', `"${process.execPath}" "${bin}" serve --port 0; true`], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_command: 'exec' } });
    let out = '';
    let err = '';
    shell.stdout.on('data', (d) => (out += d));
    shell.stderr.on('data', (d) => (err += d));
    await until(() => /listening on http:\/\/\S+ /.test(out), 20_000);
    const url = /listening on (http:\/\/\S+)/.exec(out)?.[1] as string;
    const created = await fetch(`${url}/proxies`, { method: 'POST', body: JSON.stringify({ name: 'p', upstream: echo.address, listen: '127.0.0.1:0' }) });
    const port = Number(((await created.json()) as { listen: string }).listen.split(':')[1]);
    await fetch(`${url}/proxies/p/toxics`, { method: 'POST', body: JSON.stringify({ type: 'partition', attributes: { mode: 'refuse', scope: 'new' } }) });
    expect(await connectOutcome(port)).toBe('ECONNREFUSED');
    process.kill(shell.pid as number, 'SIGTERM');
    // The orphaned serve notices, heals and stops: its control plane no longer answers, and it said why.
    expect(await until(() => /parent process .* exited: healing every fault/.test(err), 10_000), err).toBe(true);
    await expect
      .poll(async () => fetch(`${url}/version`).then(() => 'up', () => 'down'), { timeout: 10_000 })
      .toBe('down');
    await echo.close();
  });

  it('refuses a non-loopback --host with exit code 2', async () => {
    const s = serve(['--host', '0.0.0.0', '--port', '0']);
    expect(await s.exit).toBe(2);
    expect(s.stderr()).toContain('FAULTLINE_NET_NOT_LOOPBACK');
  });

  it('--config creates the listed proxies at start; SIGINT heals every fault (logged) before exit 0', async () => {
    const echo = await echoServer();
    const cfg = tmpFile('proxies.json', JSON.stringify([{ name: 'db', listen: '127.0.0.1:0', upstream: echo.address }, { name: 'off', upstream: echo.address, enabled: false }], null, 2));
    const s = serve(['--port', '0', '--config', cfg, '--seed', '42', '--verbose']);
    const url = await s.url;
    expect(s.stdout()).toContain('(2 proxies)');
    const all = (await (await fetch(`${url}/proxies`)).json()) as Record<string, { enabled: boolean }>;
    expect(Object.keys(all).sort()).toEqual(['db', 'off']);
    expect(all.off?.enabled).toBe(false);
    expect(((await (await fetch(`${url}/version`)).json()) as { seed: string }).seed).toBe('42');
    const added = await fetch(`${url}/proxies/db/toxics`, { method: 'POST', body: JSON.stringify({ type: 'latency', attributes: { latency: 10 } }) });
    expect(added.status).toBe(200);
    process.kill(s.child.pid as number, 'SIGINT');
    expect(await s.exit).toBe(0);
    expect(s.stderr()).toContain('SIGINT: healing every fault');
    expect(s.stderr()).toMatch(/fault removed.*latency_downstream/);
    await echo.close();
  });

  it('a bad --config exits 2 naming file, line and field, without a stack trace', async () => {
    const cfg = tmpFile('bad.json', '[\n  {"name": "ok", "upstream": "127.0.0.1:1"},\n  {"name": "broken",\n   "upstream": "nowhere"}\n]\n');
    const s = serve(['--port', '0', '--config', cfg]);
    expect(await s.exit).toBe(2);
    expect(s.stderr()).toContain(`${cfg}:4`);
    expect(s.stderr()).toContain("field '[1].upstream'");
    expect(s.stderr()).toContain("expected host:port, got 'nowhere'");
    expect(s.stderr()).not.toMatch(/\n\s+at /);
  });
});
