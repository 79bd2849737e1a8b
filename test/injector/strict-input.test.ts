/**
 * No silent no-ops and no accepted nonsense at the injector: leases longer than a Node timer holds,
 * documented attribute ranges, unknown keys (with a "did you mean"), null and wrong types, odd names,
 * malformed paths and non-loopback addresses are refused with the field named — or work as asked.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { networkPolicy, setLongTimeout } from '../../src/shared/index.ts';
import { MAX_TIMER_MS } from '../../src/shared/timers.ts';
import { normaliseFault, startControlServer, TcpProxy } from '../../src/injector/index.ts';
import { FAULT_TYPE_NAMES, FAULT_TYPES } from '../../src/injector/faults.ts';
import { type ControlServer } from '../../src/injector/control-server.ts';
import { echoServer, type Running } from '../helpers/sockets.ts';

describe('long timers', () => {
  afterEach(() => vi.useRealTimers());

  it('a 30-day timer does not fire after 1 ms (Node overflows past 2^31 ms); it fires once at its deadline', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const fn = vi.fn();
    const day = 86_400_000;
    setLongTimeout(fn, 30 * day);
    vi.advanceTimersByTime(10);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(30 * day - MAX_TIMER_MS - 11);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(2);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('clear() stops it between chunks', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const fn = vi.fn();
    const t = setLongTimeout(fn, 2 * MAX_TIMER_MS);
    vi.advanceTimersByTime(MAX_TIMER_MS + 5);
    t.clear();
    vi.advanceTimersByTime(2 * MAX_TIMER_MS);
    expect(fn).not.toHaveBeenCalled();
  });

  it('a proxy fault with a 30-day lease is still injected after the lease would have overflowed', async () => {
    const echo = await echoServer();
    await using proxy = new TcpProxy({ name: 'lease', upstream: echo.address });
    await proxy.start();
    proxy.addFault({ type: 'latency', attributes: { latency: 5 }, ttlMs: 30 * 86_400_000 });
    await new Promise((r) => setTimeout(r, 50));
    expect(proxy.faults().map((f) => f.name)).toEqual(['latency_downstream']);
    await echo.close();
  });
});

describe('the fault registry refuses what it would otherwise ignore or coerce', () => {
  it('every numeric attribute has a documented finite range, and values outside it are refused naming the field', () => {
    for (const t of FAULT_TYPE_NAMES) {
      for (const [key, range] of Object.entries(FAULT_TYPES[t].attributes)) {
        if (range.kind !== 'number') continue;
        expect(Number.isFinite(range.max), `${t}.${key}`).toBe(true);
        expect(() => normaliseFault({ type: t, attributes: { [key]: range.max * 2 + 1 } })).toThrow(new RegExp(`field 'attributes\\.${key}'.*must be .*\\[${range.min}, ${range.max}\\]`));
        expect(() => normaliseFault({ type: t, attributes: { [key]: null } })).toThrow(/got null/);
        expect(() => normaliseFault({ type: t, attributes: { [key]: String(range.min) } })).toThrow(/got string/);
      }
    }
  });

  it('latency: 1e308 is refused, not a spinning 1 ms timer', () => {
    expect(() => normaliseFault({ type: 'latency', attributes: { latency: 1e308 } })).toThrow(/attribute 'latency' must be a number in \[0, 3600000\] \(ms\), got 1e\+308/);
  });

  it('loss with rto 0 is refused (a lost chunk would retransmit forever)', () => {
    expect(() => normaliseFault({ type: 'loss', attributes: { probability: 1, rto: 0 } })).toThrow(/field 'attributes\.rto'/);
    expect(() => normaliseFault({ type: 'loss', attributes: { probability: 1, max_rto: 0 } })).toThrow(/field 'attributes\.max_rto'/);
  });

  it('an unknown attribute key is refused with a "did you mean" for a near miss', () => {
    expect(() => normaliseFault({ type: 'loss', attributes: { probablity: 0.5 } })).toThrow(/field 'attributes\.probablity'.*unknown attribute 'probablity' for loss \(did you mean 'probability'\?\)/);
    expect(() => normaliseFault({ type: 'noop', attributes: { anything: 1 } })).toThrow(/unknown attribute 'anything' for noop \(known: none\)/);
  });

  it('null, strings and out-of-range toxicity and ttl are refused, never coerced', () => {
    expect(() => normaliseFault({ type: 'latency', toxicity: null as never })).toThrow(/field 'toxicity'.*got null/);
    expect(() => normaliseFault({ type: 'latency', toxicity: '0.5' as never })).toThrow(/field 'toxicity'.*got string "0\.5"/);
    expect(() => normaliseFault({ type: 'latency', ttlMs: 400 * 86_400_000 })).toThrow(/field 'ttl'.*365 days/);
    expect(() => normaliseFault({ type: 'latency', ttlMs: 0 })).toThrow(/field 'ttl'/);
    expect(() => normaliseFault({ type: 'latency', name: '..' })).toThrow(/field 'name'/);
  });
});

describe('control API: strict bodies and paths', () => {
  let control: ControlServer;
  let echo: Running;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${control.url}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, error: text ? ((JSON.parse(text) as { error?: string }).error ?? '') : '' };
  };
  beforeAll(async () => {
    control = await startControlServer({ port: 0, network: networkPolicy(['127.0.0.2/32']) });
    echo = await echoServer();
    expect((await call('POST', '/proxies', { name: 'p', upstream: echo.address })).status).toBe(201);
  });
  afterAll(async () => {
    await control.stop();
    await echo.close();
  });

  it('a ttl past 2^31 ms is kept (the toxic is still there), a ttl past a year is a 400', async () => {
    expect((await call('POST', '/proxies/p/toxics', { type: 'latency', name: 'long', ttl: 2 ** 31 + 1000, attributes: { latency: 1 } })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    expect((await call('GET', '/proxies/p/toxics/long')).status).toBe(200);
    expect(await call('POST', '/proxies/p/toxics', { type: 'latency', name: 'year', ttl: 400 * 86_400_000 })).toMatchObject({ status: 400, error: expect.stringMatching(/field 'ttl'/) });
    expect(await call('POST', '/proxies/p/toxics/long', { ttl: null })).toMatchObject({ status: 400, error: expect.stringMatching(/field 'ttl'.*got null/) });
  });

  it('toxicity null or a string, attributes null, unknown attribute keys and unknown body keys are 400s naming the field', async () => {
    expect(await call('POST', '/proxies/p/toxics', { type: 'latency', name: 'n1', toxicity: null })).toMatchObject({ status: 400, error: expect.stringMatching(/field 'toxicity'.*got null/) });
    expect(await call('POST', '/proxies/p/toxics', { type: 'latency', name: 'n2', toxicity: '1' })).toMatchObject({ status: 400, error: expect.stringMatching(/field 'toxicity'/) });
    expect(await call('POST', '/proxies/p/toxics', { type: 'latency', name: 'n3', attributes: { latency: null } })).toMatchObject({ status: 400, error: expect.stringMatching(/field 'attributes\.latency'.*got null/) });
    expect(await call('POST', '/proxies/p/toxics', { type: 'latency', name: 'n4', attributes: { latency: 1e308 } })).toMatchObject({ status: 400 });
    expect(await call('POST', '/proxies/p/toxics', { type: 'loss', name: 'n5', attributes: { probablity: 0.5 } })).toMatchObject({ status: 400, error: expect.stringMatching(/did you mean 'probability'/) });
    expect(await call('POST', '/proxies/p/toxics', { type: 'latency', name: 'n6', toxicty: 0.5 })).toMatchObject({ status: 400, error: expect.stringMatching(/unknown field 'toxicty' \(did you mean 'toxicity'\?\)/) });
    expect(await call('POST', '/proxies/p/toxics', { type: 'latncy' })).toMatchObject({ status: 400, error: expect.stringMatching(/did you mean 'latency'/) });
    expect(await call('POST', '/proxies/p/toxics', { type: 'latency', stream: 7 })).toMatchObject({ status: 400 });
    expect((await call('GET', '/proxies/p/toxics')).status).toBe(200);
  });

  it('malformed percent-encoding is a 400 (not a 500); proxies named "." or ".." or with a slash are refused', async () => {
    expect((await call('GET', '/proxies/%E0%A4%A')).status).toBe(400);
    expect((await call('GET', '/proxies/p/toxics/%')).status).toBe(400);
    for (const name of ['.', '..', 'a/b', 'a b', '']) {
      const r = await call('POST', '/proxies', { name, upstream: echo.address });
      expect(r.status, name).toBe(400);
    }
    expect(await call('POST', '/proxies', { name: 7, upstream: echo.address })).toMatchObject({ status: 400, error: expect.stringMatching(/field 'name'/) });
    expect(await call('POST', '/proxies', { name: 'e', upstream: echo.address, enabled: 'yes' })).toMatchObject({ status: 400, error: expect.stringMatching(/enabled/) });
    expect(await call('POST', '/populate', [{ name: '..', upstream: echo.address }])).toMatchObject({ status: 400 });
  });

  it('a non-loopback upstream is a 400 at creation naming the field and address (never dialled); an allowlisted one is created', async () => {
    expect(await call('POST', '/proxies', { name: 'far', upstream: '192.0.2.1:80' })).toMatchObject({ status: 400, error: expect.stringMatching(/field 'upstream'.*'192\.0\.2\.1' is not a loopback address/) });
    expect(await call('POST', '/proxies/p', { upstream: '192.0.2.1:80' })).toMatchObject({ status: 400 });
    expect((await call('GET', '/proxies/p')).status).toBe(200);
    expect(await call('POST', '/proxies', { name: 'wide', listen: '0.0.0.0:0', upstream: echo.address })).toMatchObject({ status: 400, error: expect.stringMatching(/field 'listen'/) });
    expect((await call('POST', '/proxies', { name: 'near', listen: '127.0.0.2:0', upstream: '127.0.0.2:9' })).status).toBe(201);
  });

  it('balancer upstreams consult the allowlist: outside it a 400 naming upstreams[i] (creation, populate) or address (added later)', async () => {
    const body = { name: 'lb-far', upstreams: [echo.address, '192.0.2.1:80'], healthCheck: false };
    expect(await call('POST', '/proxies', body)).toMatchObject({ status: 400, error: expect.stringMatching(/field 'upstreams\[1\]'.*upstream '192\.0\.2\.1' is not a loopback address/) });
    expect(await call('POST', '/populate', [{ name: 'lb-pop', upstreams: [{ name: 'a', address: '10.0.0.1:80' }] }])).toMatchObject({ status: 400, error: expect.stringMatching(/upstreams\[0\]/) });
    expect((await call('GET', '/proxies/lb-far')).status).toBe(404);
    expect((await call('POST', '/proxies', { name: 'lb', upstreams: [echo.address], healthCheck: false })).status).toBe(201);
    expect(await call('POST', '/proxies/lb/upstreams', { address: '198.51.100.1:80' })).toMatchObject({ status: 400, error: expect.stringMatching(/field 'address'.*not a loopback address/) });
    expect((await call('POST', '/proxies/lb/upstreams', { address: '127.0.0.2:9' })).status).toBe(201);
    // With the address allowlisted the same requests are accepted (created disabled and unchecked: nothing is dialled).
    const wide = await startControlServer({ port: 0, network: networkPolicy(['192.0.2.0/24']) });
    try {
      const res = await fetch(`${wide.url}/proxies`, { method: 'POST', body: JSON.stringify({ ...body, enabled: false }) });
      expect(res.status).toBe(201);
      expect(((await res.json()) as { upstreams: Array<{ address: string }> }).upstreams.map((u) => u.address)).toEqual([echo.address, '192.0.2.1:80']);
      const outside = await fetch(`${wide.url}/proxies/lb-far/upstreams`, { method: 'POST', body: JSON.stringify({ address: '198.51.100.1:80' }) });
      expect(outside.status).toBe(400);
      expect(await outside.text()).toMatch(/not in the network allowlist \(192\.0\.2\.0\/24\)/);
    } finally {
      await wide.stop();
    }
  });

  it('the control plane itself stays on loopback whatever the allowlist says', async () => {
    await expect(startControlServer({ host: '0.0.0.0', port: 0, network: networkPolicy(['0.0.0.0/0']) })).rejects.toThrow(/control plane host '0\.0\.0\.0' is not a loopback address/);
  });
});
