/**
 * Hostile inputs for the fuzz tests and `npm run bench -- fuzz`: scenario files (a valid scenario with
 * random mutations: wrong types, nulls, out-of-range numbers, unit-less and absurd durations,
 * non-loopback addresses, unknown keys, deletions, broken YAML, aliases) and control-API requests
 * (any method, odd paths and percent-encodings, any JSON body, near-valid proxies and toxics).
 * Nothing generated is ever dialled: addresses outside loopback must be refused before that.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';

export const BASE_SCENARIO = {
  apiVersion: 'faultline/v1',
  kind: 'Experiment',
  metadata: { name: 'fuzz' },
  seed: 1,
  timeScale: 3600,
  target: { url: 'http://127.0.0.1:9', path: '/' },
  injector: { listen: '127.0.0.1:0' },
  load: { rate: 10, timeout: '2s', warmup: '0s' },
  slo: { name: 't', objective: 99, period: '30d' },
  probes: [
    { name: 'web', http: { url: '/health', status: 200 }, interval: '1s' },
    { name: 'db', sql: { connectionString: 'host=127.0.0.1 port=1 password=x dbname=y' } },
  ],
  aborts: { maxDuration: '5m', errorRate: { above: 0.5, window: '5s' } },
  experiments: [
    {
      name: 'x',
      baseline: '1s',
      inject: { duration: '1s', faults: [{ type: 'latency', ttl: '1m', toxicity: 1, attributes: { latency: 5, jitter: 1 } }] },
      recover: '1s',
      expect: { alerts: { 'page-fast': { fires: true, within: '5s' } } },
    },
  ],
};

/** Paths into BASE_SCENARIO a mutation may hit (objects, arrays and leaves). */
export const SCENARIO_PATHS: Array<Array<string | number>> = [
  [],
  ['apiVersion'],
  ['kind'],
  ['metadata'],
  ['metadata', 'name'],
  ['seed'],
  ['timeScale'],
  ['target'],
  ['target', 'url'],
  ['target', 'path'],
  ['target', 'address'],
  ['injector', 'listen'],
  ['injector', 'upstream'],
  ['load'],
  ['load', 'rate'],
  ['load', 'timeout'],
  ['load', 'warmup'],
  ['slo'],
  ['slo', 'objective'],
  ['slo', 'period'],
  ['probes'],
  ['probes', 0],
  ['probes', 0, 'http'],
  ['probes', 0, 'http', 'url'],
  ['probes', 0, 'http', 'status'],
  ['probes', 0, 'interval'],
  ['probes', 1, 'sql', 'connectionString'],
  ['aborts', 'maxDuration'],
  ['aborts', 'errorRate', 'above'],
  ['aborts', 'errorRate', 'window'],
  ['network'],
  ['network', 'allow'],
  ['experiments'],
  ['experiments', 0],
  ['experiments', 0, 'name'],
  ['experiments', 0, 'baseline'],
  ['experiments', 0, 'inject', 'duration'],
  ['experiments', 0, 'inject', 'faults'],
  ['experiments', 0, 'inject', 'faults', 0],
  ['experiments', 0, 'inject', 'faults', 0, 'type'],
  ['experiments', 0, 'inject', 'faults', 0, 'ttl'],
  ['experiments', 0, 'inject', 'faults', 0, 'toxicity'],
  ['experiments', 0, 'inject', 'faults', 0, 'stream'],
  ['experiments', 0, 'inject', 'faults', 0, 'attributes'],
  ['experiments', 0, 'inject', 'faults', 0, 'attributes', 'latency'],
  ['experiments', 0, 'inject', 'faults', 0, 'attributes', 'probablity'],
  ['experiments', 0, 'recover'],
  ['experiments', 0, 'expect', 'alerts'],
  ['experiments', 0, 'expect', 'alerts', 'page-fast', 'within'],
  ['failoverDrill'],
];

const hostile = fc.constantFrom<unknown>(
  null,
  '5',
  5,
  -1,
  0,
  1e308,
  -1e308,
  '1e308',
  'NaN',
  '9999999999999999999999h',
  '30d',
  '400d',
  '',
  ' ',
  'http://10.0.0.1:80',
  'http://[2001:db8::1]/',
  'http://staging.example.com',
  '0.0.0.0:0',
  '192.0.2.1:80',
  '127.0.0.2:80',
  '10.0.0.0/8',
  'not a cidr',
  '%E0%A4%A',
  '..',
  '*alias',
  '&anchor x',
  true,
  [],
  {},
  [null],
  { kind: 'Experiment' },
  'postgres://u:p@ss@10.0.0.1/db',
  'host=10.0.0.1 sslpassword=x',
  'a'.repeat(2000),
);

export const valueArb: fc.Arbitrary<unknown> = fc.oneof({ weight: 3, arbitrary: hostile }, { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) });

const mutationArb = fc.oneof(
  fc.record({ op: fc.constant('set' as const), path: fc.constantFrom(...SCENARIO_PATHS), value: valueArb }),
  fc.record({ op: fc.constant('delete' as const), path: fc.constantFrom(...SCENARIO_PATHS) }),
  fc.record({ op: fc.constant('add' as const), path: fc.constantFrom(...SCENARIO_PATHS), key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('probablity', 'toxicty', 'htp', 'grpc', '<<')), value: valueArb }),
);

