/**
 * The run stage (IO shell): starts the target and the injector, then runs each experiment —
 * baseline → inject → observe → heal → observe — with open-loop load feeding SLI outcomes into a
 * time-compressed SLO engine, probes at phase edges and continuously, abort conditions, and a
 * guaranteed heal (success, failure, exception, abort). Emits RunEvents for reporters.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode, errorMessage, FaultlineError, parseHostPort, percentileOfSorted, realClock, redactValue, type Clock } from '../shared/index.ts';
import { startProxy, type Proxy } from '../injector/index.ts';
import { runLoad, type LoadResult, type SliOutcome, type TargetSpec } from '../load/index.ts';
import { createSloEngine, type SloEngine, type SloSnapshot } from '../slo/index.ts';
import { startBackend, startReferenceService, type Backend, type ReferenceService } from '../../fixtures/reference-service/index.ts';
import type { ExperimentPlan, PhaseName, ScenarioModel, ScenarioPlan } from './model.ts';
import { ProbeRunner, type ProbeSample } from './probes.ts';
import { RunEvents, type ExperimentResult, type LoadTick, type RunResult } from './events.ts';
import { judgeAll, type Verdict } from './verdict.ts';
import { startMetricsServer, type MetricsServer } from './metrics.ts';
import { runFailoverStep, type FailoverStepOptions } from './failover-step.ts';
import { runRollout } from './rollout-step.ts';
import { startMonitoring, type MonitoringSession } from './monitoring.ts';
import { SlidingRatio } from './sliding-ratio.ts';
import { ExperimentSlo } from './slo-history.ts';
import { errorRateAbort, probeFailureAbort } from './abort-rules.ts';
import { listenFlag, listenNamed } from './listen-error.ts';
import { harnessCheck } from './harness-check.ts';

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
  /** Environment variables probes may read (bundle header values, secret references). The CLI passes its env. */
  env?: Record<string, string | undefined>;
  /** A skipped part (e.g. the failover drill without PostgreSQL) still lets the run pass (`--allow-skip`). Default: the run ends SKIPPED, exit 5. */
  allowSkip?: boolean;
  /** Test seam: how the failover step finds PostgreSQL (default: on PATH, pg_config, /usr/lib/postgresql). */
  locatePostgres?: FailoverStepOptions['locatePostgres'];
}

interface Environment {
  proxy: Proxy;
  loadTarget: TargetSpec;
  /** Relative HTTP probe URLs resolve against this (the same path the load takes); none for an address target. */
  probeBase: string | undefined;
  /** What probes read as environment: the CLI's, plus the built-in reference service's secrets. */
  probeEnv: Record<string, string | undefined>;
  close(): Promise<void>;
}

/**
 * The built-in reference service runs with a database URL, an envelope key and an admin token made
 * fresh for each run, so its support bundle can be checked for them by reference. Probes see them as
 * these environment variables (the real process environment is not changed).
 */
export const REFERENCE_SECRET_ENV = {
  databasePassword: 'FAULTLINE_REFERENCE_DB_PASSWORD',
  envelopeKey: 'FAULTLINE_REFERENCE_ENVELOPE_KEY',
  adminToken: 'FAULTLINE_REFERENCE_ADMIN_TOKEN',
} as const;

