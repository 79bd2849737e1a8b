#!/usr/bin/env node
// faultline's executable: runs the compiled CLI in dist/ (plain Node, no TypeScript loader).
// dist/ is built by `npm run build`, which `npm ci`/`npm install` run through the `prepare` script.
let cli;
try {
  cli = await import('../dist/src/cli/index.js');
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes('/dist/src/cli/index.js')) throw e;
  process.stderr.write("faultline: the compiled CLI (dist/) is missing: run 'npm run build' (npm ci runs it for you)\n");
  process.exit(4);
}
const code = await cli.main(process.argv.slice(2));
// Exit by letting the event loop end: every command closes what it opened (a handle left open is a bug
// that the CLI tests catch as a hang, not something to paper over with process.exit).
process.exitCode = code;
