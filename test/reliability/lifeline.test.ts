/**
 * Nothing outlives faultline: a lifeline stops what it watches when its holder dies — SIGKILL
 * included — and does nothing after a release; the reaper removes a dead run's working copy (never a
 * live run's) and says so.
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reapDebris } from '../../src/failover/index.ts';
import { until } from '../helpers/until.ts';

const lifelineModule = fileURLToPath(new URL('../../src/shared/lifeline.ts', import.meta.url));

const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \([^)]*\) Z/.test(stat);
  } catch {
    return false;
  }
};


/** A holder process: starts a lifeline watching a sleeper (by marker), a process group and a directory; prints their ids. */
function startHolder(dir: string, release: boolean): Promise<{ holder: number; sleeper: number; group: number; lifeline: number }> {
  const marker = join(dir, 'marker');
  const script = `
    import { spawn } from 'node:child_process';
    const { startLifeline } = await import(${JSON.stringify(lifelineModule)});
    const life = startLifeline();
    const sleeper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', ${JSON.stringify(marker)}], { stdio: 'ignore' });
    const group = spawn('/bin/sh', ['-c', 'sleep 300 & sleep 300 & wait'], { stdio: 'ignore', detached: true });
    life.watchPid(sleeper.pid, ${JSON.stringify(marker)});
    life.watchGroup(group.pid);
    life.watchPath(${JSON.stringify(join(dir, 'copy'))});
    ${release ? 'life.release();' : ''}
    console.log(JSON.stringify({ holder: process.pid, sleeper: sleeper.pid, group: group.pid, lifeline: life.pid }));
    setInterval(() => {}, 1000);
  `;
  const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(JSON.parse(out) as { holder: number; sleeper: number; group: number; lifeline: number });
    });
    p.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
  });
}

describe('lifeline', () => {
  it('SIGKILL of its holder stops the watched process, kills the watched group and removes the watched path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-lifeline-'));
    mkdirSync(join(dir, 'copy'));
    writeFileSync(join(dir, 'copy', 'data'), 'x');
    const ids = await startHolder(dir, false);
    expect(alive(ids.sleeper) && alive(ids.group) && alive(ids.lifeline)).toBe(true);
    process.kill(ids.holder, 'SIGKILL');
    await until(() => !alive(ids.sleeper) && !alive(ids.group) && !existsSync(join(dir, 'copy')) && !alive(ids.lifeline), 8000);
    expect({ sleeper: alive(ids.sleeper), group: alive(ids.group), copy: existsSync(join(dir, 'copy')), lifeline: alive(ids.lifeline) }).toEqual({ sleeper: false, group: false, copy: false, lifeline: false });
    // The group's children (the two sleeps) went with it (zombies awaiting their reaper do not count).
    const left = spawnSync('sh', ['-c', `ps -o pid=,stat= -g ${ids.group} | grep -v ' Z' || true`], { encoding: 'utf8' }).stdout.trim();
    expect(left).toBe('');
  }, 20_000);

  it('after release() it does nothing: the watched process, group and path survive their holder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-lifeline-'));
    mkdirSync(join(dir, 'copy'));
    const ids = await startHolder(dir, true);
    expect(await until(() => !alive(ids.lifeline), 3000)).toBe(true);
    process.kill(ids.holder, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    expect(alive(ids.sleeper)).toBe(true);
    expect(existsSync(join(dir, 'copy'))).toBe(true);
    process.kill(ids.sleeper, 'SIGKILL');
    process.kill(-ids.group, 'SIGKILL');
  }, 20_000);
});

describe('debris of dead runs', () => {
  it('reaps a working copy whose owner is gone (and says so), never one whose owner runs', async () => {
    const root = mkdtempSync(join(tmpdir(), 'faultline-debris-'));
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout.trim());
    const gone = join(root, 'faultline-pg-run-dead');
    mkdirSync(join(gone, 'A'), { recursive: true });
    writeFileSync(join(gone, 'faultline-owner.json'), JSON.stringify({ pid: deadPid, start: '1' }));
    const live = join(root, 'faultline-pg-run-live');
    mkdirSync(live);
    const stat = readFileSync(`/proc/${process.pid}/stat`, 'utf8');
    writeFileSync(join(live, 'faultline-owner.json'), JSON.stringify({ pid: process.pid, start: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] }));
    const other = join(root, 'unrelated');
    mkdirSync(other);
    // The golden pair's cache: a build whose owner died is reaped, the finished pair is kept.
    const build = join(root, 'faultline-pg-cache', 'building-dead');
    mkdirSync(join(build, 'A'), { recursive: true });
    writeFileSync(join(build, 'faultline-owner.json'), JSON.stringify({ pid: deadPid, start: '1' }));
    const golden = join(root, 'faultline-pg-cache', 'golden-v2-15');
    mkdirSync(golden);
    const reaped = reapDebris(root);
    expect(reaped).toEqual([gone, build]);
    expect(existsSync(gone)).toBe(false);
    expect(existsSync(build)).toBe(false);
    expect(existsSync(golden)).toBe(true);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(other)).toBe(true);
  });
});
