/**
 * Named stages: spec (YAML) → validate (schema + cross-checks, errors with file/line/field) → model
 * → plan (a pure timeline of phases, faults and expectations per experiment).
 */
import { dirname, resolve } from 'node:path';
import { assertAllowed, expectKind, InputError, InputErrors, lineOf, networkPolicy, parseCidr, parseHostPort, readYamlSource, parseYamlSource, validateSpec, type NetworkPolicy, type SpecSource } from '../shared/index.ts';
import { normaliseFault, type FaultSpec } from '../injector/index.ts';
import { DEFAULT_HISTORY, loadSloFile, toSloDefinition, type HistorySpec, type SloDefinition } from '../slo/index.ts';
import { scenarioSchema, type ExperimentSpec, type ProbeSpec, type ScenarioSpec } from './spec.ts';
import { probeHosts } from './probes.ts';

export interface ScenarioModel {
  file: string;
  /** The line of a field in the file (for errors that arise after validation, e.g. a listen address in use). */
  lineOf?: (path: ReadonlyArray<string | number>) => number | undefined;
  spec: ScenarioSpec;
  slo: SloDefinition;
  /** Loopback plus `network.allow` and `--allow-network`: every address the run may reach or listen on. */
  network: NetworkPolicy;
  /** What the SLO windows hold when each experiment starts (`slo.history`, default the measured baseline). */
  history: HistorySpec;
}

export interface ValidateOptions {
  /** CIDRs from the command line (`--allow-network`), added to the scenario's `network.allow`. */
  allowNetwork?: readonly string[];
}

/**
 * The scenario's network allowlist, and every address it names checked against it (targets, the
 * injector's listener and upstream, probe hosts). Nothing is resolved or dialled.
 */
function checkNetwork(src: SpecSource, spec: ScenarioSpec, opts: ValidateOptions, problems: InputError[]): NetworkPolicy {
  const cli = [...(opts.allowNetwork ?? [])];
  cli.forEach((c) => parseCidr(c, '--allow-network'));
  const fromFile: string[] = [];
  spec.network.allow.forEach((c, i) =>
    check(src, problems, ['network', 'allow', i], () => {
      parseCidr(c, '');
      fromFile.push(c);
    }),
  );
  const policy = networkPolicy([...fromFile, ...cli]);
  const at = (path: Array<string | number>, host: string, what: string): void => check(src, problems, path, () => assertAllowed(host, what, undefined, policy));
  const t = spec.target;
  if (t.url !== undefined) at(['target', 'url'], new URL(t.url).hostname, 'target URL host');
  if (t.address !== undefined) at(['target', 'address'], parseHostPort(t.address).host, 'target address');
  at(['injector', 'listen'], parseHostPort(spec.injector.listen).host, "injector's listen address");
  if (spec.injector.upstream !== undefined) at(['injector', 'upstream'], parseHostPort(spec.injector.upstream).host, 'injector upstream');
  spec.probes.forEach((p, i) => {
    for (const h of probeHosts(p)) at(['probes', i, ...h.field.split('.')], h.host, h.what);
  });
  if (spec.rollout?.loadBalancer) at(['rollout', 'loadBalancer', 'url'], new URL(spec.rollout.loadBalancer.url).hostname, 'load balancer URL host');
  return policy;
}

export type PhaseName = 'baseline' | 'inject' | 'recover';

export interface PlannedPhase {
  name: PhaseName;
  startMs: number;
  endMs: number;
}

export interface PlannedExpectation {
  id: string;
  /** One line a person reads in the verdict table and in JUnit. */
  title: string;
  kind: 'alert-fires' | 'alert-clears' | 'alert-quiet' | 'steady-baseline' | 'latency-baseline' | 'steady-recovery' | 'recovery-time' | 'probe-fails' | 'probe-passes' | 'healed';
  tier?: string;
  probe?: string;
  withinMs?: number;
  /** Alert fire/clear judged against the burn-rate prediction: the allowed relative deviation (0.15 = 15 %). */
  tolerance?: number;
  maxErrorRatio?: number;
  probes?: boolean;
}

