import { describe, expect, it } from 'vitest';
import { createServer, connect, type AddressInfo } from 'node:net';
import { faultlineLink } from './index.ts';

/** A loopback echo server standing in for a container's port. */
async function echo(): Promise<{ port: number; close(): Promise<void> }> {
  const s = createServer((c) => c.pipe(c));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { port: (s.address() as AddressInfo).port, close: () => new Promise((r) => s.close(() => r())) };
}

const roundTrip = (port: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1', () => c.write('ping'));
    c.once('data', (d) => {
      resolve(d.toString());
      c.destroy();
    });
    c.once('error', reject);
  });

describe('faultlineLink', () => {
  it('forwards to the mapped port of the container; localhost is taken as 127.0.0.1; disposed by await using', async () => {
    const up = await echo();
    let listenPort: number;
    {
      await using link = await faultlineLink({ getHost: () => 'localhost', getMappedPort: (p) => (p === 5432 ? up.port : NaN), getName: () => '/pg' }, 5432, { seed: 3 });
      listenPort = link.listenPort;
      expect(link.listenHost).toBe('127.0.0.1');
      expect(link.upstream).toBe(`127.0.0.1:${up.port}`);
      expect(link.name).toBe('pg-5432');
      expect(link.seed).toBe('3');
      expect(await roundTrip(link.listenPort)).toBe('ping');
    }
    await expect(roundTrip(listenPort)).rejects.toThrow(/ECONNREFUSED/);
    await up.close();
  });

  it('a container on the host network (no port mapping) is reached at the port itself; faults given up front apply from the first byte', async () => {
    const up = await echo();
    await using link = await faultlineLink(
      {
        getHost: () => '127.0.0.1',
        getMappedPort: () => {
          throw new Error('No port mapping found');
        },
      },
      up.port,
      { faults: [{ name: 'slow', type: 'latency', stream: 'downstream', attributes: { latency: 150 } }] },
    );
    expect(link.upstream).toBe(`127.0.0.1:${up.port}`);
    const t = performance.now();
    expect(await roundTrip(link.listenPort)).toBe('ping');
    expect(performance.now() - t).toBeGreaterThanOrEqual(145);
    expect(link.stats().faults.find((f) => f.name === 'slow')?.chunks).toBeGreaterThan(0);
    await up.close();
  });
});
