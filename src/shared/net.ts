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

/**
 * Which addresses outside loopback faultline may send to or listen on: none by default. A user widens
 * it only explicitly (`network.allow: [CIDR, …]` in a scenario, `--allow-network CIDR` on the CLI).
 * Loopback is always allowed; the control plane never consults this (it stays loopback-only).
 */
export interface NetworkPolicy {
  /** The CIDRs as given (normalised), for messages and reports. */
  readonly allow: readonly string[];
  /** Whether `host` (an IP literal or `localhost`) may be used. Host names other than localhost never match. */
  allows(host: string): boolean;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Parses `10.0.0.0/8`, `192.0.2.7` (= /32), `2001:db8::/32`; throws FAULTLINE_NET_CIDR naming the field. */
export function parseCidr(input: string, field = 'network.allow'): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const raw = typeof input === 'string' ? input.trim() : '';
  const m = /^([^/]+?)(?:\/(\d{1,3}))?$/.exec(raw);
  const address = m ? stripBrackets(m[1] as string) : '';
  const kind = isIP(address);
  const max = kind === 6 ? 128 : 32;
  const prefix = m?.[2] === undefined ? max : Number(m[2]);
  if (!m || kind === 0 || prefix > max) {
    throw new InputError('FAULTLINE_NET_CIDR', `expected a CIDR such as 10.20.0.0/16, 192.0.2.7 or 2001:db8::/32, got ${JSON.stringify(input)}`, { field });
  }
  return { address, prefix, family: kind === 6 ? 'ipv6' : 'ipv4' };
}

/** A policy admitting loopback plus the given CIDRs. */
export function networkPolicy(allow: readonly string[] = [], field = 'network.allow'): NetworkPolicy {
  const list = new net.BlockList();
  const shown: string[] = [];
  allow.forEach((c, i) => {
    const { address, prefix, family } = parseCidr(c, allow.length > 1 || field.endsWith(']') ? `${field}[${i}]` : field);
    list.addSubnet(address, prefix, family);
    shown.push(`${address}/${prefix}`);
  });
  return {
    allow: shown,
    allows(host: string): boolean {
      if (isLoopbackAddress(host)) return true;
      const h = stripBrackets(host);
      const kind = isIP(h);
      if (kind === 0 || shown.length === 0) return false;
      return list.check(h, kind === 6 ? 'ipv6' : 'ipv4');
    },
  };
}

/** The default: loopback only. */
export const LOOPBACK_ONLY: NetworkPolicy = networkPolicy([]);

/**
 * Throws FAULTLINE_NET_NOT_LOOPBACK (exit 2) naming the field and the address unless the policy admits
 * `host`. Pure: nothing is resolved or dialled.
 */
export function assertAllowed(host: string, what: string, field: string | undefined, policy: NetworkPolicy = LOOPBACK_ONLY): void {
  if (policy.allows(host)) return;
  const h = stripBrackets(host);
  const why =
    policy.allow.length === 0
      ? 'faultline binds and sends only to 127.0.0.0/8 or ::1 unless you allow more (network.allow: [CIDR] in the scenario, --allow-network CIDR on the command line)'
      : isIP(h) === 0
        ? `a host name cannot be matched against the network allowlist (${policy.allow.join(', ')}): use its IP address`
        : `and not in the network allowlist (${policy.allow.join(', ')})`;
  throw new InputError('FAULTLINE_NET_NOT_LOOPBACK', `${what} '${host}' is not a loopback address${why.startsWith('and') ? ' ' : ': '}${why}`, field ? { field } : {});
}
