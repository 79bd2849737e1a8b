#!/usr/bin/env node
// faultline's executable: loads the TypeScript CLI through tsx (no build step after `npm ci`).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/index.ts');
const code = await main(process.argv.slice(2));
// Exit explicitly once stdout and stderr are flushed: with module.register() hooks, Node 20 can spin
// instead of exiting when the event loop simply runs dry.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
