/**
 * The support-bundle check against real archives: the reference service's bundle over real HTTP
 * (clean and "leaky release"), hand-made tar/tar.gz/zip archives planting one of each credential
 * shape, a 1 GiB zip bomb, path traversal and links, the CLI, and a scenario run whose reports must
 * not contain any secret value.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDeflateRaw, deflateRawSync, gzipSync, crc32 } from 'node:zlib';
import tar from 'tar-stream';
import { startReferenceService, type ReferenceService } from '../../fixtures/reference-service/index.ts';
import { checkBundle, describeFinding } from '../../src/scenario/index.ts';
import { BundleRefusedError, scanFiles, unpackBundle, type BundleFinding } from '../../src/scenario/bundle-check.ts';
import { runProbe } from '../../src/scenario/probes.ts';
import { type ProbeSpec } from '../../src/scenario/spec.ts';
import { networkPolicy } from '../../src/shared/index.ts';
import { bundleFiles } from '../../fixtures/reference-service/diagnostics.ts';
import { faultline as runCli } from '../helpers/cli.ts';

const faultline = (args: string[], extraEnv: Record<string, string>) => runCli(args, { env: extraEnv });

const mainTs = fileURLToPath(new URL('../../fixtures/reference-service/main.ts', import.meta.url));
const runTs = fileURLToPath(new URL('../../bin/run-ts.mjs', import.meta.url));

const DB_PASSWORD = 'pw-Zk3q9LmX2vTa';
const ENVELOPE_KEY = '7f3a9c21d4e8b6f05a1c3e7d9b2f4a68c0e1d3f5a7b9c2e4f6a8b0c1d3e5f7a9';
const ADMIN_TOKEN = 'adm-Qw8eRt5yUi2oP';
const env = { DB_PASSWORD, ENVELOPE_KEY, ADMIN_TOKEN };
const secretSources = [{ env: 'DB_PASSWORD' }, { env: 'ENVELOPE_KEY' }];
const auth = { Authorization: 'Bearer $ADMIN_TOKEN' };

function service(leaky: boolean): Promise<ReferenceService> {
  return startReferenceService({ diagnostics: { databaseUrl: `postgres://app:${DB_PASSWORD}@127.0.0.1:5432/app`, envelopeKey: ENVELOPE_KEY, adminToken: ADMIN_TOKEN, leaky } });
}

async function tarOf(entries: Array<{ name: string; body?: string; type?: 'file' | 'symlink'; linkname?: string }>, gzip: boolean): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.type === 'symlink') pack.entry({ name: e.name, type: 'symlink', linkname: e.linkname ?? '/etc/passwd' });
    else pack.entry({ name: e.name }, e.body ?? '');
  }
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const c of pack) parts.push(c as Buffer);
  const raw = Buffer.concat(parts);
  return gzip ? gzipSync(raw) : raw;
}

interface ZipEntry {
  name: string;
  /** Deflated bytes, and the sizes/CRC the headers will claim. */
  data: Buffer;
  size: number;
  crc: number;
  mode?: number;
}

