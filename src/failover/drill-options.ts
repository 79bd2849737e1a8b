/** What a failover drill is asked to do: its fault, writer and follow-up, the seeded schedule, and what the provider must support. */
import { InputError, Rng, type Seed } from '../shared/index.ts';
import type { Capability, ClusterProvider, LinkProxyFactory } from './provider.ts';
import type { ReadinessView, WriterKind } from './writer.ts';

/**
 * kill: kill -9 of the primary (postmaster and every child). partition: the full region loss (the
 * replication link first, clients after a seeded stall). partition-clients: clients cannot reach the
 * primary, replication still flows (the controller fences the reachable primary actively). partition-replica:
 * the replication link is blackholed while clients still reach the primary (a healthy writer: no failover).
 * pause: SIGSTOP of every pid, SIGCONT after the promotion (the zombie). switchover: planned.
 */
export type DrillFault = 'kill' | 'partition' | 'partition-clients' | 'partition-replica' | 'pause' | 'switchover';
export const DRILL_FAULTS: readonly DrillFault[] = ['kill', 'partition', 'partition-clients', 'partition-replica', 'pause', 'switchover'];
/** After the failover: restart the stale ex-primary with its old data, rejoin it with pg_rewind, or re-clone it. */
export type FollowUp = 'none' | 'restart' | 'rewind' | 'reclone';
export const FOLLOW_UPS: readonly FollowUp[] = ['none', 'restart', 'rewind', 'reclone'];

/**
 * The follow-up the CLI and the scenario step use when none is given: after kill and pause the stale
 * ex-primary comes back with its old data (restart), which is what proves the fence; otherwise none.
 */
export function defaultFollowUp(fault: DrillFault): FollowUp {
  return fault === 'kill' || fault === 'pause' ? 'restart' : 'none';
}

export interface DrillOptions {
  mode: 'sync' | 'async';
  /** Synchronous mode: synchronous_commit on (default) or remote_apply (native provider). */
  syncCommit?: 'on' | 'remote_apply';
  fault: DrillFault;
  writer?: WriterKind;
  seed: Seed;
  links: LinkProxyFactory;
  /** Where the evidence bundle goes. */
  dir: string;
  /** Writer probe interval (ms). */
  probeIntervalMs?: number;
  /** Telemetry store backup cadence = its RPO (ms), reported beside the durable-state RPO. */
  telemetryBackupRpoMs?: number;
  /** What happens to the stale ex-primary after the failover (default none; ignored without a failover). */
  followUp?: FollowUp;
  /** Where the cluster comes from (default: native PostgreSQL processes). */
  provider?: ClusterProvider;
  /** Aborts the drill (SIGINT/SIGTERM in the CLI): everything started is stopped, then FAULTLINE_FAILOVER_ABORTED. */
  signal?: AbortSignal;
  /** Readiness views are served from here (e.g. by the reference service). */
  onReadiness?: (view: ReadinessView) => void;
}

/** What each fault and follow-up needs from the provider. */
const NEEDS: Record<DrillFault | FollowUp, Capability[]> = {
  kill: ['kill'],
  partition: ['partition-replication'],
  'partition-clients': [],
  'partition-replica': ['partition-replication'],
  pause: ['pause'],
  switchover: [],
  none: [],
  restart: ['stop', 'restart'],
  rewind: ['rewind'],
  reclone: ['reclone'],
};

/** Refuses (exit 2) a fault or follow-up the provider cannot perform. */
export function checkProviderSupports(provider: ClusterProvider, fault: DrillFault, followUp: FollowUp): void {
  for (const [what, field] of [
    [fault, 'fault'],
    [followUp, 'followUp'],
  ] as const) {
    const missing = NEEDS[what].filter((c) => !provider.capabilities.has(c));
    if (missing.length) {
      throw new InputError('FAULTLINE_FAILOVER_PROVIDER', `the ${provider.name} provider cannot do '${what}': it needs ${missing.join(', ')} (for the external provider: supply the matching provider.commands)`, { field });
    }
  }
}

/** Every timing decision of a drill, drawn from its seed: the same seed replays the same schedule. */
export interface FaultSchedule {
  /** Healthy baseline before the fault. */
  baselineMs: number;
  /** partition: replication stalls this long before clients are cut too. */
  stallMs: number;
  /** partition-replica: how long the replication link stays blackholed. */
  partitionMs: number;
  /** pause: how long after the promotion the zombie is resumed. */
  resumeDelayMs: number;
}

export function faultSchedule(seed: Seed): FaultSchedule {
  const rng = Rng.fromSeed(String(seed)).fork('failover');
  return { baselineMs: 600 + rng.int(400), stallMs: 300 + rng.int(500), partitionMs: 1000 + rng.int(600), resumeDelayMs: 150 + rng.int(300) };
}
