/**
 * The run stage (IO shell): starts the target and the injector, then runs each experiment —
 * baseline → inject → observe → heal → observe — with open-loop load feeding SLI outcomes into a
 * time-compressed SLO engine, probes at phase edges and continuously, abort conditions, and a
 * guaranteed heal (success, failure, exception, abort). Emits RunEvents for reporters.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode, errorMessage, FaultlineError, parseHostPort, percentileOfSorted, realClock, redactValue, type Clock } from '../shared/index.ts';
import { startProxy, type FaultInfo, type Proxy } from '../injector/index.ts';
import { runLoad, type LoadResult, type SliOutcome, type TargetSpec } from '../load/index.ts';
import { createSloEngine, type SloEngine, type SloSnapshot } from '../slo/index.ts';
import { startBackend, startReferenceService, type Backend, type ReferenceService } from '../../fixtures/reference-service/index.ts';
import type { ExperimentPlan, PhaseName, ScenarioModel, ScenarioPlan } from './model.ts';
import { ProbeRunner, type ProbeSample } from './probes.ts';
import { RunEvents, type ExperimentResult, type RunResult, type Verdict } from './events.ts';
import { judgeAll } from './verdict.ts';
import { startMetricsServer, type MetricsServer } from './metrics.ts';
import { runFailoverStep } from './failover-step.ts';

export interface RunOptions {
  events?: RunEvents;
  signal?: AbortSignal;
  clock?: Clock;
  /** `host:port` (loopback) to serve live SLI counters, burn rates and alert states in Prometheus format. */
  metricsAddress?: string;
  /** The run's report directory: the failover step writes its evidence bundle under `<dir>/failover-drill`. */
  evidenceDir?: string;
  /**
   * Called on every live tick (4×/s) with the experiment, its phase and ms since its start — a hook for
   * an external watchdog. Whatever it throws is a harness error: faults are healed at once, exit 4.
   */
  onTick?: (experiment: string, phase: PhaseName, t: number) => void;
}

interface Environment {
  proxy: Proxy;
  loadTarget: TargetSpec;
  /** Relative HTTP probe URLs resolve against this (the same path the load takes); none for an address target. */
  probeBase: string | undefined;
  close(): Promise<void>;
}

async function setUp(model: ScenarioModel, plan: ScenarioPlan): Promise<Environment> {
  const { spec } = model;
  let backend: Backend | undefined;
  let service: ReferenceService | undefined;
  let proxy: Proxy | undefined;
  try {
    if (spec.target.builtin === 'reference') {
      backend = await startBackend();
      proxy = await startProxy({ name: 'reference-backend', listen: spec.injector.listen, upstream: backend.address, seed: plan.seed });
      service = await startReferenceService({ backend: proxy.listen, backendTimeoutMs: 1000 });
      const s = service;
      const b = backend;
      const p = proxy;
      return {
        proxy: p,
        loadTarget: { kind: 'http', url: `${s.url}${spec.target.path}` },
        probeBase: s.url,
        close: async () => {
          await s.close();
          await p.stop();
          await b.close();
        },
      };
    }
    if (spec.target.address !== undefined) {
      const upstream = spec.injector.upstream ?? spec.target.address;
      parseHostPort(upstream, 'injector.upstream');
      proxy = await startProxy({ name: 'target', listen: spec.injector.listen, upstream, seed: plan.seed });
      const p = proxy;
      return { proxy: p, loadTarget: { kind: 'tcp', host: p.listenHost, port: p.listenPort }, probeBase: undefined, close: () => p.stop() };
    }
    const url = new URL(spec.target.url as string);
    const upstream = spec.injector.upstream ?? `${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`;
    parseHostPort(upstream, 'injector.upstream');
    proxy = await startProxy({ name: 'target', listen: spec.injector.listen, upstream, seed: plan.seed });
    const p = proxy;
    const proxied = `${url.protocol}//${p.listen}`;
    return {
      proxy: p,
      loadTarget: { kind: 'http', url: `${proxied}${spec.target.path}` },
      probeBase: proxied,
      close: () => p.stop(),
    };
  } catch (e) {
    await service?.close();
    await proxy?.stop();
    await backend?.close();
    throw e;
  }
}

function downsample<T>(xs: T[], max: number): T[] {
  if (xs.length <= max) return xs;
  const step = xs.length / max;
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(xs[Math.floor(i * step)] as T);
  out.push(xs[xs.length - 1] as T);
  return out;
}

