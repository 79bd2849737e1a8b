/**
 * docker-compose.yml for real: the game-day pair comes up (the locally built image through
 * FAULTLINE_PG_IMAGE, the host-network override: loopback ports, no bridge address), the external
 * provider drills it through scenarios/failover-external.yaml exactly as a user runs it, and it goes
 * down again — with `docker compose` v2 where present, else Debian's docker-compose 1.29. Afterwards no
 * container, volume or network of the compose project is left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { docker, dockerForTests } from '../helpers/docker-engine.ts';

const exec = promisify(execFile);
const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(projectRoot, 'bin/faultline.mjs');
const out = mkdtempSync(join(tmpdir(), 'faultline-compose-'));
const project = `faultline-gameday-${process.pid}`;
let compose: string[];
let env: NodeJS.ProcessEnv;

/** `docker compose` (v2 plugin) when the docker CLI has it, else `docker-compose` (v1). */
async function composeTool(): Promise<string[]> {
  return exec('docker', ['compose', 'version'], { env: process.env }).then(
    () => ['docker', 'compose'],
    () => ['docker-compose'],
  );
}

const run = (cmd: string[], timeout = 180_000): Promise<{ stdout: string; stderr: string }> => exec(cmd[0]!, cmd.slice(1), { cwd: projectRoot, env, timeout });

/** v2: up --wait; v1 has no --wait: poll both services' health. */
async function up(): Promise<void> {
  if (compose.length === 2) {
    await run([...compose, 'up', '-d', '--wait']);
    return;
  }
  await run([...compose, 'up', '-d']);
  const deadline = Date.now() + 180_000;
  for (;;) {
    const ids = (await run([...compose, 'ps', '-q'])).stdout.trim().split('\n').filter(Boolean);
    const health = ids.length ? (await docker('inspect', '-f', '{{.State.Health.Status}}', ...ids)).trim().split('\n') : [];
    if (health.length === 2 && health.every((h) => h === 'healthy')) return;
    if (Date.now() > deadline) throw new Error(`compose pair not healthy after 180 s: ${health.join(', ')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function leftovers(): Promise<{ containers: string; volumes: string; networks: string }> {
  const label = `label=com.docker.compose.project=${project}`;
  return {
    containers: (await docker('ps', '-aq', '--filter', label)).trim(),
    volumes: (await docker('volume', 'ls', '-q', '--filter', label)).trim(),
    networks: (await docker('network', 'ls', '-q', '--filter', label)).trim(),
  };
}

beforeAll(async () => {
  const d = await dockerForTests();
  compose = await composeTool();
  env = {
    ...process.env,
    PGPASSWORD: `gd-${process.pid}-${Date.now()}`,
    FAULTLINE_PG_IMAGE: d.image,
    COMPOSE_PROJECT_NAME: project,
    COMPOSE_FILE: 'docker-compose.yml:docker-compose.host-network.yml',
    FAULTLINE_COMPOSE: compose.join(' '),
  };
}, 20 * 60_000);

afterAll(async () => {
  await run([...compose, 'down', '-v', '--remove-orphans']).catch(() => undefined);
  expect(await leftovers()).toEqual({ containers: '', volumes: '', networks: '' });
}, 120_000);

describe('docker-compose.yml game day, run for real', () => {
  it('up, the external drill through scenarios/failover-external.yaml (docker kill, stale restart) passes, down leaves nothing', async () => {
    const t0 = performance.now();
    await up();
    const upMs = performance.now() - t0;
    // Host networking: the containers have no address of their own, the nodes answer on loopback.
    const ids = (await run([...compose, 'ps', '-q'])).stdout.trim().split('\n');
    expect((await docker('inspect', '-f', '{{.HostConfig.NetworkMode}}', ...ids)).trim().split('\n')).toEqual(['host', 'host']);
    const json = join(out, 'drill.json');
    const drill = await exec(process.execPath, [bin, 'drill', 'failover', '--scenario', 'scenarios/failover-external.yaml', '--json', json, '--report-dir', out], { cwd: projectRoot, env, timeout: 240_000 }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: `${e.stdout}${e.stderr}` }),
    );
    expect(drill.code, drill.stdout).toBe(0);
    const summary = JSON.parse(readFileSync(json, 'utf8')) as { verdict: string; provider: string; fault: string; followUp: string; violations: unknown[]; evidence: string[] };
    expect(summary).toMatchObject({ verdict: 'pass', provider: 'external', fault: 'kill', followUp: 'restart', violations: [] });
    // The scenario's own docker compose commands ran (kill, then start of the stale primary); no password in the evidence.
    const evidence = readFileSync(join(summary.evidence[0]!, 'evidence.json'), 'utf8');
    expect(evidence).toMatch(/"step": "stopPrimary"/);
    expect(evidence).toMatch(/"step": "startPrimary"/);
    expect(evidence).not.toContain(env.PGPASSWORD);
    const t1 = performance.now();
    await run([...compose, 'down', '-v', '--remove-orphans']);
    expect(await leftovers()).toEqual({ containers: '', volumes: '', networks: '' });
    process.stderr.write(`compose game day (${compose.join(' ')}): up ${(upMs / 1000).toFixed(1)} s, down ${((performance.now() - t1) / 1000).toFixed(1)} s, up + drill + down ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  }, 400_000);

  it('a second fresh pair: partition of the replication (replication.sh stop/start) and the pg_rewind follow-up (rewind.sh) pass', async () => {
    await up();
    const json = join(out, 'rewind.json');
    const drill = await exec(process.execPath, [bin, 'drill', 'failover', '--scenario', 'scenarios/failover-external.yaml', '--fault', 'partition', '--follow-up', 'rewind', '--json', json, '--report-dir', out], { cwd: projectRoot, env, timeout: 240_000 }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: `${e.stdout}${e.stderr}` }),
    );
    expect(drill.code, drill.stdout).toBe(0);
    const summary = JSON.parse(readFileSync(json, 'utf8')) as { verdict: string; fault: string; followUp: string };
    expect(summary).toMatchObject({ verdict: 'pass', fault: 'partition', followUp: 'rewind' });
    await run([...compose, 'down', '-v', '--remove-orphans']);
    expect(await leftovers()).toEqual({ containers: '', volumes: '', networks: '' });
  }, 400_000);
});
