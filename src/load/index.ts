/**
 * Front door of src/load: an open-loop load generator with coordinated-omission-corrected latency.
 *
 *   const result = await runLoad({ target: { kind: 'http', url }, schedule: { type: 'constant', rate: 200, duration: 10_000 }, sink });
 */
export { scheduleSchema } from './schedule.ts';
export type { ScheduleShape } from './schedule.ts';
export { runLoad, defaultWarmupMs, defaultPrewarmConnections } from './driver.ts';
export { GENERATOR_LAG_LIMIT_MS } from './validity.ts';
export type { LoadOptions, LoadResult, SliOutcome } from './driver.ts';
export type { TargetSpec } from './targets.ts';
export { runK6Script, emitK6Script } from './k6.ts';
