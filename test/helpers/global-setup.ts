/**
 * Vitest global setup:
 * - every test run gets one private temp root (TMPDIR), removed when the run ends, so report dirs,
 *   sockets and PostgreSQL data left by tests never pile up in /tmp. The root is world-traversable
 *   (0755) because the PostgreSQL server runs as its own OS user when tests run as root.
 * - tests that spawn bin/faultline.mjs run the compiled CLI in dist/, as users do: it is rebuilt
 *   (`npm run build`) before any test runs whenever a source is newer than dist/, so no test ever
 *   runs a stale build. In watch mode the check repeats before every rerun.
 * - a Docker daemon the container tests had to start themselves (test/helpers/docker-engine.ts) is
 *   stopped by its pid when the run ends.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { stopDockerStartedByTests } from './docker-engine.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** What `npm run build` compiles (tsconfig.build.json) and what configures it. */
const buildInputs = ['src', 'fixtures/reference-service', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];
const builtMarker = join(root, 'dist/src/cli/index.js');

/** Newest mtime under `path`: files and directories (a deleted or renamed file changes its directory's). */
function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (!entry.endsWith('.test.ts')) newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

function distIsStale(): boolean {
  let built: number;
  try {
    built = statSync(builtMarker).mtimeMs;
  } catch {
    return true;
  }
  return buildInputs.some((p) => newestMtime(join(root, p)) > built);
}

function buildDistIfStale(): void {
  if (!distIsStale()) return;
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build failed (exit ${r.status}) — the CLI tests need dist/:\n${r.stdout}${r.stderr}`);
}

export default function setup(project: TestProject): () => Promise<void> {
  buildDistIfStale();
  project.onTestsRerun(() => buildDistIfStale());
  // One private root per test run, shared by both projects (core, containers): a second mkdtemp inside
  // the first made paths so long that PostgreSQL's Unix socket path passed its 107-byte limit.
  const owner = process.env.FAULTLINE_TEST_TMP === undefined;
  const tmp = process.env.FAULTLINE_TEST_TMP ?? mkdtempSync(join(tmpdir(), 'faultline-tests-'));
  if (owner) {
    chmodSync(tmp, 0o755);
    process.env.FAULTLINE_TEST_TMP = tmp;
    process.env.TMPDIR = tmp;
  }
  return async () => {
    if (owner) {
      rmSync(tmp, { recursive: true, force: true });
      delete process.env.FAULTLINE_TEST_TMP;
    }
    await stopDockerStartedByTests();
  };
}
