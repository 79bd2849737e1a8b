/**
 * Front door of src/injector: the fault-injecting TCP/UDP proxy and its Toxiproxy-compatible control plane.
 *
 *   await using proxy = await new ProxyBuilder('api').withUpstream('127.0.0.1:8080').withSeed(7).start();
 *   // or: await startProxy({ name: 'api', upstream: '127.0.0.1:8080', seed: 7 })
 *   proxy.addFault({ type: 'latency', stream: 'downstream', attributes: { latency: 50, jitter: 5 }, ttlMs: 30_000 });
 *   proxy.heal();
 */
export { startProxy, TcpProxy } from './proxy.ts';
export { ProxyBuilder, UdpProxyBuilder } from './builder.ts';
export { faultlineLink } from './testcontainers-link.ts';
export type { FaultlineLinkOptions, LinkableContainer } from './testcontainers-link.ts';
export type { Proxy, ProxyStats } from './proxy.ts';
export { normaliseFault } from './faults.ts';
export type { FaultInfo, FaultSpec } from './faults.ts';
export { startControlServer } from './control-server.ts';
export { readProxyConfigFile } from './config-file.ts';
export { Upstream, httpStatusOnce, BALANCE_POLICIES } from './balancer.ts';
export type { BalancePolicy } from './balancer.ts';
export type { ProxyConfig } from './control-server.ts';
