#!/usr/bin/env node
// faultline's executable: loads the TypeScript CLI through tsx (no build step after `npm ci`).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/index.ts');
process.exitCode = await main(process.argv.slice(2));
