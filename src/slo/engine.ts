/**
 * The streaming SLO engine for live runs and the replay path, sharing one pure core (evaluator.ts).
 *
 * Events increment cumulative good/total counters; the counters are sampled on a fixed grid (as a
 * Prometheus scrape would) into a bounded ring of samples, so memory depends on the longest window,
 * not on the number of events. Evaluation runs on its own fixed grid with Prometheus' semantics.
 *
 * Time compression: `timeScale` divides every window, the period, the sampling and evaluation
 * interval and `for:` alike. The engine's timeline is compressed milliseconds since `startMs`;
 * reports give both compressed and real-equivalent times.
 */
import { FaultlineError, InputError, realClock, type Clock } from '../shared/index.ts';
import { PolicyEvaluator, type CounterSample, type EvaluationSnapshot } from './evaluator.ts';
import type { AlertTier } from './policy.ts';
import { isGood, type SloDefinition } from './slo-spec.ts';
import { budgetConsumedBetween, budgetReport, tierTimings, type BudgetReport, type TierTiming } from './budget.ts';
import { historyCounts, historySamples, historyStart, measuredRates, type AssumedHistory } from './history.ts';
import { forecastFromSamples, type SloForecast } from './forecast.ts';

export interface SloEngineOptions {
  slo: SloDefinition;
  /** Divides every duration (windows, period, intervals, for). Default 1. */
  timeScale?: number;
  clock?: Clock;
  /** Real-equivalent sampling (scrape) interval; default 60s. */
  sampleIntervalMs?: number;
  /** Real-equivalent evaluation interval; default = sampleIntervalMs. */
  evalIntervalMs?: number;
  /** Engine time zero on the clock (default: clock.now() at creation). */
  startMs?: number;
}

export interface TierState {
  tier: string;
  severity: string;
  state: 'inactive' | 'pending' | 'firing';
  factor: number;
  threshold: number;
  longWindowMs: number;
  shortWindowMs: number;
  longBurn: number | null;
  shortBurn: number | null;
}

export interface SloSnapshot {
  /** Compressed ms since start. */
  t: number;
  /** Real-equivalent ms since start. */
  tReal: number;
  total: number;
  errors: number;
  /** Burn rate per window, keyed by the window's real-equivalent duration text (e.g. `1h`). */
  burnRates: Record<string, number | null>;
  tiers: TierState[];
}

export interface AlertTransition {
  tier: string;
  t: number;
  tReal: number;
  from: string;
  to: string;
}


/** A sample as evaluated (assumed history + recorded counts) with the recorded counts alone. */
interface EngineSample extends CounterSample {
  rawTotal: number;
  rawErrors: number;
}

const fin = (v: number | undefined): number | null => (v === undefined || Number.isNaN(v) || !Number.isFinite(v) ? null : v);

/**
 * A compressed duration in whole milliseconds (at least 1 ms), the resolution of Prometheus durations
 * and timestamps: the rules print exactly this value and the evaluator uses exactly this value.
 */
export function compressMs(ms: number, timeScale: number): number {
  return Math.max(1, Math.round(ms / timeScale));
}

/** Scales a policy's durations down by timeScale, to whole milliseconds. */
export function compressPolicy(policy: readonly AlertTier[], timeScale: number): AlertTier[] {
  return policy.map((t) => ({
    ...t,
    longWindowMs: compressMs(t.longWindowMs, timeScale),
    shortWindowMs: compressMs(t.shortWindowMs, timeScale),
    forMs: t.forMs === 0 ? 0 : compressMs(t.forMs, timeScale),
    keepFiringForMs: t.keepFiringForMs === 0 ? 0 : compressMs(t.keepFiringForMs, timeScale),
  }));
}

export function windowLabel(realMs: number): string {
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  for (const [u, size] of units) if (realMs % size === 0 && realMs >= size) return `${realMs / size}${u}`;
  return `${realMs}ms`;
}