/** A minimal zip writer (deflate entries), so tests can plant entries no zip library would write. */
function zipOf(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(e.crc >>> 0, 14);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(e.size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(e.crc >>> 0, 16);
    central.writeUInt32LE(e.data.length, 20);
    central.writeUInt32LE(e.size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((e.mode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, e.data);
    centrals.push(central, name);
    offset += local.length + name.length + e.data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const zipFile = (name: string, body: string, mode?: number): ZipEntry => {
  const raw = Buffer.from(body);
  return { name, data: deflateRawSync(raw), size: raw.length, crc: crc32(raw), ...(mode !== undefined ? { mode } : {}) };
};

/** 1 GiB of zeros, deflated by streaming (about 1 MiB), never held inflated in memory. */
async function gigabyteOfZerosDeflated(): Promise<{ data: Buffer; crc: number }> {
  const deflate = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  deflate.on('data', (d: Buffer) => out.push(d));
  const done = new Promise<void>((r) => deflate.once('end', () => r()));
  const chunk = Buffer.alloc(1 << 20);
  let crc = 0;
  for (let i = 0; i < 1024; i++) {
    crc = crc32(chunk, crc);
    if (!deflate.write(chunk)) await new Promise((r) => deflate.once('drain', r));
  }
  deflate.end();
  await done;
  return { data: Buffer.concat(out), crc };
}

// One line per planted credential shape; the line numbers asserted are found in the text itself.
const PLANTED: Array<[BundleFinding['kind'], string]> = [
  ['url-password', 'dsn=postgres://app:s3cr3t-Pa55@db.internal:5432/app'],
  ['bearer-token', 'Authorization: Bearer abcdefghijklmnop1234567890'],
  ['basic-auth', `Authorization: Basic ${Buffer.from('admin:hunter2-long').toString('base64')}`],
  ['private-key', '-----BEGIN RSA PRIVATE KEY-----'],
  ['cloud-key', 'aws_access_key_id AKIAABCDEFGHIJKLMNOP'],
  ['jwt', 'session eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'],
  ['high-entropy', '"client_secret": "q8Zr2Lx9Vt4Wm7Kp3Ns6"'],
];
const plantedText = ['# diagnostics', ...PLANTED.map(([, line]) => line), ''].join('\n');
// Placeholders and booleans that must not be flagged.
const cleanText = [
  '{',
  '  "database_url": "postgres://app:REDACTED@127.0.0.1:5432/app",',
  '  "envelope_key_configured": true,',
  '  "api_token": "${API_TOKEN}",',
  '  "password": "***",',
  '  "version": "1.4.2"',
  '}',
  '',
].join('\n');

function expectPlanted(findings: BundleFinding[], file: string): void {
  const lines = plantedText.split('\n');
  for (const [kind, line] of PLANTED) {
    expect(findings, kind).toContainEqual(expect.objectContaining({ file, kind, line: lines.indexOf(line) + 1 }));
  }
}

describe('support bundle from the reference service (real HTTP)', () => {
  let clean: ReferenceService;
  let leaky: ReferenceService;
  beforeAll(async () => {
    clean = await service(false);
    leaky = await service(true);
  });
  afterAll(async () => {
    await clean?.close();
    await leaky?.close();
  });

  it('serves a clean bundle of six JSON files that holds none of the secrets', async () => {
    const r = await checkBundle({ url: `${clean.url}/v1/diagnostics/bundle`, headers: auth, secrets: secretSources }, env);
    expect(r.findings.map(describeFinding)).toEqual([]);
    expect(r.files).toBe(6);
    const files = bundleFiles({ version: '1', region: 'eu', startedAt: Date.now(), stats: {}, health: () => ({}) }, { databaseUrl: `postgres://app:${DB_PASSWORD}@h/app`, envelopeKey: ENVELOPE_KEY });
    expect(files['config.json']).toEqual({ region: 'eu', database_url: 'postgres://app:REDACTED@h/app', envelope_key_configured: true });
  });

  it('enforces the admin token: 401 without one, 403 with a wrong one', async () => {
    const url = `${clean.url}/v1/diagnostics/bundle`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { Authorization: 'Bearer wrong-token' } })).status).toBe(403);
    await expect(checkBundle({ url, secrets: secretSources }, env)).rejects.toMatchObject({ code: 'FAULTLINE_BUNDLE_FETCH', message: expect.stringContaining('401') });
  });

  it('catches the leaky release at the exact file and line of each secret', async () => {
    const url = `${leaky.url}/v1/diagnostics/bundle`;
    const r = await checkBundle({ url, headers: auth, secrets: secretSources }, env);
    const archive = Buffer.from(await (await fetch(url, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } })).arrayBuffer());
    const config = (await unpackBundle(archive)).find((f) => f.path.endsWith('config.json'))!;
    const lines = config.data.toString().split('\n');
    const lineOf = (key: string): number => lines.findIndex((l) => l.includes(`"${key}"`)) + 1;
    expect(r.findings).toContainEqual({ file: 'support-bundle/config.json', line: lineOf('database_url'), kind: 'secret', ref: '$DB_PASSWORD' });
    expect(r.findings).toContainEqual({ file: 'support-bundle/config.json', line: lineOf('database_url'), kind: 'url-password' });
    expect(r.findings).toContainEqual({ file: 'support-bundle/config.json', line: lineOf('envelope_key'), kind: 'secret', ref: '$ENVELOPE_KEY' });
    expect(r.findings).toContainEqual({ file: 'support-bundle/config.json', line: lineOf('envelope_key'), kind: 'high-entropy', ref: 'envelope_key' });
    const text = r.findings.map(describeFinding).join('\n');
    expect(text).toContain(`secret from $DB_PASSWORD found in support-bundle/config.json:${lineOf('database_url')}`);
    expect(text).not.toContain(DB_PASSWORD);
    expect(text).not.toContain(ENVELOPE_KEY);
  });
});

