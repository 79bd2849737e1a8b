/**
 * The run stage (IO shell): starts the target and the injector, then runs each experiment —
 * baseline → inject → observe → heal → observe — with open-loop load feeding SLI outcomes into a
 * time-compressed SLO engine, probes at phase edges and continuously, abort conditions, and a
 * guaranteed heal (success, failure, exception, abort). Emits RunEvents for reporters.
 */
import { ExitCode, errorMessage, FaultlineError, parseHostPort, realClock, redactValue, type Clock } from '../shared/index.ts';
import { startProxy, type FaultInfo, type Proxy } from '../injector/index.ts';
import { runLoad, type LoadResult, type SliOutcome } from '../load/index.ts';
import { createSloEngine, type SloEngine, type SloSnapshot } from '../slo/index.ts';
import { startBackend, startReferenceService, type Backend, type ReferenceService } from '../../fixtures/reference-service/index.ts';
import type { ExperimentPlan, PhaseName, ScenarioModel, ScenarioPlan } from './model.ts';
import { ProbeRunner, type ProbeSample } from './probes.ts';
import { RunEvents, type ExperimentResult, type RunResult, type Verdict } from './events.ts';
import { judgeAll } from './verdict.ts';
import { startMetricsServer, type MetricsServer } from './metrics.ts';

export interface RunOptions {
  events?: RunEvents;
  signal?: AbortSignal;
  clock?: Clock;
  /** `host:port` (loopback) to serve live SLI counters, burn rates and alert states in Prometheus format. */
  metricsAddress?: string;
}

interface Environment {
  proxy: Proxy;
  loadUrl: string;
  probeBase: string;
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
        loadUrl: `${s.url}${spec.target.path}`,
        probeBase: s.url,
        close: async () => {
          await s.close();
          await p.stop();
          await b.close();
        },
      };
    }
    const url = new URL(spec.target.url as string);
    const upstream = spec.injector.upstream ?? `${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`;
    parseHostPort(upstream, 'injector.upstream');
    proxy = await startProxy({ name: 'target', listen: spec.injector.listen, upstream, seed: plan.seed });
    const p = proxy;
    return {
      proxy: p,
      loadUrl: `${url.protocol}//${p.listen}${spec.target.path}`,
      probeBase: url.origin,
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
  let seenTransitions = 0;
  let recentTotal = 0;
  let recentBad = 0;
  const recent: Array<{ t: number; good: boolean }> = [];
  const injections: Array<{ t: number; fault: FaultInfo }> = [];
  const heals: Array<{ t: number; faults: string[]; verified: boolean }> = [];
  const probeSamples: ProbeSample[] = [];
  let lastLatency: number[] = [];

  events.emit({ type: 'experiment-start', experiment: x.name, plan: x });
  events.emit({ type: 'phase', experiment: x.name, phase: 'baseline', t: 0 });

  const sink = {
    record(o: SliOutcome): void {
      const good = engine.recordOutcome(o.ok, o.latencyMs, o.completedAtMs);
      outcomesT.push(o.intendedAtMs - start);
      outcomesGood.push(good);
      recent.push({ t: o.completedAtMs - start, good });
      recentTotal++;
      if (!good) recentBad++;
      lastLatency.push(o.latencyMs);
      metrics?.record(good);
    },
  };

  const probes = new ProbeRunner(spec.probes, env.probeBase, rel, () => phase, (s) => {
    probeSamples.push(s);
    events.emit({ type: 'probe', experiment: x.name, sample: s });
    if (phase === 'baseline' && spec.aborts.probeFailures !== undefined && s.consecutiveFailures >= spec.aborts.probeFailures) {
      onAbort(`probe ${s.probe} failed ${s.consecutiveFailures} times in a row at baseline: ${s.detail}`);
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
        phase = 'inject';
        events.emit({ type: 'phase', experiment: x.name, phase: 'inject', t: rel() });
        for (const f of x.faults) {
          const info = env.proxy.addFault(f);
          injections.push({ t: rel(), fault: info });
          events.emit({ type: 'fault-injected', experiment: x.name, t: rel(), fault: info });
        }
      });
    }, x.injectAtMs),
  );
  timers.push(
    setTimeout(() => {
      phase = 'recover';
      events.emit({ type: 'phase', experiment: x.name, phase: 'recover', t: rel() });
      heal();
      void probes.edge();
    }, x.healAtMs),
  );

  // Live ticks: SLO evaluation, progress and abort checks, four times a second.
  const tick = setInterval(() => {
    const t = rel();
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
    const p99 = lat.length ? (lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))] as number) : null;
    lastLatency = lat.length > 5000 ? [] : lastLatency;
    const errorRatio = recentTotal > 0 ? recentBad / recentTotal : 0;
    metrics?.update(x.name, phase, snap);
    events.emit({ type: 'tick', experiment: x.name, t, phase, totalMs: x.totalMs, load: { sentPerSec: recentTotal, errorRatio, p99Ms: p99 }, slo: snap });
    const ab = spec.aborts;
    if (ab.errorRate && phase !== 'inject' && t > ab.errorRate.window && recentTotal >= 20 && errorRatio > ab.errorRate.above && phase === 'baseline') {
      onAbort(`error ratio ${(errorRatio * 100).toFixed(1)} % above ${(ab.errorRate.above * 100).toFixed(1)} % at ${phase}`);
    }
  }, 250);
  probes.start();

  let load: LoadResult;
  try {
    load = await runLoad({
      target: { kind: 'http', url: env.loadUrl },
      schedule: { type: 'constant', rate: spec.load.rate, duration: x.totalMs },
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
    outcomes: { t: outcomesT, good: outcomesGood, count: outcomesT.length },
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
  let error: string | undefined;
  let env: Environment | undefined;
  let metrics: MetricsServer | undefined;
  try {
    if (opts.metricsAddress) metrics = await startMetricsServer(opts.metricsAddress, model.slo.name);
    env = await setUp(model, plan);
    for (const x of plan.experiments) {
      if (abort.signal.aborted) break;
      current = x.name;
      experiments.push(await runExperiment(model, plan, x, env, events, clock, abort.signal, metrics, doAbort));
    }
  } catch (e) {
    error = errorMessage(e);
  } finally {
    if (maxTimer) clearTimeout(maxTimer);
    opts.signal?.removeEventListener('abort', onSignal);
    try {
      env?.proxy.heal();
    } finally {
      await env?.close().catch(() => {});
      await metrics?.close().catch(() => {});
    }
  }
  const status: RunResult['status'] = error !== undefined ? 'error' : abort.signal.aborted ? 'aborted' : experiments.every((x) => x.passed) ? 'passed' : 'failed';
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
  };
  if (abortCause) result.abort = abortCause;
  if (error !== undefined) result.error = error;
  events.emit({ type: 'run-end', result });
  return result;
}

export { FaultlineError };
