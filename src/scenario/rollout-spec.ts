/**
 * The rollout drill's input: replicas, releases (built-in reference service, or your own commands),
 * rings, the balancer, the load and the health gate. One schema serves `faultline drill rollout`
 * (flags and a `kind: RolloutDrill` file) and the scenario step `rollout:`.
 */
import { z } from 'zod';
import { durationSchema, InputError, positiveDurationSchema } from '../shared/index.ts';
import { BALANCE_POLICIES } from '../injector/index.ts';
import { sloSchema } from '../slo/index.ts';

/** One release of the built-in reference service; the switches make a bad release. */
export const releaseSchema = z
  .object({
    version: z.string().min(1),
    /** Share (0..1) of API requests the release answers with 500. */
    errorRatio: z.number().min(0).max(1).optional(),
    /** Extra latency on every API answer. */
    extraLatency: durationSchema.optional(),
    /** Exits at once on SIGTERM (no drain). */
    noDrain: z.boolean().optional(),
    /** /readyz stays 200 while draining. */
    readyzNeverFlips: z.boolean().optional(),
  })
  .strict();
export type ReleaseSpec = z.output<typeof releaseSchema>;

/** Your own replicas: argv templates with `{port}` (also `{replica}`, `{version}`), a stop signal and URLs. */
export const replicaCommandsSchema = z
  .object({
    start: z.array(z.string().min(1)).min(1),
    /** The new release's command (default: `start`, with `{version}` the new version). */
    startNew: z.array(z.string().min(1)).min(1).optional(),
    stopSignal: z.enum(['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2']).default('SIGTERM'),
    readinessUrl: z.string().default('http://127.0.0.1:{port}/readyz'),
    livenessUrl: z.string().default('http://127.0.0.1:{port}/healthz'),
  })
  .strict();

const RING = /^([A-Za-z][A-Za-z0-9_-]*):(\d+|rest)$/;

export interface Ring {
  name: string;
  /** Replica slots (0-based) this ring replaces, in order. */
  slots: number[];
}

/** Parses `canary:1,early:1,main:rest` against the replica count (InputError names `rings`). */
export function parseRings(text: string, replicas: number): Ring[] {
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) throw new InputError('FAULTLINE_ROLLOUT_RINGS', 'rings must name at least one ring, e.g. canary:1,early:1,main:rest', { field: 'rings' });
  const out: Ring[] = [];
  let next = 0;
  const seen = new Set<string>();
  parts.forEach((p, i) => {
    const m = RING.exec(p);
    if (!m) throw new InputError('FAULTLINE_ROLLOUT_RINGS', `ring '${p}' must be name:count or name:rest`, { field: 'rings' });
    const name = m[1] as string;
    if (seen.has(name)) throw new InputError('FAULTLINE_ROLLOUT_RINGS', `ring '${name}' is named twice`, { field: 'rings' });
    seen.add(name);
    if (m[2] === 'rest' && i !== parts.length - 1) throw new InputError('FAULTLINE_ROLLOUT_RINGS', `only the last ring can be 'rest' (got '${p}')`, { field: 'rings' });
    const count = m[2] === 'rest' ? replicas - next : Number(m[2]);
    if (m[2] !== 'rest' && count < 1) throw new InputError('FAULTLINE_ROLLOUT_RINGS', `ring '${name}' must replace at least one replica`, { field: 'rings' });
    if (next + count > replicas) throw new InputError('FAULTLINE_ROLLOUT_RINGS', `rings ask for ${next + count} replicas but there are ${replicas}`, { field: 'rings' });
    out.push({ name, slots: Array.from({ length: count }, (_, k) => next + k) });
    next += count;
  });
  if (next < replicas) throw new InputError('FAULTLINE_ROLLOUT_RINGS', `rings cover ${next} of ${replicas} replicas; end with a ring 'name:rest'`, { field: 'rings' });
  return out;
}

