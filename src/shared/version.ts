/**
 * faultline's version: package.json's `version`, read once — the one source (the CLI's --version and
 * the control plane's GET /version print it). package.json sits two folders above this file in the
 * source tree (src/shared/) and three above its compiled form (dist/src/shared/), and npm always packs it.
 */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function faultlineVersion(): string {
  if (cached !== undefined) return cached;
  for (const up of ['../../package.json', '../../../package.json']) {
    let text: string;
    try {
      text = readFileSync(new URL(up, import.meta.url), 'utf8');
    } catch {
      continue;
    }
    const pkg = JSON.parse(text) as { name?: unknown; version?: unknown };
    if (pkg.name === 'faultline' && typeof pkg.version === 'string') return (cached = pkg.version);
  }
  throw new Error("faultline's package.json was not found next to its source");
}
