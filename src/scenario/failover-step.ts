/**
 * The failover step of a scenario (and of `faultline selftest`): one failover drill (src/failover)
 * against a real PostgreSQL pair, with the built-in reference service serving the drill's readiness
 * view on GET /readyz while it runs. The step polls /readyz itself, over HTTP, and judges what a
 * load balancer would see: `writes_usable` false during the failover and true again after it, while
 * `status` stays `ready` (reads and ingest keep working).
 */
import { mkdirSync } from 'node:fs';
import { errorMessage, isFaultlineError } from '../shared/index.ts';
import { defaultFollowUp, findPgBinaries, runFailoverDrill, type DrillResult, type PgBinaries, type ReadinessView } from '../failover/index.ts';
import { startReferenceService, type ClusterView, type ReferenceService } from '../../fixtures/reference-service/index.ts';
import { injectorLinks } from './failover-links.ts';
import type { RunEvents } from './events.ts';
import type { Verdict } from './verdict.ts';
import type { DrillStepResult, FailoverDrillSpec, ReadyzPoll } from './failover-step-result.ts';

export const DRILL_STEP = 'failover-drill';

export interface FailoverStepOptions {
  spec: FailoverDrillSpec;
  seed: string;
  /** Evidence bundle directory (history.jsonl, timeline.json, …). */
  dir: string;
  events?: RunEvents;
  /** Poll interval of /readyz (default 25 ms). */
  pollMs?: number;
  /** Where the server binaries come from (default: findPgBinaries). */
  locatePostgres?: () => PgBinaries;
  /** Aborts the drill (SIGINT/SIGTERM, the run's maximum duration): the drill stops everything it started. */
  signal?: AbortSignal;
}

const key = (s: ReadyzPoll): string => `${s.http}|${s.status}|${s.writesUsable}|${s.role}|${s.epoch}|${s.error ?? ''}`;

/** Pure: the step's verdicts from the drill's check and the /readyz samples. */
export function judgeDrillStep(spec: FailoverDrillSpec, r: Pick<DrillStepResult, 'check' | 'readiness'>): Verdict[] {
  const base = (id: string, title: string): Pick<Verdict, 'id' | 'experiment' | 'title'> => ({ id: `${DRILL_STEP}/${id}`, experiment: DRILL_STEP, title });
  const out: Verdict[] = [];
  const c = r.check;
  out.push({
    ...base('invariants', `failover drill (${spec.fault}, ${spec.mode}): every invariant holds`),
    passed: c?.verdict === 'pass',
    expected: 'checker verdict pass, 0 violations',
    observed: c ? `${c.verdict}: ${c.reason}${c.violations.length ? ` (${c.violations.map((v) => v.invariant).join(', ')})` : ''}; RTO ${c.rto.ms === null ? 'n/a' : `${c.rto.ms} ms`}` : 'no check',
  });
  if (spec.mode === 'sync' || spec.fault === 'switchover') {
    out.push({
      ...base('rpo', 'no acknowledged write lost (RPO = 0)'),
      passed: c !== undefined && c.rpo.lostAcknowledgedWrites === 0,
      expected: '0 lost acknowledged writes',
      observed: c ? `${c.rpo.lostAcknowledgedWrites} lost of ${c.writes.ok} acknowledged` : 'no check',
    });
  }
  // writes_usable over the drill's own views (role known): true → false → true.
  const views = r.readiness.changes.filter((s) => s.http === 200 && s.writesUsable !== null && s.role !== 'unknown');
  const firstTrue = views.findIndex((s) => s.writesUsable === true);
  const falseAfter = firstTrue < 0 ? -1 : views.findIndex((s, i) => i > firstTrue && s.writesUsable === false);
  const trueAgain = falseAfter < 0 ? -1 : views.findIndex((s, i) => i > falseAfter && s.writesUsable === true);
  const f = views[falseAfter];
  const t = views[trueAgain];
  const epochs = (s: ReadyzPoll | undefined): string => (s?.epoch === null || s?.epoch === undefined ? '' : ` (epoch ${s.epoch})`);
  out.push({
    ...base('readyz-writes', '/readyz: writes_usable false during the failover, then true again'),
    passed: trueAgain >= 0,
    expected: 'true → false → true',
    observed:
      trueAgain >= 0 && f && t
        ? `false at ${(f.t / 1000).toFixed(2)}s${epochs(f)}, true again at ${(t.t / 1000).toFixed(2)}s${epochs(t)} (${Math.round(t.t - f.t)} ms not usable)`
        : `sequence ${views.map((s) => String(s.writesUsable)).join(' → ') || 'no drill view served'}`,
  });
  const { polls, non200, notReady } = r.readiness;
  out.push({
    ...base('readyz-status', '/readyz stays 200 "ready" throughout (reads and ingest keep flowing)'),
    passed: polls > 0 && non200 === 0 && notReady === 0,
    expected: `every poll 200, status ready`,
    observed: `${polls} polls, ${non200} not 200, ${notReady} not ready`,
  });
  return out;
}

