/**
 * A proxy's fault registry: the faults active now (by name, in the order they were added), every
 * fault it ever held (for the statistics), and their leases — a fault with a TTL removes itself.
 */
import { FaultlineError, setLongTimeout, type LongTimer } from '../shared/index.ts';
import { faultType, type FaultInfo, type FaultType } from './faults.ts';
import { FaultStatistics } from './fault-statistics.ts';

/** One fault held by a proxy. Links attach its stages; its statistics outlive its removal. */
export interface ActiveFault {
  readonly info: FaultInfo;
  readonly type: FaultType;
  /** Stages run in this order on a link (the order faults were added). */
  readonly addedOrder: number;
  /** State shared by all links of this fault (e.g. a proxy-wide bandwidth bucket). */
  readonly shared: Map<string, unknown>;
  readonly stats: FaultStatistics;
  lease?: LongTimer;
}

/** Removed faults whose statistics a proxy keeps (the oldest go first; ProxyStats counts the ones let go). */
export const RETAINED_REMOVED_FAULTS = 1000;

export class ActiveFaults {
  private readonly active = new Map<string, ActiveFault>();
  private readonly everHeld: ActiveFault[] = [];
  /** Removed faults no longer in history() (past RETAINED_REMOVED_FAULTS). */
  forgotten = 0;
  private nextOrder = 1;

  /** @param onLeaseExpired called when a fault's lease runs out while it is still active (the owner removes it). */
  constructor(private readonly onLeaseExpired: (f: ActiveFault) => void) {}

  /** Adds a normalised fault; FAULTLINE_INJECTOR_FAULT_EXISTS (409) when the name is taken. */
  add(info: FaultInfo): ActiveFault {
    if (this.active.has(info.name)) {
      throw new FaultlineError('FAULTLINE_INJECTOR_FAULT_EXISTS', `toxic already exists: ${info.name}`, { details: { status: 409 } });
    }
    const f: ActiveFault = {
      info,
      type: faultType(info.type),
      addedOrder: this.nextOrder++,
      shared: new Map(),
      stats: new FaultStatistics(info.type === 'latency' || info.type === 'loss'),
    };
    this.active.set(info.name, f);
    this.everHeld.push(f);
    this.armLease(f);
    return f;
  }

  /** The active fault; FAULTLINE_INJECTOR_FAULT_NOT_FOUND (404) when there is none by that name. */
  get(name: string): ActiveFault {
    const f = this.active.get(name);
    if (!f) throw new FaultlineError('FAULTLINE_INJECTOR_FAULT_NOT_FOUND', 'toxic not found', { details: { status: 404 } });
    return f;
  }

  find(name: string): ActiveFault | undefined {
    return this.active.get(name);
  }

  /** Removes it from the active set (its lease is cancelled, its statistics marked removed). */
  remove(name: string): ActiveFault {
    const f = this.get(name);
    this.active.delete(name);
    f.lease?.clear();
    f.stats.counters.active = false;
    f.stats.counters.removedAt = Date.now();
    f.stats.retire();
    this.forgetOldRemoved();
    return f;
  }

  /** (Re-)arms the lease from now, when the fault has a TTL. A lease past 2^31 ms uses a long timer (a plain one would fire after 1 ms). */
  armLease(f: ActiveFault): void {
    f.lease?.clear();
    if (f.info.ttlMs === undefined) return;
    f.info.expiresAt = Date.now() + f.info.ttlMs;
    f.lease = setLongTimeout(() => {
      if (this.active.get(f.info.name) === f) this.onLeaseExpired(f);
    }, f.info.ttlMs);
  }

  /** The active faults, in the order they were added. */
  values(): ActiveFault[] {
    return [...this.active.values()];
  }

  names(): string[] {
    return [...this.active.keys()];
  }

  private forgetOldRemoved(): void {
    let removed = this.everHeld.length - this.active.size;
    if (removed <= RETAINED_REMOVED_FAULTS) return;
    for (let i = 0; i < this.everHeld.length && removed > RETAINED_REMOVED_FAULTS; ) {
      const f = this.everHeld[i] as ActiveFault;
      if (this.active.get(f.info.name) === f) i++;
      else {
        this.everHeld.splice(i, 1);
        this.forgotten++;
        removed--;
      }
    }
  }

  /** Every fault added, active or removed (the last RETAINED_REMOVED_FAULTS removed ones). */
  history(): readonly ActiveFault[] {
    return this.everHeld;
  }
}
