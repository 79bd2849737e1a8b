/**
 * Nothing written contains a secret: one secret of every listed shape is planted in a scenario (the
 * scenario copy in journal.json included), the run writes its reports, and every artefact plus stdout
 * and stderr is searched for each planted value.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { okServer, type TestServer } from '../load/http-fixture.ts';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, type CliIo } from '../../src/cli/index.ts';
import { redact, redactValue } from '../../src/shared/index.ts';

/** One planted secret per shape; each value is unique so a leak names its shape. */
const PLANTED = {
  sslpassword: 'PLANTsslpw1',
  accessToken: 'PLANTaccess2',
  sig: 'PLANTsig3',
  clientSecret: 'PLANTclient4',
  atInPassword: 'p@ss@PLANTat5',
  basic: 'dXNlcjpQTEFOVGJhc2ljNg',
  bearer: 'PLANTbearer7',
  apiKey: 'PLANTapikey8',
  jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJQTEFOVGp3dDkifQ.c2lnbmF0dXJl',
  accountKey: 'PLANTaccountkey10',
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('redaction of every credential shape', () => {
  it('redact() and redactValue() scrub each shape and keep ordinary text', () => {
    expect(redact(`host=127.0.0.1 sslpassword=${PLANTED.sslpassword} dbname=x`)).toBe('host=127.0.0.1 sslpassword=*** dbname=x');
    expect(redact(`/x?access_token=${PLANTED.accessToken}&sig=${PLANTED.sig}&client_secret=${PLANTED.clientSecret}&page=2`)).toBe('/x?access_token=***&sig=***&client_secret=***&page=2');
    expect(redact(`postgres://user:${PLANTED.atInPassword}@127.0.0.1:5432/db`)).toBe('postgres://user:***@127.0.0.1:5432/db');
    expect(redact(`Authorization: Basic ${PLANTED.basic}`)).toBe('Authorization: Basic ***');
    expect(redact(`curl -H "Authorization: Bearer ${PLANTED.bearer}"`)).toBe('curl -H "Authorization: Bearer ***"');
    expect(redact(`AccountName=a;AccountKey=${PLANTED.accountKey};EndpointSuffix=x`)).toBe('AccountName=a;AccountKey=***;EndpointSuffix=x');
    expect(redact(`token ${PLANTED.jwt} end`)).toBe('token *** end');
    expect(redact('http://127.0.0.1:8080/v1/query?limit=5 at 10:30, max_tokens=3')).toBe('http://127.0.0.1:8080/v1/query?limit=5 at 10:30, max_tokens=3');
    expect(redactValue({ sslpassword: 'x', client_secret: 'y', sig: 'z', headers: { Authorization: 'Basic q' }, secrets: [{ env: 'DB_PASSWORD' }] })).toEqual({
      sslpassword: '***',
      client_secret: '***',
      sig: '***',
      headers: { Authorization: '***' },
      secrets: [{ env: 'DB_PASSWORD' }],
    });
  });

  let server: TestServer;
  beforeAll(async () => {
    server = await okServer();
  });
  afterAll(() => server.close());

  it('a run with one secret of each shape planted writes none of them: journal (scenario copy too), JUnit, Markdown, HTML, evidence, stdout, stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-redaction-'));
    const file = join(dir, 's.yaml');
    writeFileSync(
      file,
      `apiVersion: faultline/v1
kind: Experiment
metadata: { name: secrets, description: "api_key=${PLANTED.apiKey}" }
seed: 3
timeScale: 3600
target: { url: "${server.url}", path: "/q?access_token=${PLANTED.accessToken}&sig=${PLANTED.sig}" }
load: { rate: 50, timeout: 500ms }
slo: { name: t, objective: 99 }
probes:
  - name: kv
    sql: { connectionString: "host=127.0.0.1 port=1 user=u sslpassword=${PLANTED.sslpassword} connect_timeout=1 dbname=x" }
    interval: 300ms
  - name: url
    sql: { connectionString: "postgres://user:${PLANTED.atInPassword}@127.0.0.1:1/db?AccountKey=${PLANTED.accountKey}" }
    interval: 300ms
  - name: web
    http: { url: "/health?client_secret=${PLANTED.clientSecret}&token=${PLANTED.jwt}" }
    interval: 300ms
  - name: cmd
    command: { run: [node, -e, "process.exit(3)", "Authorization: Basic ${PLANTED.basic}", "Authorization: Bearer ${PLANTED.bearer}"] }
    interval: 300ms
experiments:
  - name: x
    baseline: 600ms
    inject: { duration: 600ms, faults: [{ type: latency, attributes: { latency: 1 } }] }
    recover: 600ms
    expect: { steadyState: { maxErrorRatio: 1, probes: false } }
`,
    );
    let out = '';
    let err = '';
    const io: CliIo = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env: {}, cwd: dir };
    const code = await main(['run', file, '--report-dir', join(dir, 'reports')], io);
    expect([0, 1]).toContain(code);
    const files = filesUnder(join(dir, 'reports'));
    expect(files.map((f) => f.split('/').pop())).toEqual(expect.arrayContaining(['journal.json', 'junit.xml', 'report.md', 'report.html']));
    const journal = readFileSync(files.find((f) => f.endsWith('journal.json'))!, 'utf8');
    // The scenario copy is there (so the search is not vacuous), with its secrets scrubbed.
    expect(journal).toContain('access_token=***');
    expect(journal).toContain('sslpassword=***');
    expect(journal).toContain('postgres://user:***@127.0.0.1:1/db');
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      for (const [shape, secret] of Object.entries(PLANTED)) {
        const tail = secret.slice(-6);
        expect(text.includes(secret) || text.includes(tail), `${shape} leaked into ${f}`).toBe(false);
      }
    }
    for (const [shape, secret] of Object.entries(PLANTED)) {
      expect(out.includes(secret) || out.includes(secret.slice(-6)), `${shape} on stdout`).toBe(false);
      expect(err.includes(secret) || err.includes(secret.slice(-6)), `${shape} on stderr`).toBe(false);
    }
  }, 60_000);
});