/** Whether a counter went down from `prev` to `s` (a reset the evaluator must scan for). */
function decreased(prev: CounterSample | undefined, s: CounterSample): boolean {
  return prev !== undefined && (s.total < prev.total || s.errors < prev.errors);
}

export class SloEngine {
  readonly slo: SloDefinition;
  readonly timeScale: number;
  readonly sampleIntervalMs: number;
  readonly evalIntervalMs: number;
  private readonly clock: Clock;
  private readonly startMs: number;
  private readonly policy: AlertTier[];
  private evaluator: PolicyEvaluator;
  private readonly retentionMs: number;
  private samples: EngineSample[] = [];
  private assumed: AssumedHistory | null = null;
  private head = 0; // index of the oldest retained sample
  /** No counter in `samples` ever decreased (true by construction; checked as samples are taken): the evaluator skips its reset scan. */
  private monotonic = true;
  private total = 0;
  private errors = 0;
  private nextSampleT = 0;
  private nextEvalT = 0;
  private last: EvaluationSnapshot | undefined;
  private readonly realWindows: Map<number, number>;
  private history: SloSnapshot[] = [];
  private readonly keepHistory: boolean;
  /** The shortest long window of the policy (1h in the default catalog), for time to exhaustion. */
  private readonly fastestLongWindow: number;

  constructor(opts: SloEngineOptions & { keepHistory?: boolean }) {
    const scale = opts.timeScale ?? 1;
    if (!(scale > 0)) throw new InputError('FAULTLINE_SLO_TIMESCALE', `timeScale must be > 0 (got ${scale})`, { field: 'timeScale' });
    this.slo = opts.slo;
    this.timeScale = scale;
    this.clock = opts.clock ?? realClock;
    this.startMs = opts.startMs ?? this.clock.now();
    // Whole milliseconds, so sample and evaluation times are Prometheus timestamps.
    this.sampleIntervalMs = compressMs(opts.sampleIntervalMs ?? 60_000, scale);
    this.evalIntervalMs = compressMs(opts.evalIntervalMs ?? opts.sampleIntervalMs ?? 60_000, scale);
    this.policy = compressPolicy(opts.slo.policy, scale);
    this.evaluator = new PolicyEvaluator(this.policy, opts.slo.errorBudget);
    this.retentionMs = Math.max(...this.policy.map((t) => t.longWindowMs)) + 2 * this.sampleIntervalMs;
    this.realWindows = new Map(opts.slo.policy.flatMap((t, i) => [
      [this.policy[i]!.longWindowMs, t.longWindowMs],
      [this.policy[i]!.shortWindowMs, t.shortWindowMs],
    ]));
    this.keepHistory = opts.keepHistory ?? true;
    this.fastestLongWindow = Math.min(...this.policy.map((t) => t.longWindowMs));
  }

  /** Engine time (compressed ms since start) for a clock reading. */
  engineTime(atMs = this.clock.now()): number {
    return atMs - this.startMs;
  }

  /** Records one event as good/bad. `atMs` is a clock reading (default now). */
  record(good: boolean, atMs?: number): void {
    this.advance(this.engineTime(atMs));
    this.total++;
    if (!good) this.errors++;
  }

  /** Records an outcome through the SLO's SLI definition (availability / latency / both). */
  recordOutcome(ok: boolean, latencyMs?: number, atMs?: number): boolean {
    const good = isGood(this.slo, ok, latencyMs);
    this.record(good, atMs);
    return good;
  }

  /** Records a batch of counts at once (e.g. from a scrape). */
  recordCounts(total: number, errors: number, atMs?: number): void {
    this.advance(this.engineTime(atMs));
    this.total += total;
    this.errors += errors;
  }

