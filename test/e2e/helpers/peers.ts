/**
 * Real peers for the probe tests: a password-protected PostgreSQL server and a real Prometheus, both
 * child processes on loopback, stopped by pid.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { findPgBinaries } from '../../../src/failover/index.ts';
import { pollUntil } from '../../helpers/until.ts';
import { freePort } from '../../../src/shared/index.ts';

export { freePort };

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
  // Ready when it answers a query with the password (accepting TCP is not accepting queries yet).
  await pollUntil('postgres to answer a query', async () => {
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres', connectionTimeoutMillis: 1000 });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.query('select 1');
      return true;
    } finally {
      await c.end().catch(() => {});
    }
  }, 20_000, 100);
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
  await pollUntil('prometheus to be ready', async () => (await fetch(`${url}/-/ready`)).status === 200, 30_000, 100);
  return { url, stop: () => stopChild(child, 'SIGTERM') };
}
