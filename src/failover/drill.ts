/**
 * The failover drill: a PostgreSQL primary ("eu") and replica ("us") from a provider (native processes
 * or the user's infrastructure), replication through a link the provider can partition, clients
 * reaching the writer through a proxy (the writer endpoint, i.e. the cluster's DNS name). A controller
 * owns a durable, monotonic epoch; the writer under test fences on it. Every operation is recorded;
 * the checker judges the history against the final state.
 *
 * This file runs the drill's stages in order; each lives in its own file: the writer under test
 * (writer.ts), its workloads (workloads.ts), fault injection (fault-injection.ts), the controller
 * (controller.ts, acting through controller-actions.ts), follow-ups (follow-up.ts) and the final
 * state (final-state.ts).
 *
 * src/failover imports only src/shared: the proxies come in through the LinkProxyFactory.
 */
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, FaultlineError, redact, sleep as sleepOrAbort } from '../shared/index.ts';
import { nodeIdentity, query, waitFor, type PgTarget } from './postgres.ts';
import { nativeProvider, type ClusterNode, type ClusterProvider, type LinkProxy, type ProvidedCluster } from './provider.ts';
import { checkHistory, type CheckResult, type DrillFacts, type FinalState, type HistoryOp, type TimelineMarks } from './checker.ts';
import { checkProviderSupports, faultSchedule, type DrillFault, type DrillOptions, type FollowUp } from './drill-options.ts';
import { DrillRecord } from './drill-record.ts';
import { EpochStore } from './epoch-store.ts';
import { WriterUnderTest, type WriterKind } from './writer.ts';
import { startWorkloads, type Workloads } from './workloads.ts';
import { injectFault, resumeZombie, type InjectedFault } from './fault-injection.ts';
import { FailoverController, type ControllerDecision } from './controller.ts';
import { clusterControllerActions } from './controller-actions.ts';
import { rejoinedCaughtUp, runFollowUp, type Rejoin } from './follow-up.ts';
import { collectFinalState } from './final-state.ts';

export type { LinkProxy, LinkProxyFactory } from './provider.ts';

export interface DrillResult {
  runDir: string;
  seed: string;
  mode: 'sync' | 'async';
  fault: DrillFault;
  writer: WriterKind;
  followUp: FollowUp;
  provider: string;
  check: CheckResult;
  timeline: TimelineMarks;
  facts: DrillFacts;
  final: FinalState;
  evidence: Record<string, unknown>;
}

/** Maps each node's reported identity to its name; both must differ (FAULTLINE_FAILOVER_IDENTITY, exit 2). */
async function identities(nodes: ClusterNode[]): Promise<(identity: string) => string> {
  const byIdentity = new Map<string, string>();
  for (const n of nodes) byIdentity.set(await nodeIdentity(n.target), n.name);
  if (byIdentity.size !== nodes.length) throw new FaultlineError('FAULTLINE_FAILOVER_IDENTITY', 'both nodes report the same identity: give each a distinct cluster_name', { exitCode: ExitCode.invalidInput });
  return (identity) => byIdentity.get(identity) ?? identity;
}

/** What the drill started and must stop, whatever happens. */
interface Held {
  cluster?: ProvidedCluster;
  endpoint?: LinkProxy;
  writer?: WriterUnderTest;
  workloads?: Workloads;
}

/** One drill's settings and what every stage records into. */
interface DrillRun {
  opts: DrillOptions;
  seed: string;
  writerKind: WriterKind;
  followUp: FollowUp;
  record: DrillRecord;
  evidence: Record<string, unknown>;
  faultEvidence: Record<string, unknown>;
  sleep: (ms: number) => Promise<void>;
  checkAborted: () => void;
}

