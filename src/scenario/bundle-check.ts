/**
 * The support-bundle check: fetch a diagnostic archive (tar.gz, tar or zip), unpack it in memory
 * within size and file-count limits, and scan every file for
 *   - the deployment's actual secret values, given by reference (environment variable or file) —
 *     reported only as "secret from $DB_PASSWORD found in config.json:12", never echoed;
 *   - credential shapes: URLs with passwords, bearer/basic tokens, PEM private keys, cloud access
 *     keys, JWTs, high-entropy strings under keys named like secrets;
 *   - optionally, config keys outside an allowlist.
 * An archive that would unpack past the limits (a zip bomb), or that holds a path-traversal, absolute
 * or link entry, is refused without being written anywhere.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import yauzl from 'yauzl';
import { ExitCode, FaultlineError, assertAllowed, errorMessage, LOOPBACK_ONLY, type NetworkPolicy } from '../shared/index.ts';

export interface BundleLimits {
  /** Largest archive accepted over the wire. */
  maxArchiveBytes: number;
  /** Largest total of unpacked bytes. */
  maxBytes: number;
  /** Most files in the archive. */
  maxFiles: number;
}

export const DEFAULT_BUNDLE_LIMITS: BundleLimits = { maxArchiveBytes: 32 * 1024 * 1024, maxBytes: 128 * 1024 * 1024, maxFiles: 5000 };

export interface BundleFile {
  path: string;
  data: Buffer;
}

/** The archive cannot be checked safely (too large, too many files, traversal, links, not an archive). */
export class BundleRefusedError extends FaultlineError {
  constructor(message: string, cause?: unknown) {
    super('FAULTLINE_BUNDLE_REFUSED', message, { exitCode: ExitCode.expectationFailed, cause });
  }
}

/** A secret value given by reference: only `ref` (e.g. `$DB_PASSWORD`) ever appears in output. */
export interface SecretRef {
  ref: string;
  value: string;
}

export type FindingKind = 'secret' | 'url-password' | 'bearer-token' | 'basic-auth' | 'private-key' | 'cloud-key' | 'jwt' | 'high-entropy' | 'key-not-allowed';

export interface BundleFinding {
  file: string;
  line: number;
  kind: FindingKind;
  /** For `secret`: the reference; for `high-entropy` / `key-not-allowed`: the key. Never a value. */
  ref?: string;
}

export interface ScanOptions {
  secrets?: SecretRef[];
  /** Keys allowed in config files (files named config.*): any other key is flagged. */
  allowedConfigKeys?: string[];
}

export interface BundleReport {
  files: number;
  bytes: number;
  findings: BundleFinding[];
}

// ---------------------------------------------------------------------------------------- unpack

function checkEntryPath(name: string): string {
  const p = name.replace(/\\/g, '/');
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) throw new BundleRefusedError(`absolute path entry '${name}' refused`);
  if (p.split('/').includes('..')) throw new BundleRefusedError(`path-traversal entry '${name}' refused`);
  return p;
}

class Budget {
  files = 0;
  bytes = 0;
  constructor(private readonly limits: BundleLimits) {}
  file(name: string, declared: number): void {
    if (++this.files > this.limits.maxFiles) throw new BundleRefusedError(`more than ${this.limits.maxFiles} files in the archive`);
    this.add(name, declared);
    this.bytes -= declared;
  }
  add(name: string, n: number): void {
    this.bytes += n;
    if (this.bytes > this.limits.maxBytes) throw new BundleRefusedError(`'${name}' takes the archive past ${this.limits.maxBytes} unpacked bytes (a zip bomb?)`);
  }
}

async function untar(buf: Buffer, budget: Budget): Promise<BundleFile[]> {
  const files: BundleFile[] = [];
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      try {
        const path = checkEntryPath(header.name);
        if (header.type === 'directory') {
          stream.resume();
          stream.once('end', next);
          return;
        }
        if (header.type !== 'file' && header.type !== 'contiguous-file') throw new BundleRefusedError(`${header.type ?? 'unknown'} entry '${header.name}' refused (only regular files)`);
        budget.file(path, header.size ?? 0);
        const parts: Buffer[] = [];
        stream.on('data', (d: unknown) => {
          const chunk = d as Buffer;
          try {
            budget.add(path, chunk.length);
            parts.push(chunk);
          } catch (e) {
            stream.destroy();
            reject(e);
          }
        });
        stream.once('end', () => {
          files.push({ path, data: Buffer.concat(parts) });
          next();
        });
      } catch (e) {
        stream.resume();
        reject(e);
      }
    });
    extract.once('finish', () => resolve());
    extract.once('error', (e) => reject(e instanceof BundleRefusedError ? e : new BundleRefusedError(`not a readable tar archive: ${errorMessage(e)}`, e)));
  });
  Readable.from([buf]).pipe(extract);
  await done;
  return files;
}

