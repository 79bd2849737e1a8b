/**
 * Front door of src/failover: replays a regional failover against a real PostgreSQL primary/replica
 * pair with split-brain fencing, records every operation and checks the history (RPO, RTO, invariants).
 * Proxies are injected (LinkProxyFactory) because src/failover imports only src/shared.
 */
export { runFailoverDrill, recheck, writeEvidence, checkProviderSupports, faultSchedule, DRILL_FAULTS, FOLLOW_UPS } from './drill.ts';
export type { DrillOptions, DrillResult, DrillFault, FaultSchedule, FollowUp, WriterKind, ReadinessView } from './drill.ts';
export { nativeProvider, externalProvider, externalCapabilities, parsePgUrl, runCommand } from './provider.ts';
export type { Capability, ClusterNode, ClusterProvider, ExternalCommands, ExternalProviderConfig, LinkProxy, LinkProxyFactory, NativeProviderOptions, ProvidedCluster, ProviderContext } from './provider.ts';
export { checkHistory, parseHistory, readHistory } from './checker.ts';
export type { CheckResult, DrillFacts, FinalState, HistoryOp, ReadinessSample, TimelineMarks, Violation } from './checker.ts';
export { findPgBinaries, ensureGoldenPair } from './postgres.ts';
export type { PgBinaries, PgTarget } from './postgres.ts';