export interface ExperimentPlan {
  name: string;
  description?: string;
  phases: PlannedPhase[];
  totalMs: number;
  injectAtMs: number;
  healAtMs: number;
  faults: FaultSpec[];
  expectations: PlannedExpectation[];
}

export interface ScenarioPlan {
  name: string;
  seed: string;
  timeScale: number;
  experiments: ExperimentPlan[];
  totalMs: number;
}

function check(src: SpecSource, problems: InputError[], path: Array<string | number>, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) {
      const inner = e.location.field ? `.${e.location.field}` : '';
      const field = path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') + inner;
      const msg = e.message.replace(/^.*?field '[^']*': /, '');
      problems.push(new InputError(e.code, msg, { file: src.file, line: lineOf(src, path), field }));
    } else throw e;
  }
}

/** Validates a scenario source: schema, then fault types/attributes, SLO tiers and probe names. */
/** What checking an experiment needs from the whole scenario; problems are collected, not thrown. */
interface ScenarioChecks {
  problems: InputError[];
  expNames: Set<string>;
  probeNames: Set<string>;
  tiers: Set<string>;
  slo: SloDefinition | undefined;
}

/** Probe names are unique, relative probe URLs need an HTTP target, the abort rule names known probes. Returns the names. */
function checkProbes(src: SpecSource, spec: ScenarioSpec, problems: InputError[]): Set<string> {
  const probeNames = new Set<string>();
  spec.probes.forEach((p, i) => {
    if (probeNames.has(p.name)) problems.push(new InputError('FAULTLINE_SCENARIO_PROBE', `duplicate probe name '${p.name}'`, { file: src.file, line: lineOf(src, ['probes', i, 'name']), field: `probes[${i}].name` }));
    probeNames.add(p.name);
  });
  spec.probes.forEach((p, i) => {
    const kind = 'http' in p ? 'http' : 'bundle' in p ? 'bundle' : undefined;
    const url = 'http' in p ? p.http.url : 'bundle' in p ? p.bundle.url : undefined;
    if (spec.target.address !== undefined && kind && url !== undefined && !/^[a-z]+:\/\//i.test(url)) {
      problems.push(
        new InputError('FAULTLINE_SCENARIO_PROBE', `relative probe URL '${url}' needs an HTTP target (url or builtin); give an absolute URL with an address target`, {
          file: src.file,
          line: lineOf(src, ['probes', i, kind, 'url']),
          field: `probes[${i}].${kind}.url`,
        }),
      );
    }
  });
  const pf = spec.aborts.probeFailures;
  if (pf && 'probes' in pf) {
    (pf.probes ?? []).forEach((name, j) => {
      if (!probeNames.has(name)) {
        problems.push(new InputError('FAULTLINE_SCENARIO_PROBE', `unknown probe '${name}'`, { file: src.file, line: lineOf(src, ['aborts', 'probeFailures', 'probes', j]), field: `aborts.probeFailures.probes[${j}]` }));
      }
    });
  }
  return probeNames;
}

