/**
 * Scenario spec (YAML, `apiVersion: faultline/v1`, `kind: Experiment`) → validated model.
 *
 * A scenario names the target, the injector, the load, the SLO, probes, aborts and one or more
 * experiments. Every experiment has the fixed shape healthy baseline → inject → observe → heal →
 * observe, and its own expectations. Experiments run one after another, each with a fresh SLO
 * engine and load, against the same target and injector.
 */
import { z } from 'zod';
import { loadSpecFile, loadSpecText, durationSchema, positiveDurationSchema } from '../shared/index.ts';
import { historySchema, sloSchema } from '../slo/index.ts';
import { FOLLOW_UPS, type FollowUp } from '../failover/index.ts';
import { rolloutSchema } from './rollout-spec.ts';
import { monitoringSchema, observedExpectationSchema } from './monitoring-spec.ts';

const duration = durationSchema;
const positiveDuration = positiveDurationSchema;
const phaseName = z.enum(['baseline', 'inject', 'recover']);
const hostPort = z.string().regex(/^(\[[^\]]+\]|[^:\s]+):\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:8080');

export const faultSchema = z
  .object({
    type: z.string().min(1),
    name: z.string().optional(),
    stream: z.enum(['upstream', 'downstream', 'both']).optional(),
    toxicity: z.number().min(0).max(1).optional(),
    attributes: z.record(z.string(), z.unknown()).optional(),
    /** Lease: heal by itself after this long even if the harness dies. Default: the inject duration + 30 s. */
    ttl: positiveDuration.optional(),
  })
  .strict();

const jsonAssertion = z
  .object({
    path: z.string().min(1),
    equals: z.unknown().optional(),
    exists: z.boolean().optional(),
  })
  .strict();

const probeCommon = {
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'probe names: letters, digits, dot, dash, underscore'),
  /** Continuous polling interval (default 1s). */
  interval: positiveDuration.default(1000),
  timeout: positiveDuration.default(1000),
  /** Consecutive failures before the probe counts as failing. */
  failAfter: z.number().int().positive().default(1),
};