async function runExperiment(
  model: ScenarioModel,
  plan: ScenarioPlan,
  x: ExperimentPlan,
  env: Environment,
  events: RunEvents,
  clock: Clock,
  runSignal: AbortSignal,
  metrics: MetricsServer | undefined,
  onAbort: (cause: string) => void,
  onFatal: (e: unknown) => void,
  onTickHook: RunOptions['onTick'],
): Promise<ExperimentResult> {
  const { spec, slo } = model;
  const startedAt = Date.now();
  const start = clock.now();
  const rel = (): number => clock.now() - start;
  let phase: PhaseName = 'baseline';
  const stop = new AbortController();
  const onRunAbort = (): void => stop.abort();
  runSignal.addEventListener('abort', onRunAbort, { once: true });

  const engine: SloEngine = createSloEngine({ slo, timeScale: plan.timeScale, clock, startMs: start, keepHistory: true });
  const outcomesT: number[] = [];
  const outcomesGood: boolean[] = [];
  const outcomesLatency: number[] = [];
  let seenTransitions = 0;
  let recentTotal = 0;
  let recentBad = 0;
  const recent: Array<{ t: number; good: boolean }> = [];
  // The error-rate abort's own sliding window (aborts.errorRate.window).
  const abortRule = spec.aborts.errorRate;
  const abortWin: Array<{ t: number; good: boolean }> = [];
  let abortTotal = 0;
  let abortBad = 0;
  const injections: Array<{ t: number; fault: FaultInfo }> = [];
  const heals: Array<{ t: number; faults: string[]; verified: boolean }> = [];
  const probeSamples: ProbeSample[] = [];
  let lastLatency: number[] = [];

  events.emit({ type: 'experiment-start', experiment: x.name, plan: x });
  const timeline: ExperimentResult['timeline'] = [];
  const enter = (p: PhaseName): void => {
    phase = p;
    // The error-rate abort judges each phase on its own outcomes.
    abortWin.length = 0;
    abortTotal = 0;
    abortBad = 0;
    const t = p === 'baseline' ? 0 : rel();
    timeline.push({ phase: p, t });
    events.emit({ type: 'phase', experiment: x.name, phase: p, t });
  };
  enter('baseline');

  const sink = {
    record(o: SliOutcome): void {
      // Warm-up requests (cold connections, JIT) count in the load report but never feed the SLO.
      if (o.intendedAtMs - start < spec.load.warmup) return;
      const good = engine.recordOutcome(o.ok, o.latencyMs, o.completedAtMs);
      outcomesT.push(o.intendedAtMs - start);
      outcomesGood.push(good);
      outcomesLatency.push(o.latencyMs);
      recent.push({ t: o.completedAtMs - start, good });
      recentTotal++;
      if (!good) recentBad++;
      if (abortRule && o.intendedAtMs - start >= (timeline.at(-1)?.t ?? 0)) {
        abortWin.push({ t: o.completedAtMs - start, good });
        abortTotal++;
        if (!good) abortBad++;
      }
      lastLatency.push(o.latencyMs);
      metrics?.record(good);
    },
  };

  const probes = new ProbeRunner(spec.probes, env.probeBase, rel, () => phase, (s) => {
    probeSamples.push(s);
    events.emit({ type: 'probe', experiment: x.name, sample: s });
    const pf = spec.aborts.probeFailures;
    if (pf && (pf.phases as string[]).includes(s.phase) && (!('probes' in pf) || !pf.probes || pf.probes.includes(s.probe)) && s.consecutiveFailures >= pf.after) {
      onAbort(`probe ${s.probe} failed ${s.consecutiveFailures} times in a row at ${s.phase}: ${s.detail}`);
    }
  });

  let healed = false;
  const heal = (): void => {
    if (healed) return;
    healed = true;
    const names = env.proxy.faults().map((f) => f.name);
    env.proxy.heal();
    const verified = env.proxy.faults().length === 0;
    heals.push({ t: rel(), faults: names, verified });
    events.emit({ type: 'fault-healed', experiment: x.name, t: rel(), faults: names, verified });
  };
  stop.signal.addEventListener('abort', heal, { once: true });

  const timers: NodeJS.Timeout[] = [];
  timers.push(
    setTimeout(() => {
      if (stop.signal.aborted) return;
      void probes.edge().then(() => {
        if (stop.signal.aborted) return;
        enter('inject');
        try {
          for (const f of x.faults) {
            const info = env.proxy.addFault(f);
            injections.push({ t: rel(), fault: info });
            events.emit({ type: 'fault-injected', experiment: x.name, t: rel(), fault: info });
          }
        } catch (e) {
          // A fault the injector refused: heal what went in, end as a harness error.
          onFatal(e);
          stop.abort();
        }
      });
    }, x.injectAtMs),
  );
  timers.push(
    setTimeout(() => {
      enter('recover');
      heal();
      void probes.edge();
    }, x.healAtMs),
  );

  // Live ticks: SLO evaluation, progress and abort checks, four times a second.
  const tick = setInterval(() => {
    try {
      onTick();
    } catch (e) {
      // An exception in the harness mid-run: heal at once (via stop), report a harness error.
      onFatal(e);
      stop.abort();
    }
  }, 250);
  const onTick = (): void => {
    const t = rel();
    onTickHook?.(x.name, phase, t);
    const snap: SloSnapshot = engine.evaluate(clock.now());
    const trs = engine.transitions();
    for (const tr of trs.slice(seenTransitions)) events.emit({ type: 'alert', experiment: x.name, transition: tr });
    seenTransitions = trs.length;
    while (recent.length > 0 && (recent[0] as { t: number }).t < t - 1000) {
      const r = recent.shift() as { t: number; good: boolean };
      recentTotal--;
      if (!r.good) recentBad--;
    }
    const lat = lastLatency.sort((a, b) => a - b);
    const p99 = percentileOfSorted(lat, 99);
    lastLatency = lat.length > 5000 ? [] : lastLatency;
    const errorRatio = recentTotal > 0 ? recentBad / recentTotal : 0;
    metrics?.update(x.name, phase, snap);
    events.emit({ type: 'tick', experiment: x.name, t, phase, totalMs: x.totalMs, load: { sentPerSec: recentTotal, errorRatio, p99Ms: p99 }, slo: snap });
    if (abortRule) {
      while (abortWin.length > 0 && (abortWin[0] as { t: number }).t < t - abortRule.window) {
        const r = abortWin.shift() as { t: number; good: boolean };
        abortTotal--;
        if (!r.good) abortBad--;
      }
      const ratio = abortTotal > 0 ? abortBad / abortTotal : 0;
      if ((abortRule.phases as string[]).includes(phase) && abortTotal >= abortRule.minRequests && ratio > abortRule.above) {
        onAbort(`error ratio ${(ratio * 100).toFixed(1)} % over the last ${abortRule.window / 1000}s above ${(abortRule.above * 100).toFixed(1)} % at ${phase}`);
      }
    }
  };
  probes.start();

  let load: LoadResult;
  try {
    load = await runLoad({
      target: env.loadTarget,
      schedule: { type: spec.load.schedule, rate: spec.load.rate, duration: x.totalMs },
      timeoutMs: spec.load.timeout,
      maxInFlight: spec.load.maxInFlight,
      warmupMs: spec.load.warmup,
      sli: {
        ...(spec.load.sli.goodStatus ? { goodStatus: spec.load.sli.goodStatus } : {}),
        ...(spec.load.sli.latencyThreshold ? { latencyThresholdMs: spec.load.sli.latencyThreshold } : {}),
      },
      sink,
      seed: `${plan.seed}/${x.name}`,
      clock,
      signal: stop.signal,
      phases: x.phases.map((p) => ({ name: p.name, startMs: p.startMs, endMs: p.endMs })),
    });
  } finally {
    for (const t of timers) clearTimeout(t);
    clearInterval(tick);
    heal();
    await probes.stop();
    runSignal.removeEventListener('abort', onRunAbort);
  }
  engine.evaluate(clock.now());
  for (const tr of engine.transitions().slice(seenTransitions)) events.emit({ type: 'alert', experiment: x.name, transition: tr });
  const intervals = engine.alertIntervals();
  const verdicts: Verdict[] = judgeAll(x, {
    intervals,
    outcomes: { t: outcomesT, good: outcomesGood, latencyMs: outcomesLatency, count: outcomesT.length },
    probes: probeSamples,
    healVerified: heals.every((h) => h.verified) && env.proxy.faults().length === 0,
    timeScale: plan.timeScale,
    warmupMs: spec.load.warmup,
  });
  const result: ExperimentResult = {
    name: x.name,
    plan: x,
    startedAt,
    aborted: stop.signal.aborted,
    load,
    slo: {
      timeScale: plan.timeScale,
      intervals,
      transitions: engine.transitions(),
      series: downsample(engine.series(), 600),
      budget: engine.budget(clock.now()),
    },
    timeline,
    injections,
    heals,
    injector: env.proxy.stats(),
    probes: probeSamples,
    verdicts,
    passed: !stop.signal.aborted && verdicts.every((v) => v.passed),
  };
  if (x.description !== undefined) result.description = x.description;
  events.emit({ type: 'experiment-end', result });
  return result;
}

