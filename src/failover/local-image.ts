/**
 * The testcontainers provider's default image, built locally from Debian packages (no registry): a
 * root filesystem from `mmdebstrap --variant=minbase --include=postgresql-15,gosu bookworm` piped into
 * `docker import`, then the entrypoint layer of docker/postgres-local/ (the official postgres image's
 * environment contract). Both images are tagged by a content hash of what went into them, so a build
 * happens once per change and a second call finds the tag and returns at once.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FaultlineError } from '../shared/index.ts';

/** What the base root filesystem is made of; part of its content hash. */
export const LOCAL_BASE_RECIPE = { tool: 'mmdebstrap', variant: 'minbase', suite: 'bookworm', include: ['postgresql-15', 'gosu'] } as const;
export const LOCAL_IMAGE_REPO = 'faultline/postgres';
/** docker/postgres-local/ of the package: two levels up from src/failover, three from the compiled dist/src/failover. */
const CONTEXT_DIR = ['../../docker/postgres-local/', '../../../docker/postgres-local/'].map((rel) => fileURLToPath(new URL(rel, import.meta.url))).find((d) => existsSync(`${d}Dockerfile`)) ?? fileURLToPath(new URL('../../docker/postgres-local/', import.meta.url));
const CONTEXT_FILES = ['Dockerfile', 'docker-entrypoint.sh'] as const;

export interface LocalImage {
  /** The tag to run, e.g. faultline/postgres:15-1a2b3c4d5e6f. */
  image: string;
  base: string;
  /** False when both tags were there already (the cache hit). */
  built: boolean;
  /** Wall time of each step that ran (ms). */
  steps: { rootfsAndImportMs?: number; entrypointLayerMs?: number; totalMs: number };
}

const hash12 = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 12);

/** The tags the current recipe and context files produce (no Docker needed). */
export function localImageTags(): { base: string; image: string } {
  const base = `${LOCAL_IMAGE_REPO}-base:bookworm-${hash12(JSON.stringify(LOCAL_BASE_RECIPE))}`;
  const ctx = CONTEXT_FILES.map((f) => `${f}\0${readFileSync(CONTEXT_DIR + f, 'utf8')}`).join('\0');
  return { base, image: `${LOCAL_IMAGE_REPO}:15-${hash12(`${base}\0${ctx}`)}` };
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
    p.stderr.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.once('error', (e) => {
      clearTimeout(timer);
      reject(new FaultlineError('FAULTLINE_FAILOVER_IMAGE', `${cmd}: ${e.message}`, { cause: e }));
    });
    p.once('close', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new FaultlineError('FAULTLINE_FAILOVER_IMAGE', `${cmd} ${args.slice(0, 2).join(' ')} ${sig ? `killed (${sig}, deadline ${timeoutMs} ms)` : `exited ${code}`}: ${out.trim().split('\n').slice(-4).join(' | ')}`));
    });
  });
}

const exists = (tag: string, env: NodeJS.ProcessEnv): Promise<boolean> =>
  run('docker', ['image', 'inspect', '--format', '{{.Id}}', tag], env, 30_000).then(
    () => true,
    () => false,
  );

/**
 * Returns the local PostgreSQL 15 image, building what is missing. Needs the `docker` CLI reaching a
 * daemon (DOCKER_HOST) and, for the base, `mmdebstrap` run as root with Debian's package mirror
 * reachable. Otherwise pass an image of your own (`--image postgres:15`).
 */
export async function ensureLocalPgImage(env: NodeJS.ProcessEnv = process.env): Promise<LocalImage> {
  const t0 = performance.now();
  const { base, image } = localImageTags();
  const steps: LocalImage['steps'] = { totalMs: 0 };
  let built = false;
  if (!(await exists(image, env))) {
    if (!(await exists(base, env))) {
      const t = performance.now();
      const r = LOCAL_BASE_RECIPE;
      // Streamed: the ≈ 480 MB root filesystem tar never lands on disk.
      const pipeline = `set -o pipefail; mmdebstrap --quiet --variant=${r.variant} --include=${r.include.join(',')} ${r.suite} - | docker import --message 'faultline: ${r.tool} ${r.variant} ${r.suite} + ${r.include.join(' ')}' - '${base}'`;
      await run('bash', ['-c', pipeline], env, 15 * 60_000).catch((e: Error) => {
        throw new FaultlineError('FAULTLINE_FAILOVER_IMAGE', `cannot build the local base image (needs mmdebstrap as root and Debian's mirror; or pass --image): ${e.message}`, { cause: e });
      });
      steps.rootfsAndImportMs = Math.round(performance.now() - t);
    }
    const t = performance.now();
    // The classic builder: no BuildKit/buildx needed, and FROM a local tag never pulls.
    await run('docker', ['build', '--quiet', '--build-arg', `BASE=${base}`, '--label', 'dev.faultline.image=postgres-local', '-t', image, CONTEXT_DIR], { ...env, DOCKER_BUILDKIT: '0' }, 5 * 60_000);
    steps.entrypointLayerMs = Math.round(performance.now() - t);
    built = true;
  }
  steps.totalMs = Math.round(performance.now() - t0);
  return { image, base, built, steps };
}
