/**
 * Front door of src/failover: replays a regional failover against a real PostgreSQL primary/replica
 * pair with split-brain fencing, records every operation and checks the history (RPO, RTO, invariants).
 * Proxies are injected (LinkProxyFactory) because src/failover imports only src/shared.
 */
export { runFailoverDrill, recheck, writeEvidence } from './drill.ts';
export type { DrillOptions, DrillResult, DrillFault, WriterKind, LinkProxy, LinkProxyFactory, ReadinessView } from './drill.ts';
export { checkHistory, parseHistory, readHistory } from './checker.ts';
export type { CheckResult, DrillFacts, FinalState, HistoryOp, TimelineMarks, Violation } from './checker.ts';
export { findPgBinaries, ensureGoldenPair } from './postgres.ts';
export type { PgBinaries } from './postgres.ts';
