/**
 * The writer under test: the application's write path during the drill. The fenced writer probes
 * the writer endpoint, and writes only while the probe shows a primary stamped with the
 * controller's epoch (its insert is guarded on role and epoch too); the unfenced and role-only
 * controls keep writing to the original primary's address (stale DNS / pool) and must be caught by
 * the checker. It also serves the readiness view and spools telemetry ingest while writes are unusable.
 */
import pg from 'pg';
import { connect, destroy, IDENTITY_SQL, query, withDeadline, type PgTarget } from './postgres.ts';
import type { ClusterNode } from './provider.ts';
import type { DrillRecord } from './drill-record.ts';
import type { EpochStore } from './epoch-store.ts';

export type WriterKind = 'fenced' | 'unfenced' | 'role-only';

export interface ReadinessView {
  status: 'ready';
  cluster: {
    topology: { region: string };
    writer: { role: 'writer' | 'reader'; node: string; endpoint: string; epoch: number; probe_age_ms: number | null };
    writes_usable: boolean;
    retry_after_ms: number;
    state: 'stable' | 'flipping';
    reads_usable: boolean;
    ingest: { spooled: number; drained: number };
  };
}

/** What the controller currently says: its epoch, its writer node, whether it is mid-failover. */
export interface ControllerView {
  readonly epoch: number;
  readonly writer: ClusterNode;
  readonly state: 'stable' | 'flipping';
}

export interface WriterOptions {
  kind: WriterKind;
  /** The writer endpoint (the cluster's DNS name): a proxy the controller re-points. */
  endpoint: PgTarget;
  /** The original primary's own address: where the unfenced and role-only controls keep writing. */
  staleTarget: PgTarget;
  epochStore: EpochStore;
  record: DrillRecord;
  controller: () => ControllerView;
  /** Maps a node's reported identity to its name. */
  nodeOf: (identity: string) => string;
  probeIntervalMs: number;
  onReadiness?: (view: ReadinessView) => void;
  now?: () => number;
}

/** The last probe of the writer endpoint. */
interface Gate {
  usable: boolean;
  at: number;
  /** The ha_fence stamp the endpoint's node showed. */
  epoch: number;
  inRecovery: boolean;
  node: string;
}

const INSERT_SQL: Record<WriterKind, string> = {
  fenced: `insert into events (id, epoch, node_port) select $1, $2, inet_server_port() where not pg_is_in_recovery() and (select max(epoch) from ha_fence) = $2 returning (select ${IDENTITY_SQL}) as node`,
  'role-only': `insert into events (id, epoch, node_port) select $1, $2, inet_server_port() where not pg_is_in_recovery() returning (select ${IDENTITY_SQL}) as node`,
  unfenced: `insert into events (id, epoch, node_port) values ($1, $2, inet_server_port()) returning (select ${IDENTITY_SQL}) as node`,
};

export class WriterUnderTest {
  readonly retryAfterMs: number;
  /** Telemetry ingest: items spooled locally, drained into the database when writes are usable. */
  readonly spool = { spooled: 0, drained: 0, peak: 0 };
  private gate: Gate = { usable: false, at: -Infinity, epoch: 0, inRecovery: true, node: '' };
  /** The write connection (kept open between writes); close() destroys it. */
  private conn: pg.Client | undefined;
  private connTarget: PgTarget | undefined;
  private nextId = 1;
  private readonly now: () => number;

  constructor(private readonly o: WriterOptions) {
    this.retryAfterMs = Math.max(o.probeIntervalMs * 2, 200);
    this.now = o.now ?? (() => performance.now());
  }

  get fenced(): boolean {
    return this.o.kind === 'fenced';
  }

  /** Writes are usable while the last probe passed and is fresh (two probe intervals + 50 ms). */
  usable(): boolean {
    return this.gate.usable && this.now() - this.gate.at < 2 * this.o.probeIntervalMs + 50;
  }

  readinessView(): ReadinessView {
    const { epoch, writer, state } = this.o.controller();
    const g = this.gate;
    return {
      status: 'ready',
      cluster: {
        topology: { region: writer.region },
        writer: {
          role: !g.inRecovery && g.epoch === epoch ? 'writer' : 'reader',
          node: g.node || writer.name,
          endpoint: `${this.o.endpoint.host}:${this.o.endpoint.port}`,
          epoch,
          probe_age_ms: Number.isFinite(g.at) ? Math.round(this.now() - g.at) : null,
        },
        writes_usable: this.fenced ? this.usable() : true,
        retry_after_ms: this.retryAfterMs,
        state,
        reads_usable: true,
        ingest: { spooled: this.spool.spooled, drained: this.spool.drained },
      },
    };
  }

