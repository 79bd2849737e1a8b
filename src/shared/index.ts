/** Front door of src/shared: errors, clock, seeded rng, durations, logger, redaction, spec input. */
export * from './errors.ts';
export * from './clock.ts';
export * from './rng.ts';
export * from './durations.ts';
export * from './logger.ts';
export * from './redact.ts';
export * from './spec-input.ts';
export * from './net.ts';
export * from './stats.ts';
export * from './timers.ts';
export * from './suggest.ts';
export * from './names.ts';
export * from './latency-histogram.ts';
export * from './lifeline.ts';
export * from './version.ts';
