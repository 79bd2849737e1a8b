/**
 * The experiment runner end to end in-process (real target servers, real injector, real load and SLO
 * engine): aborts of every kind heal at once and record their cause; a harness exception heals and
 * exits 4; targets given as URL or host:port; the --metrics endpoint; no secrets in any report; a
 * harness short of CPU is named in the reports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planScenario, runScenario, RunEvents, type RunEvent, type RunResult } from '../../src/scenario/index.ts';
import { parseScenario } from '../../src/scenario/model.ts';
import { verdictTable } from '../../src/report/index.ts';
import { renderHtml, renderMarkdown } from '../../src/report/render.ts';
import { main, type CliIo } from '../../src/cli/index.ts';
import { freePort, startPostgres, type Postgres } from './helpers/peers.ts';

let server: http.Server;
let port: number;
let hits = 0;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    hits++;
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

function scenario(body: string, head = ''): string {
  return `apiVersion: faultline/v1
kind: Experiment
metadata: { name: t }
seed: 11
timeScale: 3600
target: { url: "http://127.0.0.1:${port}", path: / }
load: { rate: 100 }
slo: { name: t, objective: 99 }
${head}
${body}`;
}

const partitionExperiment = (inject = '4s'): string => `experiments:
  - name: cut
    baseline: 1s
    inject:
      duration: ${inject}
      faults:
        - type: partition
          attributes: { mode: refuse, scope: both }
    recover: 1s
`;

async function run(text: string, opts: { events?: RunEvents } = {}): Promise<{ r: RunResult; events: RunEvent[] }> {
  const model = parseScenario(text, 't.yaml');
  const events = opts.events ?? new RunEvents();
  const seen: RunEvent[] = [];
  events.on((e) => seen.push(e));
  const r = await runScenario(model, planScenario(model), { events });
  return { r, events: seen };
}

async function reachable(): Promise<boolean> {
  const before = hits;
  const res = await fetch(`http://127.0.0.1:${port}/`);
  return res.status === 200 && hits === before + 1;
}

describe('aborts heal at once and record their cause', () => {
  it('error rate over its window during inject', async () => {
    const { r, events } = await run(scenario(partitionExperiment('8s'), 'aborts: { errorRate: { above: 0.5, window: 1s, phases: [inject] } }'));
    expect(r.status).toBe('aborted');
    expect(r.exitCode).toBe(3);
    expect(r.abort?.cause).toMatch(/^error ratio \d+\.\d % over the last 1s above 50\.0 % at inject$/);
    const x = r.experiments[0]!;
    expect(x.aborted).toBe(true);
    const abortAt = events.find((e) => e.type === 'abort')!;
    const healed = events.find((e) => e.type === 'fault-healed') as Extract<RunEvent, { type: 'fault-healed' }>;
    expect(healed.verified).toBe(true);
    expect(healed.faults).toEqual(['partition_downstream']);
    // Healed at once: well before the planned heal at 9 s.
    expect(healed.t).toBeLessThan(x.plan.healAtMs - 3000);
    expect(abortAt.type === 'abort' && abortAt.experiment).toBe('cut');
    expect(r.cleanup).toEqual({ faultsLeft: 0, verified: true });
    expect(await reachable()).toBe(true);
  }, 30_000);

  it('by default the error-rate abort judges only the baseline: an inject that hurts as planned does not abort', async () => {
    const { r } = await run(scenario(partitionExperiment('1500ms'), 'aborts: { errorRate: { above: 0.5, window: 1s } }'));
    expect(r.abort).toBeUndefined();
    expect(r.status).not.toBe('aborted');
    expect(r.experiments[0]!.load.bad).toBeGreaterThan(50);
  }, 30_000);

  it('a probe failing N times in a row (the named probe, in the named phase)', async () => {
    const dead = await freePort();
    const { r } = await run(
      scenario(
        partitionExperiment('8s'),
        `probes:
  - { name: through-proxy, http: { url: /, status: 200 }, interval: 100ms, timeout: 300ms }
  - { name: elsewhere, tcp: { address: "127.0.0.1:${dead}" }, interval: 100ms }
aborts: { probeFailures: { after: 3, probes: [through-proxy], phases: [inject] } }`,
      ),
    );
    expect(r.status).toBe('aborted');
    expect(r.abort?.cause).toMatch(/^probe through-proxy failed 3 times in a row at inject: /);
    expect(r.experiments[0]!.heals[0]).toMatchObject({ verified: true, faults: ['partition_downstream'] });
    expect(r.experiments[0]!.heals[0]!.t).toBeLessThan(5000);
  }, 30_000);

  it('the maximum duration', async () => {
    const { r } = await run(scenario(partitionExperiment('20s'), 'aborts: { maxDuration: 2500ms }'));
    expect(r.status).toBe('aborted');
    expect(r.abort?.cause).toBe('maximum duration 2.5s exceeded');
    expect(r.experiments[0]!.heals[0]).toMatchObject({ verified: true, faults: ['partition_downstream'] });
    expect(r.wallMs).toBeLessThan(8000);
    expect(await reachable()).toBe(true);
  }, 30_000);
});

describe('harness errors', () => {
  it('an exception mid-inject heals, and the run ends as a harness error (exit 4)', async () => {
    const model = parseScenario(scenario(partitionExperiment('10s')), 't.yaml');
    let thrown = false;
    const r = await runScenario(model, planScenario(model), {
      onTick: (_x, phase, t) => {
        if (phase === 'inject' && t > 1500 && !thrown) {
          thrown = true;
          throw new Error('watchdog exploded');
        }
      },
    });
    expect(thrown).toBe(true);
    expect(r.status).toBe('error');
    expect(r.exitCode).toBe(4);
    expect(r.error).toBe('watchdog exploded');
    expect(r.experiments[0]!.heals[0]).toMatchObject({ verified: true, faults: ['partition_downstream'] });
    expect(r.experiments[0]!.heals[0]!.t).toBeLessThan(3000);
    expect(r.cleanup.verified).toBe(true);
    expect(await reachable()).toBe(true);
  }, 30_000);

  it('two faults with the same name are invalid input, named by line and field', () => {
    const text = scenario(`experiments:
  - name: dup
    baseline: 1s
    inject:
      duration: 1s
      faults:
        - { type: latency, attributes: { latency: 5 } }
        - { type: latency, attributes: { latency: 9 } }
    recover: 1s
`);
    expect(() => parseScenario(text, 'dup.yaml')).toThrow(/dup\.yaml:\d+ field 'experiments\[0\]\.inject\.faults\[1\]\.name': two faults named 'latency_downstream'/);
  });

  it('an injector that cannot listen is a harness error (exit 4), not a pass', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const busyPort = (busy.address() as net.AddressInfo).port;
    try {
      const { r } = await run(scenario(partitionExperiment(), `injector: { listen: "127.0.0.1:${busyPort}" }`));
      expect(r.status).toBe('error');
      expect(r.exitCode).toBe(4);
      expect(r.error).toMatch(/EADDRINUSE|in use/);
    } finally {
      await new Promise<void>((res) => busy.close(() => res()));
    }
  });
});

describe('a harness short of CPU', () => {
  it('is named in the terminal, Markdown and HTML reports when faultline\'s own event loop made its load late', async () => {
    // Starve the harness itself: block its event loop for 30 ms of every 40 while the run goes on.
    const blocker = setInterval(() => {
      const end = performance.now() + 30;
      while (performance.now() < end);
    }, 40);
    let r: RunResult;
    try {
      ({ r } = await run(scenario(partitionExperiment('1500ms'))));
    } finally {
      clearInterval(blocker);
    }
    const h = r.experiments[0]!.harness!;
    expect(h.starved).toBe(true);
    expect(h.schedulingLagP99Ms).toBeGreaterThan(10);
    expect(verdictTable(r)).toContain(`cut: the load generator ran late on its own schedule (scheduling lag p99 ${h.schedulingLagP99Ms} ms > 10 ms): faultline was short of CPU`);
    expect(renderMarkdown(r)).toContain('**cut: harness short of CPU** — the load generator ran late on its own schedule');
    expect(renderHtml(r)).toContain('<strong>harness short of CPU</strong>: the load generator ran late on its own schedule');
  }, 30_000);
});

describe('targets', () => {
  it('a URL target: load and relative probes go through the injector, so the probe fails for real during inject', async () => {
    const { r } = await run(
      scenario(
        `experiments:
  - name: cut
    baseline: 1500ms
    inject:
      duration: 2s
      faults: [{ type: partition, attributes: { mode: refuse, scope: both } }]
    recover: 1500ms
    expect:
      alerts: { page-fast: { fires: true } }
      probesFailDuringInject: [root]
`,
        `probes:\n  - { name: root, http: { url: /, json: [{ path: ok, equals: true }] }, interval: 200ms }`,
      ).replace('load: { rate: 100 }', 'load: { rate: 100, schedule: poisson }'),
    );
    expect(r.status, JSON.stringify(r.experiments[0]?.verdicts.filter((v) => !v.passed))).toBe('passed');
    const x = r.experiments[0]!;
    expect(x.probes.some((p) => p.phase === 'baseline' && p.ok)).toBe(true);
    expect(x.probes.some((p) => p.phase === 'inject' && !p.ok)).toBe(true);
    // Poisson arrivals: irregular gaps, about the requested rate.
    expect(x.load.completed).toBeGreaterThan(300);
    expect(x.load.completed).toBeLessThan(700);
  }, 30_000);

  it('probes run at the phase edges (just before inject, right after heal) besides their interval', async () => {
    const { r } = await run(scenario(partitionExperiment('1500ms'), 'probes:\n  - { name: slow-poll, http: { url: / }, interval: 60s, timeout: 500ms }\n'));
    const x = r.experiments[0]!;
    const ts = x.probes.map((p) => [p.phase, Math.round(p.t / 100) * 100, p.ok] as const);
    // One continuous sample at the start (the next is 60 s away), then one per edge.
    expect(ts).toHaveLength(3);
    expect(ts[0]![0]).toBe('baseline');
    expect(ts[0]![2]).toBe(true);
    expect(x.probes[0]!.t).toBeLessThan(300);
    expect(ts[1]![0]).toBe('baseline');
    expect(Math.abs(x.probes[1]!.t - x.plan.injectAtMs)).toBeLessThan(300);
    expect(ts[2]![0]).toBe('recover');
    expect(Math.abs(x.probes[2]!.t - x.plan.healAtMs)).toBeLessThan(300);
  }, 30_000);

  it('a host:port target: TCP connects through the injector fail under a partition and recover after heal', async () => {
    const tcp = net.createServer((s) => s.end());
    await new Promise<void>((res) => tcp.listen(0, '127.0.0.1', () => res()));
    const tcpPort = (tcp.address() as net.AddressInfo).port;
    try {
      const text = scenario(partitionExperiment('2s'))
        .replace(/target: .*\n/, `target: { address: "127.0.0.1:${tcpPort}" }\n`)
        .replace('load: { rate: 100 }', 'load: { rate: 100, timeout: 500ms }');
      const { r } = await run(text);
      const x = r.experiments[0]!;
      const inject = x.load.perSecond.filter((s) => s.second >= 1 && s.second < 3);
      const after = x.load.perSecond.filter((s) => s.second >= 3);
      expect(inject.reduce((a, s) => a + s.bad, 0)).toBeGreaterThan(100);
      expect(x.load.perSecond.filter((s) => s.second < 1).reduce((a, s) => a + s.bad, 0)).toBe(0);
      expect(after.reduce((a, s) => a + s.good, 0)).toBeGreaterThan(50);
      expect(x.verdicts.find((v) => v.id === 'cut/healed')?.passed).toBe(true);
    } finally {
      await new Promise<void>((res) => tcp.close(() => res()));
    }
  }, 30_000);

  it('rejects a relative HTTP probe with a host:port target, naming line and field', () => {
    const text = scenario(partitionExperiment(), 'probes:\n  - { name: p, http: { url: /healthz } }').replace(/target: .*\n/, 'target: { address: "127.0.0.1:9" }\n');
    expect(() => parseScenario(text, 'addr.yaml')).toThrow(/addr\.yaml:\d+ field 'probes\[0\]\.http\.url': relative probe URL/);
  });

  it('reads the SLO from a file next to the scenario', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-slofile-'));
    writeFileSync(join(dir, 'slo.yaml'), 'apiVersion: faultline/v1\nkind: SLO\nname: from-file\nobjective: 99.5\n');
    const model = parseScenario(scenario(partitionExperiment()).replace('slo: { name: t, objective: 99 }', 'slo: { file: slo.yaml }'), join(dir, 'x.yaml'));
    expect(model.slo.name).toBe('from-file');
    expect(model.slo.objective).toBe(99.5);
    expect(model.slo.policy.map((t) => t.name)).toContain('page-fast');
  });
});

function captureIo(cwd: string): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => (out += s), isTTY: false },
    stderr: { write: (s: string) => (err += s) },
    env: { CI: 'true' },
    cwd,
    out: () => out,
    err: () => err,
  };
}

describe('faultline run --metrics', () => {
  it('serves SLI counters, burn rates, alert states and the phase in Prometheus format during the run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-metrics-'));
    const file = join(dir, 'm.yaml');
    writeFileSync(file, scenario(partitionExperiment('3s')));
    const mport = await freePort();
    const io = captureIo(dir);
    const running = main(['run', file, '--metrics', `127.0.0.1:${mport}`, '--report-dir', join(dir, 'reports')], io);
    let scraped = '';
    for (let i = 0; i < 100 && !/phase="inject"\} 1/.test(scraped); i++) {
      await new Promise((r) => setTimeout(r, 100));
      scraped = await fetch(`http://127.0.0.1:${mport}/metrics`).then((r) => r.text()).catch(() => '');
    }
    const code = await running;
    expect(code).toBe(0);
    expect(scraped).toMatch(/^faultline_sli_events_total\{slo="t"\} [1-9]\d*$/m);
    expect(scraped).toMatch(/^faultline_sli_errors_total\{slo="t"\} \d+$/m);
    expect(scraped).toMatch(/^faultline_slo_burn_rate\{slo="t",window="5m"\} [\d.e+-]+$/m);
    expect(scraped).toMatch(/^faultline_slo_alert_firing\{slo="t",tier="page-fast"\} (0|0\.5|1)$/m);
    expect(scraped).toMatch(/^faultline_experiment_phase\{experiment="cut",phase="inject"\} 1$/m);
    // The endpoint goes away with the run.
    await expect(fetch(`http://127.0.0.1:${mport}/metrics`)).rejects.toThrow();
  }, 30_000);

  it('refuses a non-loopback metrics address with exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-metrics-'));
    const file = join(dir, 'm.yaml');
    writeFileSync(file, scenario(partitionExperiment('1s')));
    const io = captureIo(dir);
    const code = await main(['run', file, '--metrics', '0.0.0.0:9999', '--report-dir', join(dir, 'reports')], io);
    expect(code).toBe(2);
    expect(io.err()).toMatch(/field 'metrics'.*'0\.0\.0\.0' is not a loopback address/);
    // Refused before anything ran: no report directory was written.
    expect(existsSync(join(dir, 'reports'))).toBe(false);
    const malformed = captureIo(dir);
    expect(await main(['run', file, '--metrics', 'no-port', '--report-dir', join(dir, 'reports')], malformed)).toBe(2);
    expect(malformed.err()).toMatch(/metrics/);
  }, 30_000);
});

describe('reports never contain secrets', () => {
  let pg: Postgres;
  beforeAll(async () => {
    pg = await startPostgres('Hunter2-report-secret');
  }, 60_000);
  afterAll(async () => {
    await pg?.stop();
  });

  it('redacts the password of a SQL probe connection string in journal, JUnit, Markdown, HTML and stdout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-secret-'));
    const file = join(dir, 's.yaml');
    writeFileSync(
      file,
      scenario(
        `${partitionExperiment('1500ms')}    expect: { steadyState: { maxErrorRatio: 0.01, probes: false } }\n`,
        `probes:
  - name: db
    sql: { connectionString: "postgres://postgres:${pg.password}@127.0.0.1:${pg.port}/postgres", query: "select 1" }
    interval: 200ms
  - name: db-kv
    sql: { connectionString: "host=127.0.0.1 port=${pg.port} user=postgres password=${pg.password} dbname=nope" }
    interval: 500ms`,
      ),
    );
    const io = captureIo(dir);
    const code = await main(['run', file, '--report-dir', join(dir, 'reports')], io);
    expect(code).toBe(0);
    const runDir = join(dir, 'reports', readdirSync(join(dir, 'reports'))[0]!);
    const journal = JSON.parse(readFileSync(join(runDir, 'journal.json'), 'utf8')) as RunResult;
    // The probe really connected with the password (so the secret was live), and a failing one says why.
    expect(journal.experiments[0]!.probes.some((p) => p.probe === 'db' && p.ok)).toBe(true);
    expect(journal.experiments[0]!.probes.find((p) => p.probe === 'db-kv')?.detail).toMatch(/database "nope" does not exist/);
    for (const f of ['journal.json', 'junit.xml', 'report.md', 'report.html']) {
      const text = readFileSync(join(runDir, f), 'utf8');
      expect(text, f).not.toContain(pg.password);
    }
    expect(readFileSync(join(runDir, 'journal.json'), 'utf8')).toContain('postgres://postgres:***@127.0.0.1');
    expect(io.out()).not.toContain(pg.password);
  }, 60_000);
});
