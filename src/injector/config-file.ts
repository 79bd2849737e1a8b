/**
 * `faultline serve --config FILE`: the proxies to create at start, as Toxiproxy's `-config` JSON
 * (an array of `{name, listen, upstream, enabled}`; YAML works too). Errors name file, line and field.
 */
import { z } from 'zod';
import { assertAllowed, InputError, lineOf, LOOPBACK_ONLY, parseHostPort, readYamlSource, validateSpec, type NetworkPolicy } from '../shared/index.ts';
import type { ProxyConfig } from './control-server.ts';

const hostPort = z.string().superRefine((v, ctx) => {
  try {
    parseHostPort(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: `expected host:port, got '${v}'` });
  }
});

const proxyConfigSchema = z.array(
  z.strictObject({
    name: z.string().min(1),
    listen: hostPort.optional(),
    upstream: hostPort,
    enabled: z.boolean().optional(),
  }),
);

/** Reads and checks the file; listen and upstream addresses outside loopback need the `network` allowlist (`--allow-network`). */
export function readProxyConfigFile(file: string, network: NetworkPolicy = LOOPBACK_ONLY): ProxyConfig[] {
  const src = readYamlSource(file);
  const list = validateSpec(src, proxyConfigSchema, 'FAULTLINE_INJECTOR_CONFIG');
  const seen = new Set<string>();
  list.forEach((p, i) => {
    if (seen.has(p.name)) throw new InputError('FAULTLINE_INJECTOR_CONFIG', `duplicate proxy name '${p.name}'`, { file, line: lineOf(src, [i, 'name']), field: `[${i}].name` });
    seen.add(p.name);
    for (const key of ['listen', 'upstream'] as const) {
      const v = p[key];
      if (v === undefined) continue;
      try {
        assertAllowed(parseHostPort(v).host, key === 'listen' ? 'proxy listen address' : 'proxy upstream', undefined, network);
      } catch (e) {
        throw new InputError('FAULTLINE_NET_NOT_LOOPBACK', (e as Error).message, { file, line: lineOf(src, [i, key]), field: `[${i}].${key}` });
      }
    }
  });
  return list.map((p) => ({ name: p.name, upstream: p.upstream, ...(p.listen !== undefined ? { listen: p.listen } : {}), ...(p.enabled !== undefined ? { enabled: p.enabled } : {}) }));
}