export const rolloutSchema = z
  .object({
    replicas: z.number().int().min(1).max(32).default(3),
    rings: z.string().default('canary:1,early:1,main:rest'),
    from: releaseSchema.default({ version: '1.0.0' }),
    to: releaseSchema.default({ version: '2.0.0' }),
    /** Your own replica commands instead of the built-in reference service. */
    commands: replicaCommandsSchema.optional(),
    /** Built-in replicas: readiness 503 for this long after start, and the drain grace on SIGTERM. */
    warmup: durationSchema.default(300),
    drainGrace: durationSchema.default(1000),
    /** Built-in replicas answer API requests after this long (a real service's work), so requests are in flight when a replica stops. */
    serviceTime: durationSchema.default(20),
    load: z
      .object({
        rate: z.number().positive().default(500),
        path: z.string().startsWith('/').default('/v1/editions'),
        timeout: positiveDurationSchema.default(2000),
        connections: z.number().int().positive().default(32),
        /** Each keep-alive connection carries at most this many requests, so new replicas get new connections (the balancer picks per connection). */
        requestsPerConnection: z.number().int().positive().default(50),
      })
      .strict()
      .default({ rate: 500, path: '/v1/editions', timeout: 2000, connections: 32, requestsPerConnection: 50 }),
    balancer: z
      .object({
        policy: z.enum(BALANCE_POLICIES).default('round-robin'),
        /** false: no readiness check (every replica in rotation from the moment it starts; an honesty control). */
        healthCheck: z.boolean().default(true),
        interval: positiveDurationSchema.default(100),
        timeout: positiveDurationSchema.default(500),
      })
      .strict()
      .default({ policy: 'round-robin', healthCheck: true, interval: 100, timeout: 500 }),
    /** Health gate after each ring: error ratio and p99 of the ring's new replicas (and overall) over the window. */
    gate: z
      .object({
        window: positiveDurationSchema.default(3000),
        maxErrorRatio: z.number().min(0).max(1).default(0.01),
        p99Below: positiveDurationSchema.default(500),
      })
      .strict()
      .default({ window: 3000, maxErrorRatio: 0.01, p99Below: 500 }),
    /**
     * The SLO engine's burn-rate alerts in the gate: every request of the load is an SLI event of
     * `slo` (time-compressed by `timeScale`, as the self-test does); a tier of a `halt` severity
     * firing during a ring halts it and rolls it back.
     */
    alerts: z
      .object({
        enabled: z.boolean().default(true),
        slo: sloSchema.prefault({ name: 'rollout', objective: 99.9 }),
        timeScale: z.number().positive().default(720),
        halt: z.array(z.enum(['page', 'ticket'])).min(1).default(['page']),
      })
      .strict()
      .prefault({}),
    /**
     * Your own load balancer in front of the replicas instead of faultline's: load goes to `url`; the
     * replica in slot i listens on `ports[i]` (so your balancer knows it, and its replacement takes
     * the same port). `checkInterval` is your balancer's health-check interval (the bound for traffic
     * after not-ready). Which replica served a request comes from the answers' replica header.
     */
    loadBalancer: z
      .object({
        url: z.url({ protocol: /^https?$/ }),
        ports: z.array(z.number().int().min(1).max(65535)).min(1),
        checkInterval: positiveDurationSchema.default(1000),
      })
      .strict()
      .optional(),
    /** Latency SLO over the whole rollout (corrected p99 of every request). */
    latencySlo: z.object({ p99Below: positiveDurationSchema.default(500) }).strict().default({ p99Below: 500 }),
    /** Load before the first replacement, and after the last. */
    baseline: durationSchema.default(2000),
    settle: durationSchema.default(1000),
    drainTimeout: positiveDurationSchema.default(15_000),
    startTimeout: positiveDurationSchema.default(30_000),
    pollInterval: positiveDurationSchema.default(25),
  })
  .strict()
  .superRefine((r, ctx) => {
    try {
      parseRings(r.rings, r.replicas);
    } catch (e) {
      ctx.addIssue({ code: 'custom', path: ['rings'], message: (e as Error).message });
    }
    if (r.loadBalancer && r.loadBalancer.ports.length !== r.replicas) ctx.addIssue({ code: 'custom', path: ['loadBalancer', 'ports'], message: `one port per replica: ${r.replicas} replicas, ${r.loadBalancer.ports.length} ports` });
    if (r.loadBalancer && new Set(r.loadBalancer.ports).size !== r.loadBalancer.ports.length) ctx.addIssue({ code: 'custom', path: ['loadBalancer', 'ports'], message: 'the ports must differ' });
  });

export type RolloutSpec = z.output<typeof rolloutSchema>;
export type RolloutInput = z.input<typeof rolloutSchema>;

/** The `kind: RolloutDrill` file of `faultline drill rollout --scenario`. */
export const rolloutFileSchema = z
  .object({
    apiVersion: z.literal('faultline/v1'),
    kind: z.literal('RolloutDrill'),
    metadata: z.object({ name: z.string().min(1) }).strict(),
    seed: z.union([z.number().int(), z.string()]).optional(),
    rollout: rolloutSchema,
  })
  .strict();
