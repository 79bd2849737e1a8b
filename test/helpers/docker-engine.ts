/**
 * Docker for the container tests (test/containers/): the daemon DOCKER_HOST (or the default socket)
 * names when one answers — a user's CI, or the one .ci/run started — otherwise a private loopback-only
 * dockerd started by .ci/docker.sh (installing docker.io when absent; needs root), which the global
 * teardown stops again by pid. The local PostgreSQL image is built once (content-hash tag) under a
 * lock, so parallel test files neither start two daemons nor build twice.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const exec = promisify(execFile);
const script = fileURLToPath(new URL('../../.ci/docker.sh', import.meta.url));
/** Shared by every test worker and the global teardown (not under the per-run TMPDIR). */
const STATE = process.env.FAULTLINE_DOCKERD_DIR ?? '/tmp/faultline-dockerd';
const LOCK = `${STATE}.lock`;
const STARTED_BY_TESTS = `${STATE}.started-by-tests`;

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 20 * 60_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      break;
    } catch {
      // A holder that died leaves its lock behind: take it over.
      const holder = Number(existsSync(join(LOCK, 'pid')) ? readFileSync(join(LOCK, 'pid'), 'utf8') : NaN);
      if (Number.isInteger(holder) && !alive(holder)) rmSync(LOCK, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK}`);
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The environment the container tests run with; also sets it on process.env (testcontainers reads it there). */
export interface DockerEnv {
  DOCKER_HOST: string;
  /** 'started': .ci/docker.sh started it for the tests; 'existing': it was already running. */
  origin: 'started' | 'existing';
  image: string;
  imageBuilt: boolean;
  imageMs: number;
}

let cached: Promise<DockerEnv> | undefined;

export function dockerForTests(): Promise<DockerEnv> {
  cached ??= withLock(async () => {
    const { stdout } = await exec('bash', [script, 'start'], { timeout: 10 * 60_000, env: { ...process.env, FAULTLINE_DOCKERD_DIR: STATE } });
    const kv = Object.fromEntries(stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const origin = kv.FAULTLINE_DOCKERD === 'started' ? 'started' : 'existing';
    if (origin === 'started') writeFileSync(STARTED_BY_TESTS, '');
    if (kv.DOCKER_HOST) process.env.DOCKER_HOST = kv.DOCKER_HOST;
    process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
    process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
    const { ensureLocalPgImage } = await import('../../src/failover/local-image.ts');
    const image = process.env.FAULTLINE_PG_IMAGE ? { image: process.env.FAULTLINE_PG_IMAGE, built: false, steps: { totalMs: 0 } } : await ensureLocalPgImage();
    return { DOCKER_HOST: process.env.DOCKER_HOST ?? '', origin, image: image.image, imageBuilt: image.built, imageMs: image.steps.totalMs };
  });
  return cached;
}

/** Global teardown: stops the daemon only when a test run (not .ci/run, not the user) started it. */
export async function stopDockerStartedByTests(): Promise<void> {
  if (!existsSync(STARTED_BY_TESTS)) return;
  rmSync(STARTED_BY_TESTS, { force: true });
  await exec('bash', [script, 'stop'], { timeout: 60_000, env: { ...process.env, FAULTLINE_DOCKERD_DIR: STATE } });
}

/** docker CLI against the tests' daemon. */
export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await exec('docker', args, { timeout: 120_000, env: process.env });
  return stdout;
}