/** Runs every experiment of the plan. Never throws for expectation failures; see RunResult.status. */
export async function runScenario(model: ScenarioModel, plan: ScenarioPlan, opts: RunOptions = {}): Promise<RunResult> {
  const events = opts.events ?? new RunEvents();
  const clock = opts.clock ?? realClock;
  const startedAt = Date.now();
  const t0 = clock.now();
  const abort = new AbortController();
  let abortCause: RunResult['abort'];
  let current: string | undefined;
  let error: string | undefined;
  const onFatal = (e: unknown): void => {
    error ??= errorMessage(e);
    abort.abort();
  };
  const doAbort = (cause: string): void => {
    if (abort.signal.aborted) return;
    abortCause = { cause, ...(current ? { experiment: current } : {}), t: clock.now() - t0 };
    events.emit({ type: 'abort', cause, ...(current ? { experiment: current } : {}), t: clock.now() - t0 });
    abort.abort();
  };
  const onSignal = (): void => doAbort(String(opts.signal?.reason ?? 'interrupted'));
  if (opts.signal?.aborted) onSignal();
  opts.signal?.addEventListener('abort', onSignal, { once: true });
  const maxDuration = model.spec.aborts.maxDuration;
  const maxTimer = maxDuration ? setTimeout(() => doAbort(`maximum duration ${maxDuration / 1000}s exceeded`), maxDuration) : undefined;

  events.emit({ type: 'run-start', plan, file: model.file, startedAt });
  const experiments: ExperimentResult[] = [];
  let env: Environment | undefined;
  let metrics: MetricsServer | undefined;
  let faultsLeft = 0;
  let drill: RunResult['drill'];
  try {
    if (opts.metricsAddress) metrics = await startMetricsServer(opts.metricsAddress, model.slo.name);
    env = await setUp(model, plan);
    for (const x of plan.experiments) {
      if (abort.signal.aborted) break;
      current = x.name;
      experiments.push(await runExperiment(model, plan, x, env, events, clock, abort.signal, metrics, doAbort, onFatal, opts.onTick));
    }
  } catch (e) {
    error ??= errorMessage(e);
  } finally {
    try {
      env?.proxy.heal();
      // Post-run verification: nothing is left injected.
      faultsLeft = env?.proxy.faults().length ?? 0;
    } finally {
      await env?.close().catch(() => {});
    }
  }
  const drillSpec = model.spec.failoverDrill;
  if (drillSpec && !abort.signal.aborted && error === undefined) {
    current = 'failover-drill';
    const dir = opts.evidenceDir ? join(opts.evidenceDir, 'failover-drill') : mkdtempSync(join(tmpdir(), 'faultline-drill-'));
    drill = await runFailoverStep({ spec: drillSpec, seed: `${plan.seed}-failover`, dir, events, signal: abort.signal });
    // Aborted mid-drill (SIGINT/SIGTERM, maximum duration): the run is aborted, not a harness error.
    if (drill.status === 'error' && !abort.signal.aborted) error = `failover drill: ${drill.reason}`;
  }
  if (maxTimer) clearTimeout(maxTimer);
  opts.signal?.removeEventListener('abort', onSignal);
  await metrics?.close().catch(() => {});
  const drillOk = drill === undefined || drill.status === 'passed' || drill.status === 'skipped';
  const status: RunResult['status'] =
    error !== undefined ? 'error' : abort.signal.aborted ? 'aborted' : experiments.every((x) => x.passed) && drillOk && faultsLeft === 0 ? 'passed' : 'failed';
  const exitCode =
    status === 'passed' ? ExitCode.passed : status === 'failed' ? ExitCode.expectationFailed : status === 'aborted' ? ExitCode.aborted : ExitCode.harnessError;
  const result: RunResult = {
    scenario: plan.name,
    file: model.file,
    seed: plan.seed,
    timeScale: plan.timeScale,
    status,
    exitCode,
    startedAt,
    endedAt: Date.now(),
    wallMs: clock.now() - t0,
    experiments,
    spec: redactValue(model.spec),
    cleanup: { faultsLeft, verified: faultsLeft === 0 },
  };
  if (drill) result.drill = drill;
  if (abortCause) result.abort = abortCause;
  if (error !== undefined) result.error = error;
  events.emit({ type: 'run-end', result });
  return result;
}

export { FaultlineError };
