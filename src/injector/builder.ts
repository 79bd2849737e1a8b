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

/** What both builders share: name, loopback listen address, upstream and seed. */
abstract class EndpointBuilder {
  protected readonly name: string;
  protected listen = '127.0.0.1:0';
  protected upstream: string | undefined;
  protected seed: Seed = 0;

  constructor(name: string) {
    this.name = name;
  }

  /** Loopback `host:port` to listen on (default `127.0.0.1:0`, a free port). */
  withListen(hostPort: string): this {
    this.listen = hostPort;
    return this;
  }

  /** `host:port` to forward to (loopback; for TCP dialled per client connection, never at start). */
  withUpstream(hostPort: string): this {
    this.upstream = hostPort;
    return this;
  }

  /** Seed of every random draw (jitter, loss, toxicity, …); the same seed replays the same decisions. */
  withSeed(seed: Seed): this {
    this.seed = seed;
    return this;
  }

  protected requireUpstream(what: string): string {
    if (this.upstream === undefined) throw new InputError('FAULTLINE_INJECTOR_PROXY', `${what} '${this.name}': missing upstream (call withUpstream)`, { field: 'upstream' });
    return this.upstream;
  }
}

export class ProxyBuilder extends EndpointBuilder {
  #logger: Logger | undefined;
  #enabled = true;
  readonly #faults: FaultSpec[] = [];

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
    const upstream = this.requireUpstream('proxy');
    const proxy = new TcpProxy({ name: this.name, listen: this.listen, upstream, seed: this.seed, ...(this.#logger ? { logger: this.#logger } : {}) });
    for (const f of this.#faults) proxy.addFault(f);
    if (this.#enabled) await proxy.start();
    return proxy;
  }
}

export class UdpProxyBuilder extends EndpointBuilder {
  readonly #faults: Partial<Record<Direction, UdpFaults>> = {};

  /** Per-datagram faults for one direction (or both). */
  withFaults(direction: Direction | 'both', faults: UdpFaults): this {
    if (direction !== 'downstream') this.#faults.upstream = { ...faults };
    if (direction !== 'upstream') this.#faults.downstream = { ...faults };
    return this;
  }

  async start(): Promise<UdpProxy> {
    const upstream = this.requireUpstream('UDP proxy');
    return startUdpProxy({ name: this.name, listen: this.listen, upstream, seed: this.seed, faults: this.#faults });
  }
}