  /** One probe of the writer endpoint: role, stamp and identity against the controller's durable epoch. */
  async probe(): Promise<void> {
    let c: pg.Client | undefined;
    try {
      c = await connect(this.o.endpoint, 300);
      const r = await withDeadline(
        c.query<{ rec: boolean; epoch: string; node: string }>(`select pg_is_in_recovery() as rec, (select max(epoch) from ha_fence) as epoch, ${IDENTITY_SQL} as node`),
        300,
        () => destroy(c),
      );
      const row = r.rows[0]!;
      const controllerEpoch = this.o.epochStore.read();
      this.gate = { usable: !row.rec && Number(row.epoch) === controllerEpoch, at: this.now(), epoch: Number(row.epoch), inRecovery: row.rec, node: this.o.nodeOf(row.node) };
    } catch {
      this.gate = { ...this.gate, usable: false, at: this.now() };
    } finally {
      destroy(c);
    }
    const view = this.readinessView();
    this.o.record.readiness.push({ t: this.o.record.rel(), writesUsable: view.cluster.writes_usable, epoch: view.cluster.writer.epoch, stamp: this.gate.epoch, role: view.cluster.writer.role });
    this.o.onReadiness?.(view);
  }

  /** One write, recorded as invoke then ok / fail / info (unknown outcome). */
  async write(): Promise<void> {
    const { record, epochStore } = this.o;
    const history = record.history;
    const id = this.nextId++;
    history.push({ type: 'invoke', f: 'write', id, t: record.rel() });
    if (this.fenced && !this.usable()) {
      history.push({ type: 'fail', f: 'write', id, t: record.rel(), error: 'writes not usable (fenced)', retryAfterMs: this.retryAfterMs });
      return;
    }
    const e0 = epochStore.read();
    try {
      const c = await this.connection();
      let syncCancelled = false;
      const onNotice = (n: { message?: string }): void => {
        if (/canceling wait for synchronous replication/i.test(n.message ?? '')) syncCancelled = true;
      };
      c.on('notice', onNotice);
      const r = await withDeadline(c.query<{ node: string }>(INSERT_SQL[this.o.kind], [id, e0]), 500, () => this.close());
      c.off('notice', onNotice);
      if (r.rowCount === 0) {
        history.push({ type: 'fail', f: 'write', id, t: record.rel(), error: 'guard refused (role or epoch)', retryAfterMs: this.retryAfterMs });
        this.gate.usable = false;
        return;
      }
      const e1 = epochStore.read();
      const node = this.o.nodeOf(r.rows[0]!.node);
      if (this.fenced && (e1 !== e0 || syncCancelled)) {
        history.push({ type: 'info', f: 'write', id, t: record.rel(), node, epoch: e0, error: syncCancelled ? 'sync replication wait cancelled' : 'epoch moved during commit' });
        return;
      }
      history.push({ type: 'ok', f: 'write', id, t: record.rel(), node, epoch: e0 });
    } catch (e) {
      this.close();
      this.gate.usable = false;
      history.push({ type: 'info', f: 'write', id, t: record.rel(), error: (e as Error).message.slice(0, 120) });
    }
  }

  /** Spools one telemetry item; drains the spool when writes are usable (always for the controls). */
  async ingest(): Promise<void> {
    this.spool.spooled++;
    this.spool.peak = Math.max(this.spool.peak, this.spool.spooled - this.spool.drained);
    this.o.record.history.push({ type: 'ok', f: 'ingest', t: this.o.record.rel() });
    if (!this.fenced || this.usable()) await this.drainSpool();
  }

  /** Writes what is spooled as one telemetry row; on failure it stays spooled. */
  async drainSpool(): Promise<void> {
    if (this.spool.spooled <= this.spool.drained) return;
    try {
      const upTo = this.spool.spooled;
      await query(this.o.endpoint, 'insert into telemetry (items) values ($1)', [upTo - this.spool.drained], 300);
      this.spool.drained = upTo;
    } catch {
      // stays spooled
    }
  }

  /** Destroys the write connection (the next write opens a new one). */
  close(): void {
    destroy(this.conn);
    this.conn = undefined;
  }

  private async connection(): Promise<pg.Client> {
    const target = this.fenced ? this.o.endpoint : this.o.staleTarget;
    if (!this.conn || this.connTarget !== target) {
      this.close();
      this.conn = await connect(target, 300);
      this.connTarget = target;
    }
    return this.conn;
  }
}
