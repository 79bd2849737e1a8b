#!/usr/bin/env node
// Runs a TypeScript entry file through tsx's ESM loader (no build step): node bin/run-ts.mjs FILE [args…]
import { register } from 'tsx/esm/api';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

register();
const [file, ...rest] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bin/run-ts.mjs FILE [args…]\n');
  process.exit(2);
}
process.argv = [process.argv[0], resolve(file), ...rest];
await import(pathToFileURL(resolve(file)).href);
// Exit explicitly (see bin/faultline.mjs): module.register() hooks can keep Node 20 spinning at exit.
process.stdout.write('', () => process.exit(process.exitCode ?? 0));
