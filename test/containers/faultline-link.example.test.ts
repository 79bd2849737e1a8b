/**
 * The example of README.md / docs/failover.md ("faultline in your testcontainers suite"), as is: a
 * suite starts PostgreSQL with testcontainers and puts faultline's injector in front of its port with
 * `await using link = await faultlineLink(container, port)`, then asserts ITS OWN code's behaviour
 * (here a health check with a 250 ms budget) under latency, a leased partition and packet loss.
 * The container runs on the host network (faultline's CI has no bridge network); with published
 * ports use `.withExposedPorts(5432)` and `faultlineLink(container, 5432)` the same way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { faultlineLink } from '../../src/injector/index.ts';
import { freePort } from '../../src/shared/index.ts';
import { dockerForTests } from '../helpers/docker-engine.ts';

/** The code under test: is the database usable within its budget (250 ms)? */
async function dbHealthy(host: string, port: number, budgetMs = 250): Promise<boolean> {
  const client = new pg.Client({ host, port, user: 'postgres', password: 'example', database: 'postgres', connectionTimeoutMillis: budgetMs, query_timeout: budgetMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    void client.end().catch(() => {});
  }
}

let container: StartedTestContainer;
let port: number;

beforeAll(async () => {
  const { image } = await dockerForTests(); // CI: the locally built image; yours: e.g. 'postgres:16'
  port = await freePort();
  container = await new GenericContainer(image)
    .withNetworkMode('host')
    .withEnvironment({ POSTGRES_PASSWORD: 'example' })
    .withCommand(['postgres', '-c', `port=${port}`, '-c', 'listen_addresses=127.0.0.1'])
    .withWaitStrategy(Wait.forSuccessfulCommand(`pg_isready -h 127.0.0.1 -p ${port}`))
    .start();
}, 20 * 60_000);

afterAll(async () => {
  await container?.stop({ removeVolumes: true });
}, 60_000);

describe('faultlineLink: faultline in front of a testcontainers port', () => {
  it('latency past the budget makes the health check fail; heal() brings it back', async () => {
    await using link = await faultlineLink(container, port, { seed: 7 });
    expect(await dbHealthy(link.listenHost, link.listenPort)).toBe(true);
    link.addFault({ name: 'slow', type: 'latency', stream: 'downstream', attributes: { latency: 400 } });
    expect(await dbHealthy(link.listenHost, link.listenPort)).toBe(false);
    // A patient caller still gets through; fidelity: the delay the injector achieved, not only the one requested.
    expect(await dbHealthy(link.listenHost, link.listenPort, 10_000)).toBe(true);
    const slow = link.stats().faults.find((f) => f.name === 'slow')!;
    expect(slow.chunks).toBeGreaterThan(0);
    expect(slow.achievedDelayMs?.p50).toBeGreaterThanOrEqual(400);
    link.heal();
    expect(await dbHealthy(link.listenHost, link.listenPort)).toBe(true);
  }, 60_000);

  it('a partition with a lease: unhealthy while it lasts, healthy again once it expired by itself', async () => {
    await using link = await faultlineLink(container, port, { seed: 7 });
    const expired = new Promise((resolve) => link.on('fault-expired', resolve));
    link.addFault({ type: 'partition', attributes: { mode: 'blackhole' }, ttlMs: 1500 });
    expect(await dbHealthy(link.listenHost, link.listenPort)).toBe(false);
    await expired;
    expect(link.faults()).toEqual([]);
    expect(await dbHealthy(link.listenHost, link.listenPort)).toBe(true);
  }, 60_000);

  it('packet loss (every chunk retransmitted after 300 ms) breaks the budget; the stall count is in the stats', async () => {
    await using link = await faultlineLink(container, port, { seed: 7, faults: [{ name: 'lossy', type: 'loss', attributes: { probability: 1, rto: 300 } }] });
    expect(await dbHealthy(link.listenHost, link.listenPort)).toBe(false);
    expect(link.stats().faults.find((f) => f.name === 'lossy')!.stalls).toBeGreaterThan(0);
  }, 60_000);
});