  /** Takes due samples and runs due evaluations up to engine time t. */
  private advance(t: number): void {
    while (this.nextSampleT <= t || this.nextEvalT <= t) {
      if (this.nextSampleT <= this.nextEvalT) {
        if (this.nextSampleT > t) break;
        const s = this.sampleOf(this.nextSampleT, this.total, this.errors);
        if (decreased(this.samples[this.samples.length - 1], s)) this.monotonic = false;
        this.samples.push(s);
        this.nextSampleT = this.nextSampleT + this.sampleIntervalMs;
        this.trim();
      } else {
        if (this.nextEvalT > t) break;
        this.evaluateAt(this.nextEvalT);
        this.nextEvalT = this.nextEvalT + this.evalIntervalMs;
      }
    }
  }

  private sampleOf(t: number, rawTotal: number, rawErrors: number): EngineSample {
    if (!this.assumed) return { t, total: rawTotal, errors: rawErrors, rawTotal, rawErrors };
    const h = historyCounts(this.assumed, t);
    return { t, total: h.total + rawTotal, errors: h.errors + rawErrors, rawTotal, rawErrors };
  }

  private trim(): void {
    const oldest = this.nextSampleT - this.retentionMs;
    while (this.head < this.samples.length && (this.samples[this.head] as CounterSample).t < oldest) this.head++;
    if (this.head > 4096 && this.head > this.samples.length / 2) {
      this.samples = this.samples.slice(this.head);
      this.head = 0;
    }
  }

  private evaluateAt(t: number): void {
    // Samples before head are older than every window (retention: the longest window + 2 intervals).
    this.last = this.evaluator.evaluate(this.samples, t, { from: this.head, monotonic: this.monotonic });
    if (this.keepHistory) this.history.push(this.snapshotOf(this.last));
  }

  private snapshotOf(e: EvaluationSnapshot): SloSnapshot {
    const burnRates: Record<string, number | null> = {};
    for (const [w, b] of e.burnRates) burnRates[windowLabel(this.realWindows.get(w) ?? w * this.timeScale)] = fin(b);
    return {
      t: e.t,
      tReal: e.t * this.timeScale,
      total: this.total,
      errors: this.errors,
      burnRates,
      tiers: e.tiers.map((s) => {
        const tier = this.policy.find((p) => p.name === s.tier) as AlertTier;
        return {
          tier: s.tier,
          severity: s.severity,
          state: s.state,
          factor: tier.factor,
          threshold: s.threshold,
          longWindowMs: tier.longWindowMs * this.timeScale,
          shortWindowMs: tier.shortWindowMs * this.timeScale,
          longBurn: fin(s.longBurn),
          shortBurn: fin(s.shortBurn),
        };
      }),
    };
  }

  /** Catches up sampling and evaluation to `atMs` and returns the latest evaluation. */
  evaluate(atMs?: number): SloSnapshot {
    this.advance(this.engineTime(atMs));
    if (!this.last) this.evaluateAt(0);
    return this.snapshotOf(this.last as EvaluationSnapshot);
  }

  /** Per tier: [fire, clear | null] in compressed ms since start. */
  alertIntervals(): Record<string, Array<[number, number | null]>> {
    return this.evaluator.intervals();
  }

  transitions(): AlertTransition[] {
    const out: AlertTransition[] = [];
    for (const [tier, m] of this.evaluator.machines) {
      for (const tr of m.transitions) out.push({ tier, t: tr.t, tReal: tr.t * this.timeScale, from: tr.from, to: tr.to });
    }
    return out.sort((a, b) => a.t - b.t);
  }

  /** Evaluation snapshots (one per evaluation tick) for reports. */
  series(): SloSnapshot[] {
    return this.history;
  }

  /**
   * The retained counter samples (what a scrape would have stored; an assumed history included),
   * oldest first, whole-ms times.
   */
  retainedSamples(): CounterSample[] {
    return this.samples.slice(this.head).map((s) => ({ t: s.t, total: s.total, errors: s.errors }));
  }

