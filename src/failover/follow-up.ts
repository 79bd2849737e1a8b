/**
 * Follow-ups: what happens to the stale ex-primary after the failover — restarted with its old data
 * (it must not take writes back), or rejoined as a replica of the new primary (pg_rewind or re-clone).
 */
import { currentLsn, query, replayedUpTo, waitFor } from './postgres.ts';
import type { ClusterNode, ProvidedCluster } from './provider.ts';
import type { DrillFacts } from './checker.ts';
import type { DrillRecord } from './drill-record.ts';
import type { FollowUp } from './drill-options.ts';

export type Rejoin = NonNullable<DrillFacts['rejoin']>;

export interface FollowUpOutcome {
  evidence: Record<string, unknown>;
  rejoin?: Rejoin;
}

/**
 * Runs the follow-up on `stale` (the ex-primary) after a failover to `newPrimary`.
 * @param epoch the controller's epoch (the restarted node's stamp is compared with it).
 * @param expectedTimeline the new primary's timeline after the promotion.
 */
export async function runFollowUp(kind: FollowUp, cluster: ProvidedCluster, stale: ClusterNode, newPrimary: ClusterNode, epoch: number, expectedTimeline: number, record: DrillRecord): Promise<FollowUpOutcome> {
  const evidence: Record<string, unknown> = { kind };
  if (kind === 'restart') {
    await cluster.stop(stale);
    try {
      Object.assign(evidence, await cluster.restart(stale));
      const r = await query<{ rec: boolean; stamp: string }>(stale.target, 'select pg_is_in_recovery() as rec, (select max(epoch) from ha_fence) as stamp');
      evidence.staleNode = { inRecovery: r[0]?.rec, stamp: Number(r[0]?.stamp), controllerEpoch: epoch };
    } catch (e) {
      evidence.restartError = (e as Error).message;
    }
    evidence.at = record.rel();
    return { evidence };
  }
  if (kind === 'rewind' || kind === 'reclone') {
    const t = record.rel();
    Object.assign(evidence, await cluster.rejoin(stale, newPrimary, kind));
    let streaming = false;
    await waitFor(`${stale.name} to stream from ${newPrimary.name}`, async () => {
      const r = await query<{ state: string }>(newPrimary.target, 'select state from pg_stat_replication where application_name = $1', [stale.region]);
      streaming = r.some((x) => x.state === 'streaming');
      return streaming;
    }, 20_000).catch(() => {});
    const r = (
      await query<{ rec: boolean; tli: number | null; stamp: string }>(stale.target, 'select pg_is_in_recovery() as rec, (select received_tli from pg_stat_wal_receiver) as tli, (select max(epoch) from ha_fence) as stamp').catch(() => [])
    )[0];
    const rejoin: Rejoin = { how: kind, node: stale.name, inRecovery: r?.rec === true, streaming, timeline: r?.tli ?? null, expectedTimeline, stamp: r ? Number(r.stamp) : null };
    evidence.ms = Math.round(record.rel() - t);
    if (streaming) record.timeline.reconverged = record.rel();
    return { evidence, rejoin };
  }
  return { evidence };
}

/** After quiescence: whether the rejoined node has replayed everything the new primary has (before the two are compared). */
export async function rejoinedCaughtUp(rejoined: ClusterNode, newPrimary: ClusterNode): Promise<boolean> {
  const lsn = await currentLsn(newPrimary.target);
  return waitFor('the rejoined node to catch up', () => replayedUpTo(rejoined.target, lsn), 10_000, 20).then(
    () => true,
    () => false,
  );
}