describe('scanning archives (tar, tar.gz, zip)', () => {
  it('finds each credential shape at its line in a tar.gz, a tar and a zip, and nothing in placeholders', async () => {
    const entries = [
      { name: 'bundle/notes.txt', body: plantedText },
      { name: 'bundle/config.json', body: cleanText },
    ];
    for (const archive of [await tarOf(entries, true), await tarOf(entries, false), zipOf(entries.map((e) => zipFile(e.name, e.body)))]) {
      const files = await unpackBundle(archive);
      expect(files.map((f) => f.path).sort()).toEqual(['bundle/config.json', 'bundle/notes.txt']);
      const findings = scanFiles(files);
      expectPlanted(findings, 'bundle/notes.txt');
      expect(findings.filter((f) => f.file === 'bundle/config.json')).toEqual([]);
    }
  });

  it('finds a secret given by reference in its base64 and URL-encoded forms too', () => {
    const value = 'p@ss w0rd/+x';
    const body = ['plain ok', `b64 ${Buffer.from(value).toString('base64')}`, `url ${encodeURIComponent(value)}`].join('\n');
    const findings = scanFiles([{ path: 'f.txt', data: Buffer.from(body) }], { secrets: [{ ref: '$PW', value }] });
    expect(findings.filter((f) => f.kind === 'secret').map((f) => f.line)).toEqual([2, 3]);
  });

  it('flags config keys outside the allowlist', () => {
    const findings = scanFiles([{ path: 'b/config.json', data: Buffer.from(cleanText) }], { allowedConfigKeys: ['database_url', 'envelope_key_configured', 'version'] });
    expect(findings.filter((f) => f.kind === 'key-not-allowed')).toEqual([
      { file: 'b/config.json', line: 4, kind: 'key-not-allowed', ref: 'api_token' },
      { file: 'b/config.json', line: 5, kind: 'key-not-allowed', ref: 'password' },
    ]);
  });

  it('refuses a 1 GiB zip bomb without inflating it, whether its header tells the truth or lies', async () => {
    const bomb = await gigabyteOfZerosDeflated();
    const rss0 = process.memoryUsage().rss;
    const honest = zipOf([{ name: 'zeros.bin', data: bomb.data, size: 1 << 30, crc: bomb.crc }]);
    await expect(unpackBundle(honest)).rejects.toThrow(/past 134217728 unpacked bytes/);
    const lying = zipOf([{ name: 'zeros.bin', data: bomb.data, size: 1000, crc: bomb.crc }]);
    await expect(unpackBundle(lying)).rejects.toBeInstanceOf(BundleRefusedError);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(400 * 1024 * 1024);
  });

  it('refuses a gzip bomb and too many files', async () => {
    const bomb = gzipSync(Buffer.alloc(8 << 20));
    await expect(unpackBundle(bomb, { maxArchiveBytes: 1 << 20, maxBytes: 1 << 20, maxFiles: 10 })).rejects.toThrow(/gzip stream unpacks past/);
    const many = await tarOf(Array.from({ length: 11 }, (_, i) => ({ name: `f${i}.txt`, body: 'x' })), true);
    await expect(unpackBundle(many, { maxArchiveBytes: 1 << 20, maxBytes: 1 << 20, maxFiles: 10 })).rejects.toThrow(/more than 10 files/);
  });

  it('refuses path-traversal, absolute and link entries', async () => {
    await expect(unpackBundle(await tarOf([{ name: '../../etc/cron.d/evil', body: 'x' }], true))).rejects.toThrow(/path-traversal entry/);
    await expect(unpackBundle(await tarOf([{ name: 'ok/link', type: 'symlink' }], false))).rejects.toThrow(/symlink entry 'ok\/link' refused/);
    await expect(unpackBundle(zipOf([zipFile('../evil.txt', 'x')]))).rejects.toBeInstanceOf(BundleRefusedError);
    await expect(unpackBundle(zipOf([zipFile('link', '/etc/passwd', 0o120777)]))).rejects.toThrow(/symlink entry/);
    await expect(unpackBundle(Buffer.from('just some text, not an archive at all'))).rejects.toThrow(/not an archive/);
  });
});

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}

