/**
 * The failover drill with the testcontainers provider: the pair in two containers (the locally built
 * Debian PostgreSQL 15 image, host network, loopback ports), every fault on the containers (docker
 * kill, docker pause, the injector's replication link, switchover) with the follow-ups (restart,
 * rewind, reclone), the same checker and the same honesty controls as the native provider. Docker
 * comes from test/helpers/docker-engine.ts (an existing daemon, or one started for the run).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { runFailoverDrill, type DrillResult } from '../../src/failover/index.ts';
import { CONTAINER_LABELS, reapLeftoverContainers, testcontainersProvider } from '../../src/failover/testcontainers-provider.ts';
import { ensureLocalPgImage, localImageTags } from '../../src/failover/local-image.ts';
import { type DrillOptions } from '../../src/failover/drill-options.ts';
import { injectorLinks } from '../../src/scenario/index.ts';
import { docker, dockerForTests, type DockerEnv } from '../helpers/docker-engine.ts';

const exec = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/faultline.mjs', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'faultline-tc-drill-'));
let env: DockerEnv;
let n = 0;
const volumes: string[] = [];
const t0 = performance.now();
/** One drill takes 15–35 s here (two container starts, the drill, teardown); two per test at most. */
const T = 240_000;

beforeAll(async () => {
  env = await dockerForTests();
}, 20 * 60_000);

const drill = async (o: Partial<DrillOptions> & Pick<DrillOptions, 'mode' | 'fault'>): Promise<DrillResult> => {
  const r = await runFailoverDrill({ seed: `tc${++n}`, links: injectorLinks, dir: join(root, `run-${n}`), probeIntervalMs: 100, provider: testcontainersProvider({ image: env.image }), ...o });
  volumes.push(...((r.evidence.cluster as { volumes?: string[] }).volumes ?? []));
  return r;
};
const fault = (r: DrillResult): Record<string, unknown> => r.evidence.fault as Record<string, unknown>;

afterAll(async () => {
  // No container of these drills outlives them, nor any of their data volumes.
  expect(await docker('ps', '-aq', '--filter', `label=${CONTAINER_LABELS.pid}=${process.pid}`)).toBe('');
  expect(volumes.length).toBeGreaterThan(0);
  const left = (await docker('volume', 'ls', '-q')).split('\n').filter((v) => volumes.includes(v));
  expect(left).toEqual([]);
  process.stderr.write(`testcontainers drills: ${n} drills in ${((performance.now() - t0) / 1000).toFixed(1)} s (image ${env.image}, ${env.imageBuilt ? `built in ${env.imageMs} ms` : 'cached'})\n`);
});

describe('testcontainers provider, fenced writer, async replication', () => {
  it('docker kill of the primary container: promotion, fence, every invariant holds; the stale primary restarts with its old data', async () => {
    const r = await drill({ mode: 'async', fault: 'kill', followUp: 'restart' });
    expect(r.check.violations, JSON.stringify(r.check.violations)).toEqual([]);
    expect(r.check.verdict).toBe('pass');
    expect(r.provider).toBe('testcontainers');
    expect(fault(r)).toMatchObject({ dockerKill: 'SIGKILL', running: false, exitCode: 137, portRefuses: true, timeline: { before: 1, after: 2 } });
    expect(r.check.rto.ms).toBeGreaterThan(0);
    // The stale ex-primary came back (docker start of the same container) read-write at the old epoch.
    expect((r.evidence.followUp as { staleNode?: { inRecovery: boolean; stamp: number } }).staleNode).toMatchObject({ inRecovery: false, stamp: 1 });
    // The image honoured the init scripts; the container logs are in the bundle.
    expect(readFileSync(join(r.runDir, 'pg-eu.log'), 'utf8')).toMatch(/running \/docker-entrypoint-initdb\.d\/20-faultline-schema\.sql/);
    expect(existsSync(join(r.runDir, 'pg-us.log'))).toBe(true);
  }, T);

  it('full partition through the replication link: acknowledged writes lost only inside the stall window (RPO > 0)', async () => {
    const r = await drill({ mode: 'async', fault: 'partition' });
    expect(r.check.violations, JSON.stringify(r.check.violations)).toEqual([]);
    expect(r.check.verdict).toBe('pass');
    expect(r.check.rpo.lostAcknowledgedWrites).toBeGreaterThan(0);
    expect(fault(r).replicationLink).toBe('blackhole');
  }, T);

  it('docker pause of the primary (cgroup freezer), unpaused after the promotion as a zombie: never writable again', async () => {
    const r = await drill({ mode: 'async', fault: 'pause' });
    expect(r.check.violations, JSON.stringify(r.check.violations)).toEqual([]);
    expect(r.check.verdict).toBe('pass');
    expect(fault(r)).toMatchObject({ dockerPause: true, paused: true, resumed: true });
  }, T);

  it('planned switchover loses nothing; the old primary is re-cloned with pg_basebackup and streams on the new timeline', async () => {
    const r = await drill({ mode: 'async', fault: 'switchover', followUp: 'reclone' });
    expect(r.check.violations, JSON.stringify(r.check.violations)).toEqual([]);
    expect(r.check.verdict).toBe('pass');
    expect(r.check.rpo.lostAcknowledgedWrites).toBe(0);
    expect(r.facts.rejoin).toMatchObject({ how: 'reclone', inRecovery: true, streaming: true, timeline: 2, caughtUp: true });
  }, T);
});

