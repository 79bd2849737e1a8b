/**
 * The npm package as users get it: `npm pack`, then `npm install` of the tarball into an empty
 * project, then the installed `faultline` bin — compiled JavaScript with the runtime dependencies
 * only (no tsx, no TypeScript) — prints help, validates the bundled self-test scenario and runs a
 * short scenario against the embedded reference service. And `npx faultline …` in that project
 * stopped as CI runners and process managers stop a job (SIGTERM to npx alone, SIGINT to its process
 * group) and the documented CI invocation `exec node_modules/.bin/faultline …` (SIGINT or SIGTERM to
 * it): faultline heals, writes its reports, exits 3, and nothing of the tree is left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from '../helpers/until.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; never throws on a non-zero exit (the tests assert the code). */
function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Ran> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, timeout: opts.timeoutMs, maxBuffer: 16 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

/** The environment without npm's per-run variables (`npm test` sets them; they would point the nested npm at this repository). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  // The installed bin's `#!/usr/bin/env node` finds this same Node.
  env.PATH = `${dirname(process.execPath)}${delimiter}${env.PATH ?? ''}`;
  env.CI = 'true';
  return env;
}

describe('the npm package (npm pack → npm install of the tarball → faultline)', () => {
  let tmp: string;
  let app: string;
  let files: string[];
  let faultline: (args: string[], timeoutMs?: number) => Promise<Ran>;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'faultline-package-'));
    const env = cleanEnv();
    // --ignore-scripts: pack the dist/ that the test run's global setup built from these very sources
    // (`prepare` would rebuild it, deleting dist/ under the CLI tests that run in parallel).
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: root, env, timeoutMs: 120_000 });
    expect(packed.code, packed.stderr).toBe(0);
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    files = (info?.files ?? []).map((f) => f.path);
    app = join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'faultline-package-test', version: '0.0.0', private: true }, null, 2)}\n`);
    // --prefer-offline: the dependencies come from npm's cache when `npm ci` filled it, else from the registry.
    const installed = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(tmp, info?.filename ?? 'missing.tgz')], { cwd: app, env, timeoutMs: 300_000 });
    expect(installed.code, installed.stderr).toBe(0);
    faultline = (args, timeoutMs = 30_000) => run(join(app, 'node_modules/.bin/faultline'), args, { cwd: app, env, timeoutMs });
  }, 420_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** The live (not zombie) descendants of `root`, with their command lines. */
  const tree = (root: number): Map<number, string> => {
    const kids = new Map<number, number[]>();
    for (const e of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      try {
        const st = readFileSync(`/proc/${e}/stat`, 'utf8');
        const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
        if (f[0] !== 'Z') kids.set(Number(f[1]), [...(kids.get(Number(f[1])) ?? []), Number(e)]);
      } catch {
        // gone meanwhile
      }
    }
    const out = new Map<number, string>();
    const todo = [...(kids.get(root) ?? [])];
    while (todo.length > 0) {
      const pid = todo.pop() as number;
      try {
        out.set(pid, readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '));
      } catch {
        continue;
      }
      todo.push(...(kids.get(pid) ?? []));
    }
    return out;
  };
  const running = (pid: number): boolean => {
    try {
      return !/^\d+ \([^)]*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };

  // How CI runners and process managers stop a job: a signal to the top process only, or to its group.
  // SIGTERM to npx alone: npm passes it to its shell, which dies without passing it on; faultline sees
  // its parent go. SIGINT to npx alone cannot reach faultline (npm passes it to the shell, which waits
  // for its child), so for SIGINT the documented invocations are the group (what Ctrl-C does) or
  // `exec node_modules/.bin/faultline …`, where faultline is the top process.
  const cases = [
    { how: 'npx faultline', cmd: 'npx', args: ['--no-install', 'faultline'], signal: 'SIGTERM', to: 'npx alone' },
    { how: 'npx faultline', cmd: 'npx', args: ['--no-install', 'faultline'], signal: 'SIGINT', to: 'its process group' },
    { how: 'sh -c "exec node_modules/.bin/faultline …"', cmd: 'sh', args: ['-c', 'exec node_modules/.bin/faultline "$@"', 'sh'], signal: 'SIGINT', to: 'the top process' },
    { how: 'sh -c "exec node_modules/.bin/faultline …"', cmd: 'sh', args: ['-c', 'exec node_modules/.bin/faultline "$@"', 'sh'], signal: 'SIGTERM', to: 'the top process' },
  ] as const;
  for (const [i, c] of cases.entries()) {
    it(`${c.how} run …: ${c.signal} to ${c.to} stops faultline cleanly (healed, reports written, exit 3) and leaves no process`, async () => {
      const file = join(tmp, `signal-${i}.yaml`);
      writeFileSync(
        file,
        `apiVersion: faultline/v1
kind: Experiment
metadata: { name: signal-${i} }
seed: 3
timeScale: 720
target: { builtin: reference, path: /v1/query }
load: { rate: 20, timeout: 2s, warmup: 500ms }
slo: { name: signal, objective: 99 }
experiments:
  - name: long
    baseline: 1s
    inject: { duration: 120s, faults: [{ type: latency, attributes: { latency: 5 } }] }
    recover: 1s
`,
      );
      const reports = join(tmp, `signal-reports-${i}`);
      const top = spawn(c.cmd, [...c.args, 'run', file, '--report-dir', reports], { cwd: app, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let out = '';
      top.stdout.on('data', (d) => (out += d));
      top.stderr.on('data', (d) => (out += d));
      const exited = new Promise<number | null>((r) => top.once('exit', (code) => r(code)));
      const topPid = top.pid as number;
      // npx makes npm exec → sh -c faultline … → node …/faultline; with exec the top process is faultline.
      let seen = new Map<number, string>();
      let faultline: number | undefined;
      expect(
        await until(() => {
          seen = new Map([...seen, ...tree(topPid)]);
          faultline = c.cmd === 'sh' ? topPid : [...seen].find(([, cmd]) => /(^|\/)node\b/.test(cmd.split(' ')[0] ?? '') && cmd.includes('faultline'))?.[0];
          return faultline !== undefined && /\[long\] inject /.test(out);
        }, 60_000),
        out,
      ).toBe(true);
      // The experiment's fault is injected: stop it the way a runner would.
      process.kill(c.to === 'its process group' ? -topPid : topPid, c.signal);
      expect(await until(() => !running(faultline as number), 30_000), out).toBe(true);
      const code = await exited;
      if (c.cmd === 'sh') expect(code).toBe(3);
      await until(() => /result: /.test(out), 5000);
      expect(out).toMatch(/result: ABORTED \(exit 3\)/);
      const [runDir] = readdirSync(reports);
      for (const f of ['journal.json', 'report.html', 'report.md', 'junit.xml']) expect(existsSync(join(reports, runDir ?? '', f)), f).toBe(true);
      const journal = JSON.parse(readFileSync(join(reports, runDir ?? '', 'journal.json'), 'utf8')) as { status: string; exitCode: number; abort?: { cause: string }; cleanup: { faultsLeft: number; verified: boolean } };
      expect(journal).toMatchObject({ status: 'aborted', exitCode: 3, cleanup: { faultsLeft: 0, verified: true } });
      expect(journal.abort?.cause).toMatch(c.to === 'npx alone' ? /parent process .* exited/ : new RegExp(`received ${c.signal}`));
      // No orphan: every process of the tree is gone.
      expect(await until(() => [topPid, ...seen.keys()].every((p) => !running(p)), 10_000), [...seen].map(([p, cmd]) => `${p} ${cmd}`).join('\n')).toBe(true);
    }, 120_000);
  }

  it('ships the compiled CLI, the bundled scenarios and the docs, and no TypeScript sources or tests', () => {
    for (const f of ['package.json', 'README.md', 'bin/faultline.mjs', 'dist/src/cli/index.js', 'dist/src/cli/run-command.js', 'dist/fixtures/reference-service/index.js', 'scenarios/chaos-selftest.yaml', 'docs/scenarios.md']) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]);
    expect(files.filter((f) => /(^|\/)test\/|\.test\.|^bench\//.test(f))).toEqual([]);
  });

  it('installs with its runtime dependencies only: no tsx, esbuild or typescript', () => {
    const modules = readdirSync(join(app, 'node_modules'));
    for (const dep of ['pg', 'undici', 'yaml', 'zod', 'prom-client', 'hdr-histogram-js']) expect(modules).toContain(dep);
    for (const dev of ['tsx', 'esbuild', 'typescript', 'vitest']) expect(modules).not.toContain(dev);
    const pkg = JSON.parse(readFileSync(join(app, 'node_modules/faultline/package.json'), 'utf8')) as { bin: Record<string, string>; dependencies: Record<string, string> };
    expect(pkg.bin.faultline).toBe('bin/faultline.mjs');
    expect(Object.keys(pkg.dependencies)).not.toContain('tsx');
  });

  it('prints help and version from the installed bin, exit 0', async () => {
    const help = await faultline(['--help']);
    expect(help.code, help.stderr).toBe(0);
    for (const c of ['selftest', 'run', 'validate', 'serve', 'load', 'slo', 'drill']) expect(help.stdout).toContain(`  ${c}`);
    const version = await faultline(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version);
    const usage = await faultline(['drill', 'failover', '--help']);
    expect(usage.code).toBe(0);
    expect(usage.stdout).toContain('faultline drill failover');
  });

  it('validates the bundled self-test scenario and rejects an invalid one with exit 2', async () => {
    const ok = await faultline(['validate', join(app, 'node_modules/faultline/scenarios/chaos-selftest.yaml')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/chaos-selftest\.yaml: valid\b.* 4 experiment\(s\)/);
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: faultline/v1\nkind: Experiment\nmetadata: { name: bad }\ntarget: { builtin: reference }\nexperiments:\n  - name: x\n    inject: { duration: soon }\n');
    const invalid = await faultline(['validate', bad]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/bad\.yaml:7 field 'experiments\[0\]\.inject\.duration'/);
    expect(invalid.stderr).not.toMatch(/\n\s+at /);
  });

  it('runs a short partition scenario on the embedded reference service: the burn alert fires and clears, reports written, exit 0', async () => {
    // This proves the installed package runs the whole pipeline, not the machine's speed (the self-test
    // does that): a low rate and a long request timeout keep a busy CI machine's baseline clean, and the
    // steady-state bound allows the requests in flight at inject (at 20/s one of them is 2 %).
    const file = join(tmp, 'short.yaml');
    writeFileSync(
      file,
      `apiVersion: faultline/v1
kind: Experiment
metadata: { name: package-short }
seed: 15
timeScale: 720
target: { builtin: reference, path: /v1/query }
load: { rate: 20, timeout: 10s, warmup: 500ms }
slo: { name: short, objective: 99 }
experiments:
  - name: partition
    baseline: 3s
    inject:
      duration: 3s
      faults:
        - type: partition
          stream: both
          attributes: { mode: reset, scope: both }
    recover: 6s
    expect:
      alerts:
        page-fast: { fires: true, within: 3s, clearsWithin: 5s }
      steadyState: { maxErrorRatio: 0.1 }
`,
    );
    const reportDir = join(tmp, 'reports');
    const r = await faultline(['run', file, '--report-dir', reportDir], 90_000);
    expect(r.stderr).toBe('');
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain('result: PASSED (exit 0)');
    const [runDir] = readdirSync(reportDir);
    for (const f of ['journal.json', 'report.html', 'report.md', 'junit.xml']) expect(existsSync(join(reportDir, runDir ?? '', f))).toBe(true);
    const journal = JSON.parse(readFileSync(join(reportDir, runDir ?? '', 'journal.json'), 'utf8')) as { status: string; cleanup: { verified: boolean } };
    expect(journal).toMatchObject({ status: 'passed', cleanup: { verified: true } });
  }, 120_000);
});
