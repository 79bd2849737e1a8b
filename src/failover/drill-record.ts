/**
 * What a drill records while it runs, in ms since its start: the operation history (for the
 * checker), the timeline marks, the controller's epochs and the readiness samples.
 */
import type { HistoryOp, ReadinessSample, TimelineMarks } from './checker.ts';

export class DrillRecord {
  readonly history: HistoryOp[] = [];
  readonly timeline: TimelineMarks = {};
  readonly epochs: Array<{ t: number; epoch: number }> = [];
  readonly readiness: ReadinessSample[] = [];
  private readonly t0: number;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.t0 = now();
  }

  /** ms since the start, to 0.1 ms. */
  rel(): number {
    return Math.round((this.now() - this.t0) * 10) / 10;
  }
}