async function unzip(buf: Buffer, budget: Budget): Promise<BundleFile[]> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(buf, { lazyEntries: true, validateEntrySizes: true, decodeStrings: true }, (err, z) => (err || !z ? reject(new BundleRefusedError(`not a readable zip archive: ${errorMessage(err)}`, err)) : resolve(z))),
  );
  const files: BundleFile[] = [];
  return new Promise<BundleFile[]>((resolve, reject) => {
    const fail = (e: unknown): void => {
      zip.close();
      reject(e instanceof BundleRefusedError ? e : new BundleRefusedError(`zip archive refused: ${errorMessage(e)}`, e));
    };
    zip.on('error', fail);
    zip.on('end', () => resolve(files));
    zip.on('entry', (entry: yauzl.Entry) => {
      try {
        const path = checkEntryPath(entry.fileName);
        if (path.endsWith('/')) return zip.readEntry();
        const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
        if (mode === 0o120000) throw new BundleRefusedError(`symlink entry '${entry.fileName}' refused (only regular files)`);
        // The declared size first (cheap), then every inflated byte as it arrives (headers can lie).
        budget.file(path, entry.uncompressedSize);
        zip.openReadStream(entry, (err, stream) => {
          if (err || !stream) return fail(err);
          const parts: Buffer[] = [];
          stream.on('data', (d: Buffer) => {
            try {
              budget.add(path, d.length);
              parts.push(d);
            } catch (e) {
              stream.destroy();
              fail(e);
            }
          });
          stream.once('error', fail);
          stream.once('end', () => {
            files.push({ path, data: Buffer.concat(parts) });
            zip.readEntry();
          });
        });
      } catch (e) {
        fail(e);
      }
    });
    zip.readEntry();
  });
}

