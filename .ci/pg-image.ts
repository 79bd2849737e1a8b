/**
 * CI: builds (or finds, by content hash) the local PostgreSQL 15 image the container tests use and
 * prints its tag on stdout, the build time on stderr. Run: node bin/run-ts.mjs .ci/pg-image.ts
 */
import { ensureLocalPgImage } from '../src/failover/local-image.ts';

const r = await ensureLocalPgImage();
process.stderr.write(
  `pg-image: ${r.image} ${r.built ? `built in ${(r.steps.totalMs / 1000).toFixed(1)} s (root filesystem + import ${r.steps.rootfsAndImportMs === undefined ? 'cached' : `${(r.steps.rootfsAndImportMs / 1000).toFixed(1)} s`}, entrypoint layer ${((r.steps.entrypointLayerMs ?? 0) / 1000).toFixed(1)} s)` : `cached (${r.steps.totalMs} ms)`}\n`,
);
process.stdout.write(`${r.image}\n`);