export const probeSchema = z.union([
  z
    .object({
      ...probeCommon,
      http: z
        .object({
          url: z.string().min(1),
          method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
          status: z.number().int().min(100).max(599).default(200),
          json: z.array(jsonAssertion).optional(),
        })
        .strict(),
    })
    .strict(),
  z.object({ ...probeCommon, tcp: z.object({ address: hostPort }).strict() }).strict(),
  z.object({ ...probeCommon, sql: z.object({ connectionString: z.string().min(1), query: z.string().default('select 1') }).strict() }).strict(),
  z.object({ ...probeCommon, command: z.object({ run: z.array(z.string()).min(1), exitCode: z.number().int().default(0) }).strict() }).strict(),
  z
    .object({
      ...probeCommon,
      /** Fetching and scanning an archive is heavier than a health check: polled every 5 s by default. */
      interval: positiveDuration.default(5000),
      timeout: positiveDuration.default(5000),
      /** A support bundle (tar.gz, tar or zip) that must be secret-free. */
      bundle: z
        .object({
          /** Absolute, or relative to the target like an HTTP probe's URL. */
          url: z.string().min(1),
          /** Header values may name environment variables: `Authorization: Bearer $ADMIN_TOKEN`. */
          headers: z.record(z.string(), z.string()).optional(),
          /** The deployment's actual secrets, by reference: `{ env: DB_PASSWORD }` or `{ file: ./key.txt }`. */
          secrets: z.array(z.union([z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name') }).strict(), z.object({ file: z.string().min(1) }).strict()])).default([]),
          /** Keys allowed in the bundle's config files (config.*); any other key is a finding. */
          allowedConfigKeys: z.array(z.string().min(1)).optional(),
          limits: z
            .object({ maxArchiveBytes: z.number().int().positive(), maxBytes: z.number().int().positive(), maxFiles: z.number().int().positive() })
            .partial()
            .strict()
            .optional(),
        })
        .strict(),
    })
    .strict(),
  z
    .object({
      ...probeCommon,
      prometheus: z
        .object({
          url: z.string().url(),
          query: z.string().min(1),
          /** The probe passes when the first sample compares true. */
          above: z.number().optional(),
          below: z.number().optional(),
        })
        .strict(),
    })
    .strict(),
]);

/** `15%` (or a fraction 0..1): how far an observed alert time may be from the predicted one. */
const tolerance = z.union([
  z.number().min(0).max(1),
  z
    .string()
    .regex(/^\s*\d+(\.\d+)?\s*%\s*$/, "a tolerance is a percentage, e.g. '15%'")
    .transform((t) => Number(t.replace('%', '').trim()) / 100),
]);

/** `{ within: predicted, tolerance: 15% }`: the burn-rate maths' prediction for this experiment, ± tolerance. */
const predictedTiming = z
  .object({
    within: z.literal('predicted'),
    tolerance: tolerance.default(0.15),
  })
  .strict();

const alertExpectation = z
  .object({
    /**
     * true / false, or `{ within: predicted, tolerance: 15% }`: fire when and only when the burn-rate
     * maths predicts it, at the predicted time ± tolerance (never narrower than one evaluation interval).
     */
    fires: z.union([predictedTiming, z.boolean()]),
    /** With fires: true — the first firing must come within this time of inject start. */
    within: positiveDuration.optional(),
    /** With fires: true or predicted — a time after heal, or `{ within: predicted, tolerance: 15% }`. */
    clearsWithin: z.union([predictedTiming, positiveDuration]).optional(),
  })
  .strict()
  .refine((a) => a.fires !== false || (a.within === undefined && a.clearsWithin === undefined), { message: 'within/clearsWithin only make sense when the alert fires' })
  .refine((a) => typeof a.fires !== 'object' || a.within === undefined, { message: 'with fires: { within: predicted } the fire time is the prediction; drop within', path: ['within'] });

export const experimentSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'experiment names: letters, digits, dot, dash, underscore'),
    description: z.string().optional(),
    baseline: positiveDuration,
    /** faults: [] makes a healthy-baseline experiment (nothing injected: everything must stay quiet). */
    inject: z.object({ duration: positiveDuration, faults: z.array(faultSchema) }).strict(),
    recover: positiveDuration,
    expect: z
      .object({
        alerts: z.record(z.string(), alertExpectation).default({}),
        /** Steady state: error ratio at baseline and at the end of recovery stays at or below this. */
        steadyState: z.object({ maxErrorRatio: z.number().min(0).max(1).default(0.01), probes: z.boolean().default(true) }).strict().optional(),
        /** Latency is normal at baseline: the p99 (from intended send time, after warm-up) stays under this. */
        baselineLatency: z.object({ p99Below: positiveDuration }).strict().optional(),
        /** After heal, the error ratio must be back within steadyState.maxErrorRatio within this. */
        recoveryWithin: positiveDuration.optional(),
        /** Probes that must fail during inject (proof the fault is real). */
        probesFailDuringInject: z.array(z.string()).optional(),
        /** Probes that must pass at every sample of the experiment (at least one sample), e.g. a secret-free support bundle. */
        probesPass: z.array(z.string()).optional(),
        /** Alerts observed in real monitoring (Prometheus, Alertmanager): see `monitoring`. */
        observed: z.array(observedExpectationSchema).default([]),
      })
      .strict()
      .default({ alerts: {}, observed: [] }),
  })
  .strict();