/** One experiment: a unique name, distinct fault names, known tiers and probes, observed expectations that can be watched. */
function checkExperiment(src: SpecSource, spec: ScenarioSpec, x: ExperimentSpec, i: number, c: ScenarioChecks): void {
  const { problems, expNames, probeNames, tiers, slo } = c;
  if (expNames.has(x.name)) problems.push(new InputError('FAULTLINE_SCENARIO_EXPERIMENT', `duplicate experiment name '${x.name}'`, { file: src.file, line: lineOf(src, ['experiments', i, 'name']), field: `experiments[${i}].name` }));
  expNames.add(x.name);
  const faultNames = new Set<string>();
  x.inject.faults.forEach((f, j) => {
    check(src, problems, ['experiments', i, 'inject', 'faults', j], () => {
      const name = normaliseFault(toFaultSpec(f, x.inject.duration)).name;
      if (faultNames.has(name)) {
        throw new InputError('FAULTLINE_SCENARIO_FAULT', `two faults named '${name}' in one experiment; give one a distinct name`, { field: 'name' });
      }
      faultNames.add(name);
    });
  });
  for (const tier of Object.keys(x.expect.alerts)) {
    if (slo && !tiers.has(tier)) {
      problems.push(
        new InputError('FAULTLINE_SCENARIO_TIER', `unknown alert tier '${tier}' (the SLO has: ${[...tiers].join(', ')})`, {
          file: src.file,
          line: lineOf(src, ['experiments', i, 'expect', 'alerts', tier]),
          field: `experiments[${i}].expect.alerts.${tier}`,
        }),
      );
    }
  }
  x.expect.observed.forEach((o, j) => checkObserved(src, spec, o, i, j, c));
  for (const key of ['probesFailDuringInject', 'probesPass'] as const) {
    (x.expect[key] ?? []).forEach((name, j) => {
      if (!probeNames.has(name)) {
        problems.push(
          new InputError('FAULTLINE_SCENARIO_PROBE', `unknown probe '${name}'`, {
            file: src.file,
            line: lineOf(src, ['experiments', i, 'expect', key, j]),
            field: `experiments[${i}].expect.${key}[${j}]`,
          }),
        );
      }
    });
  }
}

/** One `expect.observed` entry: its monitoring source is configured, its tier exists, its regex matchers compile. */
function checkObserved(src: SpecSource, spec: ScenarioSpec, o: ExperimentSpec['expect']['observed'][number], i: number, j: number, c: ScenarioChecks): void {
  const { problems, tiers, slo } = c;
  const at = (...rest: Array<string | number>): { file: string; line: number | undefined; field: string } => ({
    file: src.file,
    line: lineOf(src, ['experiments', i, 'expect', 'observed', j, ...rest]),
    field: `experiments[${i}].expect.observed[${j}]${rest.map((r) => `.${r}`).join('')}`,
  });
  if (o.source === 'prometheus' && !spec.monitoring?.prometheus) {
    problems.push(new InputError('FAULTLINE_SCENARIO_MONITORING', 'source: prometheus needs monitoring.prometheus.url', at('source')));
  }
  if (o.source === 'alertmanager' && !spec.monitoring?.alertmanager?.receiver) {
    problems.push(new InputError('FAULTLINE_SCENARIO_MONITORING', "source: alertmanager needs monitoring.alertmanager.receiver (faultline's webhook receiver)", at('source')));
  }
  if (o.tier !== undefined && slo && !tiers.has(o.tier)) {
    problems.push(new InputError('FAULTLINE_SCENARIO_TIER', `unknown alert tier '${o.tier}' (the SLO has: ${[...tiers].join(', ')})`, at('tier')));
  }
  for (const [label, value] of Object.entries(o.alert)) {
    if (!/^(=~|!~)/.test(value)) continue;
    try {
      new RegExp(value.slice(2));
    } catch (e) {
      problems.push(new InputError('FAULTLINE_SCENARIO_MONITORING', `invalid regular expression: ${(e as Error).message}`, at('alert', label)));
    }
  }
}

/**
 * Monitoring a game day reads (and faultline's receiver, the reference service's listener): loopback
 * unless the scenario's network allowlist admits them, like targets and probe hosts.
 */