describe('faultline check bundle and the bundle probe (CLI)', () => {
  let clean: ReferenceService;
  let leakyProcess: ChildProcess;
  let leakyUrl: string;
  beforeAll(async () => {
    clean = await service(false);
    // The leaky release as its own process, configured through its environment like a deployment.
    leakyProcess = spawn(process.execPath, [runTs, mainTs, '--leaky-bundle', '--drain-grace', '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, REFERENCE_DATABASE_URL: `postgres://app:${DB_PASSWORD}@127.0.0.1:5432/app`, REFERENCE_ENVELOPE_KEY: ENVELOPE_KEY, REFERENCE_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    leakyUrl = await new Promise<string>((resolve, reject) => {
      let out = '';
      leakyProcess.stdout!.on('data', (d) => {
        out += d;
        const m = /^(http:\/\/\S+)$/m.exec(out);
        if (m) resolve(m[1]!);
      });
      leakyProcess.once('exit', (code) => reject(new Error(`reference service exited ${code}`)));
    });
  });
  afterAll(async () => {
    await clean?.close();
    if (leakyProcess && leakyProcess.exitCode === null) {
      const exited = new Promise((r) => leakyProcess.once('exit', r));
      leakyProcess.kill('SIGTERM');
      await exited;
    }
  });

  const flags = (url: string): string[] => ['check', 'bundle', '--url', `${url}/v1/diagnostics/bundle`, '--header', 'Authorization: Bearer $ADMIN_TOKEN', '--secret-env', 'DB_PASSWORD', '--secret-env', 'ENVELOPE_KEY'];

  it('exits 0 on a clean bundle and 1 on the leaky release, naming file and line but never the value', async () => {
    const ok = await faultline(flags(clean.url), env);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toContain('result: PASSED');
    expect(ok.code).toBe(0);
    const bad = await faultline(flags(leakyUrl), env);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/secret from \$DB_PASSWORD found in support-bundle\/config\.json:\d+/);
    expect(bad.stdout).toMatch(/secret from \$ENVELOPE_KEY found in support-bundle\/config\.json:\d+/);
    for (const out of [bad.stdout, bad.stderr]) for (const v of Object.values(env)) expect(out).not.toContain(v);
  });

  it('exits 2 when a secret reference is not set, and 1 without the admin token', async () => {
    const unset = await faultline(flags(clean.url), { ADMIN_TOKEN, ENVELOPE_KEY });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain('secret reference $DB_PASSWORD is not set');
    const noToken = await faultline(['check', 'bundle', '--url', `${clean.url}/v1/diagnostics/bundle`], {});
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain('answered 401');
  });

  it('a bundle URL outside loopback is exit 2 naming --url unless --allow-network admits it (nothing is fetched)', async () => {
    const far = ['check', 'bundle', '--url', 'http://192.0.2.1:8080/v1/diagnostics/bundle', '--secret-env', 'DB_PASSWORD'];
    const refused = await faultline(far, env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/FAULTLINE_NET_NOT_LOOPBACK.*field 'url'.*bundle URL '192\.0\.2\.1' is not a loopback address/);
    const outside = await faultline([...far, '--allow-network', '10.0.0.0/8'], env);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toMatch(/'192\.0\.2\.1' is not a loopback address and not in the network allowlist \(10\.0\.0\.0\/8\)/);
    // Admitted: the URL passes; the unset secret reference (checked before any byte is sent) stops it, so nothing is dialled.
    const admitted = await faultline([...far, '--allow-network', '192.0.2.0/24'], { ENVELOPE_KEY });
    expect(admitted.code).toBe(2);
    expect(admitted.stderr).toContain('secret reference $DB_PASSWORD is not set');
    expect(admitted.stderr).not.toMatch(/NOT_LOOPBACK/);
    const bad = await faultline([...far, '--allow-network', '10.0.0.0/33'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--allow-network/);
  });

  it('the bundle probe fetch consults the run\'s allowlist, naming bundle.url', async () => {
    const probe = { name: 'b', timeout: 1000, interval: 1000, bundle: { url: 'http://192.0.2.1:8080/v1/diagnostics/bundle' } } as unknown as ProbeSpec;
    const refused = await runProbe(probe, undefined, {});
    expect(refused.ok).toBe(false);
    expect(refused.detail).toMatch(/bundle probe URL '192\.0\.2\.1' is not a loopback address/);
    await expect(checkBundle({ url: 'http://192.0.2.1:8080/b', urlField: 'bundle.url' }, {})).rejects.toThrow(/field 'bundle\.url'.*not a loopback address/);
    // Admitted by the allowlist: the fetch is attempted (here with an already-aborted signal, so nothing leaves the machine).
    await expect(checkBundle({ url: 'http://192.0.2.1:8080/b', network: networkPolicy(['192.0.2.0/24']) }, {}, AbortSignal.abort())).rejects.toThrow(/abort/i);
  });

  it('a scenario whose bundle probe finds the leak fails its row, and no report contains a secret value', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-bundle-'));
    const scenario = join(dir, 'leaky.yaml');
    writeFileSync(
      scenario,
      `apiVersion: faultline/v1
kind: Experiment
metadata: { name: leaky-bundle }
seed: 3
target: { url: ${leakyUrl}, path: /healthz }
load: { rate: 20 }
slo: { name: health, objective: 99 }
probes:
  - name: support-bundle
    bundle:
      url: /v1/diagnostics/bundle
      headers: { Authorization: Bearer $ADMIN_TOKEN }
      secrets: [{ env: DB_PASSWORD }, { env: ENVELOPE_KEY }]
    interval: 1s
experiments:
  - name: bundle
    baseline: 1s
    inject: { duration: 1s, faults: [] }
    recover: 1s
    expect:
      steadyState: { maxErrorRatio: 0.01, probes: false }
      probesPass: [support-bundle]
`,
    );
    const reports = join(dir, 'reports');
    const r = await faultline(['run', scenario, '--report-dir', reports], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/probe support-bundle passes at every sample.*FAIL/);
    const files = listFiles(reports);
    expect(files.map((f) => f.split('/').pop())).toEqual(expect.arrayContaining(['journal.json', 'junit.xml', 'report.md', 'report.html']));
    const journal = readFileSync(files.find((f) => f.endsWith('journal.json'))!, 'utf8');
    expect(journal).toMatch(/secret from \$DB_PASSWORD found in support-bundle\/config\.json:\d+/);
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      for (const v of Object.values(env)) expect(text, f).not.toContain(v);
    }
    for (const v of Object.values(env)) expect(r.stdout).not.toContain(v);
  });
});