/** One GET /readyz as a client sees it (t: ms since the step started). */
async function pollReadyz(url: string, t: number): Promise<ReadyzPoll> {
  const s: ReadyzPoll = { t, http: null, status: null, writesUsable: null, role: null, epoch: null };
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as Partial<ClusterView>;
    s.http = res.status;
    s.status = body.status ?? null;
    s.writesUsable = typeof body.cluster?.writes_usable === 'boolean' ? body.cluster.writes_usable : null;
    s.role = body.cluster?.writer?.role ?? null;
    s.epoch = typeof body.cluster?.writer?.epoch === 'number' ? body.cluster.writer.epoch : null;
  } catch (e) {
    s.error = errorMessage(e);
  }
  return s;
}

/**
 * Polls /readyz every `everyMs` from the drill's first readiness view on (before it the cluster is being
 * copied and started — synchronous file copies block this process, the service included — and there is
 * no view to judge), counting polls and keeping each change.
 */
function pollReadiness(url: string, into: DrillStepResult['readiness'], rel: () => number, hasView: () => boolean, everyMs: number): { stop(): Promise<void> } {
  let polling = true;
  let lastKey = '';
  const loop = async (): Promise<void> => {
    while (polling && !hasView()) await new Promise((r) => setTimeout(r, 10));
    while (polling) {
      const s = await pollReadyz(url, rel());
      into.polls++;
      if (s.http !== 200) into.non200++;
      if (s.status !== 'ready') into.notReady++;
      const k = key(s);
      if (k !== lastKey) {
        into.changes.push(s);
        lastKey = k;
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  };
  const done = loop();
  return {
    async stop() {
      polling = false;
      await done;
    },
  };
}

/** The drill's check as the step's result keeps it. */
function stepCheck(c: DrillResult['check']): NonNullable<DrillStepResult['check']> {
  return {
    verdict: c.verdict,
    reason: c.reason,
    violations: c.violations.map((v) => ({ invariant: v.invariant, message: v.message })),
    rpo: { lostAcknowledgedWrites: c.rpo.lostAcknowledgedWrites, windowMs: c.rpo.windowMs },
    rto: { ms: c.rto.ms },
    writes: { ok: c.counts.ok, fail: c.counts.fail, unknown: c.counts.info },
  };
}

/** Runs the drill with the reference service serving its readiness view; never throws. */
export async function runFailoverStep(o: FailoverStepOptions): Promise<DrillStepResult> {
  const t0 = performance.now();
  const rel = (): number => Math.round((performance.now() - t0) * 10) / 10;
  const { spec } = o;
  const result: DrillStepResult = {
    status: 'error',
    reason: '',
    fault: spec.fault,
    mode: spec.mode,
    seed: o.seed,
    wallMs: 0,
    readiness: { polls: 0, non200: 0, notReady: 0, changes: [] },
    verdicts: [],
  };
  try {
    (o.locatePostgres ?? findPgBinaries)();
  } catch (e) {
    if (isFaultlineError(e) && e.code === 'FAULTLINE_FAILOVER_NO_POSTGRES' && spec.ifNoPostgres === 'skip') {
      result.status = 'skipped';
      result.reason = `skipped: no PostgreSQL server binaries on this machine — ${e.message}`;
      o.events?.emit({ type: 'drill-skipped', reason: result.reason });
      return result;
    }
    result.reason = errorMessage(e);
    result.verdicts = judgeDrillStep(spec, result);
    return result;
  }

  let latest: ReadinessView | undefined;
  let service: ReferenceService;
  try {
    service = await startReferenceService({
      region: 'eu',
      clusterView: () =>
        latest
          ? { cluster: latest.cluster }
          : { cluster: { topology: { region: 'eu' }, writer: { role: 'unknown' }, writes_usable: false, retry_after_ms: spec.probeInterval * 2, state: 'starting' } },
    });
  } catch (e) {
    result.reason = `cannot start the reference service: ${errorMessage(e)}`;
    result.verdicts = judgeDrillStep(spec, result);
    return result;
  }
  result.serviceUrl = service.url;
  o.events?.emit({ type: 'drill-start', fault: spec.fault, mode: spec.mode, seed: o.seed, readyzUrl: `${service.url}/readyz` });

  const poller = pollReadiness(`${service.url}/readyz`, result.readiness, rel, () => latest !== undefined, o.pollMs ?? 25);
  let drill: DrillResult | undefined;
  try {
    mkdirSync(o.dir, { recursive: true });
    drill = await runFailoverDrill({
      mode: spec.mode,
      fault: spec.fault,
      seed: o.seed,
      links: injectorLinks,
      dir: o.dir,
      followUp: spec.followUp ?? defaultFollowUp(spec.fault),
      probeIntervalMs: spec.probeInterval,
      ...(o.signal ? { signal: o.signal } : {}),
      onReadiness: (v) => {
        latest = v;
      },
    });
  } catch (e) {
    result.reason = errorMessage(e);
  } finally {
    // One more poll after the drill's last view, then stop.
    await new Promise((r) => setTimeout(r, (o.pollMs ?? 25) * 2));
    await poller.stop();
    await service.close();
  }
  if (drill) {
    result.evidenceDir = drill.runDir;
    result.check = stepCheck(drill.check);
    result.timeline = { ...drill.timeline } as Record<string, number | undefined>;
    result.reason = drill.check.reason;
  }
  result.verdicts = judgeDrillStep(spec, result);
  if (drill) result.status = result.verdicts.every((v) => v.passed) ? 'passed' : 'failed';
  result.wallMs = Math.round(rel());
  o.events?.emit({ type: 'drill-end', result });
  return result;
}
