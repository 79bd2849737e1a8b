/** Loopback-only networking guard: faultline binds and sends only to 127.0.0.0/8 and ::1. */
import net, { isIP, type AddressInfo } from 'node:net';
import { InputError } from './errors.ts';

export function isLoopbackAddress(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (h === 'localhost') return true;
  const kind = isIP(h);
  if (kind === 4) return h.split('.')[0] === '127';
  if (kind === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./i.test(h);
  return false;
}

/** Throws FAULTLINE_NET_NOT_LOOPBACK unless `host` is a loopback address. */
export function assertLoopback(host: string, what = 'address', field?: string): void {
  if (!isLoopbackAddress(host)) {
    throw new InputError(
      'FAULTLINE_NET_NOT_LOOPBACK',
      `${what} '${host}' is not a loopback address: faultline binds and sends only to 127.0.0.0/8 or ::1`,
      field ? { field } : {},
    );
  }
}

/** Splits `host:port` / `[::1]:port`. */
export function parseHostPort(input: string, field?: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(input.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new InputError('FAULTLINE_INPUT_ADDRESS', `expected host:port, got '${input}'`, field ? { field } : {});
  }
  return { host: (m[1] ?? m[2]) as string, port };
}

/** A free TCP port on 127.0.0.1 (bound, read and released; for servers that need a port up front). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