  counters(): { total: number; errors: number } {
    return { total: this.total, errors: this.errors };
  }

  /** Per tier: [fire, clear | null] in real-equivalent ms since start. */
  alertIntervalsReal(): Record<string, Array<[number, number | null]>> {
    const out: Record<string, Array<[number, number | null]>> = {};
    for (const [tier, iv] of Object.entries(this.alertIntervals())) {
      out[tier] = iv.map(([a, b]) => [a * this.timeScale, b === null ? null : b * this.timeScale]);
    }
    return out;
  }

  /**
   * Time-to-detect / time-to-clear per tier for a fault injected at `faultAtMs` and healed at `healAtMs`
   * (clock readings), in compressed and real-equivalent ms.
   */
  tierTimings(faultAtMs: number, healAtMs?: number): Record<string, { compressed: TierTiming; real: TierTiming }> {
    const compressed = tierTimings(this.alertIntervals(), this.engineTime(faultAtMs), healAtMs === undefined ? null : this.engineTime(healAtMs));
    const scale = (v: number | null): number | null => (v === null ? null : v * this.timeScale);
    const out: Record<string, { compressed: TierTiming; real: TierTiming }> = {};
    for (const [tier, c] of Object.entries(compressed)) {
      out[tier] = {
        compressed: c,
        real: {
          episodes: c.episodes,
          firstFire: scale(c.firstFire),
          lastClear: scale(c.lastClear),
          timeToDetect: scale(c.timeToDetect),
          timeToClear: scale(c.timeToClear),
        },
      };
    }
    return out;
  }

  /**
   * Starts the windows from an assumed history instead of empty: synthetic samples before engine time
   * 0 at `ratePerSec` (events per second on the engine's clock) and `errorRatio`, long enough to fill
   * the longest window, ending at `untilAtMs` (a clock reading; default the engine's start) where
   * recorded outcomes begin. May be called again (e.g. once the baseline is measured): samples are
   * rebuilt from the recorded counts and every evaluation so far is redone, so alert intervals and
   * transitions are as if the history had been there from the start. Evaluations also run over the
   * end of the history (the longest for + keep_firing_for), so a history above a tier's threshold
   * leaves that tier already firing at 0. Refused once recorded samples have left the retention.
   */
  assumeHistory(h: { ratePerSec: number; errorRatio: number; untilAtMs?: number; mode?: AssumedHistory['mode'] }): AssumedHistory {
    if (!(h.ratePerSec > 0) || !(h.errorRatio >= 0 && h.errorRatio <= 1)) {
      throw new InputError('FAULTLINE_SLO_HISTORY', `an assumed history needs a rate > 0 and an error ratio in 0..1 (got ${h.ratePerSec}/s, ${h.errorRatio})`, { field: 'history' });
    }
    const live = this.samples.slice(this.head).filter((s) => s.t >= 0);
    if (live.length > 0 && (live[0] as EngineSample).t > 0) {
      throw new FaultlineError('FAULTLINE_SLO_HISTORY_LATE', 'the history must be assumed before recorded samples leave the longest window');
    }
    const untilT = Math.max(0, this.engineTime(h.untilAtMs ?? this.startMs));
    const lead = this.preRollMs();
    const longest = Math.max(...this.policy.map((t) => t.longWindowMs));
    this.assumed = { mode: h.mode ?? 'stated', ratePerSec: h.ratePerSec, errorRatio: h.errorRatio, fromT: historyStart(longest, lead, this.sampleIntervalMs), untilT };
    const before = historySamples(this.assumed, this.sampleIntervalMs, 0).map((s) => ({ ...s, rawTotal: 0, rawErrors: 0 }));
    this.samples = [...before, ...live.map((s) => this.sampleOf(s.t, s.rawTotal, s.rawErrors))];
    this.head = 0;
    this.monotonic = !this.samples.some((s, i) => decreased(this.samples[i - 1], s));
    // Redo every evaluation so far, starting over the end of the history.
    const lastDone = this.nextEvalT - this.evalIntervalMs;
    this.evaluator = new PolicyEvaluator(this.policy, this.slo.errorBudget);
    this.history = [];
    this.last = undefined;
    this.nextEvalT = this.firstEvalT();
    while (this.nextEvalT <= lastDone + 1e-9) {
      this.evaluateAt(this.nextEvalT);
      this.nextEvalT += this.evalIntervalMs;
    }
    return { ...this.assumed };
  }

