/**
 * The rollout's load as SLI events of the SLO engine (src/slo), time-compressed like the self-test:
 * every request the load completed (drops excepted: the generator's, not the service's) is recorded at
 * its completion time, in the order the load reported them; evaluation follows the newest completion
 * seen, so a batch still in flight is never counted as silence. The windows start empty with the
 * drill's load (a Prometheus started with it: no assumed history). Clock: ms since the drill started.
 */
import { createSloEngine, promDuration, toSloDefinition, type SloDefinition, type SloEngine } from '../slo/index.ts';
import type { FiredAlert, RolloutRequest, RolloutSloRecord } from './rollout-checks.ts';
import type { RolloutSpec } from './rollout-spec.ts';

export class RolloutAlerts {
  private readonly engine: SloEngine;
  private readonly def: SloDefinition;
  private fed = 0;
  private newest = 0;

  constructor(private readonly o: RolloutSpec['alerts']) {
    this.def = toSloDefinition(o.slo);
    const clock = { now: () => this.newest, wallNow: () => Date.now(), sleep: () => Promise.resolve() };
    this.engine = createSloEngine({ slo: this.def, timeScale: o.timeScale, clock, startMs: 0, keepHistory: false });
  }

  /** Records the requests that arrived since the last call and evaluates up to the newest completion. */
  feed(requests: readonly RolloutRequest[]): void {
    for (; this.fed < requests.length; this.fed++) {
      const q = requests[this.fed] as RolloutRequest;
      if (q.errorClass === 'drop') continue;
      this.newest = Math.max(this.newest, q.done);
      this.engine.recordOutcome(q.ok, q.latencyMs, this.newest);
    }
    this.engine.evaluate(this.newest);
  }

  /** Every firing episode so far, every tier. */
  alerts(): FiredAlert[] {
    const out: FiredAlert[] = [];
    for (const [tier, episodes] of Object.entries(this.engine.alertIntervals())) {
      const t = this.def.policy.find((p) => p.name === tier);
      if (!t) continue;
      for (const [a, b] of episodes) out.push({ slo: this.def.name, tier, severity: t.severity, firedAt: a, clearedAt: b, windows: `${promDuration(t.longWindowMs)}/${promDuration(t.shortWindowMs)}` });
    }
    return out.sort((x, y) => x.firedAt - y.firedAt);
  }

  record(): RolloutSloRecord {
    return { slo: this.def.name, objective: this.def.objective, sli: this.def.sli, timeScale: this.o.timeScale, halt: [...this.o.halt], alerts: this.alerts(), events: this.engine.counters() };
  }
}
