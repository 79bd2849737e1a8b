/**
 * The PostgreSQL query probe against a real PostgreSQL server (started here from a fresh initdb, as the
 * server user, stopped by its pid): good queries, deadlines enforced by the AbortSignal, SQL errors
 * and refused connections, each a classified SLI outcome.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { findPgBinaries } from '../../src/failover/index.ts';
import { freePort } from '../../src/shared/index.ts';
import { runLoad, type SliOutcome } from '../../src/load/index.ts';


let dir: string;
let server: ChildProcess | undefined;
let conn: string;
let refusedConn: string;

beforeAll(async () => {
  const b = findPgBinaries();
  dir = mkdtempSync(join(tmpdir(), 'faultline-pg-probe-'));
  chownSync(dir, b.uid, b.gid);
  const data = join(dir, 'data');
  const init = spawnSync(join(b.bindir, 'initdb'), ['-D', data, '-U', 'postgres', '-N', '--auth=trust', '-E', 'UTF8', '--locale=C'], { uid: b.uid, gid: b.gid, encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  server = spawn(join(b.bindir, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=40'], {
    uid: b.uid,
    gid: b.gid,
    stdio: 'ignore',
  });
  conn = `postgres://postgres@127.0.0.1:${port}/postgres`;
  refusedConn = `postgres://postgres@127.0.0.1:${await freePort()}/postgres`;
  for (let i = 0; ; i++) {
    const c = new pg.Client({ connectionString: conn, connectionTimeoutMillis: 500 });
    try {
      await c.connect();
      await c.end();
      break;
    } catch (e) {
      await c.end().catch(() => {});
      if (i > 200) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}, 60_000);

afterAll(async () => {
  if (server?.pid !== undefined && server.exitCode === null) {
    const exited = new Promise((r) => server?.once('exit', r));
    process.kill(server.pid, 'SIGINT'); // fast shutdown of the postmaster we started
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('PostgreSQL query probe', () => {
  it('runs the query on schedule: every request good, and the report never shows the password', async () => {
    const withPassword = conn.replace('postgres@', 'postgres:hunter2secret@'); // trust auth ignores it
    const r = await runLoad({ target: { kind: 'pg', connectionString: withPassword }, schedule: { type: 'constant', rate: 50, duration: 1000 }, timeoutMs: 2000 });
    expect(r).toMatchObject({ scheduled: 50, sent: 50, completed: 50, good: 50, bad: 0, errors: {} });
    expect(r.latencyMs.service.count).toBe(50);
    expect(r.target).toMatch(/^sql postgres:\/\/postgres.*@127\.0\.0\.1:\d+\/postgres$/);
    expect(JSON.stringify(r)).not.toContain('hunter2secret');
  });

  it('enforces the deadline on a slow query and recovers its connections', async () => {
    const outcomes: SliOutcome[] = [];
    const slow = await runLoad({
      target: { kind: 'pg', connectionString: conn, query: 'select pg_sleep(1)' },
      schedule: { type: 'constant', rate: 10, duration: 300 },
      timeoutMs: 250,
      sink: { record: (o) => outcomes.push(o) },
    });
    expect(slow.errors).toEqual({ timeout: 3 });
    for (const o of outcomes) {
      expect(o.latencyMs).toBeGreaterThanOrEqual(245);
      expect(o.latencyMs).toBeLessThan(600);
    }
    // The cancelled queries' connections were dropped: the server is free for the next run.
    const after = await runLoad({ target: { kind: 'pg', connectionString: conn }, schedule: { type: 'constant', rate: 20, duration: 250 } });
    expect(after.good).toBe(5);
  });

  it('classifies SQL errors by SQLSTATE and a refused server as connect_refused', async () => {
    const sqlErr = await runLoad({ target: { kind: 'pg', connectionString: conn, query: 'select * from no_such_table' }, schedule: { type: 'constant', rate: 10, duration: 200 } });
    expect(sqlErr.errors).toEqual({ sql_42P01: 2 });
    const refused = await runLoad({ target: { kind: 'pg', connectionString: refusedConn }, schedule: { type: 'constant', rate: 10, duration: 200 } });
    expect(refused.errors).toEqual({ connect_refused: 2 });
  });
});