function checkMonitoringHosts(src: SpecSource, spec: ScenarioSpec, network: NetworkPolicy, problems: InputError[]): void {
  const mon = spec.monitoring;
  const allowed = (path: Array<string | number>, host: string, what: string): void => check(src, problems, path, () => assertAllowed(host, what, undefined, network));
  if (mon?.prometheus) allowed(['monitoring', 'prometheus', 'url'], new URL(mon.prometheus.url).hostname, 'Prometheus URL host');
  if (mon?.alertmanager?.url) allowed(['monitoring', 'alertmanager', 'url'], new URL(mon.alertmanager.url).hostname, 'Alertmanager URL host');
  if (mon?.alertmanager?.receiver) allowed(['monitoring', 'alertmanager', 'receiver', 'listen'], parseHostPort(mon.alertmanager.receiver.listen).host, "faultline's alert receiver listen address");
  if (spec.target.listen !== undefined) allowed(['target', 'listen'], parseHostPort(spec.target.listen).host, "the reference service's listen address");
}

export function validateScenario(src: SpecSource, opts: ValidateOptions = {}): ScenarioModel {
  expectKind(src, 'Experiment');
  const spec = validateSpec(src, scenarioSchema);
  const problems: InputError[] = [];
  const network = checkNetwork(src, spec, opts, problems);
  let slo: SloDefinition | undefined;
  check(src, problems, ['slo'], () => {
    slo = 'file' in spec.slo ? loadSloFile(resolve(dirname(src.file), spec.slo.file)) : toSloDefinition(spec.slo);
  });
  const tiers = new Set(slo?.policy.map((t) => t.name) ?? []);
  const probeNames = checkProbes(src, spec, problems);
  const expNames = new Set<string>();
  spec.experiments.forEach((x, i) => checkExperiment(src, spec, x, i, { problems, expNames, probeNames, tiers, slo }));
  checkMonitoringHosts(src, spec, network, problems);
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) throw new InputErrors('FAULTLINE_SCENARIO_INVALID', problems);
  return { file: src.file, lineOf: (path) => lineOf(src, path), spec, slo: slo as SloDefinition, network, history: spec.slo.history ?? DEFAULT_HISTORY };
}

export function loadScenario(file: string, opts: ValidateOptions = {}): ScenarioModel {
  return validateScenario(readYamlSource(file), opts);
}

export function parseScenario(text: string, file = '<inline>', opts: ValidateOptions = {}): ScenarioModel {
  return validateScenario(parseYamlSource(text, file), opts);
}

export function toFaultSpec(f: ExperimentSpec['inject']['faults'][number], injectMs: number): FaultSpec {
  const spec: FaultSpec = { type: f.type, ttlMs: f.ttl ?? injectMs + 30_000 };
  if (f.name !== undefined) spec.name = f.name;
  if (f.stream !== undefined) spec.stream = f.stream;
  if (f.toxicity !== undefined) spec.toxicity = f.toxicity;
  if (f.attributes !== undefined) spec.attributes = f.attributes;
  return spec;
}

