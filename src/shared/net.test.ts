import { describe, expect, it } from 'vitest';
import net, { type AddressInfo } from 'node:net';
import { ephemeralPortRange, freePort } from './net.ts';

function listen(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}
const close = (s: net.Server): Promise<void> => new Promise((r) => s.close(() => r()));

describe('free ports for servers', () => {
  it('reads the kernel ephemeral range, and falls back to the Linux default when it cannot', () => {
    expect(ephemeralPortRange(() => '32768\t60999\n')).toEqual({ low: 32768, high: 60999 });
    expect(ephemeralPortRange(() => '1024 65535')).toEqual({ low: 1024, high: 65535 });
    expect(ephemeralPortRange(() => 'garbage')).toEqual({ low: 32768, high: 60999 });
    expect(
      ephemeralPortRange(() => {
        throw new Error('ENOENT');
      }),
    ).toEqual({ low: 32768, high: 60999 });
  });

  it('hands out a port below the ephemeral range (which outgoing connections never take) that a server can bind', async () => {
    const { low } = ephemeralPortRange();
    const port = await freePort();
    expect(port).toBeGreaterThanOrEqual(10_000);
    expect(port).toBeLessThan(low);
    const s = await listen(port);
    expect((s.address() as AddressInfo).port).toBe(port);
    await close(s);
  });

  it('skips a port that is taken', async () => {
    const range = { low: 32768, high: 60999 };
    const taken = await listen(await freePort());
    const takenPort = (taken.address() as AddressInfo).port;
    // The first draw lands on the taken port, the next ones elsewhere.
    const draws = [(takenPort - 10_000 + 0.5) / (range.low - 10_000), 0.25, 0.75, 0.5];
    let i = 0;
    const port = await freePort(() => draws[i++ % draws.length] as number, range);
    expect(port).not.toBe(takenPort);
    expect(i).toBeGreaterThanOrEqual(2);
    await close(taken);
  });

  it('never hands the same port out twice in a row, even when the draw repeats', async () => {
    const range = { low: 32768, high: 60999 };
    const a = await freePort(() => 0.123456, range);
    const b = await freePort(() => 0.123456, range);
    expect(b).not.toBe(a);
  });

  it('lets the kernel pick when there is no room below the ephemeral range', async () => {
    const port = await freePort(Math.random, { low: 9000, high: 65535 });
    // The kernel's own pick comes from its real ephemeral range.
    const real = ephemeralPortRange();
    expect(port).toBeGreaterThanOrEqual(real.low);
    expect(port).toBeLessThanOrEqual(real.high);
  });
});