describe('testcontainers provider, fenced writer, synchronous replication', () => {
  it('docker kill, then pg_rewind of the ex-primary in its own stopped container: RPO 0, it streams on the new timeline', async () => {
    const r = await drill({ mode: 'sync', fault: 'kill', followUp: 'rewind' });
    expect(r.check.violations, JSON.stringify(r.check.violations)).toEqual([]);
    expect(r.check.verdict).toBe('pass');
    expect(r.check.rpo.lostAcknowledgedWrites).toBe(0);
    expect(r.facts.rejoin).toMatchObject({ how: 'rewind', inRecovery: true, streaming: true, timeline: 2, caughtUp: true });
  }, T);

  it('full partition: nothing acknowledged is lost', async () => {
    const r = await drill({ mode: 'sync', fault: 'partition' });
    expect(r.check.violations, JSON.stringify(r.check.violations)).toEqual([]);
    expect(r.check.verdict).toBe('pass');
    expect(r.check.rpo.lostAcknowledgedWrites).toBe(0);
  }, T);

  it('pause and switchover: pass with RPO 0', async () => {
    for (const f of ['pause', 'switchover'] as const) {
      const r = await drill({ mode: 'sync', fault: f });
      expect(r.check.violations, f).toEqual([]);
      expect(r.check.verdict, f).toBe('pass');
      expect(r.check.rpo.lostAcknowledgedWrites, f).toBe(0);
    }
  }, T);
});

describe('testcontainers provider: the honesty controls are caught', () => {
  it('an unfenced writer (CLI, --provider testcontainers --image): exit 1, writes acknowledged by the restarted stale primary', async () => {
    const json = join(root, 'unfenced.json');
    const r = await exec(process.execPath, [bin, 'drill', 'failover', '--provider', 'testcontainers', '--image', env.image, '--fault', 'kill', '--unfenced', '--seed', 'tc-unfenced', '--json', json, '--report-dir', root], { timeout: 170_000 }).then(
      () => ({ code: 0 }),
      (e: { code: number }) => ({ code: e.code }),
    );
    expect(r.code).toBe(1);
    const summary = JSON.parse(readFileSync(json, 'utf8')) as { provider: string; violations: Array<{ invariant: string }> };
    expect(summary.provider).toBe('testcontainers');
    expect(summary.violations.map((v) => v.invariant)).toContain('no-stale-writer');
  }, T);

  it('a role-only writer is fooled by the stale primary that docker start brings back', async () => {
    const r = await drill({ mode: 'async', fault: 'kill', followUp: 'restart', writer: 'role-only' });
    expect(r.check.verdict).toBe('fail');
    expect(r.check.violations.map((v) => v.invariant)).toContain('no-stale-writer');
  }, T);
});

describe('local image and leftovers', () => {
  it('the local image is cached by content hash: a second call builds nothing', async () => {
    const again = await ensureLocalPgImage();
    expect(again.built).toBe(false);
    expect(again.image).toBe(localImageTags().image);
    expect(again.image).toMatch(/^faultline\/postgres:15-[0-9a-f]{12}$/);
  }, T);

  it("reaps the labelled containers of a dead run, never a live run's", async () => {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const client = await getContainerRuntimeClient();
    const host = (await import('node:os')).hostname();
    const create = async (pid: number): Promise<string> =>
      (await docker('create', '--network', 'host', '--label', `${CONTAINER_LABELS.owner}=faultline`, '--label', `${CONTAINER_LABELS.host}=${host}`, '--label', `${CONTAINER_LABELS.pid}=${pid}`, '--entrypoint', 'sleep', env.image, '300')).trim();
    const dead = await create(2 ** 22 + 12345); // above pid_max's default: never a live process
    const live = await create(process.pid);
    try {
      const reaped = await reapLeftoverContainers(client.container.dockerode);
      expect(reaped).toContain(dead.slice(0, 12));
      expect(reaped).not.toContain(live.slice(0, 12));
      expect(await docker('ps', '-aq', '--no-trunc', '--filter', `id=${dead}`)).toBe('');
    } finally {
      await docker('rm', '-f', '-v', dead, live).catch(() => '');
    }
  }, T);
});
