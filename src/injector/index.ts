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
export type { Proxy, ProxyOptions, ProxyStats } from './proxy.ts';
export { DELAY_BUCKETS_MS, summariseHistogramUs } from './fault-statistics.ts';
export type { FaultStats, LatencySummary, DelayHistogram } from './fault-statistics.ts';
export { FAULT_TYPES, FAULT_TYPE_NAMES, JITTER_DISTRIBUTIONS, drawLatency, drawLossStall, isFaultType, normaliseFault } from './faults.ts';
export type { FaultInfo, FaultSpec, Stream, Direction, FaultTypeName, JitterDistribution, LossParams } from './faults.ts';
export { startUdpProxy } from './udp-proxy.ts';
export type { UdpProxy, UdpProxyOptions, UdpFaults, UdpDirectionStats } from './udp-proxy.ts';
export { startControlServer, TOXIPROXY_COMPAT_VERSION } from './control-server.ts';
export { readProxyConfigFile } from './config-file.ts';
export { Balancer, Upstream, UpstreamPool, HealthChecker, checkOnce, httpStatusOnce, healthCheckOptions, BALANCE_POLICIES, DEFAULT_HEALTH_CHECK } from './balancer.ts';
export type { BalancePolicy, BalancerOptions, HealthCheckOptions, UpstreamInput, UpstreamState, UpstreamStats, UpstreamTransition } from './balancer.ts';
export type { ControlServer, ControlServerOptions, ProxyConfig } from './control-server.ts';
