/**
 * Strict inputs at `faultline validate`: durations need units and stay under a year, addresses outside
 * loopback are refused (naming the field and the address, exit 2, nothing dialled) unless the network
 * allowlist admits them, YAML alias errors are exit 2 with file:line, and every message names the
 * deepest field and says what was expected and what came.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, type CliIo } from '../../src/cli/index.ts';
import { parseScenario } from '../../src/scenario/model.ts';

const dir = mkdtempSync(join(tmpdir(), 'faultline-strict-'));

function scenario(over: { target?: string; injector?: string; probes?: string; head?: string; fault?: string; timeout?: string } = {}): string {
  return `apiVersion: faultline/v1
kind: Experiment
metadata: { name: strict }
${over.head ?? ''}
target: ${over.target ?? '{ url: "http://127.0.0.1:8080", path: / }'}
${over.injector ? `injector: ${over.injector}` : ''}
load: { rate: 10, timeout: ${over.timeout ?? '2s'} }
slo: { name: t, objective: 99 }
probes: ${over.probes ?? '[]'}
experiments:
  - name: x
    baseline: 1s
    inject:
      duration: 1s
      faults: [${over.fault ?? '{ type: latency, attributes: { latency: 5 } }'}]
    recover: 1s
`;
}

let n = 0;
async function validate(text: string, ...flags: string[]): Promise<{ code: number; out: string; err: string }> {
  const file = join(dir, `s${++n}.yaml`);
  writeFileSync(file, text);
  let out = '';
  let err = '';
  const io: CliIo = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env: {}, cwd: dir };
  const code = await main(['validate', file, ...flags], io);
  return { code, out, err: err.replaceAll(`${dir}/`, '') };
}

describe('durations', () => {
  it('a bare "5" or a YAML number is refused in every duration field, naming it and asking for a unit', async () => {
    for (const v of ['"5"', '5']) {
      const r = await validate(scenario({ timeout: v }));
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/s\d+\.yaml:\d+ field 'load\.timeout': .*(needs a unit|with a unit)/);
    }
    const period = await validate(scenario().replace('slo: { name: t, objective: 99 }', 'slo: { name: t, objective: 99, period: "30" }'));
    expect(period.code).toBe(2);
    expect(period.err).toMatch(/field 'slo\.period'/);
  });

  it('absurd durations are refused (at most a year), a 30-day lease is accepted', async () => {
    const r = await validate(scenario().replace('recover: 1s', 'recover: 9999999999999999999999h'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/field 'experiments\[0\]\.recover': duration '9999999999999999999999h' is longer than the maximum of 365d/);
    expect((await validate(scenario({ fault: '{ type: latency, ttl: 30d, attributes: { latency: 5 } }' }))).code).toBe(0);
  });
});

describe('fault attributes through the scenario', () => {
  it('a misspelt attribute, null toxicity and an out-of-range value are exit 2 naming the deepest field', async () => {
    const typo = await validate(scenario({ fault: '{ type: loss, attributes: { probablity: 0.5 } }' }));
    expect(typo.code).toBe(2);
    expect(typo.err).toMatch(/field 'experiments\[0\]\.inject\.faults\[0\]\.attributes\.probablity': unknown attribute 'probablity' for loss \(did you mean 'probability'\?\)/);
    const nul = await validate(scenario({ fault: '{ type: latency, toxicity: null }' }));
    expect(nul.code).toBe(2);
    expect(nul.err).toMatch(/field 'experiments\[0\]\.inject\.faults\[0\]\.toxicity': expected number, received null/);
    const big = await validate(scenario({ fault: '{ type: latency, attributes: { latency: 1e308 } }' }));
    expect(big.code).toBe(2);
    expect(big.err).toMatch(/attributes\.latency'.*\[0, 3600000\].*got 1e\+308/);
  });
});

describe('network: loopback only unless allowed', () => {
  const refused: Array<[string, Parameters<typeof scenario>[0], RegExp]> = [
    ['target url', { target: '{ url: "http://10.1.2.3:8080" }' }, /field 'target\.url': target URL host '10\.1\.2\.3' is not a loopback address/],
    ['target url (IPv6)', { target: '{ url: "http://[2001:db8::1]:8080" }' }, /field 'target\.url': .*'\[2001:db8::1\]' is not a loopback address/],
    ['target url (host name)', { target: '{ url: "http://staging.example.com" }' }, /field 'target\.url': .*'staging\.example\.com' is not a loopback address/],
    ['target address', { target: '{ address: "192.0.2.10:5432" }' }, /field 'target\.address': target address '192\.0\.2\.10'/],
    ['injector upstream', { injector: '{ upstream: "192.0.2.10:80" }' }, /field 'injector\.upstream': injector upstream '192\.0\.2\.10'/],
    ['injector listen', { injector: '{ listen: "0.0.0.0:0" }' }, /field 'injector\.listen': injector's listen address '0\.0\.0\.0'/],
    ['http probe', { probes: '[{ name: p, http: { url: "http://198.51.100.7/health" } }]' }, /field 'probes\[0\]\.http\.url': probe URL '198\.51\.100\.7'/],
    ['tcp probe', { probes: '[{ name: p, tcp: { address: "198.51.100.7:22" } }]' }, /field 'probes\[0\]\.tcp\.address': probe address '198\.51\.100\.7'/],
    ['sql probe (URL)', { probes: '[{ name: p, sql: { connectionString: "postgres://u@198.51.100.7/db" } }]' }, /field 'probes\[0\]\.sql\.connectionString': SQL probe host '198\.51\.100\.7'/],
    ['sql probe (key=value)', { probes: '[{ name: p, sql: { connectionString: "host=198.51.100.7 dbname=x" } }]' }, /field 'probes\[0\]\.sql\.connectionString': SQL probe host/],
    ['prometheus probe', { probes: '[{ name: p, prometheus: { url: "http://203.0.113.5:9090", query: up } }]' }, /field 'probes\[0\]\.prometheus\.url': Prometheus URL '203\.0\.113\.5'/],
  ];
  for (const [what, over, message] of refused) {
    it(`refuses a non-loopback ${what} with exit 2, the field and the address (nothing dialled)`, async () => {
      const r = await validate(scenario(over));
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/FAULTLINE_NET_NOT_LOOPBACK/);
      expect(r.err).toMatch(message);
      expect(r.err).not.toMatch(/\n\s+at /);
    });
  }

  it('network.allow and --allow-network admit addresses (127.0.0.2 stands in for a game-day host); the model carries the policy', async () => {
    const over = { target: '{ url: "http://127.0.0.2:8080" }', injector: '{ listen: "127.0.0.2:0", upstream: "127.0.0.2:8080" }', probes: '[{ name: p, tcp: { address: "127.0.0.2:22" } }]' };
    expect((await validate(scenario({ ...over, head: 'network: { allow: [127.0.0.2/32] }' }))).code).toBe(0);
    expect((await validate(scenario({ ...over }), '--allow-network', '127.0.0.2/32')).code).toBe(0);
    const model = parseScenario(scenario({ target: '{ url: "http://198.51.100.7:8080" }', head: 'network: { allow: [198.51.100.0/24] }' }), 'm.yaml');
    expect(model.network.allow).toEqual(['198.51.100.0/24']);
    expect(model.network.allows('198.51.100.7')).toBe(true);
    expect(model.network.allows('198.51.101.7')).toBe(false);
    const outside = await validate(scenario({ target: '{ url: "http://198.51.101.7" }', head: 'network: { allow: [198.51.100.0/24] }' }));
    expect(outside.err).toMatch(/'198\.51\.101\.7' is not a loopback address and not in the network allowlist \(198\.51\.100\.0\/24\)/);
  });

  it('a malformed CIDR is exit 2 naming network.allow[i] or --allow-network', async () => {
    const inFile = await validate(scenario({ head: 'network: { allow: [10.0.0.0/8, "10.0.0/8"] }' }));
    expect(inFile.code).toBe(2);
    expect(inFile.err).toMatch(/s\d+\.yaml:\d+ field 'network\.allow\[1\]': expected a CIDR/);
    const flag = await validate(scenario(), '--allow-network', '300.1.1.1/8');
    expect(flag.code).toBe(2);
    expect(flag.err).toMatch(/field '--allow-network': expected a CIDR/);
  });
});

describe('YAML and messages', () => {
  it('an unresolved alias and an alias bomb are exit 2 with file:line, never a harness error', async () => {
    const unresolved = await validate(scenario().replace('metadata: { name: strict }', 'metadata: { name: *nope }'));
    expect(unresolved.code).toBe(2);
    expect(unresolved.err).toMatch(/FAULTLINE_INPUT_YAML: s\d+\.yaml:3: .*alias/i);
    const bomb = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]`)].join('\n');
    const r = await validate(scenario().replace('metadata: { name: strict }', `metadata: { name: strict, description: x }\nx-bomb:\n${bomb.replace(/^/gm, '  ')}`));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/FAULTLINE_INPUT_YAML: s\d+\.yaml:\d+: too many alias expansions/);
  });

  it('a mapping with a list, a mapping or a !!binary value as a key (also through an alias) is exit 2 with file:line, and no Node warning is printed', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const list = await validate(scenario().replace('metadata: { name: strict }', 'metadata: { name: strict }\n? [a, b]\n: 1'));
      expect(list.code).toBe(2);
      expect(list.err).toMatch(/FAULTLINE_INPUT_YAML: s\d+\.yaml:4:3: a mapping key must be a plain value, got a list as a key/);
      const flow = await validate(scenario().replace('metadata: { name: strict }', 'metadata: { name: strict, { x: 1 }: y }'));
      expect(flow.code).toBe(2);
      expect(flow.err).toMatch(/FAULTLINE_INPUT_YAML: s\d+\.yaml:3:\d+: a mapping key must be a plain value, got a mapping as a key/);
      const alias = await validate(scenario().replace('metadata: { name: strict }', 'metadata: { name: strict }\nx-k: &k { a: 1 }\nx-v: { *k : 2 }'));
      expect(alias.code).toBe(2);
      expect(alias.err).toMatch(/FAULTLINE_INPUT_YAML: s\d+\.yaml:5:\d+: a mapping key must be a plain value, got a mapping as a key/);
      const binary = await validate(scenario().replace('metadata: { name: strict }', 'metadata: { name: strict }\n? !!binary SGVsbG8=\n: 1'));
      expect(binary.code).toBe(2);
      expect(binary.err).toMatch(/FAULTLINE_INPUT_YAML: s\d+\.yaml:4:\d+: a mapping key must be a plain value, got a tagged value/);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it('a probe union names the deepest field and expected vs got, not "Invalid input"', async () => {
    const status = await validate(scenario({ probes: '[{ name: p, http: { url: /x, status: "200" } }]' }));
    expect(status.err).toMatch(/field 'probes\[0\]\.http\.status': expected number, received string/);
    const kind = await validate(scenario({ probes: '[{ name: p, htp: { url: /x } }]' }));
    expect(kind.err).toMatch(/field 'probes\[0\]': expected exactly one of http, tcp, sql, command, .*unknown: 'htp' \(did you mean 'http'\?\)/);
    const key = await validate(scenario({ probes: '[{ name: p, tcp: { address: "127.0.0.1:1", bogus: 1 } }]' }));
    expect(key.err).toMatch(/field 'probes\[0\]\.tcp\.bogus': unknown field 'bogus'/);
    for (const r of [status, kind, key]) {
      expect(r.code).toBe(2);
      expect(r.err).not.toMatch(/Invalid input/);
    }
  });
});
