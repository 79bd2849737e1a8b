/** The controller's actions on a real cluster: PostgreSQL queries, the provider's operations and the writer endpoint. */
import { FaultlineError } from '../shared/index.ts';
import { currentLsn, query, replayedUpTo, waitFor, type PgTarget } from './postgres.ts';
import type { ClusterNode, LinkProxy, ProvidedCluster } from './provider.ts';
import type { ControllerActions } from './controller.ts';
import type { DrillRecord } from './drill-record.ts';

/** The WAL timeline a node is on: the one it receives (a replica), else its last checkpoint's. */
async function timelineBeforePromotion(t: PgTarget): Promise<number> {
  const received = await query<{ tli: string }>(t, 'select received_tli as tli from pg_stat_wal_receiver').catch(() => []);
  const checkpoint = await query<{ tli: string }>(t, 'select timeline_id as tli from pg_control_checkpoint()');
  return Number(received[0]?.tli ?? checkpoint[0]?.tli);
}

const PROMOTED_SQL = "select pg_is_in_recovery() as rec, case when pg_is_in_recovery() then 0 else ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int end as tli";

/**
 * @param evidence the fault's evidence: promotion, timelines, the active fence's LSN or error and
 *   the checkpoint timeline are added to it.
 */
export function clusterControllerActions(cluster: ProvidedCluster, endpoint: LinkProxy, endpointTarget: PgTarget, evidence: Record<string, unknown>, record: DrillRecord): ControllerActions {
  const old: ClusterNode = cluster.primary;
  const candidate: ClusterNode = cluster.replica;
  return {
    probeWriter: () =>
      query(endpointTarget, 'select 1', [], 200).then(
        () => true,
        () => false,
      ),

    async fenceOldPrimary() {
      try {
        await query(old.target, 'alter system set default_transaction_read_only = on', [], 1000);
        await query(old.target, 'select pg_reload_conf()', [], 1000);
        await query(old.target, "select pg_terminate_backend(pid) from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()", [], 1000);
        const lsn = await currentLsn(old.target, 1000);
        evidence.oldPrimaryLsn = lsn;
        await waitFor('the replica to replay the old primary', () => replayedUpTo(candidate.target, lsn), 5000, 10);
        return true;
      } catch (e) {
        evidence.activeFenceError = (e as Error).message;
        return false;
      }
    },

    async promoteCandidate() {
      const before = await timelineBeforePromotion(candidate.target);
      if (cluster.promote) {
        evidence.promote = await cluster.promote(candidate);
      } else {
        const r = await query<{ p: boolean }>(candidate.target, 'select pg_promote(true, 60) as p', [], 65_000);
        if (!r[0]?.p) throw new FaultlineError('FAULTLINE_FAILOVER_PROMOTE', 'pg_promote returned false');
      }
      let after: { rec: boolean; tli: string } | undefined;
      await waitFor('the promoted replica to leave recovery', async () => {
        after = (await query<{ rec: boolean; tli: string }>(candidate.target, PROMOTED_SQL))[0];
        return after?.rec === false;
      }, 60_000);
      evidence.timeline = { before, after: Number(after?.tli) };
      if (Number(after?.tli) !== before + 1) throw new FaultlineError('FAULTLINE_FAILOVER_PROMOTE', `promotion not verified: timeline ${before} → ${after?.tli}`);
    },

    async stampCandidate(epoch) {
      await query(candidate.target, 'update ha_fence set epoch = $1', [epoch]);
    },

    cutEndpoint() {
      endpoint.heal(); // the client-side partition was between clients and region eu, not us
      endpoint.setUpstream(`${candidate.target.host}:${candidate.target.port}`);
      endpoint.resetConnections();
    },

    async settleNewPrimary() {
      // A CHECKPOINT makes pg_control's timeline current (pg_rewind on PostgreSQL <= 15 needs it).
      await query(candidate.target, 'checkpoint', [], 30_000);
      const ck = await query<{ ck: number; wal: number }>(candidate.target, "select (select timeline_id from pg_control_checkpoint()) as ck, ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int as wal");
      evidence.checkpointTimeline = ck[0];
    },

    async healReplication() {
      await cluster.healReplication();
      evidence.healedAt = record.rel();
      const lsn = await currentLsn(old.target);
      await waitFor('the replica to catch up after the heal', () => replayedUpTo(candidate.target, lsn), 15_000, 20);
    },

    stopOldPrimary: () => cluster.stop(old),
  };
}
