/**
 * `--metrics 127.0.0.1:PORT`: the run's SLI counters, burn rates and alert states in Prometheus
 * format, so a game-day dashboard can watch the run. Loopback only.
 */
import http from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { assertLoopback, parseHostPort } from '../shared/index.ts';
import type { SloSnapshot } from '../slo/index.ts';

export interface MetricsServer {
  readonly url: string;
  record(good: boolean): void;
  update(experiment: string, phase: string, snap: SloSnapshot): void;
  close(): Promise<void>;
}

/** A `--metrics` address as host and port; InputError (exit 2, field `metrics`) when malformed or not loopback. */
export function parseMetricsAddress(address: string): { host: string; port: number } {
  const hp = parseHostPort(address, 'metrics');
  assertLoopback(hp.host, 'metrics address', 'metrics');
  return hp;
}

export async function startMetricsServer(address: string, slo: string): Promise<MetricsServer> {
  const { host, port } = parseMetricsAddress(address);
  const registry = new Registry();
  const events = new Counter({ name: 'faultline_sli_events_total', help: 'SLI events (requests) seen by the run.', labelNames: ['slo'], registers: [registry] });
  const errors = new Counter({ name: 'faultline_sli_errors_total', help: 'Bad SLI events seen by the run.', labelNames: ['slo'], registers: [registry] });
  const burn = new Gauge({ name: 'faultline_slo_burn_rate', help: 'Burn rate per (real-equivalent) window.', labelNames: ['slo', 'window'], registers: [registry] });
  const alert = new Gauge({ name: 'faultline_slo_alert_firing', help: '1 while the tier fires, 0.5 pending, 0 inactive.', labelNames: ['slo', 'tier'], registers: [registry] });
  const phaseG = new Gauge({ name: 'faultline_experiment_phase', help: '1 for the current experiment and phase.', labelNames: ['experiment', 'phase'], registers: [registry] });
  events.inc({ slo }, 0);
  errors.inc({ slo }, 0);
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as { port: number };
  return {
    url: `http://${host}:${bound.port}/metrics`,
    record(good) {
      events.inc({ slo });
      if (!good) errors.inc({ slo });
    },
    update(experiment, phase, snap) {
      phaseG.reset();
      phaseG.set({ experiment, phase }, 1);
      for (const [w, v] of Object.entries(snap.burnRates)) if (v !== null) burn.set({ slo, window: w }, v);
      for (const t of snap.tiers) alert.set({ slo, tier: t.tier }, t.state === 'firing' ? 1 : t.state === 'pending' ? 0.5 : 0);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
