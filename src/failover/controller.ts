/**
 * The failover controller's decisions: detect (consecutive failed probes of the writer through the
 * writer endpoint), decide, fence (a durable epoch bump; actively too when the old primary is still
 * reachable), promote, stamp the new primary with the epoch, cut the writer endpoint over. A
 * partition of the replication link alone leaves the writer healthy to clients: no failover then.
 * Every effect on the cluster goes through ControllerActions (PostgreSQL and the provider in a
 * drill, a fake in the unit tests), so the decisions are tested without servers.
 */
import { FaultlineError } from '../shared/index.ts';
import type { ClusterNode } from './provider.ts';
import type { DrillRecord } from './drill-record.ts';
import type { DrillFault, FollowUp } from './drill-options.ts';
import type { ControllerView } from './writer.ts';

export interface ControllerActions {
  /** One health probe of the writer through the writer endpoint. */
  probeWriter(): Promise<boolean>;
  /** Fences the old primary actively (read-only, client sessions ended, the candidate caught up); false when it cannot. */
  fenceOldPrimary(): Promise<boolean>;
  /** Promotes the candidate and verifies it (a new timeline); throws when not verified. */
  promoteCandidate(): Promise<void>;
  /** Stamps the candidate with the epoch (ha_fence). */
  stampCandidate(epoch: number): Promise<void>;
  /** Points the writer endpoint at the candidate (healing a client-side partition) and resets its connections. */
  cutEndpoint(): void;
  /** After the cut: makes the new primary's state current (a CHECKPOINT). */
  settleNewPrimary(): Promise<void>;
  /** No failover: heals the replication link and waits until the replica has caught up. */
  healReplication(): Promise<void>;
  /** Switchover without a follow-up: stops the old primary cleanly. */
  stopOldPrimary(): Promise<void>;
}

/** Where the controller's epoch is persisted (EpochStore); it must never go down. */
export interface EpochSink {
  write(epoch: number, extra: Record<string, unknown>): void;
}

export interface ControllerOptions {
  fault: DrillFault;
  followUp: FollowUp;
  /** The writer at the start (region eu). */
  primary: ClusterNode;
  /** The failover candidate (region us). */
  candidate: ClusterNode;
  initialEpoch: number;
  epochStore: EpochSink;
  record: DrillRecord;
  actions: ControllerActions;
  sleep: (ms: number) => Promise<void>;
  /** Throws when the drill was aborted. */
  checkAborted: () => void;
  /** Consecutive failed probes that mean "the writer is down" (default 3). */
  missesToDetect?: number;
  probeEveryMs?: number;
  /** No detection this long after the fault is an error (default 15 s). */
  detectDeadlineMs?: number;
}

export interface ControllerDecision {
  failover: boolean;
  /** active: the old primary was reachable and fenced; logical: the epoch only. Absent without a failover. */
  fence?: 'active' | 'logical';
  /** Why there was no failover. */
  note?: string;
}

/** The fault as the controller sees it: when it began, and (partition-replica) how long to watch a healthy writer. */
export interface FaultSeen {
  at: number;
  observeMs?: number;
}

export class FailoverController implements ControllerView {
  epoch: number;
  writer: ClusterNode;
  state: 'stable' | 'flipping' = 'stable';

  constructor(private readonly o: ControllerOptions) {
    this.epoch = o.initialEpoch;
    this.writer = o.primary;
    o.epochStore.write(this.epoch, { writer: o.primary.name, state: 'stable' });
    o.record.epochs.push({ t: o.record.rel(), epoch: this.epoch });
  }

  /** Reacts to the fault: a switchover at once; otherwise detect, then fail over or keep the writer. */
  async handle(fault: FaultSeen): Promise<ControllerDecision> {
    const tl = this.o.record.timeline;
    if (this.o.fault === 'switchover') {
      tl.detect = this.o.record.rel();
      tl.decide = this.o.record.rel();
      const fence = await this.failOver(true);
      if (this.o.followUp === 'none') await this.o.actions.stopOldPrimary().catch(() => {});
      return { failover: true, fence };
    }
    if (await this.writerDown(fault)) {
      tl.decide = this.o.record.rel();
      // Region loss, kill and pause: the old primary is unreachable (or hung), the fence is logical
      // (the epoch). Clients-only partition: the controller still reaches it and fences it actively.
      return { failover: true, fence: await this.failOver(this.o.fault === 'partition-clients') };
    }
    await this.o.actions.healReplication();
    tl.reconverged = this.o.record.rel();
    return { failover: false, note: 'no failover: the writer stayed reachable and healthy to clients' };
  }

  /**
   * Probes until `missesToDetect` consecutive failures (true), or — when watching a replication-only
   * partition — until the watch is over with the writer healthy (false). A success resets the count
   * and the detect mark. Throws FAULTLINE_FAILOVER_DETECT past the deadline.
   */
  private async writerDown(fault: FaultSeen): Promise<boolean> {
    const { record, actions } = this.o;
    const needed = this.o.missesToDetect ?? 3;
    let misses = 0;
    while (misses < needed) {
      this.o.checkAborted();
      const ok = await actions.probeWriter();
      misses = ok ? 0 : misses + 1;
      if (ok) record.timeline.detect = undefined;
      else record.timeline.detect ??= record.rel();
      if (fault.observeMs !== undefined && record.rel() - fault.at >= fault.observeMs && misses === 0) return false;
      if (misses < needed) await this.o.sleep(this.o.probeEveryMs ?? 100);
      if (record.rel() - fault.at > (this.o.detectDeadlineMs ?? 15_000)) {
        throw new FaultlineError('FAULTLINE_FAILOVER_DETECT', `the controller did not detect the fault within ${(this.o.detectDeadlineMs ?? 15_000) / 1000} s`);
      }
    }
    return true;
  }

  /** Fence (epoch bump; actively when asked and possible), promote, stamp, cut. */
  private async failOver(tryActiveFence: boolean): Promise<'active' | 'logical'> {
    const { record, actions } = this.o;
    this.bumpEpoch();
    const fence = tryActiveFence && (await actions.fenceOldPrimary()) ? 'active' : 'logical';
    await actions.promoteCandidate();
    record.timeline.promoted = record.rel();
    await actions.stampCandidate(this.epoch);
    record.timeline.stamped = record.rel();
    actions.cutEndpoint();
    this.writer = this.o.candidate;
    this.state = 'stable';
    this.o.epochStore.write(this.epoch, { writer: this.o.candidate.name, state: 'stable' });
    record.timeline.endpointCut = record.rel();
    await actions.settleNewPrimary();
    return fence;
  }

  /** The logical fence: the durable epoch goes up first, so no write stamped with the old one is acknowledged. */
  private bumpEpoch(): void {
    this.state = 'flipping';
    this.epoch += 1;
    this.o.epochStore.write(this.epoch, { writer: this.o.candidate.name, state: 'flipping' });
    this.o.record.epochs.push({ t: this.o.record.rel(), epoch: this.epoch });
    this.o.record.timeline.fenced = this.o.record.rel();
  }
}
