/** Loopback-only networking guard: faultline binds and sends only to 127.0.0.0/8 and ::1. */
import { readFileSync } from 'node:fs';
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

/** Where ports for servers are drawn from: below the kernel's ephemeral range, from this port up. */
const LOWEST_PICKED_PORT = 10_000;
/** How many random ports are tried before falling back to one the kernel picks. */
const PICK_ATTEMPTS = 32;
/** Ports this process handed out lately: not handed out again while their server may not have bound yet. */
const handedOut = new Set<number>();
const HANDED_OUT_KEPT = 4096;

function handOut(port: number): number {
  handedOut.add(port);
  if (handedOut.size > HANDED_OUT_KEPT) handedOut.delete(handedOut.values().next().value as number);
  return port;
}

/**
 * The kernel's ephemeral port range (Linux `ip_local_port_range`), the ports it gives outgoing
 * connections and `listen(0)`; the Linux default when it cannot be read.
 */
export function ephemeralPortRange(read: () => string = () => readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')): { low: number; high: number } {
  try {
    const [low, high] = read().trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && (low as number) > 0 && (low as number) <= (high as number)) return { low: low as number, high: high as number };
  } catch {
    // not Linux, or no /proc: the default below
  }
  return { low: 32_768, high: 60_999 };
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function kernelPicked(): Promise<number> {
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
 * A free TCP port on 127.0.0.1 for a server that needs its port up front (a PostgreSQL node, a
 * replica, a test's service), checked by binding it and released.
 *
 * It is drawn at random from below the kernel's ephemeral range, not with `listen(0)`: a port from
 * the ephemeral range can be taken, between this call and the server's own bind, as the local port of
 * any outgoing connection on the machine (a scrape, a client, another run), and the server then fails
 * with EADDRINUSE. Ports below the range are only ever taken by explicit binds. Where there is no room
 * below the range (or every try is taken) the kernel picks one, as before. A port is not handed out
 * twice by one process while it is among the last 4,096 it handed out. The range is read once.
 */
let machineRange: { low: number; high: number } | undefined;

export async function freePort(random: () => number = Math.random, range: { low: number; high: number } = (machineRange ??= ephemeralPortRange())): Promise<number> {
  const span = range.low - LOWEST_PICKED_PORT;
  if (span > 0) {
    for (let i = 0; i < PICK_ATTEMPTS; i++) {
      const port = LOWEST_PICKED_PORT + Math.floor(random() * span);
      if (!handedOut.has(port) && (await bindable(port))) return handOut(port);
    }
  }
  return handOut(await kernelPicked());
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
