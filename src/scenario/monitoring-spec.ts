/**
 * The `monitoring:` block and `expect.observed` rows of a scenario: alerts observed in a real
 * Prometheus (pending vs firing, via /api/v1/alerts) and Alertmanager (notifications at faultline's
 * webhook receiver, optionally its API v2), judged next to faultline's own evaluator.
 */
import { z } from 'zod';
import { positiveDurationSchema } from '../shared/index.ts';

const hostPort = z.string().regex(/^(\[[^\]]+\]|[^:\s]+):\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:9095');
const httpUrl = z.string().url().regex(/^https?:\/\//, 'expected an http(s) URL');

export const monitoringSchema = z
  .object({
    prometheus: z
      .object({
        url: httpUrl,
        /** How often faultline polls /api/v1/alerts (default 250ms). */
        pollInterval: positiveDurationSchema.default(250),
        /** Scrape interval of the SLI's job; default: the largest one in Prometheus' own config. */
        scrapeInterval: positiveDurationSchema.optional(),
      })
      .strict()
      .optional(),
    alertmanager: z
      .object({
        /** Alertmanager's base URL: faultline polls /api/v2/alerts (optional). */
        url: httpUrl.optional(),
        /** faultline hosts an Alertmanager webhook receiver here (route your alerts to http://<listen>/alertmanager). */
        receiver: z.object({ listen: hostPort }).strict().optional(),
        pollInterval: positiveDurationSchema.default(250),
      })
      .strict()
      .refine((a) => a.url !== undefined || a.receiver !== undefined, { message: 'alertmanager needs a receiver (listen) or a url (API v2), or both' })
      .optional(),
  })
  .strict();

/** Label matchers: `name: value` is equality; a value written `=~regex` or `!=value` / `!~regex` matches as in PromQL. */
const matchers = z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'label names: letters, digits, underscore'), z.string()).refine((m) => Object.keys(m).length > 0, {
  message: 'give at least one label matcher, e.g. { alertname: SLOErrorBudgetBurnPageFast }',
});

export const observedExpectationSchema = z.discriminatedUnion('source', [
  z
    .object({
      source: z.literal('prometheus'),
      alert: matchers,
      /** The evaluator tier to compare with (default: the `tier` label, else the tier whose rule has this alertname). */
      tier: z.string().optional(),
      fires: z.boolean(),
      /** The alert must be firing (not just pending) within this time of inject start. */
      within: positiveDurationSchema.optional(),
      /** It must have left Prometheus' active alerts within this time of heal. */
      clearsWithin: positiveDurationSchema.optional(),
    })
    .strict()
    .refine((a) => a.fires || (a.within === undefined && a.clearsWithin === undefined), { message: 'within/clearsWithin only make sense with fires: true' }),
  z
    .object({
      source: z.literal('alertmanager'),
      alert: matchers,
      tier: z.string().optional(),
      notifies: z.boolean(),
      /** A firing notification must reach faultline's receiver within this time of inject start. */
      within: positiveDurationSchema.optional(),
      /** A resolved notification must reach it within this time of heal. */
      resolvedWithin: positiveDurationSchema.optional(),
    })
    .strict()
    .refine((a) => a.notifies || (a.within === undefined && a.resolvedWithin === undefined), { message: 'within/resolvedWithin only make sense with notifies: true' }),
]);

export type MonitoringSpec = z.output<typeof monitoringSchema>;
export type ObservedExpectationSpec = z.output<typeof observedExpectationSchema>;
