/**
 * Front door of src/load: an open-loop load generator with coordinated-omission-corrected latency.
 *
 *   const result = await runLoad({ target: { kind: 'http', url }, schedule: { type: 'constant', rate: 200, duration: 10_000 }, sink });
 */
export { scheduleSchema, arrivalOffsets, countArrivals, expectedArrivals, rateAt, scheduleDurationMs } from './schedule.ts';
export type { ScheduleShape, ScheduleInput } from './schedule.ts';
export { runLoad, defaultWarmupMs, defaultPrewarmConnections } from './driver.ts';
export { percentiles } from './percentiles.ts';
export { judgeValidity, connectionsFor, VALIDITY_RULE } from './validity.ts';
export type { Validity, ValidityInput } from './validity.ts';
export type { LoadOptions, LoadResult, LoadProgress, LoadPhase, SliOutcome, SliSink, SliDefinition, SecondBucket, PhaseSummary } from './driver.ts';
export { targetSchema, createTarget, classifyError, statusPredicate } from './targets.ts';
export type { TargetSpec, Target, Abortable } from './targets.ts';
export { ingestK6Json, runK6Script, emitK6Script, findK6, k6ErrorClass } from './k6.ts';
export type { K6IngestResult } from './k6.ts';
export type { Percentiles } from './percentiles.ts';