/** The pure plan: phase timeline, faults and expectations of each experiment. */
export function planScenario(model: ScenarioModel, seedOverride?: string): ScenarioPlan {
  const { spec } = model;
  const experiments = spec.experiments.map((x): ExperimentPlan => {
    const injectAtMs = x.baseline;
    const healAtMs = x.baseline + x.inject.duration;
    const totalMs = healAtMs + x.recover;
    const expectations: PlannedExpectation[] = [];
    const fmt = (ms: number): string => `${ms / 1000}s`;
    const pctOf = (f: number): string => `${Number((f * 100).toFixed(3))} %`;
    for (const [tier, a] of Object.entries(x.expect.alerts)) {
      if (a.fires === false) {
        expectations.push({ id: `${x.name}/${tier}/quiet`, title: `${tier} does not fire (and the burn-rate maths agrees)`, kind: 'alert-quiet', tier });
        continue;
      }
      if (typeof a.fires === 'object') {
        expectations.push({ id: `${x.name}/${tier}/fires`, title: `${tier} fires as predicted (± ${pctOf(a.fires.tolerance)}), or not at all if so predicted`, kind: 'alert-fires', tier, tolerance: a.fires.tolerance });
      } else {
        expectations.push({
          id: `${x.name}/${tier}/fires`,
          title: `${tier} fires${a.within ? ` within ${fmt(a.within)} of inject start` : ' during the experiment'}`,
          kind: 'alert-fires',
          tier,
          ...(a.within ? { withinMs: a.within } : {}),
        });
      }
      // The clear follows the prediction when asked, or by default with the predicted fire form.
      const clears = a.clearsWithin ?? (typeof a.fires === 'object' ? a.fires : undefined);
      if (typeof clears === 'object') {
        expectations.push({ id: `${x.name}/${tier}/clears`, title: `${tier} clears as predicted (± ${pctOf(clears.tolerance)})`, kind: 'alert-clears', tier, tolerance: clears.tolerance });
        continue;
      }
      expectations.push({
        id: `${x.name}/${tier}/clears`,
        title: `${tier} clears${clears ? ` within ${fmt(clears)} of heal` : ' before the end'}`,
        kind: 'alert-clears',
        tier,
        ...(clears ? { withinMs: clears } : {}),
      });
    }
    const ss = x.expect.steadyState ?? { maxErrorRatio: 0.01, probes: true };
    const pctText = `${Number((ss.maxErrorRatio * 100).toFixed(3))} %`;
    expectations.push({ id: `${x.name}/steady/baseline`, title: `steady state at baseline (error ratio ≤ ${pctText}${ss.probes ? ', probes pass' : ''}, no alert)`, kind: 'steady-baseline', maxErrorRatio: ss.maxErrorRatio, probes: ss.probes });
    if (x.expect.baselineLatency !== undefined) {
      expectations.push({ id: `${x.name}/latency/baseline`, title: `latency normal at baseline (p99 under ${fmt(x.expect.baselineLatency.p99Below)})`, kind: 'latency-baseline', withinMs: x.expect.baselineLatency.p99Below });
    }
    expectations.push({ id: `${x.name}/steady/recovery`, title: `steady state after recovery (error ratio ≤ ${pctText}${ss.probes ? ', probes pass' : ''})`, kind: 'steady-recovery', maxErrorRatio: ss.maxErrorRatio, probes: ss.probes });
    if (x.expect.recoveryWithin !== undefined) {
      expectations.push({ id: `${x.name}/recovery-time`, title: `error ratio back to steady state within ${fmt(x.expect.recoveryWithin)} of heal`, kind: 'recovery-time', withinMs: x.expect.recoveryWithin, maxErrorRatio: ss.maxErrorRatio });
    }
    for (const p of x.expect.probesFailDuringInject ?? []) {
      expectations.push({ id: `${x.name}/probe/${p}/fails`, title: `probe ${p} fails during inject (the fault is real)`, kind: 'probe-fails', probe: p });
    }
    for (const p of x.expect.probesPass ?? []) {
      expectations.push({ id: `${x.name}/probe/${p}/passes`, title: `probe ${p} passes at every sample`, kind: 'probe-passes', probe: p });
    }
    expectations.push({ id: `${x.name}/healed`, title: 'nothing left injected after the experiment', kind: 'healed' });
    const plan: ExperimentPlan = {
      name: x.name,
      phases: [
        { name: 'baseline', startMs: 0, endMs: injectAtMs },
        { name: 'inject', startMs: injectAtMs, endMs: healAtMs },
        { name: 'recover', startMs: healAtMs, endMs: totalMs },
      ],
      totalMs,
      injectAtMs,
      healAtMs,
      faults: x.inject.faults.map((f) => toFaultSpec(f, x.inject.duration)),
      expectations,
    };
    if (x.description !== undefined) plan.description = x.description;
    return plan;
  });
  return {
    name: spec.metadata.name,
    seed: seedOverride ?? String(spec.seed ?? 1),
    timeScale: spec.timeScale,
    experiments,
    totalMs: experiments.reduce((a, x) => a + x.totalMs, 0),
  };
}

export type { ProbeSpec };
