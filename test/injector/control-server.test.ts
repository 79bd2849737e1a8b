import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Toxiproxy } from 'toxiproxy-node-client';
import { startControlServer } from '../../src/injector/index.ts';
import { type ControlServer } from '../../src/injector/control-server.ts';
import { connect, echoServer, roundTrip, type Running } from '../helpers/sockets.ts';

describe('control plane (Toxiproxy HTTP API) driven by toxiproxy-node-client', () => {
  let control: ControlServer;
  let echo: Running;
  let client: Toxiproxy;
  beforeAll(async () => {
    control = await startControlServer({ port: 0 });
    echo = await echoServer();
    client = new Toxiproxy(control.url);
  });
  afterAll(async () => {
    await control.stop();
    await echo.close();
  });

  it('creates a proxy without dialling the upstream, and answers 409 for a duplicate', async () => {
    const p = await client.createProxy({ name: 'nowhere', listen: 'localhost:0', upstream: 'localhost:6379' });
    expect(p.listen).toMatch(/^127\.0\.0\.1:\d+$/);
    await expect(client.createProxy({ name: 'nowhere', listen: 'localhost:0', upstream: 'localhost:6379' })).rejects.toThrow(/409/);
    await p.remove();
  });

  it('adds a latency toxic with Toxiproxy defaults and the client observes the delay', async () => {
    const p = await client.createProxy({ name: 'api', listen: '127.0.0.1:0', upstream: echo.address });
    const toxic = await p.addToxic({ type: 'latency', attributes: { latency: 60, jitter: 0 } } as never);
    expect(toxic.name).toBe('latency_downstream');
    expect(toxic.toxicity).toBe(1);
    expect(toxic.stream).toBe('downstream');
    const port = Number(p.listen.split(':')[1]);
    const s = await connect(port);
    expect(await roundTrip(s, Buffer.from('ping'))).toBeGreaterThanOrEqual(58);
    // Update is a merge: toxicity is kept.
    const updated = await toxic.update({ attributes: { latency: 12345, jitter: 42 } } as never);
    expect(updated.attributes).toMatchObject({ latency: 12345, jitter: 42 });
    expect(updated.toxicity).toBe(1);
    await expect(p.addToxic({ type: 'latency', attributes: { latency: 1 } } as never)).rejects.toThrow(/409/);
    await expect(p.getToxic('nope')).rejects.toThrow(/404/);
    await toxic.remove();
    expect(await roundTrip(s, Buffer.from('pong'))).toBeLessThan(40);
    s.destroy();
    await p.remove();
  });

  it('disables and re-enables a proxy with a new upstream, and populates and resets', async () => {
    const p = await client.createProxy({ name: 'flip', listen: '127.0.0.1:0', upstream: echo.address });
    const down = await p.update({ enabled: false, listen: p.listen, upstream: p.upstream });
    expect(down.enabled).toBe(false);
    const up = await p.update({ enabled: true, listen: p.listen, upstream: 'localhost:12345' });
    expect(up.enabled).toBe(true);
    expect(up.upstream).toBe('localhost:12345');
    const made = await client.populate([
      { name: 'pop1', listen: '127.0.0.1:0', upstream: echo.address },
      { name: 'pop2', listen: '127.0.0.1:0', upstream: echo.address },
    ]);
    expect(Object.keys(made).sort()).toEqual(['pop1', 'pop2']);
    await made.pop1!.addToxic({ type: 'timeout', attributes: { timeout: 0 } } as never);
    await client.reset();
    const all = await client.getAll();
    expect(Object.keys(all).sort()).toEqual(['flip', 'pop1', 'pop2']);
    const raw = (await (await fetch(`${control.url}/proxies/pop1/toxics`)).json()) as unknown[];
    expect(raw).toEqual([]);
    expect(await client.getVersion()).toContain('version');
  });

  it('answers errors as {"error", "status"} JSON with Toxiproxy status codes', async () => {
    const r404 = await fetch(`${control.url}/proxies/missing`);
    expect(r404.status).toBe(404);
    expect(await r404.json()).toEqual({ error: 'proxy not found', status: 404 });
    const r400 = await fetch(`${control.url}/proxies`, { method: 'POST', body: '{bad json' });
    expect(r400.status).toBe(400);
    const badType = await fetch(`${control.url}/proxies/flip/toxics`, { method: 'POST', body: JSON.stringify({ type: 'nonsense' }) });
    expect(badType.status).toBe(400);
    expect(((await badType.json()) as { error: string }).error).toMatch(/^invalid toxic type/);
  });

  it('serves Prometheus metrics', async () => {
    const text = await (await fetch(`${control.url}/metrics`)).text();
    expect(text).toContain('faultline_proxy_connections_total');
    expect(text).toMatch(/faultline_proxy_bytes_total\{proxy="api"|faultline_proxy_bytes_total\{proxy="flip"/);
  });

  it('refuses to bind the control plane to a non-loopback address', async () => {
    await expect(startControlServer({ host: '0.0.0.0', port: 0 })).rejects.toThrow(/not a loopback address/);
  });
});
