/**
 * Real peers for the probe tests: a password-protected PostgreSQL server and a real Prometheus, both
 * child processes on loopback, stopped by pid.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPgBinaries } from '../../../src/failover/index.ts';
import { freePort } from '../../../src/shared/index.ts';

export { freePort };

async function waitUntil(what: string, fn: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up within ${timeoutMs} ms`);
}

function stopChild(child: ChildProcess, sig: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(sig);
  });
}

export interface Postgres {
  port: number;
  user: string;
  password: string;
  stop(): Promise<void>;
}

/** A fresh PostgreSQL cluster with scram-sha-256 password auth (initdb is ~1 s), started directly as `postgres`. */
export async function startPostgres(password: string): Promise<Postgres> {
  const b = findPgBinaries();
  const root = mkdtempSync(join(tmpdir(), 'faultline-probe-pg-'));
  chownSync(root, b.uid, b.gid);
  const pwfile = join(root, 'pw');
  writeFileSync(pwfile, `${password}\n`);
  chownSync(pwfile, b.uid, b.gid);
  const data = join(root, 'data');
  const init = spawnSync(join(b.bindir, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-N', '-E', 'UTF8', '--locale=C'], { uid: b.uid, gid: b.gid, encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  const child = spawn(join(b.bindir, 'postgres'), ['-D', data, '-p', String(port), '-k', root, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'], { uid: b.uid, gid: b.gid, stdio: 'ignore' });
  await waitUntil('postgres', () => new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  }));
  // Accepting TCP is not accepting queries yet: wait for the startup to finish.
  await new Promise((r) => setTimeout(r, 300));
  return { port, user: 'postgres', password, stop: () => stopChild(child, 'SIGINT') };
}

export interface Prometheus {
  url: string;
  stop(): Promise<void>;
}

/**
 * A real Prometheus (Debian's /usr/bin/prometheus) scraping itself every second as job "self"; or,
 * with `tsdbPath`, serving an existing (e.g. backfilled) TSDB without scraping anything, with no
 * time retention limit so old backfilled blocks stay queryable.
 */
export async function startPrometheus(opts: { tsdbPath?: string } = {}): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'faultline-prom-'));
  const port = await freePort();
  const config = join(dir, 'prometheus.yml');
  const scrape = `scrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`;
  writeFileSync(config, `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n${opts.tsdbPath ? '' : scrape}`);
  const args = [`--config.file=${config}`, `--storage.tsdb.path=${opts.tsdbPath ?? join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=error'];
  if (opts.tsdbPath) args.push('--storage.tsdb.retention.time=100y');
  const child = spawn('prometheus', args, { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil('prometheus', async () => (await fetch(`${url}/-/ready`)).status === 200, 30_000);
  return { url, stop: () => stopChild(child, 'SIGTERM') };
}