/** Cluster up, the writer endpoint (a proxy in front of the primary), and the controller with its durable epoch. */
async function setUpCluster(run: DrillRun, provider: ClusterProvider, held: Held) {
  const { opts, seed, record } = run;
  held.cluster = await provider.start({ runDir: opts.dir, seed, mode: opts.mode, links: opts.links, ...(opts.syncCommit ? { syncCommit: opts.syncCommit } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
  run.checkAborted();
  const cl = held.cluster;
  const A = cl.primary;
  run.evidence.postgres = cl.version;
  held.endpoint = await opts.links('writer-endpoint', `${A.target.host}:${A.target.port}`, seed);
  const ep = held.endpoint;
  const endpointTarget: PgTarget = { ...A.target, host: ep.host, port: ep.port };
  const nodeOf = await identities([A, cl.replica]);
  // The controller's durable epoch (tmp → fsync → rename), beside the evidence; it starts at the primary's stamp.
  const epochStore = new EpochStore(join(opts.dir, 'controller-epoch.json'));
  const controller = new FailoverController({
    fault: opts.fault,
    followUp: run.followUp,
    primary: A,
    candidate: cl.replica,
    initialEpoch: cl.initialEpoch,
    epochStore,
    record,
    actions: clusterControllerActions(cl, ep, endpointTarget, run.faultEvidence, record),
    sleep: run.sleep,
    checkAborted: run.checkAborted,
  });
  return { cl, ep, endpointTarget, nodeOf, epochStore, controller };
}

/** Keeps writing for a while after the cut, then stops and drains; heals replication, marks reconvergence, waits for a rejoined node to catch up. */
async function quiesce(run: DrillRun, injected: InjectedFault, s: { cl: ProvidedCluster; endpointTarget: PgTarget; controller: FailoverController; writer: WriterUnderTest; workloads: Workloads; rejoin: Rejoin | undefined }): Promise<void> {
  const { opts, record } = run;
  const after = record.timeline.fenced ?? injected.at;
  const firstWriteAfter = (): HistoryOp | undefined => record.history.find((o) => o.f === 'write' && o.type === 'ok' && o.t > after);
  await waitFor('the first acknowledged write after the failover', async () => opts.signal?.aborted === true || firstWriteAfter() !== undefined, run.writerKind === 'fenced' ? 10_000 : 1500, 20).catch(() => {});
  run.checkAborted();
  record.timeline.firstWrite = firstWriteAfter()?.t;
  await run.sleep(800);
  await s.workloads.stop();
  s.writer.close();
  if (s.writer.fenced) await s.writer.drainSpool();
  record.timeline.end = record.rel();
  run.checkAborted();
  if (opts.fault === 'partition') await s.cl.healReplication();
  // Reconverged (when no rejoin says otherwise): the writer endpoint serves the current epoch.
  if (record.timeline.reconverged === undefined) {
    const stamped = await query<{ epoch: string }>(s.endpointTarget, 'select max(epoch) as epoch from ha_fence', [], 2000).catch(() => []);
    if (Number(stamped[0]?.epoch) === s.controller.epoch) record.timeline.reconverged = record.rel();
  }
  // The rejoined node must have replayed everything before it is compared with the new primary.
  if (s.rejoin) s.rejoin.caughtUp = await rejoinedCaughtUp(s.cl.primary, s.cl.replica);
}

/** The facts the checker judges the history by. */
function drillFacts(run: DrillRun, injected: InjectedFault, decision: ControllerDecision, cl: ProvidedCluster, writer: WriterUnderTest, rejoin: Rejoin | undefined): DrillFacts {
  const { opts, record } = run;
  return {
    mode: opts.mode,
    fault: opts.fault,
    writer: run.writerKind,
    timeline: record.timeline,
    epochs: record.epochs,
    readiness: record.readiness,
    predictedLagBytes: injected.predictedLagBytes,
    telemetryBackupRpoMs: opts.telemetryBackupRpoMs ?? 300_000,
    failover: decision.failover,
    ...(decision.fence ? { fence: decision.fence } : {}),
    followUp: decision.failover ? run.followUp : 'none',
    initialEpoch: cl.initialEpoch,
    ingest: { ...writer.spool },
    ...(rejoin ? { rejoin } : {}),
  };
}

export async function runFailoverDrill(opts: DrillOptions): Promise<DrillResult> {
  const writerKind = opts.writer ?? 'fenced';
  const followUp: FollowUp = opts.followUp ?? 'none';
  const provider = opts.provider ?? nativeProvider();
  checkProviderSupports(provider, opts.fault, followUp);
  const seed = String(opts.seed);
  const schedule = faultSchedule(seed);
  const probeIntervalMs = opts.probeIntervalMs ?? 100;
  const runDir = opts.dir;
  mkdirSync(runDir, { recursive: true });
  const checkAborted = (): void => {
    if (opts.signal?.aborted) throw new FaultlineError('FAULTLINE_FAILOVER_ABORTED', 'the failover drill was aborted; every process it started was stopped', { exitCode: ExitCode.aborted });
  };
  const sleep = (ms: number): Promise<void> => sleepOrAbort(ms, opts.signal);
  checkAborted();
  const started = performance.now();
  const record = new DrillRecord();
  const evidence: Record<string, unknown> = { provider: provider.name, schedule };
  const faultEvidence: Record<string, unknown> = {};
  const run: DrillRun = { opts, seed, writerKind, followUp, record, evidence, faultEvidence, sleep, checkAborted };
  const held: Held = {};

  try {
    // --- cluster up ---------------------------------------------------------------------------
    const { cl, ep, endpointTarget, nodeOf, epochStore, controller } = await setUpCluster(run, provider, held);
    const A = cl.primary;
    const B = cl.replica;
    evidence.setupMs = Math.round(performance.now() - started);

    // --- the writer under test and the other workloads ---------------------------------------------
    const writer = new WriterUnderTest({
      kind: writerKind,
      endpoint: endpointTarget,
      staleTarget: A.target,
      epochStore,
      record,
      controller: () => controller,
      nodeOf,
      probeIntervalMs,
      ...(opts.onReadiness ? { onReadiness: opts.onReadiness } : {}),
    });
    held.writer = writer;
    const workloads = startWorkloads(writer, [B, A], record, probeIntervalMs, opts.signal);
    held.workloads = workloads;

    // --- healthy baseline, the fault, the controller ----------------------------------------------
    await sleep(schedule.baselineMs);
    checkAborted();
    const injected = await injectFault(opts.fault, cl, ep, schedule, record, sleep, faultEvidence);
    const decision = await controller.handle(injected);
    if (decision.note) faultEvidence.controller = decision.note;
    faultEvidence.fence = decision.fence ?? 'none';
    checkAborted();

    // --- the zombie resumes; follow-ups --------------------------------------------------------------
    if (opts.fault === 'pause') await resumeZombie(cl, A, schedule.resumeDelayMs, injected, record, sleep);
    const followed = decision.failover ? await runFollowUp(followUp, cl, A, B, controller.epoch, (faultEvidence.timeline as { after: number } | undefined)?.after ?? 0, record) : { evidence: { kind: 'none' } };
    evidence.followUp = followed.evidence;
    const rejoin = followed.rejoin;

    // --- quiesce: keep writing for a while after the cut, then stop and drain -----------------------
    await quiesce(run, injected, { cl, endpointTarget, controller, writer, workloads, rejoin });

    // --- final state from the authoritative node --------------------------------------------------------
    const final = await collectFinalState(controller.writer, [A, B]);
    const facts = drillFacts(run, injected, decision, cl, writer, rejoin);
    evidence.fault = faultEvidence;
    evidence.proxies = { writerEndpoint: ep.stats() };
    evidence.cluster = cl.evidence();
    evidence.ingest = { ...writer.spool };
    const check = checkHistory(record.history, final, facts);
    writeEvidence(runDir, record.history, final, facts, check, evidence);
    return { runDir, seed, mode: opts.mode, fault: opts.fault, writer: writerKind, followUp: facts.followUp ?? 'none', provider: provider.name, check, timeline: record.timeline, facts, final, evidence };
  } finally {
    await held.workloads?.stop().catch(() => {});
    held.writer?.close();
    await held.cluster?.teardown().catch(() => {});
    await held.endpoint?.stop().catch(() => {});
  }
}

/** Writes the evidence bundle: history.jsonl, timeline.json, final state, check, server logs stay beside. */
export function writeEvidence(runDir: string, history: HistoryOp[], final: FinalState, facts: DrillFacts, check: CheckResult, evidence: Record<string, unknown>): void {
  writeFileSync(join(runDir, 'history.jsonl'), history.map((o) => JSON.stringify(o)).join('\n') + '\n');
  writeFileSync(join(runDir, 'timeline.json'), `${JSON.stringify({ timeline: facts.timeline, epochs: facts.epochs }, null, 2)}\n`);
  writeFileSync(join(runDir, 'facts.json'), `${JSON.stringify(facts, null, 2)}\n`);
  writeFileSync(join(runDir, 'final-state.json'), `${JSON.stringify(final, null, 2)}\n`);
  writeFileSync(join(runDir, 'check.json'), `${JSON.stringify(check, null, 2)}\n`);
  writeFileSync(join(runDir, 'evidence.json'), redact(`${JSON.stringify(evidence, null, 2)}\n`));
}

/** Re-runs the checker offline on an evidence bundle. */
export function recheck(runDir: string): CheckResult {
  const read = <T>(f: string): T => {
    try {
      return JSON.parse(readFileSync(join(runDir, f), 'utf8')) as T;
    } catch (e) {
      throw new FaultlineError('FAULTLINE_FAILOVER_BUNDLE', `cannot read ${join(runDir, f)}: ${(e as Error).message}`, { exitCode: 2 });
    }
  };
  const historyText = (() => {
    try {
      return readFileSync(join(runDir, 'history.jsonl'), 'utf8');
    } catch (e) {
      throw new FaultlineError('FAULTLINE_FAILOVER_BUNDLE', `cannot read ${join(runDir, 'history.jsonl')}: ${(e as Error).message}`, { exitCode: 2 });
    }
  })();
  const history = historyText.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as HistoryOp);
  return checkHistory(history, read<FinalState>('final-state.json'), read<DrillFacts>('facts.json'));
}
