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
// The command has finished, reports and output are written (stdout and stderr are synchronous for files,
// pipes and terminals on POSIX): exit now. Left to Node's own teardown, a handle still closing after a
// partition drill made FreeEnvironment's cleanup loop spin at 100 % CPU and never exit.
process.exit(code);
