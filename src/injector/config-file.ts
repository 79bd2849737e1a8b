/**
 * `faultline serve --config FILE`: the proxies to create at start, as Toxiproxy's `-config` JSON
 * (an array of `{name, listen, upstream, enabled}`; YAML works too). Errors name file, line and field.
 */
import { z } from 'zod';
import { InputError, isLoopbackAddress, lineOf, parseHostPort, readYamlSource, validateSpec } from '../shared/index.ts';
import type { ProxyConfig } from './control-server.ts';

const hostPort = (loopback: boolean) =>
  z.string().superRefine((v, ctx) => {
    let host: string;
    try {
      host = parseHostPort(v).host;
    } catch {
      ctx.addIssue({ code: 'custom', message: `expected host:port, got '${v}'` });
      return;
    }
    if (loopback && !isLoopbackAddress(host)) ctx.addIssue({ code: 'custom', message: `'${host}' is not a loopback address: faultline binds only to 127.0.0.0/8 or ::1` });
  });

const proxyConfigSchema = z.array(
  z.strictObject({
    name: z.string().min(1),
    listen: hostPort(true).optional(),
    upstream: hostPort(false),
    enabled: z.boolean().optional(),
  }),
);

export function readProxyConfigFile(file: string): ProxyConfig[] {
  const src = readYamlSource(file);
  const list = validateSpec(src, proxyConfigSchema, 'FAULTLINE_INJECTOR_CONFIG');
  const seen = new Set<string>();
  list.forEach((p, i) => {
    if (seen.has(p.name)) throw new InputError('FAULTLINE_INJECTOR_CONFIG', `duplicate proxy name '${p.name}'`, { file, line: lineOf(src, [i, 'name']), field: `[${i}].name` });
    seen.add(p.name);
  });
  return list.map((p) => ({ name: p.name, upstream: p.upstream, ...(p.listen !== undefined ? { listen: p.listen } : {}), ...(p.enabled !== undefined ? { enabled: p.enabled } : {}) }));
}
