/**
 * One experiment's SLO window history and predictions (`slo.history`), as the runner uses them:
 *   - begin(): `stated` assumes its rate and error ratio at once; `baseline` starts from a provisional
 *     history at the load's planned rate and no errors, so the baseline's windows already look like
 *     production's; `none` leaves the windows empty;
 *   - atInject(): `baseline` replaces the provisional history by the rate and error ratio measured
 *     over the baseline (after warm-up) — the engine redoes its evaluations, so nothing of the
 *     provisional guess remains;
 *   - forecast(): predicted vs observed fire and clear per tier, and budget consumed before detection.
 * History ends where recorded outcomes begin (the end of the load's warm-up).
 */
import type { HistorySpec, SloEngine, SloForecast } from '../slo/index.ts';
import type { ExperimentHistory } from './events.ts';

export interface ExperimentSloOptions {
  engine: SloEngine;
  history: HistorySpec;
  /** Clock reading of the experiment start (engine time 0) and the load's warm-up. */
  startMs: number;
  warmupMs: number;
  /** The load's planned request rate (requests/s): the provisional baseline. */
  plannedRate: number;
}

export class ExperimentSlo {
  constructor(private readonly o: ExperimentSloOptions) {}

  private get untilAtMs(): number {
    return this.o.startMs + this.o.warmupMs;
  }

  begin(): void {
    const h = this.o.history;
    if (h.assume === 'stated') {
      this.o.engine.assumeHistory({ ratePerSec: h.rate as number, errorRatio: h.errorRatio as number, untilAtMs: this.untilAtMs, mode: 'stated' });
    } else if (h.assume === 'baseline') {
      this.o.engine.assumeHistory({ ratePerSec: this.o.plannedRate, errorRatio: 0, untilAtMs: this.untilAtMs, mode: 'baseline' });
    }
  }

  /** At inject: the baseline as measured becomes the history (no-op for other modes or without traffic). */
  atInject(nowMs: number): void {
    if (this.o.history.assume === 'baseline') this.o.engine.assumeMeasuredHistory(this.untilAtMs, nowMs);
  }

  history(): ExperimentHistory {
    const h = this.o.engine.assumedHistory();
    if (!h) return { mode: 'none', ratePerSec: null, errorRatio: null, fromT: null, untilT: null };
    return { mode: h.mode, ratePerSec: h.ratePerSec, errorRatio: h.errorRatio, fromT: h.fromT, untilT: h.untilT };
  }

  /** Predicted vs observed for a fault injected at `faultAtMs` and healed at `healAtMs` (clock readings); null if never injected. */
  forecast(faultAtMs: number | undefined, healAtMs: number | undefined, endAtMs: number): SloForecast | null {
    if (faultAtMs === undefined) return null;
    return this.o.engine.forecast(faultAtMs, healAtMs ?? endAtMs, endAtMs, this.untilAtMs);
  }
}
