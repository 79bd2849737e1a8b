/**
 * faultline's injector in front of a port of a container a testcontainers suite started — the role
 * of the Toxiproxy testcontainers module without a toxiproxy container: a loopback proxy in the test
 * process, seeded, with leases (ttlMs) and fidelity stats, disposed with `await using`.
 *
 *   await using link = await faultlineLink(postgres, 5432, { seed: 7 });
 *   // point the code under test at link.listenHost:link.listenPort, then
 *   link.addFault({ type: 'latency', stream: 'downstream', attributes: { latency: 300 }, ttlMs: 5000 });
 *
 * Structurally typed (a started testcontainers container fits): no import of testcontainers here.
 */
import { InputError, type Seed } from '../shared/index.ts';
import type { FaultSpec } from './faults.ts';
import { ProxyBuilder } from './builder.ts';
import type { Proxy } from './proxy.ts';

/** What faultlineLink needs of a started container (testcontainers' StartedTestContainer has it). */
export interface LinkableContainer {
  getHost(): string;
  getMappedPort(port: number): number;
  getName?(): string;
}

export interface FaultlineLinkOptions {
  /** Seed of every random draw of the link's faults (default 0): the same seed replays the same run. */
  seed?: Seed;
  /** Proxy name in stats and logs (default: `<container name>-<port>`). */
  name?: string;
  /** Faults in place before the first connection. */
  faults?: FaultSpec[];
}

/**
 * Starts a proxy on 127.0.0.1 (a free port) forwarding to the container's `port`: its mapped host
 * port, or — for a container on the host network, which has no port mapping — `port` itself.
 * The container's host must be loopback (`localhost` is taken as 127.0.0.1).
 */
export async function faultlineLink(container: LinkableContainer, port: number, o: FaultlineLinkOptions = {}): Promise<Proxy> {
  let hostPort: number;
  try {
    hostPort = container.getMappedPort(port);
  } catch {
    hostPort = port; // network mode host: the container listens on the host's port directly
  }
  const rawHost = container.getHost();
  const host = rawHost === 'localhost' ? '127.0.0.1' : rawHost;
  if (!Number.isInteger(hostPort) || hostPort <= 0 || hostPort > 65_535) throw new InputError('FAULTLINE_INJECTOR_PROXY', `faultlineLink: no usable host port for container port ${port}`, { field: 'port' });
  const name = o.name ?? `${(container.getName?.() ?? 'container').replace(/^\//, '')}-${port}`;
  const b = new ProxyBuilder(name).withUpstream(`${host.includes(':') ? `[${host}]` : host}:${hostPort}`).withSeed(o.seed ?? 0);
  for (const f of o.faults ?? []) b.withFault(f);
  return b.start();
}
