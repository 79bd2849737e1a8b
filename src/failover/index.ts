/**
 * Front door of src/failover: replays a regional failover against a real PostgreSQL primary/replica
 * pair with split-brain fencing, records every operation and checks the history (RPO, RTO, invariants).
 * Proxies are injected (LinkProxyFactory) because src/failover imports only src/shared.
 */
export { runFailoverDrill, recheck, writeEvidence } from './drill.ts';
export type { DrillResult } from './drill.ts';
export { checkProviderSupports, defaultFollowUp, faultSchedule, DRILL_FAULTS, FOLLOW_UPS } from './drill-options.ts';
export type { DrillOptions, DrillFault, FaultSchedule, FollowUp } from './drill-options.ts';
export type { WriterKind, ReadinessView } from './writer.ts';
export { nativeProvider, externalProvider, externalCapabilities, parsePgUrl } from './provider.ts';
export type { Capability, ClusterNode, ClusterProvider, ExternalCommands, ExternalProviderConfig, LinkProxy, LinkProxyFactory, NativeProviderOptions, ProvidedCluster, ProviderContext } from './provider.ts';
export { checkHistory, parseHistory, readHistory } from './checker.ts';
export type { CheckResult, DrillFacts, FinalState, HistoryOp, ReadinessSample, TimelineMarks, Violation } from './checker.ts';
export { findPgBinaries, ensureGoldenPair, NO_POSTGRES_MESSAGE } from './postgres.ts';
export type { PgBinaries, PgTarget } from './postgres.ts';
export { reapDebris, WORKING_COPY_PREFIX } from './debris.ts';
export { CLUSTER_PROVIDERS, PROVIDER_NAMES } from './provider-registry.ts';
export type { NamedProviderOptions, ProviderName } from './provider-registry.ts';
export { testcontainersProvider, reapLeftoverContainers, CONTAINER_LABELS } from './testcontainers-provider.ts';
export type { TestcontainersProviderOptions } from './testcontainers-provider.ts';
export { ensureLocalPgImage, localImageTags } from './local-image.ts';
export type { LocalImage } from './local-image.ts';