/** Unpacks a tar.gz, tar or zip archive in memory, refusing anything past the limits. */
export async function unpackBundle(archive: Buffer, limits: BundleLimits = DEFAULT_BUNDLE_LIMITS): Promise<BundleFile[]> {
  const budget = new Budget(limits);
  if (archive.length >= 4 && archive.readUInt32LE(0) === 0x04034b50) return unzip(archive, budget);
  if (archive.length >= 22 && archive.readUInt32LE(0) === 0x06054b50) return [];
  let tarBytes = archive;
  if (archive.length >= 2 && archive[0] === 0x1f && archive[1] === 0x8b) {
    try {
      // A tar adds at most a 512-byte header per file plus padding and the end blocks.
      tarBytes = gunzipSync(archive, { maxOutputLength: limits.maxBytes + (limits.maxFiles + 2) * 1024 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new BundleRefusedError(`the gzip stream unpacks past ${limits.maxBytes} bytes (a zip bomb?)`, e);
      throw new BundleRefusedError(`not a readable gzip stream: ${errorMessage(e)}`, e);
    }
  }
  if (tarBytes.length < 512 || tarBytes.toString('latin1', 257, 262) !== 'ustar') {
    if (tarBytes.length >= 1024 && tarBytes.subarray(0, 1024).every((b) => b === 0)) return [];
    throw new BundleRefusedError('not an archive faultline reads (tar.gz, tar or zip)');
  }
  return untar(tarBytes, budget);
}

// ------------------------------------------------------------------------------------------ scan

const SECRET_KEY = /(pass(word|wd|phrase)?|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential|encryption[_-]?key|envelope[_-]?key|signing[_-]?key|session[_-]?key|client[_-]?secret)$/i;
const PLACEHOLDER = /^(\*+|x+|redacted|<[^>]*>|\$\{?[A-Z_][A-Z0-9_]*\}?|changeme|none|null|true|false|-)$/i;

const SHAPES: Array<[FindingKind, RegExp, ((m: RegExpExecArray) => boolean)?]> = [
  ['url-password', /\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/'"]*:([^\s@/'"]+)@/gi, (m) => !PLACEHOLDER.test(decodeURIComponentSafe(m[1]!))],
  ['bearer-token', /\bBearer\s+([A-Za-z0-9._~+/-]{12,}=*)/g, (m) => !PLACEHOLDER.test(m[1]!)],
  ['basic-auth', /\bBasic\s+([A-Za-z0-9+/]{8,}={0,2})/g, (m) => Buffer.from(m[1]!, 'base64').toString('latin1').includes(':')],
  ['private-key', /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/g],
  ['cloud-key', /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b|\bAIza[0-9A-Za-z_-]{35}\b|\bgh[pousr]_[A-Za-z0-9]{36,}\b|\bxox[abprs]-[A-Za-z0-9-]{10,}\b/g],
  ['jwt', /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g],
];

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

// "key": "value" (JSON), key: value (YAML), key=value (env, properties)
const KEY_VALUE = /["']?([A-Za-z0-9_.-]+)["']?\s*[:=]\s*("((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s,}#]+))/g;

/** The forms a secret value may take in a file: as is, base64, URL-encoded, JSON-escaped. */
function secretForms(value: string): string[] {
  const forms = new Set([value, Buffer.from(value).toString('base64').replace(/=+$/, ''), encodeURIComponent(value), JSON.stringify(value).slice(1, -1)]);
  return [...forms].filter((f) => f.length > 0);
}

/** Minimum length of a secret value checked by reference: shorter values would match by chance. */
export const MIN_SECRET_LENGTH = 6;

export function scanFiles(files: BundleFile[], opts: ScanOptions = {}): BundleFinding[] {
  const findings: BundleFinding[] = [];
  const secrets = (opts.secrets ?? []).map((s) => ({ ref: s.ref, forms: secretForms(s.value) }));
  const allowed = opts.allowedConfigKeys ? new Set(opts.allowedConfigKeys) : undefined;
  for (const f of files) {
    const isConfig = allowed !== undefined && /^config\./i.test(basename(f.path));
    const lines = f.data.toString('utf8').split('\n');
    lines.forEach((text, i) => {
      const at = (kind: FindingKind, ref?: string): void => {
        findings.push({ file: f.path, line: i + 1, kind, ...(ref !== undefined ? { ref } : {}) });
      };
      for (const s of secrets) if (s.forms.some((form) => text.includes(form))) at('secret', s.ref);
      for (const [kind, re, keep] of SHAPES) {
        re.lastIndex = 0;
        for (let m = re.exec(text); m; m = re.exec(text)) {
          if (!keep || keep(m)) {
            at(kind);
            break;
          }
        }
      }
      KEY_VALUE.lastIndex = 0;
      for (let m = KEY_VALUE.exec(text); m; m = KEY_VALUE.exec(text)) {
        const key = m[1]!;
        if (isConfig && !allowed.has(key)) at('key-not-allowed', key);
        const quoted = m[3] ?? m[4];
        const value = quoted ?? m[5]!;
        if (SECRET_KEY.test(key) && value.length >= 8 && !PLACEHOLDER.test(value) && !/^[\d.]+$/.test(value) && entropy(value) >= 3) at('high-entropy', key);
      }
    });
  }
  return findings;
}

const KIND_TEXT: Record<FindingKind, string> = {
  secret: 'secret',
  'url-password': 'URL with a password',
  'bearer-token': 'bearer token',
  'basic-auth': 'basic-auth credentials',
  'private-key': 'PEM private key',
  'cloud-key': 'cloud access key',
  jwt: 'JWT',
  'high-entropy': 'high-entropy value',
  'key-not-allowed': 'config key outside the allowlist',
};

/** One line per finding; names the reference or key, never a value. */
export function describeFinding(f: BundleFinding): string {
  const where = `${f.file}:${f.line}`;
  if (f.kind === 'secret') return `secret from ${f.ref} found in ${where}`;
  if (f.ref !== undefined) return `${KIND_TEXT[f.kind]} under '${f.ref}' in ${where}`;
  return `${KIND_TEXT[f.kind]} in ${where}`;
}

// ----------------------------------------------------------------------------------------- fetch

export interface SecretSource {
  env?: string;
  file?: string;
}

export interface BundleCheckSpec {
  url: string;
  /** Header values may name environment variables: `Bearer $TOKEN`. */
  headers?: Record<string, string>;
  secrets?: SecretSource[];
  allowedConfigKeys?: string[];
  limits?: Partial<BundleLimits>;
  /** Where the URL may point: loopback, plus what the user's network allowlist admits (default: loopback only). */
  network?: NetworkPolicy;
  /** The field the URL came from, for refusals (default 'url'; a probe's is 'bundle.url'). */
  urlField?: string;
}

/** Expands `$NAME` / `${NAME}` from `env`; an unset name is an error (a header must not go out empty). */
export function expandEnv(text: string, env: Record<string, string | undefined>, field: string): string {
  return text.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, name: string) => {
    const v = env[name];
    if (v === undefined) throw new FaultlineError('FAULTLINE_BUNDLE_REF', `${field} names $${name}, which is not set`, { exitCode: ExitCode.invalidInput });
    return v;
  });
}

/** Resolves secret references to values (kept in memory only). A missing reference is an error. */
export function resolveSecrets(sources: SecretSource[], env: Record<string, string | undefined>): SecretRef[] {
  return sources.map((s) => {
    if (s.env !== undefined) {
      const v = env[s.env];
      if (v === undefined || v === '') throw new FaultlineError('FAULTLINE_BUNDLE_REF', `secret reference $${s.env} is not set`, { exitCode: ExitCode.invalidInput });
      if (v.length < MIN_SECRET_LENGTH) throw new FaultlineError('FAULTLINE_BUNDLE_REF', `secret from $${s.env} is shorter than ${MIN_SECRET_LENGTH} characters: too short to look for`, { exitCode: ExitCode.invalidInput });
      return { ref: `$${s.env}`, value: v };
    }
    const file = s.file as string;
    let v: string;
    try {
      v = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new FaultlineError('FAULTLINE_BUNDLE_REF', `secret file ${file} cannot be read: ${errorMessage(e)}`, { exitCode: ExitCode.invalidInput, cause: e });
    }
    if (v.length < MIN_SECRET_LENGTH) throw new FaultlineError('FAULTLINE_BUNDLE_REF', `secret from file ${file} is shorter than ${MIN_SECRET_LENGTH} characters: too short to look for`, { exitCode: ExitCode.invalidInput });
    return { ref: `file ${file}`, value: v };
  });
}

/**
 * Downloads the archive, stopping at `maxArchiveBytes`. A host outside loopback is refused before
 * anything is sent (FAULTLINE_NET_NOT_LOOPBACK, exit 2, naming `field`) unless `network` admits it.
 */
export async function fetchArchive(url: URL, headers: Record<string, string>, maxBytes: number, signal?: AbortSignal, network: NetworkPolicy = LOOPBACK_ONLY, field = 'url'): Promise<Buffer> {
  assertAllowed(url.hostname, 'bundle URL', field, network);
  const res = await fetch(url, { headers, ...(signal ? { signal } : {}) });
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new FaultlineError('FAULTLINE_BUNDLE_FETCH', `bundle URL answered ${res.status}${res.status === 401 || res.status === 403 ? ' (check the admin token header)' : ''}`, { exitCode: ExitCode.expectationFailed });
  }
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body ?? []) {
    n += (chunk as Uint8Array).length;
    if (n > maxBytes) throw new BundleRefusedError(`the archive is larger than ${maxBytes} bytes`);
    parts.push(Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(parts);
}

/** The whole check: fetch, unpack within limits, scan. Throws BundleRefusedError / FaultlineError. */
export async function checkBundle(spec: BundleCheckSpec, env: Record<string, string | undefined>, signal?: AbortSignal): Promise<BundleReport> {
  const limits = { ...DEFAULT_BUNDLE_LIMITS, ...spec.limits };
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.headers ?? {})) headers[k] = expandEnv(v, env, `header ${k}`);
  const secrets = resolveSecrets(spec.secrets ?? [], env);
  const archive = await fetchArchive(new URL(spec.url), headers, limits.maxArchiveBytes, signal, spec.network, spec.urlField);
  const files = await unpackBundle(archive, limits);
  const findings = scanFiles(files, { secrets, ...(spec.allowedConfigKeys ? { allowedConfigKeys: spec.allowedConfigKeys } : {}) });
  return { files: files.length, bytes: files.reduce((s, f) => s + f.data.length, 0), findings };
}
