#!/usr/bin/env node
// faultline's executable: loads the TypeScript CLI through tsx (no build step after `npm ci`).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/index.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Exit even if a library left a handle open; the timer itself does not keep the process alive.
setTimeout(() => process.exit(code), 200).unref();
