/**
 * A small leveled logger. Libraries never write to stdout themselves: they take a `Logger`; the CLI
 * decides where lines go. Every message passes through `redact` so no secret reaches a log.
 */
import { redact } from './redact.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogRecord {
  level: LogLevel;
  msg: string;
  fields?: Record<string, unknown>;
  /** Wall-clock epoch ms. */
  time: number;
  scope?: string;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(scope: string): Logger;
}

export type LogSink = (record: LogRecord) => void;

export function createLogger(sink: LogSink, minLevel: LogLevel = 'info', scope?: string): Logger {
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[level] < ORDER[minLevel]) return;
    const record: LogRecord = { level, msg: redact(msg), time: Date.now() };
    if (fields !== undefined) record.fields = JSON.parse(redact(JSON.stringify(fields))) as Record<string, unknown>;
    if (scope !== undefined) record.scope = scope;
    sink(record);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (s) => createLogger(sink, minLevel, scope ? `${scope}.${s}` : s),
  };
}

/** Discards everything (the default for library code when no logger is given). */
export const silentLogger: Logger = createLogger(() => {}, 'error');

/** One plain text line for a record: `12:00:00.123 WARN  injector: message k=v`. */
export function formatLogLine(r: LogRecord): string {
  const t = new Date(r.time).toISOString().slice(11, 23);
  const fields = r.fields
    ? ' ' +
      Object.entries(r.fields)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ')
    : '';
  return `${t} ${r.level.toUpperCase().padEnd(5)} ${r.scope ? `${r.scope}: ` : ''}${r.msg}${fields}`;
}
