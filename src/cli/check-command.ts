import { assertAllowed, ExitCode, InputError, networkPolicy } from '../shared/index.ts';
import { checkBundle, describeFinding, type BundleCheckSpec, type BundleLimits, type SecretSource } from '../scenario/index.ts';
import { parseFlags, requireFlag } from './args.ts';
import type { Command } from './io.ts';

const usage = `faultline check — one-shot checks of a running deployment

Usage:
  faultline check bundle --url URL [--header 'Authorization: Bearer $TOKEN']… [--secret-env NAME]…
                         [--secret-file PATH]… [--allow-key KEY]… [--max-archive-bytes N]
                         [--max-bytes N] [--max-files N] [--allow-network CIDR]… [--json]

bundle   fetches a support bundle (tar.gz, tar or zip) from a loopback URL (or one whose IP address
         --allow-network admits; repeatable, e.g. 10.20.0.0/16), unpacks it in memory
         within limits (default 32 MiB archive, 128 MiB unpacked, 5000 files; a zip bomb, a
         path-traversal, absolute or link entry is refused) and scans every file for the
         deployment's actual secrets — given by reference, as environment variable names
         (--secret-env DB_PASSWORD) or files (--secret-file key.txt), never echoed: only "secret
         from $DB_PASSWORD found in config.json:12" — and for credential shapes: URLs with
         passwords, bearer and basic tokens, PEM private keys, cloud access keys, JWTs and
         high-entropy values under keys named like secrets. --allow-key (repeatable) flags every
         other key in the bundle's config files (config.*). Header values may name environment
         variables ($NAME).

Exit codes: 0 no finding, 1 findings or the archive was refused, 2 invalid input (e.g. an unset
secret reference), 4 harness error.`;

function limit(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InputError('FAULTLINE_CLI_USAGE', `--${flag} must be a positive integer (got '${v}')`, { field: flag });
  return n;
}

export const checkCommand: Command = {
  usage,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub !== 'bundle') throw new InputError('FAULTLINE_CLI_USAGE', `expected 'bundle' (got ${sub === undefined ? 'nothing' : `'${sub}'`}); see 'faultline check --help'`);
    const { values } = parseFlags(rest, {
      url: { type: 'string' },
      header: { type: 'string', multiple: true },
      'secret-env': { type: 'string', multiple: true },
      'secret-file': { type: 'string', multiple: true },
      'allow-key': { type: 'string', multiple: true },
      'max-archive-bytes': { type: 'string' },
      'max-bytes': { type: 'string' },
      'max-files': { type: 'string' },
      'allow-network': { type: 'string', multiple: true },
      json: { type: 'boolean' },
    });
    const url = requireFlag(values.url, 'url');
    if (!URL.canParse(url)) throw new InputError('FAULTLINE_CLI_USAGE', `--url is not a URL: '${url}'`, { field: 'url' });
    const network = networkPolicy(values['allow-network'] ?? [], '--allow-network');
    // Refused before a secret is read or a byte is sent (checkBundle checks again before fetching).
    assertAllowed(new URL(url).hostname, 'bundle URL', 'url', network);
    const headers: Record<string, string> = {};
    for (const h of values.header ?? []) {
      const i = h.indexOf(':');
      if (i <= 0) throw new InputError('FAULTLINE_CLI_USAGE', `--header needs 'Name: value' (got '${h.slice(0, 40)}')`, { field: 'header' });
      headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
    }
    const secrets: SecretSource[] = [...(values['secret-env'] ?? []).map((env) => ({ env })), ...(values['secret-file'] ?? []).map((file) => ({ file }))];
    const limits: Partial<BundleLimits> = {};
    const a = limit(values['max-archive-bytes'], 'max-archive-bytes');
    const b = limit(values['max-bytes'], 'max-bytes');
    const f = limit(values['max-files'], 'max-files');
    if (a !== undefined) limits.maxArchiveBytes = a;
    if (b !== undefined) limits.maxBytes = b;
    if (f !== undefined) limits.maxFiles = f;
    const spec: BundleCheckSpec = { url, headers, secrets, limits, network, ...(values['allow-key'] ? { allowedConfigKeys: values['allow-key'] } : {}) };
    const report = await checkBundle(spec, io.env);
    if (values.json) io.stdout.write(`${JSON.stringify({ passed: report.findings.length === 0, ...report })}\n`);
    else {
      io.stdout.write(`bundle: ${report.files} files, ${report.bytes} bytes, ${report.findings.length} finding(s)\n`);
      for (const x of report.findings) io.stdout.write(`  ${describeFinding(x)}\n`);
      io.stdout.write(report.findings.length === 0 ? 'result: PASSED — no secret found\n' : 'result: FAILED — the bundle is not secret-free\n');
    }
    return report.findings.length === 0 ? ExitCode.passed : ExitCode.expectationFailed;
  },
};
