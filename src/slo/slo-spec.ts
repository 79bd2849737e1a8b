/**
 * SLO spec (YAML, `apiVersion: faultline/v1`, `kind: SLO`) → validated model.
 * A file needs only apiVersion, kind, name and objective; the period defaults to 30d and the alert
 * policy to the SRE Workbook catalog (factors re-derived for other periods).
 */
import { z } from 'zod';
import { InputError, loadSpecFile, loadSpecText, durationSchema, positiveDurationSchema } from '../shared/index.ts';
import { DEFAULT_PERIOD_MS, defaultPolicyFor, factorFor, type AlertTier } from './policy.ts';

const duration = durationSchema;

const positiveDuration = positiveDurationSchema;

/** A PromQL series selector: a metric name, optional `{label matchers}`, nothing else. */
const promSelector = z
  .string()
  .regex(/^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(\{.*\})?\s*$/s, 'expected a Prometheus series selector, e.g. http_requests_total{job="api",code=~"5.."}')
  .refine((v) => v.trim() !== '', { message: 'a selector must not be empty' });

export const tierSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'tier names are lowercase words joined by dashes, e.g. page-fast'),
    severity: z.enum(['page', 'ticket']),
    factor: z.number().positive().optional(),
    budgetPercent: z.number().positive().max(100).optional(),
    longWindow: positiveDuration,
    shortWindow: positiveDuration,
    for: duration.optional(),
    keepFiringFor: duration.optional(),
  })
  .strict()
  .refine((t) => t.factor !== undefined || t.budgetPercent !== undefined, { message: 'a tier needs factor or budgetPercent' })
  .refine((t) => t.shortWindow < t.longWindow, { message: 'shortWindow must be shorter than longWindow', path: ['shortWindow'] });

/** The SLO body, embeddable inline in an Experiment. */
export const sloSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'name: letters, digits, dot, dash, underscore'),
    description: z.string().optional(),
    objective: z.number().gt(0, 'objective is a percentage above 0').lt(100, 'objective is a percentage below 100, e.g. 99.9'),
    period: positiveDuration.default(DEFAULT_PERIOD_MS),
    sli: z
      .object({
        type: z.enum(['availability', 'latency', 'both']).default('availability'),
        latencyThreshold: positiveDuration.optional(),
        /**
         * The SLI in your own metrics, as Prometheus selectors (what `faultline slo rules` puts in
         * the recording rules): `total` counts every request, `errors` the bad ones.
         */
        prometheus: z.object({ total: promSelector, errors: promSelector }).strict().optional(),
      })
      .strict()
      .default({ type: 'availability' })
      .refine((s) => s.type === 'availability' || s.latencyThreshold !== undefined, {
        message: 'a latency SLI needs latencyThreshold (e.g. 300ms)',
        path: ['latencyThreshold'],
      }),
    /** Older spelling of `sli.prometheus`. */
    metrics: z
      .object({
        total: z.string().min(1),
        errors: z.string().min(1),
      })
      .strict()
      .optional(),
    alerting: z
      .object({
        tiers: z.array(tierSchema).min(1).optional(),
        runbook: z.string().optional(),
        labels: z.record(z.string(), z.string()).optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

export const sloFileSchema = sloSchema.extend({ apiVersion: z.literal('faultline/v1'), kind: z.literal('SLO') }).strict();

export type SloSpec = z.output<typeof sloSchema>;

export interface SloDefinition {
  name: string;
  description?: string;
  /** Percentage, e.g. 99.9. */
  objective: number;
  /** 1 − objective, as a ratio (rounded to 12 significant digits: 99.9 → 0.001). */
  errorBudget: number;
  periodMs: number;
  sli: { type: 'availability' | 'latency' | 'both'; latencyThresholdMs?: number };
  metrics: { total: string; errors: string };
  policy: AlertTier[];
  runbook?: string;
  labels: Record<string, string>;
}

export function errorBudgetOf(objectivePercent: number): number {
  return Number(((100 - objectivePercent) / 100).toPrecision(12));
}

/** Model from a validated spec body. */
export function toSloDefinition(spec: SloSpec): SloDefinition {
  const periodMs = spec.period;
  const policy: AlertTier[] = spec.alerting.tiers
    ? spec.alerting.tiers.map((t) => ({
        name: t.name,
        severity: t.severity,
        factor: t.factor ?? factorFor(t.budgetPercent as number, periodMs, t.longWindow),
        budgetPercent: t.budgetPercent ?? (((t.factor as number) * t.longWindow) / periodMs) * 100,
        longWindowMs: t.longWindow,
        shortWindowMs: t.shortWindow,
        forMs: t.for ?? 0,
        keepFiringForMs: t.keepFiringFor ?? 0,
      }))
    : defaultPolicyFor(periodMs);
  if (spec.sli.prometheus && spec.metrics) {
    throw new InputError('FAULTLINE_SLO_SLI', 'give the Prometheus selectors once: sli.prometheus (or the older top-level metrics), not both', { field: 'sli.prometheus' });
  }
  const names = new Set<string>();
  for (const t of policy) {
    if (names.has(t.name)) throw new InputError('FAULTLINE_SLO_TIER', `duplicate tier name '${t.name}'`, { field: 'alerting.tiers' });
    names.add(t.name);
  }
  const def: SloDefinition = {
    name: spec.name,
    objective: spec.objective,
    errorBudget: errorBudgetOf(spec.objective),
    periodMs,
    sli: { type: spec.sli.type, ...(spec.sli.latencyThreshold !== undefined ? { latencyThresholdMs: spec.sli.latencyThreshold } : {}) },
    metrics: spec.sli.prometheus ??
      spec.metrics ?? {
        total: `faultline_sli_events_total{slo="${spec.name}"}`,
        errors: `faultline_sli_errors_total{slo="${spec.name}"}`,
      },
    policy,
    labels: spec.alerting.labels ?? {},
  };
  if (spec.description !== undefined) def.description = spec.description;
  if (spec.alerting.runbook !== undefined) def.runbook = spec.alerting.runbook;
  return def;
}

export function loadSloFile(file: string): SloDefinition {
  return toSloDefinition(loadSpecFile(file, 'SLO', sloFileSchema));
}

export function parseSloText(text: string, file = '<inline>'): SloDefinition {
  return toSloDefinition(loadSpecText(text, file, 'SLO', sloFileSchema));
}

/** Is this outcome good under the SLO's SLI? */
export function isGood(slo: SloDefinition, ok: boolean, latencyMs?: number): boolean {
  if (slo.sli.type === 'availability') return ok;
  // latency: bad = slower than the threshold (an outcome with no latency counts as slow);
  // both: bad = an error or slower than the threshold.
  const fast = latencyMs !== undefined && latencyMs <= (slo.sli.latencyThresholdMs as number);
  return slo.sli.type === 'latency' ? fast : ok && fast;
}
