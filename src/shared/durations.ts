/**
 * Durations as users write them — Prometheus' units (`250ms`, `5s`, `1m30s`, `1h`, `30d`, `1w`, `1y`),
 * largest first and each at most once as Prometheus requires (`1s1s` and `30s1m` are refused), plus
 * decimals (`1.5s`) and microseconds (`us`) — and as faultline prints them. Internally every duration is milliseconds (a number).
 */
import { InputError } from './errors.ts';

const UNIT_MS: Record<string, number> = {
  us: 0.001,
  µs: 0.001,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

const PART = /(\d+(?:\.\d+)?)(us|µs|ms|s|m|h|d|w|y)/gy;

/** The longest duration faultline accepts anywhere (a year): beyond it a value is a typo, not a plan. */
export const MAX_DURATION_MS = 365 * 86_400_000;

/**
 * Parses `1h30m`, `250ms`, `1.5s` into milliseconds. A unit is required: a bare `"5"` (is it 5 ms or
 * 5 s?) is refused, and so is anything past a year. Throws `FAULTLINE_INPUT_DURATION` naming the field.
 * A number passed by code (not read from a user's file) is taken as milliseconds.
 */
export function parseDuration(input: string | number, field?: string): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0 || input > MAX_DURATION_MS) {
      throw new InputError('FAULTLINE_INPUT_DURATION', `not a valid duration: ${input} (0 to 365d)`, { field });
    }
    return input;
  }
  const s = input.trim();
  if (/^[+-]?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(s)) {
    throw new InputError('FAULTLINE_INPUT_DURATION', `a duration needs a unit: '${input}' could be ms or s (write e.g. ${s}ms or ${s}s)`, { field });
  }
  PART.lastIndex = 0;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  let previousUnit = Infinity;
  while ((m = PART.exec(s)) !== null) {
    const unit = UNIT_MS[m[2] as string] as number;
    if (unit >= previousUnit) {
      throw new InputError('FAULTLINE_INPUT_DURATION', `not a valid duration: '${input}' (units go from largest to smallest, each once: e.g. 1m30s)`, { field });
    }
    previousUnit = unit;
    total += Number(m[1]) * unit;
    matched = PART.lastIndex;
  }
  if (s.length === 0 || matched !== s.length) {
    throw new InputError(
      'FAULTLINE_INPUT_DURATION',
      `not a valid duration: '${input}' (use e.g. 250ms, 5s, 1m30s, 1h, 30d)`,
      { field },
    );
  }
  if (!Number.isFinite(total) || total > MAX_DURATION_MS) {
    throw new InputError('FAULTLINE_INPUT_DURATION', `duration '${input}' is longer than the maximum of 365d`, { field });
  }
  return total;
}

/** Formats milliseconds compactly: `1h5m`, `2.5s`, `340ms`, `12.3ms`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1) return `${Number(ms.toFixed(3))}ms`;
  if (ms < 1_000) return `${Number(ms.toFixed(1))}ms`;
  if (ms < 60_000) return `${Number((ms / 1_000).toFixed(2))}s`;
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ];
  let rest = Math.round(ms);
  let out = '';
  for (const [u, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${u}`;
      rest -= n * size;
    }
  }
  return out || '0s';
}
