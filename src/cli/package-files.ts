/**
 * Files the package ships beside its code (scenarios/), found from this module whether it runs as
 * TypeScript from a clone (src/cli/) or compiled from an installed package (dist/src/cli/).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FaultlineError } from '../shared/index.ts';

/** The absolute path of `rel` (e.g. 'scenarios/chaos-selftest.yaml') in faultline's package root. */
export function packageFile(rel: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, rel);
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    // The package root holds package.json: never look above it (into a project that installed faultline).
    if (existsSync(join(dir, 'package.json')) || up === dir) break;
    dir = up;
  }
  throw new FaultlineError('FAULTLINE_CLI_PACKAGE_FILE_MISSING', `${rel} is missing from faultline's package (looked up from ${dirname(fileURLToPath(import.meta.url))}); reinstall faultline`);
}
