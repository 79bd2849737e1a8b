import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connectOutcome, echoServer } from '../helpers/sockets.ts';

const bin = fileURLToPath(new URL('../../bin/faultline.mjs', import.meta.url));

describe('faultline serve', () => {
  it('serves the Toxiproxy API on loopback and heals everything on SIGTERM', async () => {
    const echo = await echoServer();
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1] as string);
      });
      child.once('exit', () => reject(new Error(`serve exited early: ${err}`)));
    });
    const created = await fetch(`${url}/proxies`, { method: 'POST', body: JSON.stringify({ name: 'p', upstream: echo.address, listen: '127.0.0.1:0' }) });
    expect(created.status).toBe(201);
    const { listen } = (await created.json()) as { listen: string };
    const port = Number(listen.split(':')[1]);
    await fetch(`${url}/proxies/p/toxics`, { method: 'POST', body: JSON.stringify({ type: 'partition', attributes: { mode: 'refuse', scope: 'new' } }) });
    expect(await connectOutcome(port)).toBe('ECONNREFUSED');
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(err).toContain('healing every fault');
    await echo.close();
  });

  it('refuses a non-loopback --host with exit code 2', async () => {
    const child = spawn(process.execPath, [bin, 'serve', '--host', '0.0.0.0', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(err).toContain('FAULTLINE_NET_NOT_LOOPBACK');
  });
});
