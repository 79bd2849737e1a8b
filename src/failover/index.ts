/**
 * Front door of src/failover: replays a regional failover against a real PostgreSQL primary/replica
 * pair with split-brain fencing, records every operation and checks the history (RPO, RTO, invariants).
 * Proxies are injected (LinkProxyFactory) because src/failover imports only src/shared.
 */
export { runFailoverDrill, recheck } from './drill.ts';
export type { DrillResult } from './drill.ts';
export { defaultFollowUp, DRILL_FAULTS, FOLLOW_UPS } from './drill-options.ts';
export type { DrillFault, FollowUp } from './drill-options.ts';
export type { WriterKind, ReadinessView } from './writer.ts';
export { externalProvider, parsePgUrl } from './provider.ts';
export type { ClusterProvider, LinkProxy, LinkProxyFactory } from './provider.ts';
export type { CheckResult } from './checker.ts';
export { endClient, findPgBinaries } from './postgres.ts';
export type { PgBinaries } from './postgres.ts';
export { reapDebris } from './debris.ts';
export { CLUSTER_PROVIDERS, PROVIDER_NAMES } from './provider-registry.ts';
export type { ProviderName } from './provider-registry.ts';
