/**
 * Fault injection: the drill's fault applied to the cluster and the writer endpoint, with its
 * evidence, and the pause fault's resume of the zombie once the controller has promoted.
 */
import { replicationLagBytes } from './postgres.ts';
import type { ClusterNode, LinkProxy, ProvidedCluster } from './provider.ts';
import type { DrillRecord } from './drill-record.ts';
import type { DrillFault, FaultSchedule } from './drill-options.ts';

export interface InjectedFault {
  /** When the fault went in (ms since the drill start). */
  at: number;
  /** The fault's evidence (the object given to injectFault; the controller adds its own to it too). */
  evidence: Record<string, unknown>;
  /** partition-replica: how long the controller watches before judging "no failover". */
  observeMs?: number;
  /** The replica's lag when clients lost the primary (partition: at the client cut; else at the fault). */
  predictedLagBytes: number | null;
}

export async function injectFault(
  fault: DrillFault,
  cluster: ProvidedCluster,
  endpoint: LinkProxy,
  schedule: FaultSchedule,
  record: DrillRecord,
  sleep: (ms: number) => Promise<void>,
  evidence: Record<string, unknown>,
): Promise<InjectedFault> {
  const primary = cluster.primary;
  const lagBeforeFault = await replicationLagBytes(primary.target);
  const at = record.rel();
  record.timeline.fault = at;
  let observeMs: number | undefined;
  let predictedLagBytes = lagBeforeFault;
  switch (fault) {
    case 'kill':
      Object.assign(evidence, await cluster.kill(primary));
      break;
    case 'pause':
      Object.assign(evidence, await cluster.pause(primary));
      break;
    case 'partition': {
      // Region loss as it happens: the replication link goes first, clients follow after a seeded stall.
      Object.assign(evidence, await cluster.partitionReplication());
      record.timeline.replicationStall = at;
      evidence.stallMs = schedule.stallMs;
      await sleep(schedule.stallMs);
      predictedLagBytes = await replicationLagBytes(primary.target);
      evidence.lagAtClientCut = predictedLagBytes;
      endpoint.partition('blackhole');
      evidence.clientsCutAt = record.rel();
      break;
    }
    case 'partition-clients':
      endpoint.partition('blackhole');
      evidence.clientsCut = 'writer endpoint blackholed; replication link untouched';
      break;
    case 'partition-replica':
      Object.assign(evidence, await cluster.partitionReplication());
      record.timeline.replicationStall = at;
      observeMs = schedule.partitionMs;
      evidence.partitionMs = observeMs;
      break;
    case 'switchover':
      break;
  }
  return { at, evidence, ...(observeMs !== undefined ? { observeMs } : {}), predictedLagBytes };
}

/** pause: the zombie (the SIGSTOPped old primary) resumes a seeded delay after the promotion. */
export async function resumeZombie(cluster: ProvidedCluster, node: ClusterNode, delayMs: number, injected: InjectedFault, record: DrillRecord, sleep: (ms: number) => Promise<void>): Promise<void> {
  await sleep(delayMs);
  Object.assign(injected.evidence, await cluster.resume(node));
  injected.evidence.resumedAt = record.rel();
}