export const scenarioSchema = z
  .object({
    apiVersion: z.literal('faultline/v1'),
    kind: z.literal('Experiment'),
    metadata: z.object({ name: z.string().min(1), description: z.string().optional() }).strict(),
    seed: z.union([z.number().int(), z.string()]).optional(),
    /** Divides every SLO window, the period, the evaluation interval and for: (default 1). */
    timeScale: z.number().positive().default(1),
    target: z
      .object({
        /** The built-in reference service (embedded default). */
        builtin: z.literal('reference').optional(),
        /** Or an HTTP service you run: its base URL (loopback). */
        url: z.string().url().optional(),
        /** Or any TCP service you run: host:port (loopback); the load is TCP connects through the injector. */
        address: hostPort.optional(),
        /** Path the load requests (HTTP targets). */
        path: z.string().default('/'),
        /** builtin only: where the reference service listens (default 127.0.0.1:0); fix it so a Prometheus can scrape its /metrics. */
        listen: hostPort.optional(),
      })
      .strict()
      .refine((t) => [t.builtin, t.url, t.address].filter((v) => v !== undefined).length === 1, { message: 'target needs exactly one of builtin: reference, url or address' })
      .refine((t) => t.listen === undefined || t.builtin !== undefined, { message: 'listen is for the built-in reference service (builtin: reference)', path: ['listen'] }),
    injector: z
      .object({
        listen: hostPort.default('127.0.0.1:0'),
        /** For a url target: the host:port the injector forwards to (default: the target URL's). */
        upstream: hostPort.optional(),
      })
      .strict()
      .default({ listen: '127.0.0.1:0' }),
    load: z
      .object({
        rate: z.number().positive(),
        /** Open-loop arrivals: evenly spaced (constant) or a seeded Poisson process, for the whole experiment. */
        schedule: z.enum(['constant', 'poisson']).default('constant'),
        timeout: positiveDuration.default(2000),
        maxInFlight: z.number().int().positive().default(10_000),
        warmup: duration.default(0),
        sli: z.object({ goodStatus: z.string().optional(), latencyThreshold: positiveDuration.optional() }).strict().default({}),
      })
      .strict(),
    /**
     * The SLO, inline or from a file; `history` sets what its windows hold when each experiment starts
     * (default `{ assume: baseline }`: filled at the baseline's measured rate and error ratio).
     */
    slo: z.union([z.object({ file: z.string().min(1), history: historySchema.optional() }).strict(), sloSchema.extend({ history: historySchema.optional() }).strict()]),
    probes: z.array(probeSchema).default([]),
    aborts: z
      .object({
        maxDuration: positiveDuration.optional(),
        /** Abort when the error ratio over the last `window` exceeds `above` (at least `minRequests` in the window) in one of `phases`. */
        errorRate: z
          .object({
            above: z.number().min(0).max(1),
            window: positiveDuration.default(5000),
            minRequests: z.number().int().positive().default(20),
            /** Default: baseline only (an inject phase is expected to hurt; opt in with a higher `above`). */
            phases: z.array(phaseName).min(1).default(['baseline']),
          })
          .strict()
          .optional(),
        /** Abort when a probe fails N times in a row. A number N means: any probe, at baseline. */
        probeFailures: z
          .union([
            z.number().int().positive().transform((after) => ({ after, phases: ['baseline' as const] })),
            z
              .object({
                after: z.number().int().positive(),
                probes: z.array(z.string()).min(1).optional(),
                phases: z.array(phaseName).min(1).default(['baseline']),
              })
              .strict(),
          ])
          .optional(),
      })
      .strict()
      .default({}),
    /**
     * Addresses outside loopback this scenario may reach (targets, upstreams, probe hosts, the injector's
     * listener): CIDRs such as 10.20.0.0/16. Default: none — loopback only. `--allow-network` adds more.
     */
    network: z.object({ allow: z.array(z.string()).default([]) }).strict().default({ allow: [] }),
    /** Real monitoring to observe at a game day: Prometheus (alerts API) and Alertmanager (faultline's webhook receiver, API v2). */
    monitoring: monitoringSchema.optional(),
    experiments: z.array(experimentSchema).min(1),
    /** One failover drill (src/failover) after the experiments; its readiness view is served on the reference service's /readyz. */
    failoverDrill: z
      .object({
        fault: z.enum(['kill', 'partition', 'pause', 'switchover']).default('kill'),
        mode: z.enum(['sync', 'async']).default('sync'),
        /**
         * What happens to the stale ex-primary after the failover (docs/failover.md, Follow-ups). Default:
         * restart after kill and pause (it comes back with its old data and must not take writes back), else none.
         */
        followUp: z.enum(FOLLOW_UPS as [FollowUp, ...FollowUp[]]).optional(),
        /** The writer's probe of the writer endpoint. */
        probeInterval: positiveDuration.default(100),
        /** What to do when no PostgreSQL server binaries exist on the machine: skip (with the reason) or fail. */
        ifNoPostgres: z.enum(['skip', 'fail']).default('fail'),
      })
      .strict()
      .optional(),
    /** A zero-downtime rollout drill after the experiments (and the failover step): see docs/rollout.md. */
    rollout: rolloutSchema.optional(),
  })
  .strict();

export type ScenarioSpec = z.output<typeof scenarioSchema>;
export type ExperimentSpec = z.output<typeof experimentSchema>;
export type ProbeSpec = z.output<typeof probeSchema>;
export type FaultSpecInput = z.output<typeof faultSchema>;

export function loadScenarioFile(file: string): ScenarioSpec {
  return loadSpecFile(file, 'Experiment', scenarioSchema);
}

export function parseScenarioText(text: string, file = '<inline>'): ScenarioSpec {
  return loadSpecText(text, file, 'Experiment', scenarioSchema);
}
