/**
 * Testcontainers-style builders for the library API: configure, then `start()` returns a started
 * proxy that is also `AsyncDisposable`, so a test can write
 *
 *   await using proxy = await new ProxyBuilder('api').withUpstream(server.address).withSeed(7)
 *     .withFault({ type: 'latency', attributes: { latency: 50 } }).start();
 *
 * Faults given to the builder are in place before the listener accepts its first connection.
 */
import { InputError, type Logger, type Seed } from '../shared/index.ts';
import type { Direction, FaultSpec } from './faults.ts';
import { TcpProxy, type Proxy } from './proxy.ts';
import { startUdpProxy, type UdpFaults, type UdpProxy } from './udp-proxy.ts';

export class ProxyBuilder {
  readonly #name: string;
  #listen = '127.0.0.1:0';
  #upstream: string | undefined;
  #seed: Seed = 0;
  #logger: Logger | undefined;
  #enabled = true;
  readonly #faults: FaultSpec[] = [];

  constructor(name: string) {
    this.#name = name;
  }

  /** Loopback `host:port` to listen on (default `127.0.0.1:0`, a free port). */
  withListen(hostPort: string): this {
    this.#listen = hostPort;
    return this;
  }

  /** `host:port` to forward to (loopback; dialled per client connection, never at start). */
  withUpstream(hostPort: string): this {
    this.#upstream = hostPort;
    return this;
  }

  withSeed(seed: Seed): this {
    this.#seed = seed;
    return this;
  }

  withLogger(logger: Logger): this {
    this.#logger = logger;
    return this;
  }

  /** A fault to have in place from the first connection on. */
  withFault(spec: FaultSpec): this {
    this.#faults.push(spec);
    return this;
  }

  /** Start disabled: the proxy refuses connections until `setEnabled(true)`. */
  withEnabled(enabled: boolean): this {
    this.#enabled = enabled;
    return this;
  }

  async start(): Promise<Proxy> {
    if (this.#upstream === undefined) throw new InputError('FAULTLINE_INJECTOR_PROXY', `proxy '${this.#name}': missing upstream (call withUpstream)`, { field: 'upstream' });
    const proxy = new TcpProxy({ name: this.#name, listen: this.#listen, upstream: this.#upstream, seed: this.#seed, ...(this.#logger ? { logger: this.#logger } : {}) });
    for (const f of this.#faults) proxy.addFault(f);
    if (this.#enabled) await proxy.start();
    return proxy;
  }
}

export class UdpProxyBuilder {
  readonly #name: string;
  #listen = '127.0.0.1:0';
  #upstream: string | undefined;
  #seed: Seed = 0;
  readonly #faults: Partial<Record<Direction, UdpFaults>> = {};

  constructor(name: string) {
    this.#name = name;
  }

  withListen(hostPort: string): this {
    this.#listen = hostPort;
    return this;
  }

  withUpstream(hostPort: string): this {
    this.#upstream = hostPort;
    return this;
  }

  withSeed(seed: Seed): this {
    this.#seed = seed;
    return this;
  }

  /** Per-datagram faults for one direction (or both). */
  withFaults(direction: Direction | 'both', faults: UdpFaults): this {
    if (direction !== 'downstream') this.#faults.upstream = { ...faults };
    if (direction !== 'upstream') this.#faults.downstream = { ...faults };
    return this;
  }

  start(): Promise<UdpProxy> {
    if (this.#upstream === undefined) throw new InputError('FAULTLINE_INJECTOR_PROXY', `UDP proxy '${this.#name}': missing upstream (call withUpstream)`, { field: 'upstream' });
    return startUdpProxy({ name: this.#name, listen: this.#listen, upstream: this.#upstream, seed: this.#seed, faults: this.#faults });
  }
}