function apply(doc: unknown, m: { op: 'set' | 'delete' | 'add'; path: Array<string | number>; value?: unknown; key?: string }): unknown {
  if (m.path.length === 0) return m.op === 'set' ? m.value : m.op === 'add' && doc && typeof doc === 'object' ? { ...(doc as object), [m.key as string]: m.value } : doc;
  let node: unknown = doc;
  for (const k of m.path.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return doc;
    if (!(k in (node as object))) (node as Record<string | number, unknown>)[k] = typeof k === 'number' ? [] : {};
    node = (node as Record<string | number, unknown>)[k];
  }
  if (node === null || typeof node !== 'object') return doc;
  const last = m.path.at(-1) as string | number;
  const obj = node as Record<string | number, unknown>;
  if (m.op === 'set') obj[last] = m.value;
  else if (m.op === 'delete') delete obj[last];
  else if (obj[last] !== null && typeof obj[last] === 'object') (obj[last] as Record<string, unknown>)[m.key as string] = m.value;
  return doc;
}

const textMutationArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant((t: string) => t) },
  { weight: 1, arbitrary: fc.nat().map((n) => (t: string) => t.slice(0, n % (t.length + 1))) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.constantFrom('*nope', '&a ', ': :', '\t', '- [', '{', '"', "'", '\u0000', '<<: *a', '!!binary x', '%YAML 9.9\n---\n')).map(([n, s]) => (t: string) => `${t.slice(0, n % (t.length + 1))}${s}${t.slice(n % (t.length + 1))}`) },
  {
    weight: 1,
    arbitrary: fc.constant((t: string) => {
      const bomb = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]`)];
      return `${bomb.join('\n')}\n${t}`;
    }),
  },
);

/** A scenario file's text: the valid base, mutated. */
export const scenarioTextArb: fc.Arbitrary<string> = fc.tuple(fc.array(mutationArb, { minLength: 1, maxLength: 4 }), textMutationArb).map(([muts, textMut]) => {
  let doc: unknown = structuredClone(BASE_SCENARIO);
  for (const m of muts) doc = apply(doc, m);
  let text: string;
  try {
    text = stringify(doc);
  } catch {
    text = String(doc);
  }
  return textMut(text);
});

export interface ApiRequest {
  method: string;
  path: string;
  body: string | undefined;
}

const nameArb = fc.oneof(fc.constantFrom('p', 'q', 'latency_downstream', '.', '..', 'a/b', 'a%2Fb', '%', '%zz', '%E0%A4%A', ' ', '', 'x'.repeat(300)), fc.string({ maxLength: 10 }));
const segment = nameArb.map((n) => n.replace(/\//g, '%2F'));
const toxicBodyArb = fc.record(
  {
    type: fc.oneof(fc.constantFrom('latency', 'bandwidth', 'loss', 'partition', 'timeout', 'reset_peer', 'slow_close', 'slicer', 'limit_data', 'noop', 'latncy'), valueArb),
    name: fc.oneof(nameArb, valueArb),
    stream: fc.oneof(fc.constantFrom('upstream', 'downstream', 'both', 'UP'), valueArb),
    toxicity: valueArb,
    ttl: fc.oneof(fc.constantFrom(1, 2 ** 31 + 5, 365 * 86_400_000 + 1, 0.5), valueArb),
    attributes: fc.oneof(fc.dictionary(fc.constantFrom('latency', 'jitter', 'rate', 'probability', 'probablity', 'rto', 'max_rto', 'mode', 'scope', 'timeout', 'delay', 'bytes', 'average_size', 'x'), valueArb), valueArb),
    toxicty: valueArb,
  },
  { requiredKeys: [] },
);
const proxyBodyArb = fc.record(
  {
    name: fc.oneof(nameArb, valueArb),
    listen: fc.oneof(fc.constantFrom('127.0.0.1:0', 'localhost:0', '[::1]:0', '0.0.0.0:0', '10.0.0.1:0', 'nope', '127.0.0.1:99999'), valueArb),
    upstream: fc.oneof(fc.constantFrom('127.0.0.1:9', 'localhost:9', '192.0.2.1:80', 'staging.example.com:80', ':80', '127.0.0.2:9'), valueArb),
    enabled: fc.oneof(fc.boolean(), valueArb),
    upstreams: valueArb,
  },
  { requiredKeys: [] },
);

export const apiRequestArb: fc.Arbitrary<ApiRequest> = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS'),
  path: fc.oneof(
    fc.constantFrom('/version', '/metrics', '/reset', '/populate', '/proxies', '/proxies/p', '/proxies/p/toxics', '/proxies/p/toxics/latency_downstream', '/proxies/p/upstreams', '/', '//', '/proxies/%', '/proxies/%E0%A4%A/toxics'),
    segment.map((s) => `/proxies/${s}`),
    fc.tuple(segment, segment).map(([a, b]) => `/proxies/${a}/toxics/${b}`),
    fc.tuple(segment, segment, segment).map(([a, b, c]) => `/${a}/${b}/${c}`),
  ),
  body: fc.oneof(
    fc.constant(undefined),
    toxicBodyArb.map((b) => JSON.stringify(b)),
    proxyBodyArb.map((b) => JSON.stringify(b)),
    fc.array(proxyBodyArb, { maxLength: 3 }).map((b) => JSON.stringify(b)),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.constantFrom('{', 'null', '[]', '"x"', '{"type":', '\u0000', 'a'.repeat(5000)),
  ),
});
