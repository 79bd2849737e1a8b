/**
 * A real Prometheus 2.42 and Alertmanager 0.25 (Debian packages `prometheus`,
 * `prometheus-alertmanager`) on free loopback ports with generated configs and private storage
 * under os.tmpdir(); stopped by pid. A missing binary throws (tests fail, never skip).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../../src/shared/index.ts';

export const PROMETHEUS_BIN = 'prometheus';
export const ALERTMANAGER_BIN = 'prometheus-alertmanager';

/** Throws when a binary is not on PATH (Debian: apt-get install prometheus prometheus-alertmanager). */
export function requireBinary(bin: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  const path = r.stdout.trim();
  if (r.status !== 0 || path === '') throw new Error(`${bin} not found on PATH: install the Debian package (apt-get install prometheus prometheus-alertmanager; .ci/run does)`);
  return path;
}

interface Proc {
  child: ChildProcess;
  log: () => string;
}

function start(bin: string, args: string[]): Proc {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (d: Buffer): void => {
    log = (log + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (e) => keep(Buffer.from(`spawn error: ${e.message}\n`)));
  return { child, log: () => log };
}

async function waitReady(url: string, proc: Proc, what: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) throw new Error(`${what} exited (${proc.child.exitCode ?? proc.child.signalCode}):\n${proc.log()}`);
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not ready at ${url} within ${timeoutMs} ms:\n${proc.log()}`);
}

async function stopProc(p: Proc): Promise<void> {
  const { child } = p;
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }, 5000);
  await exited;
  clearTimeout(timer);
}

export interface StackOptions {
  /** host:port Prometheus scrapes as job `faultline-reference`. */
  scrapeTarget: string;
  /** The rule file's text (from `faultline slo rules`). */
  rules: string;
  /** The Alertmanager config's text (from `faultline slo rules --alertmanager`, possibly edited). */
  alertmanagerConfig: string;
  scrapeIntervalMs?: number;
  evaluationIntervalMs?: number;
}

export interface MonitoringStack {
  prometheusUrl: string;
  alertmanagerUrl: string;
  pids: number[];
  logs(): string;
  stop(): Promise<void>;
}

export async function startMonitoringStack(o: StackOptions): Promise<MonitoringStack> {
  const prometheus = requireBinary(PROMETHEUS_BIN);
  const alertmanager = requireBinary(ALERTMANAGER_BIN);
  const dir = mkdtempSync(join(tmpdir(), 'faultline-monitoring-'));
  const [pPort, aPort] = [await freePort(), await freePort()];
  const scrape = o.scrapeIntervalMs ?? 500;
  const evaluation = o.evaluationIntervalMs ?? 500;
  writeFileSync(join(dir, 'rules.yml'), o.rules);
  writeFileSync(join(dir, 'alertmanager.yml'), o.alertmanagerConfig);
  writeFileSync(
    join(dir, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: `${scrape}ms`, evaluation_interval: `${evaluation}ms`, scrape_timeout: `${Math.floor(scrape * 0.8)}ms` },
      rule_files: [join(dir, 'rules.yml')],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${aPort}`] }] }] },
      scrape_configs: [{ job_name: 'faultline-reference', static_configs: [{ targets: [o.scrapeTarget] }] }],
    }),
  );
  const am = start(alertmanager, [
    `--config.file=${join(dir, 'alertmanager.yml')}`,
    `--storage.path=${join(dir, 'am-data')}`,
    `--web.listen-address=127.0.0.1:${aPort}`,
    '--cluster.listen-address=',
    '--log.level=warn',
  ]);
  const prom = start(prometheus, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'prom-data')}`,
    `--web.listen-address=127.0.0.1:${pPort}`,
    '--log.level=warn',
  ]);
  const stack: MonitoringStack = {
    prometheusUrl: `http://127.0.0.1:${pPort}`,
    alertmanagerUrl: `http://127.0.0.1:${aPort}`,
    pids: [prom.child.pid, am.child.pid].filter((p): p is number => p !== undefined),
    logs: () => `--- prometheus ---\n${prom.log()}\n--- alertmanager ---\n${am.log()}`,
    stop: async () => {
      await Promise.all([stopProc(prom), stopProc(am)]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all([waitReady(stack.prometheusUrl, prom, 'prometheus'), waitReady(stack.alertmanagerUrl, am, 'alertmanager')]);
  } catch (e) {
    await stack.stop();
    throw e;
  }
  return stack;
}