  /**
   * Assumes the history at the rate and error ratio recorded between `untilAtMs` (where recorded
   * outcomes begin) and `atMs` (default now) — the baseline. Null (nothing assumed) without traffic.
   */
  assumeMeasuredHistory(untilAtMs: number, atMs = this.clock.now()): AssumedHistory | null {
    const rates = measuredRates(this.total, this.errors, this.engineTime(atMs) - Math.max(0, this.engineTime(untilAtMs)));
    return rates ? this.assumeHistory({ ...rates, untilAtMs, mode: 'baseline' }) : null;
  }

  /** The history the windows started from (null: none, as a freshly started Prometheus). */
  assumedHistory(): AssumedHistory | null {
    return this.assumed ? { ...this.assumed } : null;
  }

  private firstEvalT(): number {
    return this.assumed ? -Math.ceil(this.preRollMs() / this.evalIntervalMs - 1e-9) * this.evalIntervalMs : 0;
  }

  /** Evaluations over the end of the history: the longest for + keep_firing_for, plus one interval. */
  private preRollMs(): number {
    return Math.max(...this.policy.map((t) => t.forMs + t.keepFiringForMs)) + this.evalIntervalMs;
  }

  /**
   * Predicted vs observed fire and clear times per tier for a fault from `faultAtMs` to `healAtMs`
   * (clock readings), the run ending at `endAtMs` (default now); see forecast.ts.
   */
  forecast(faultAtMs: number, healAtMs: number, endAtMs = this.clock.now(), liveFromAtMs?: number): SloForecast {
    this.advance(this.engineTime(endAtMs));
    return forecastFromSamples({
      policy: this.policy,
      errorBudget: this.slo.errorBudget,
      periodMs: this.slo.periodMs / this.timeScale,
      timeScale: this.timeScale,
      sampleIntervalMs: this.sampleIntervalMs,
      evalIntervalMs: this.evalIntervalMs,
      samples: this.samples.slice(this.head).filter((s) => s.t >= 0).map((s) => ({ t: s.t, total: s.rawTotal, errors: s.rawErrors })),
      history: this.assumed,
      liveFrom: this.assumed ? this.assumed.untilT : Math.max(0, this.engineTime(liveFromAtMs ?? this.startMs)),
      faultAt: this.engineTime(faultAtMs),
      healAt: this.engineTime(healAtMs),
      endAt: this.engineTime(endAtMs),
      evalFrom: this.firstEvalT(),
      intervals: this.alertIntervals(),
    });
  }

  /**
   * Share of the period's budget consumed between two clock readings, from the retained samples
   * (null when no traffic or outside the retained history).
   */
  budgetConsumedBetween(fromAtMs: number, toAtMs: number): number | null {
    return budgetConsumedBetween(this.samples, this.engineTime(fromAtMs), this.engineTime(toAtMs), this.slo.errorBudget, this.slo.periodMs / this.timeScale, this.head);
  }

  budget(atMs?: number): BudgetReport {
    const t = Math.max(1e-9, this.engineTime(atMs));
    return budgetReport(this.slo, this.timeScale, this.total, this.errors, t, this.last ? fin(this.last.burnRates.get(this.fastestLongWindow)) : null);
  }
}


export function createSloEngine(opts: SloEngineOptions & { keepHistory?: boolean }): SloEngine {
  return new SloEngine(opts);
}
