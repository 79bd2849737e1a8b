/**
 * Every Toxiproxy endpoint with its status codes, defaults and JSON shapes (raw HTTP), plus every
 * Toxiproxy toxic type created, echoed, updated and removed through toxiproxy-node-client unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { Toxiproxy } from 'toxiproxy-node-client';
import { startControlServer } from '../../src/injector/index.ts';
import { type ControlServer } from '../../src/injector/control-server.ts';
import { connect, echoServer, roundTrip, type Running } from '../helpers/sockets.ts';
import packageJson from '../../package.json' with { type: 'json' };

const PACKAGE_VERSION = packageJson.version;

describe('control plane endpoints (raw HTTP)', () => {
  let control: ControlServer;
  let echo: Running;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${control.url}${path}`, { method, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, text, json: text === '' || !(res.headers.get('content-type') ?? '').includes('json') ? undefined : (JSON.parse(text) as unknown), headers: res.headers };
  };
  beforeAll(async () => {
    control = await startControlServer({ port: 0, seed: 'api-seed' });
    echo = await echoServer();
  });
  afterAll(async () => {
    await control.stop();
    await echo.close();
  });

  it('GET /version reports the compatible Toxiproxy version and the seed; GET /proxies starts empty', async () => {
    const v = await call('GET', '/version');
    expect(v.status).toBe(200);
    expect(v.json).toMatchObject({ version: '2.12.0', seed: 'api-seed', faultline: PACKAGE_VERSION });
    expect(v.headers.get('x-toxiproxy-request-id')).toMatch(/^\d+$/);
    expect(await call('GET', '/proxies')).toMatchObject({ status: 200, json: {} });
  });

  it('POST /proxies: 201 with the resolved listen, 400 bad body / missing field / non-loopback, 409 duplicate, 500 port in use', async () => {
    const made = await call('POST', '/proxies', { name: 'a', listen: 'localhost:0', upstream: echo.address });
    expect(made.status).toBe(201);
    const a = made.json as { name: string; listen: string; upstream: string; enabled: boolean; toxics: unknown[] };
    expect(Object.keys(a)).toEqual(['name', 'listen', 'upstream', 'enabled', 'toxics']);
    expect(a).toMatchObject({ name: 'a', upstream: echo.address, enabled: true, toxics: [] });
    expect(a.listen).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await call('POST', '/proxies', { name: 'a', upstream: echo.address })).toMatchObject({ status: 409, json: { error: 'proxy already exists', status: 409 } });
    expect(await call('POST', '/proxies', '{nope')).toMatchObject({ status: 400 });
    expect(((await call('POST', '/proxies', '{nope')).json as { error: string }).error).toMatch(/^bad request body/);
    expect(await call('POST', '/proxies', { upstream: echo.address })).toMatchObject({ status: 400, json: { error: 'missing required field: name', status: 400 } });
    expect(await call('POST', '/proxies', { name: 'b' })).toMatchObject({ status: 400, json: { error: 'missing required field: upstream', status: 400 } });
    const far = await call('POST', '/proxies', { name: 'far', listen: '0.0.0.0:0', upstream: echo.address });
    expect(far.status).toBe(400);
    expect((far.json as { error: string }).error).toMatch(/not a loopback address/);
    const busy = await call('POST', '/proxies', { name: 'busy', listen: a.listen, upstream: echo.address });
    expect(busy.status).toBe(500);
    expect((busy.json as { error: string }).error).toMatch(/EADDRINUSE/);
    // Go's encoding/json matches keys case-insensitively.
    expect(await call('POST', '/proxies', { Name: 'caps', Upstream: echo.address, Listen: '127.0.0.1:0' })).toMatchObject({ status: 201, json: { name: 'caps' } });
  });

  it('GET/POST/PATCH/DELETE /proxies/{name}: 200, restart on a new upstream, 204, 404', async () => {
    expect(await call('GET', '/proxies/a')).toMatchObject({ status: 200, json: { name: 'a' } });
    expect(await call('GET', '/proxies/zzz')).toMatchObject({ status: 404, json: { error: 'proxy not found', status: 404 } });
    const off = await call('PATCH', '/proxies/a', { enabled: false });
    expect(off).toMatchObject({ status: 200, json: { enabled: false } });
    const on = await call('POST', '/proxies/a', { enabled: true });
    expect(on).toMatchObject({ status: 200, json: { enabled: true } });
    const listen = (on.json as { listen: string }).listen;
    const port = Number(listen.split(':')[1]);
    const s = await connect(port);
    expect(await roundTrip(s, Buffer.from('alive'))).toBeLessThan(1000);
    s.destroy();
    expect(await call('PATCH', '/proxies/zzz', { enabled: true })).toMatchObject({ status: 404 });
    expect(await call('DELETE', '/proxies/caps')).toMatchObject({ status: 204, text: '' });
    expect(await call('DELETE', '/proxies/caps')).toMatchObject({ status: 404 });
    expect(await call('PUT', '/proxies/a')).toMatchObject({ status: 405, json: { status: 405 } });
  });

  it('toxics: defaults, 200 on create, merge on update, 400/404/409, ttl extension, order upstream first', async () => {
    const created = await call('POST', '/proxies/a/toxics', { type: 'latency', attributes: { latency: 5 } });
    expect(created.status).toBe(200);
    expect(created.json).toEqual({ attributes: { latency: 5, jitter: 0, distribution: 'uniform' }, name: 'latency_downstream', type: 'latency', stream: 'downstream', toxicity: 1 });
    expect(await call('POST', '/proxies/a/toxics', { type: 'latency' })).toMatchObject({ status: 409, json: { error: 'toxic already exists', status: 409 } });
    expect(await call('POST', '/proxies/a/toxics', { type: 'latency', stream: 'sideways' })).toMatchObject({ status: 400, json: { status: 400 } });
    expect(await call('POST', '/proxies/a/toxics', { type: 'gremlins' })).toMatchObject({ status: 400, json: { error: expect.stringMatching(/^invalid toxic type/), status: 400 } });
    expect(await call('POST', '/proxies/a/toxics', { type: 'bandwidth', attributes: { rate: -1 } })).toMatchObject({ status: 400 });
    expect(await call('POST', '/proxies/a/toxics', { type: 'latency', name: 'bad', toxicity: 2 })).toMatchObject({ status: 400 });
    expect(await call('POST', '/proxies/zzz/toxics', { type: 'latency' })).toMatchObject({ status: 404, json: { error: 'proxy not found' } });
    const up = await call('POST', '/proxies/a/toxics', { type: 'loss', stream: 'upstream', toxicity: 0.5, ttl: 60_000, attributes: { probability: 0.1 } });
    expect(up).toMatchObject({ status: 200, json: { name: 'loss_upstream', stream: 'upstream', toxicity: 0.5, ttl: 60_000, attributes: { probability: 0.1, rto: 200, correlation: 0, max_rto: 60_000 } } });
    const list = await call('GET', '/proxies/a/toxics');
    expect((list.json as Array<{ name: string }>).map((t) => t.name)).toEqual(['loss_upstream', 'latency_downstream']);
    expect(await call('GET', '/proxies/a/toxics/latency_downstream')).toMatchObject({ status: 200, json: { name: 'latency_downstream' } });
    expect(await call('GET', '/proxies/a/toxics/nope')).toMatchObject({ status: 404, json: { error: 'toxic not found', status: 404 } });
    const patched = await call('PATCH', '/proxies/a/toxics/latency_downstream', { attributes: { jitter: 2 } });
    expect(patched).toMatchObject({ status: 200, json: { attributes: { latency: 5, jitter: 2 }, toxicity: 1 } });
    expect(await call('PATCH', '/proxies/a/toxics/nope', { attributes: {} })).toMatchObject({ status: 404 });
    expect(await call('DELETE', '/proxies/a/toxics/loss_upstream')).toMatchObject({ status: 204, text: '' });
    expect(await call('DELETE', '/proxies/a/toxics/loss_upstream')).toMatchObject({ status: 404 });
    expect((await call('GET', '/proxies/a')).json).toMatchObject({ toxics: [{ name: 'latency_downstream' }] });
  });

  it('POST /populate: 201 {proxies}, [] → {proxies: []}, validation before creation, partial list on a later failure', async () => {
    expect(await call('POST', '/populate', [])).toMatchObject({ status: 201, json: { proxies: [] } });
    const made = await call('POST', '/populate', [{ name: 'p1', upstream: echo.address, listen: '127.0.0.1:0' }]);
    expect(made.status).toBe(201);
    expect((made.json as { proxies: Array<{ name: string }> }).proxies.map((p) => p.name)).toEqual(['p1']);
    const bad = await call('POST', '/populate', [{ name: 'p2', upstream: echo.address }, { upstream: echo.address }]);
    expect(bad).toMatchObject({ status: 400, json: { error: 'missing required field: name at proxy 2', status: 400, proxies: null } });
    expect((await call('GET', '/proxies/p2')).status).toBe(404);
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = `127.0.0.1:${(blocker.address() as net.AddressInfo).port}`;
    const partial = await call('POST', '/populate', [{ name: 'p3', upstream: echo.address, listen: '127.0.0.1:0' }, { name: 'p4', upstream: echo.address, listen: taken }]);
    expect(partial.status).toBe(500);
    expect((partial.json as { proxies: Array<{ name: string }> }).proxies.map((p) => p.name)).toEqual(['p3']);
    await new Promise<void>((r) => blocker.close(() => r()));
    expect(await call('POST', '/populate', { not: 'an array' })).toMatchObject({ status: 400 });
  });

  it('POST /reset: 204, removes every toxic and re-enables every proxy, proxies stay', async () => {
    await call('PATCH', '/proxies/p1', { enabled: false });
    await call('POST', '/proxies/p1/toxics', { type: 'timeout' });
    expect(await call('POST', '/reset')).toMatchObject({ status: 204, text: '' });
    expect(await call('GET', '/proxies/p1')).toMatchObject({ json: { enabled: true, toxics: [] } });
    expect((await call('GET', '/proxies/a')).json).toMatchObject({ toxics: [] });
  });

  it('GET /metrics serves Prometheus text from prom-client; unknown paths 404', async () => {
    const m = await call('GET', '/metrics');
    expect(m.status).toBe(200);
    expect(m.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(m.text).toMatch(/# TYPE faultline_proxy_bytes_total counter/);
    expect(m.text).toMatch(/faultline_proxy_bytes_total\{proxy="a",direction="upstream"\} \d+/);
    expect(m.text).toMatch(/faultline_proxy_connections_total\{proxy="a"\} [1-9]/);
    expect(await call('GET', '/nothing')).toMatchObject({ status: 404 });
  });
});

describe('toxiproxy-node-client drives every Toxiproxy toxic type unchanged', () => {
  let control: ControlServer;
  let echo: Running;
  beforeAll(async () => {
    control = await startControlServer({ port: 0 });
    echo = await echoServer();
  });
  afterAll(async () => {
    await control.stop();
    await echo.close();
  });

  const types: Array<[string, Record<string, number>]> = [
    ['latency', { latency: 1000, jitter: 100 }],
    ['bandwidth', { rate: 1000 }],
    ['slow_close', { delay: 1000 }],
    ['timeout', { timeout: 1000 }],
    ['slicer', { average_size: 64, size_variation: 32, delay: 10 }],
    ['reset_peer', { timeout: 1000 }],
    ['limit_data', { bytes: 1000 }],
  ];

  it('creates, echoes, updates (merge, toxicity kept), gets and removes each type', async () => {
    const client = new Toxiproxy(control.url);
    const proxy = await client.createProxy({ name: 'all-types', listen: 'localhost:0', upstream: echo.address });
    for (const [type, attributes] of types) {
      const toxic = await proxy.addToxic({ type, attributes } as never);
      expect(toxic.name).toBe(`${type}_downstream`);
      expect(toxic.stream).toBe('downstream');
      expect(toxic.toxicity).toBe(1);
      expect(toxic.attributes).toMatchObject(attributes);
      const key = Object.keys(attributes)[0] as string;
      const updated = await toxic.update({ attributes: { [key]: 7 } } as never);
      expect(updated.attributes).toMatchObject({ ...attributes, [key]: 7 });
      expect(updated.toxicity).toBe(1);
      expect((await proxy.getToxic(toxic.name)).type).toBe(type);
      await toxic.remove();
      await expect(proxy.getToxic(toxic.name)).rejects.toThrow(/404/);
    }
    expect((await client.get('all-types')).name).toBe('all-types');
    await expect(client.get('missing')).rejects.toThrow(/404/);
    expect(await client.populate([])).toEqual({});
    await proxy.remove();
    await expect(client.get('all-types')).rejects.toThrow(/404/);
  });
});
