/**
 * Secret redaction for everything faultline writes (reports, logs, journals, error messages).
 * Covers URL userinfo (`postgres://user:pass@host`, also with `@` inside the password), libpq keyword
 * strings (`password=…`, `sslpassword=…`), query and form parameters (`access_token=`, `client_secret=`,
 * `sig=`, `X-Amz-Signature=`, `api_key=` …), connection-string pairs (`AccountKey=…;`), JSON/YAML-ish
 * `"password": "…"` / `token: …` pairs, Authorization headers (Basic, Bearer, Digest, …) and JWTs.
 */
export const REDACTED = '***';

/**
 * A key names a secret when it is, or ends with, one of these words (`sslpassword`, `client_secret`,
 * `refresh_token`, `aws_secret_access_key`), or is exactly one of the short ones (`sig`, `pwd`).
 */
const SECRET_WORDS = '(?:password|passwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|account[_-]?key|shared[_-]?access[_-]?key|authorization|signature|credentials?|session[_-]?id|cookie)';
const SECRET_KEYS = `(?:[A-Za-z0-9_.-]*${SECRET_WORDS}|sig|pwd|pass|auth)`;

const AUTH_SCHEMES = '(?:Basic|Bearer|Digest|Token|Negotiate|NTLM|AWS4-HMAC-SHA256)';

const PATTERNS: Array<[RegExp, string]> = [
  // scheme://user:password@host → scheme://user:***@host; the password runs to the last '@' of the authority.
  [/([a-z][a-z0-9+.-]*:\/\/[^\s/:@'"]+):([^\s/'"]+)@(?=[^\s@/'"]*(?:[/?#\s'"]|$))/gi, `$1:${REDACTED}@`],
  // Authorization: Basic xyz / Proxy-Authorization: Bearer xyz (header lines, curl -H arguments)
  [new RegExp(`(\\b(?:proxy-)?authorization\\s*:\\s*)(${AUTH_SCHEMES}\\s+)?[^\\s'"]+`, 'gi'), `$1$2${REDACTED}`],
  // "password": "value"  /  'token': 'value'
  [new RegExp(`(["']${SECRET_KEYS}["']\\s*:\\s*)("(?:[^"\\\\]|\\\\.)*"|'[^']*')`, 'gi'), `$1"${REDACTED}"`],
  // password=value (libpq, query strings, form bodies, env dumps, connection strings)
  [new RegExp(`((?:^|[^A-Za-z0-9_.-])${SECRET_KEYS}\\s*=\\s*)('[^']*'|"[^"]*"|[^\\s&;,'"]+)`, 'gim'), `$1${REDACTED}`],
  // password: value (YAML-ish, unquoted)
  [new RegExp(`((?:^|[^A-Za-z0-9_.-])${SECRET_KEYS}:\\s+)(?!["'])(?!${REDACTED.replace(/\*/g, '\\*')})(?!${AUTH_SCHEMES}\\s)([^\\s,}]+)`, 'gim'), `$1${REDACTED}`],
  // Bearer xyz anywhere
  [/(\bBearer\s+)(?!\*\*\*)[A-Za-z0-9._~+/=-]+/g, `$1${REDACTED}`],
  // JSON Web Tokens anywhere (header.payload.signature, base64url)
  [/\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+/g, REDACTED],
];

export function redact(text: string): string {
  let out = text;
  for (const [re, rep] of PATTERNS) out = out.replace(re, rep);
  return out;
}

const KEY_RE = new RegExp(`^${SECRET_KEYS}$`, 'i');

/** Whether a field name names a secret (`password`, `sslpassword`, `client_secret`, `sig`, …). */
export function isSecretKey(key: string): boolean {
  return KEY_RE.test(key);
}

/** Deep-redacts a JSON-serialisable value: secret-named keys are replaced, strings are scrubbed. */
export function redactValue<T>(value: T): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redact(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, inner] of Object.entries(v as Record<string, unknown>)) {
        out[k] = isSecretKey(k) && inner !== undefined && inner !== null && typeof inner !== 'object' ? REDACTED : walk(inner);
      }
      return out;
    }
    return v;
  };
  return walk(value) as T;
}