async function setUp(model: ScenarioModel, plan: ScenarioPlan, userEnv: Record<string, string | undefined>): Promise<Environment> {
  const { spec } = model;
  let backend: Backend | undefined;
  let service: ReferenceService | undefined;
  let proxy: Proxy | undefined;
  // The injector listens where the file says; a bind failure names injector.listen.
  const startInjector = (name: string, upstream: string): Promise<Proxy> =>
    listenNamed(model, ['injector', 'listen'], spec.injector.listen, () => startProxy({ name, listen: spec.injector.listen, upstream, seed: plan.seed, network: model.network }));
  try {
    if (spec.target.builtin === 'reference') {
      backend = await startBackend();
      proxy = await startInjector('reference-backend', backend.address);
      const secret = (): string => randomBytes(24).toString('base64url');
      const dbPassword = secret();
      const envelopeKey = randomBytes(32).toString('hex');
      const adminToken = secret();
      const at = spec.target.listen !== undefined ? parseHostPort(spec.target.listen, 'target.listen') : undefined;
      const backendAddress = proxy.listen;
      service = await listenNamed(model, ['target', 'listen'], spec.target.listen ?? '127.0.0.1:0', () =>
        startReferenceService({
          backend: backendAddress,
          backendTimeoutMs: 1000,
          ...(at ? { host: at.host, port: at.port } : {}),
          diagnostics: { databaseUrl: `postgres://reference:${dbPassword}@127.0.0.1:5432/reference`, envelopeKey, adminToken },
        }),
      );
      const s = service;
      const b = backend;
      const p = proxy;
      return {
        proxy: p,
        loadTarget: { kind: 'http', url: `${s.url}${spec.target.path}` },
        probeBase: s.url,
        probeEnv: { ...userEnv, [REFERENCE_SECRET_ENV.databasePassword]: dbPassword, [REFERENCE_SECRET_ENV.envelopeKey]: envelopeKey, [REFERENCE_SECRET_ENV.adminToken]: adminToken },
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
      proxy = await startInjector('target', upstream);
      const p = proxy;
      return { proxy: p, loadTarget: { kind: 'tcp', host: p.listenHost, port: p.listenPort }, probeBase: undefined, probeEnv: userEnv, close: () => p.stop() };
    }
    const url = new URL(spec.target.url as string);
    const upstream = spec.injector.upstream ?? `${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`;
    parseHostPort(upstream, 'injector.upstream');
    proxy = await startInjector('target', upstream);
    const p = proxy;
    const proxied = `${url.protocol}//${p.listen}`;
    return {
      proxy: p,
      loadTarget: { kind: 'http', url: `${proxied}${spec.target.path}` },
      probeBase: proxied,
      probeEnv: userEnv,
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

/** Everything one experiment needs from the run around it. */
interface ExperimentContext {
  model: ScenarioModel;
  plan: ScenarioPlan;
  experiment: ExperimentPlan;
  env: Environment;
  events: RunEvents;
  clock: Clock;
  /** The run's abort: when it fires, the experiment stops its load and heals. */
  runSignal: AbortSignal;
  metrics: MetricsServer | undefined;
  /** Aborts the run with this cause (exit 3). */
  onAbort: (cause: string) => void;
  /** Ends the run as a harness error (exit 4). */
  onFatal: (e: unknown) => void;
  onTick: RunOptions['onTick'];
}

/** The live progress line's window: outcomes completed in the last second. */
const PROGRESS_WINDOW_MS = 1000;
const TICK_MS = 250;

/**
 * One experiment's run: the phase clock, the faults, the outcomes fed to the SLO engine and the
 * verdicts, the probes, the live ticks and the abort rules. `run()` is the only entry point.
 */
class ExperimentRun {
  private readonly x: ExperimentPlan;
  private readonly start: number;
  private readonly startedAt = Date.now();
  private readonly stop = new AbortController();
  private readonly engine: SloEngine;
  /** The windows' assumed history (`slo.history`) and the predictions. */
  private readonly slo: ExperimentSlo;
  private readonly probes: ProbeRunner;
  private phase: PhaseName = 'baseline';
  private readonly timeline: ExperimentResult['timeline'] = [];
  private readonly injections: ExperimentResult['injections'] = [];
  private readonly heals: ExperimentResult['heals'] = [];
  private readonly probeSamples: ProbeSample[] = [];
  /** Every post-warm-up outcome, for the verdicts (t = intended send time since the start). */
  private readonly outcomes = { t: [] as number[], good: [] as boolean[], latencyMs: [] as number[] };
  private readonly lastSecond = new SlidingRatio(PROGRESS_WINDOW_MS);
  /** The error-rate abort's window (`aborts.errorRate.window`), emptied at each phase start: each phase is judged on its own outcomes. */
  private readonly phaseErrors: SlidingRatio | undefined;
  private seenTransitions = 0;
  private healed = false;
  /** When the experiment was stopped early (ms since its start). */
  private abortedAtMs: number | undefined;

  constructor(private readonly ctx: ExperimentContext) {
    this.x = ctx.experiment;
    this.start = ctx.clock.now();
    const rule = ctx.model.spec.aborts.errorRate;
    this.phaseErrors = rule ? new SlidingRatio(rule.window) : undefined;
    this.engine = createSloEngine({ slo: ctx.model.slo, timeScale: ctx.plan.timeScale, clock: ctx.clock, startMs: this.start, keepHistory: true });
    const { spec } = ctx.model;
    this.slo = new ExperimentSlo({ engine: this.engine, history: ctx.model.history, startMs: this.start, warmupMs: spec.load.warmup, plannedRate: spec.load.rate });
    this.slo.begin();
    this.probes = new ProbeRunner(ctx.model.spec.probes, ctx.env.probeBase, () => this.rel(), () => this.phase, (s) => this.onProbe(s), ctx.env.probeEnv, ctx.model.network);
  }

  private rel(): number {
    return this.ctx.clock.now() - this.start;
  }

  async run(): Promise<ExperimentResult> {
    const { events, runSignal } = this.ctx;
    const onRunAbort = (): void => this.stop.abort();
    runSignal.addEventListener('abort', onRunAbort, { once: true });
    events.emit({ type: 'experiment-start', experiment: this.x.name, plan: this.x });
    this.enter('baseline');
    this.stop.signal.addEventListener(
      'abort',
      () => {
        this.abortedAtMs = this.rel();
        this.heal();
      },
      { once: true },
    );
    const timers = [setTimeout(() => this.injectAfterEdgeProbes(), this.x.injectAtMs), setTimeout(() => this.recover(), this.x.healAtMs)];
    const ticker = setInterval(() => this.guarded(() => this.tick()), TICK_MS);
    this.probes.start();
    let load: LoadResult;
    try {
      load = await this.runLoad();
    } finally {
      for (const t of timers) clearTimeout(t);
      clearInterval(ticker);
      this.heal();
      await this.probes.stop();
      runSignal.removeEventListener('abort', onRunAbort);
    }
    return this.result(load);
  }

  /** Runs `fn`; whatever it throws is a harness error mid-run: heal at once (via stop), report it. */
  private guarded(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.ctx.onFatal(e);
      this.stop.abort();
    }
  }

  private enter(p: PhaseName): void {
    this.phase = p;
    this.phaseErrors?.clear();
    const t = p === 'baseline' ? 0 : this.rel();
    this.timeline.push({ phase: p, t });
    this.ctx.events.emit({ type: 'phase', experiment: this.x.name, phase: p, t });
  }

  private injectAfterEdgeProbes(): void {
    if (this.stop.signal.aborted) return;
    void this.probes.edge().then(() => {
      if (this.stop.signal.aborted) return;
      const injectAt = this.ctx.clock.now();
      this.enter('inject');
      // A fault the injector refuses: heal what went in, end as a harness error.
      this.guarded(() => {
        for (const f of this.x.faults) {
          const info = this.ctx.env.proxy.addFault(f);
          this.injections.push({ t: this.rel(), fault: info });
          this.ctx.events.emit({ type: 'fault-injected', experiment: this.x.name, t: this.rel(), fault: info });
        }
      });
      // The baseline as measured up to inject becomes the windows' history; the evaluations so far are
      // redone with it (after the faults go in, so that work never delays them).
      this.guarded(() => this.slo.atInject(injectAt));
      this.seenTransitions = Math.min(this.seenTransitions, this.engine.transitions().length);
    });
  }

  private recover(): void {
    this.enter('recover');
    this.heal();
    void this.probes.edge();
  }

  /** Removes every fault, once; records whether the injector then reports none. */
  private heal(): void {
    if (this.healed) return;
    this.healed = true;
    const { proxy } = this.ctx.env;
    const names = proxy.faults().map((f) => f.name);
    proxy.heal();
    const verified = proxy.faults().length === 0;
    this.heals.push({ t: this.rel(), faults: names, verified });
    this.ctx.events.emit({ type: 'fault-healed', experiment: this.x.name, t: this.rel(), faults: names, verified });
  }

  private record(o: SliOutcome): void {
    const { spec } = this.ctx.model;
    const intended = o.intendedAtMs - this.start;
    // Warm-up requests (cold connections, JIT) count in the load report but never feed the SLO.
    if (intended < spec.load.warmup) return;
    const good = this.engine.recordOutcome(o.ok, o.latencyMs, o.completedAtMs);
    this.outcomes.t.push(intended);
    this.outcomes.good.push(good);
    this.outcomes.latencyMs.push(o.latencyMs);
    const completed = o.completedAtMs - this.start;
    this.lastSecond.add(completed, good, o.latencyMs);
    // Only requests sent in the current phase count against it.
    if (intended >= (this.timeline.at(-1)?.t ?? 0)) this.phaseErrors?.add(completed, good);
    this.ctx.metrics?.record(good);
  }

  private onProbe(s: ProbeSample): void {
    this.probeSamples.push(s);
    this.ctx.events.emit({ type: 'probe', experiment: this.x.name, sample: s });
    const rule = this.ctx.model.spec.aborts.probeFailures;
    const cause = rule && probeFailureAbort(rule, s);
    if (cause) this.ctx.onAbort(cause);
  }

  /** A live tick: SLO evaluation, alert events, the progress line's numbers, metrics and the error-rate abort. */
  private tick(): void {
    const { events, clock, metrics } = this.ctx;
    const t = this.rel();
    this.ctx.onTick?.(this.x.name, this.phase, t);
    const snap: SloSnapshot = this.engine.evaluate(clock.now());
    this.emitNewTransitions();
    this.lastSecond.slideTo(t);
    const load: LoadTick = { completedPerSec: this.lastSecond.count, errorRatio: this.lastSecond.ratio, p99Ms: percentileOfSorted(this.lastSecond.sortedLatencies(), 99) };
    metrics?.update(this.x.name, this.phase, snap);
    events.emit({ type: 'tick', experiment: this.x.name, t, phase: this.phase, totalMs: this.x.totalMs, load, slo: snap });
    const rule = this.ctx.model.spec.aborts.errorRate;
    if (rule && this.phaseErrors) {
      this.phaseErrors.slideTo(t);
      const cause = errorRateAbort(rule, this.phase, this.phaseErrors);
      if (cause) this.ctx.onAbort(cause);
    }
  }

  private emitNewTransitions(): void {
    const trs = this.engine.transitions();
    for (const tr of trs.slice(this.seenTransitions)) this.ctx.events.emit({ type: 'alert', experiment: this.x.name, transition: tr });
    this.seenTransitions = trs.length;
  }

  private runLoad(): Promise<LoadResult> {
    const { spec } = this.ctx.model;
    return runLoad({
      target: this.ctx.env.loadTarget,
      schedule: { type: spec.load.schedule, rate: spec.load.rate, duration: this.x.totalMs },
      timeoutMs: spec.load.timeout,
      maxInFlight: spec.load.maxInFlight,
      network: this.ctx.model.network,
      warmupMs: spec.load.warmup,
      sli: {
        ...(spec.load.sli.goodStatus ? { goodStatus: spec.load.sli.goodStatus } : {}),
        ...(spec.load.sli.latencyThreshold ? { latencyThresholdMs: spec.load.sli.latencyThreshold } : {}),
      },
      sink: { record: (o) => this.record(o) },
      seed: `${this.ctx.plan.seed}/${this.x.name}`,
      clock: this.ctx.clock,
      signal: this.stop.signal,
      phases: this.x.phases.map((p) => ({ name: p.name, startMs: p.startMs, endMs: p.endMs })),
    });
  }

  private result(load: LoadResult): ExperimentResult {
    const { clock, plan, env, model } = this.ctx;
    this.engine.evaluate(clock.now());
    this.emitNewTransitions();
    const intervals = this.engine.alertIntervals();
    const aborted = this.stop.signal.aborted;
    const phaseAt = (p: PhaseName): number | undefined => {
      const t = this.timeline.find((e) => e.phase === p)?.t;
      return t === undefined ? undefined : this.start + t;
    };
    const forecast = this.slo.forecast(phaseAt('inject'), phaseAt('recover'), clock.now());
    const verdicts: Verdict[] = judgeAll(this.x, {
      intervals,
      ...(forecast ? { forecast } : {}),
      outcomes: { ...this.outcomes, count: this.outcomes.t.length },
      probes: this.probeSamples,
      healVerified: this.heals.every((h) => h.verified) && env.proxy.faults().length === 0,
      timeScale: plan.timeScale,
      warmupMs: model.spec.load.warmup,
      ...(aborted ? { aborted: { phasesStarted: this.timeline.map((p) => p.phase), atMs: this.abortedAtMs ?? this.rel() } } : {}),
    });
    const result: ExperimentResult = {
      name: this.x.name,
      plan: this.x,
      startedAt: this.startedAt,
      aborted,
      load,
      slo: {
        timeScale: plan.timeScale,
        intervals,
        transitions: this.engine.transitions(),
        series: downsample(this.engine.series(), 600),
        budget: this.engine.budget(clock.now()),
        history: this.slo.history(),
        forecast,
      },
      timeline: this.timeline,
      injections: this.injections,
      heals: this.heals,
      injector: env.proxy.stats(),
      probes: this.probeSamples,
      verdicts,
      passed: !aborted && verdicts.every((v) => v.passed),
    };
    result.harness = harnessCheck(load, result.passed);
    if (this.x.description !== undefined) result.description = this.x.description;
    this.ctx.events.emit({ type: 'experiment-end', result });
    return result;
  }
}

/**
 * Sets up the environment and monitoring, runs the plan's experiments in order (until the run is
 * aborted) into `experiments`, then heals and closes everything, also when an experiment throws.
 * `cleanup` gets how many faults were still injected after the final heal (post-run verification: must be 0).
 */
async function runExperiments(
  model: ScenarioModel,
  plan: ScenarioPlan,
  opts: RunOptions,
  events: RunEvents,
  experiments: ExperimentResult[],
  contextFor: (x: ExperimentPlan) => Omit<ExperimentContext, 'env'>,
  cleanup: (faultsLeft: number) => void,
): Promise<void> {
  let env: Environment | undefined;
  let monitoring: MonitoringSession | undefined;
  try {
    monitoring = await startMonitoring(model, events);
    env = await setUp(model, plan, opts.env ?? {});
    for (const [i, x] of plan.experiments.entries()) {
      const ctx: ExperimentContext = { ...contextFor(x), env };
      if (ctx.runSignal.aborted) break;
      // Real monitoring (scenario `monitoring:`): watched from the experiment's start until its observed expectations settle.
      const watch = monitoring?.watch(x, model.spec.experiments[i]?.expect.observed ?? []);
      const result = await new ExperimentRun(ctx).run();
      experiments.push(watch ? await watch.finish(result, ctx.runSignal) : result);
    }
  } finally {
    await monitoring?.close().catch(() => {});
    try {
      env?.proxy.heal();
      cleanup(env?.proxy.faults().length ?? 0);
    } finally {
      await env?.close().catch(() => {});
    }
  }
}

/** The run's status and exit code from its parts; a skipped part is never a silent pass unless the user allowed skips. */
export function runOutcome(o: {
  error: string | undefined;
  aborted: boolean;
  experiments: ExperimentResult[];
  drill: RunResult['drill'];
  rollout: RunResult['rollout'];
  faultsLeft: number;
  allowSkip: boolean;
}): { status: RunResult['status']; exitCode: number; skipped: string[] } {
  const drillOk = o.drill === undefined || o.drill.status === 'passed' || o.drill.status === 'skipped';
  const allPassed = o.experiments.every((x) => x.passed) && drillOk && (o.rollout === undefined || o.rollout.status === 'passed') && o.faultsLeft === 0;
  const passedOrNot: RunResult['status'] = o.error !== undefined ? 'error' : o.aborted ? 'aborted' : allPassed ? 'passed' : 'failed';
  const skipped = o.drill?.status === 'skipped' ? [`failover drill: ${o.drill.reason}`] : [];
  const status: RunResult['status'] = passedOrNot === 'passed' && skipped.length > 0 && !o.allowSkip ? 'skipped' : passedOrNot;
  const exitCode = { passed: ExitCode.passed, skipped: ExitCode.skipped, failed: ExitCode.expectationFailed, aborted: ExitCode.aborted, error: ExitCode.harnessError }[status];
  return { status, exitCode, skipped };
}

/** `--metrics`: the live metrics endpoint; a bind failure names the flag. */
function startMetrics(address: string, slo: string): Promise<MetricsServer> {
  return listenFlag('--metrics', address, () => startMetricsServer(address, slo));
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
  let metrics: MetricsServer | undefined;
  let faultsLeft = 0;
  let drill: RunResult['drill'];
  try {
    if (opts.metricsAddress) {
      metrics = await startMetrics(opts.metricsAddress, model.slo.name);
      events.emit({ type: 'metrics-listening', url: metrics.url });
    }
    const contextFor = (x: ExperimentPlan): Omit<ExperimentContext, 'env'> => {
      current = x.name;
      return { model, plan, experiment: x, events, clock, runSignal: abort.signal, metrics, onAbort: doAbort, onFatal, onTick: opts.onTick };
    };
    await runExperiments(model, plan, opts, events, experiments, contextFor, (n) => (faultsLeft = n));
  } catch (e) {
    error ??= errorMessage(e);
  }
  if (model.spec.failoverDrill && !abort.signal.aborted && error === undefined) {
    current = 'failover-drill';
    const dir = opts.evidenceDir ? join(opts.evidenceDir, 'failover-drill') : mkdtempSync(join(tmpdir(), 'faultline-drill-'));
    drill = await runFailoverStep({ spec: model.spec.failoverDrill, seed: `${plan.seed}-failover`, dir, events, signal: abort.signal, ...(opts.locatePostgres ? { locatePostgres: opts.locatePostgres } : {}) });
    // Aborted mid-drill (SIGINT/SIGTERM, maximum duration): the run is aborted, not a harness error.
    if (drill.status === 'error' && !abort.signal.aborted) error = `failover drill: ${drill.reason}`;
  }
  // The rollout drill (scenario `rollout:`) after the experiments and the failover step.
  let rollout: RunResult['rollout'];
  if (model.spec.rollout && !abort.signal.aborted && error === undefined) {
    current = 'rollout';
    rollout = await runRollout({ spec: model.spec.rollout, seed: `${plan.seed}-rollout`, signal: abort.signal, network: model.network });
    if (rollout.status === 'error' && !abort.signal.aborted) error = `rollout: ${rollout.reason}`;
  }
  if (maxTimer) clearTimeout(maxTimer);
  opts.signal?.removeEventListener('abort', onSignal);
  await metrics?.close().catch(() => {});
  const { status, exitCode, skipped } = runOutcome({ error, aborted: abort.signal.aborted, experiments, drill, rollout, faultsLeft, allowSkip: opts.allowSkip === true });
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
    ...(skipped.length > 0 ? { skipped } : {}),
    ...(drill ? { drill } : {}),
    ...(rollout ? { rollout } : {}),
    ...(abortCause ? { abort: abortCause } : {}),
    ...(error !== undefined ? { error } : {}),
  };
  events.emit({ type: 'run-end', result });
  return result;
}

export { FaultlineError };
