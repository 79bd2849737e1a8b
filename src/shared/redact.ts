/**
 * Secret redaction for everything faultline writes (reports, logs, journals, error messages).
 * Covers URL userinfo (`postgres://user:pass@host`), libpq keyword strings (`password=…`),
 * JSON/YAML-ish `"password": "…"` / `token: …` pairs, and Authorization headers.
 */
export const REDACTED = '***';

const SECRET_KEYS = '(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|authorization|pgpassword)';

const PATTERNS: Array<[RegExp, string]> = [
  // scheme://user:password@host  → scheme://user:***@host
  [/([a-z][a-z0-9+.-]*:\/\/[^\s/:@'"]+):([^\s@'"/]+)@/gi, `$1:${REDACTED}@`],
  // "password": "value"  /  'token': 'value'
  [new RegExp(`(["']${SECRET_KEYS}["']\\s*:\\s*)("(?:[^"\\\\]|\\\\.)*"|'[^']*')`, 'gi'), `$1"${REDACTED}"`],
  // password=value (libpq, query strings, env dumps)
  [new RegExp(`(\\b${SECRET_KEYS}\\s*=\\s*)('[^']*'|[^\\s&;,'"]+)`, 'gi'), `$1${REDACTED}`],
  // password: value (YAML-ish, unquoted)
  [new RegExp(`(\\b${SECRET_KEYS}:\\s+)(?!["'])([^\\s,}]+)`, 'gi'), `$1${REDACTED}`],
  // Authorization: Bearer xyz
  [/(\bBearer\s+)[A-Za-z0-9._~+/=-]+/g, `$1${REDACTED}`],
];

export function redact(text: string): string {
  let out = text;
  for (const [re, rep] of PATTERNS) out = out.replace(re, rep);
  return out;
}

/** Deep-redacts a JSON-serialisable value: secret-named keys are replaced, strings are scrubbed. */
export function redactValue<T>(value: T): T {
  const keyRe = new RegExp(`^${SECRET_KEYS}$`, 'i');
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redact(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, inner] of Object.entries(v as Record<string, unknown>)) {
        out[k] = keyRe.test(k) && inner !== undefined && inner !== null ? REDACTED : walk(inner);
      }
      return out;
    }
    return v;
  };
  return walk(value) as T;
}
