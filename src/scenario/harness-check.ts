/**
 * Did faultline's own load generator keep its schedule during an experiment? Its scheduling lag (fire
 * time − intended send time, after the warm-up) is its own event loop running late — faultline short
 * of CPU (a loaded CI runner, or the in-process injector's own work) — which a slow or faulted target
 * cannot cause. Every latency it measured then includes that lag (corrected latency runs from the
 * intended time), so a failing latency or burn-rate row may be faultline's doing, not the target's.
 * The check names it in the reports; it does not change a verdict or the exit code.
 */
import { GENERATOR_LAG_LIMIT_MS, type LoadResult } from '../load/index.ts';

export interface HarnessCheck {
  /** The generator's scheduling lag p99 after the warm-up (ms); null with no request sent after it. */
  schedulingLagP99Ms: number | null;
  /** Above this the generator was short of CPU (the load validity rule's limit). */
  limitMs: number;
  starved: boolean;
  /** What the reports print when starved. */
  note?: string;
}

export function harnessCheck(load: Pick<LoadResult, 'schedulingLagMs'>, passed: boolean): HarnessCheck {
  const lag = load.schedulingLagMs.p99;
  const starved = lag !== null && lag > GENERATOR_LAG_LIMIT_MS;
  const out: HarnessCheck = { schedulingLagP99Ms: lag, limitMs: GENERATOR_LAG_LIMIT_MS, starved };
  if (starved) {
    const head = `the load generator ran late on its own schedule (scheduling lag p99 ${lag} ms > ${GENERATOR_LAG_LIMIT_MS} ms): faultline was short of CPU, so the latencies it measured include its own delay`;
    out.note = passed
      ? `${head}; the expectations held all the same`
      : `${head}, and a failing latency or burn-rate row may be faultline's doing, not the target's — re-run on a less loaded machine or with a lower load.rate`;
  }
  return out;
}
