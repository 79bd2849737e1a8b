/**
 * Docs that run: every fenced example in README.md and docs/*.md is checked against the code.
 *   yaml  — a faultline file (apiVersion + kind) passes `faultline validate`; a fragment must parse;
 *           `<!-- doc-test: run -->` runs it for real and expects exit 0
 *   sh    — every faultline invocation names a real command and only flags its usage documents;
 *           `<!-- doc-test: run -->` runs each faultline line and expects exit 0
 *   ts    — typechecked against the sources (one tsc run); `<!-- doc-test: run -->` executes it
 *   `<!-- doc-test: skip REASON -->` — cannot run here; the reason is in the test's name
 * And the other direction: every flag a command's --help shows is one its parser accepts, and back.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { main } from '../../src/cli/index.ts';
import { commands, isCommandName } from '../../src/cli/commands.ts';
import { docFiles, extractExamples, faultlineLines, type DocExample } from '../helpers/doc-examples.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const examples: DocExample[] = docFiles(root).flatMap((f) => extractExamples(f, root));

async function cli(args: string[], cwd = root): Promise<{ code: number; out: string }> {
  let out = '';
  const sink = { write: (s: string) => ((out += s), true), isTTY: false } as unknown as NodeJS.WriteStream;
  const code = await main(args, { stdout: sink, stderr: sink, env: { ...process.env, CI: 'true' }, cwd });
  return { code, out };
}

async function usageOf(name: string): Promise<string> {
  if (!isCommandName(name)) throw new Error(`no such command '${name}'`);
  return (await commands[name].load()).usage;
}

const isFaultlineFile = (body: string): boolean => /^apiVersion:\s*faultline\/v1\s*$/m.test(body) && /^kind:\s*\S+/m.test(body);
const title = (x: DocExample): string => `${x.where} (${x.lang}${x.mode === 'check' ? '' : `, ${x.mode}`})`;

describe('every fenced example in README.md and docs/', () => {
  it('finds the examples (README quickstart, scenario, SLO file, drill commands, library snippet)', () => {
    expect(examples.length).toBeGreaterThanOrEqual(8);
    expect(examples.filter((x) => x.lang === 'yaml').length).toBeGreaterThanOrEqual(2);
    expect(examples.filter((x) => x.lang === 'sh').length).toBeGreaterThanOrEqual(4);
    expect(examples.filter((x) => x.lang === 'ts').length).toBeGreaterThanOrEqual(1);
    expect(examples.filter((x) => x.mode === 'run').length).toBeGreaterThanOrEqual(2);
  });

  for (const x of examples.filter((e) => e.mode === 'skip')) {
    it(`${title(x)} — not run here: ${x.reason}`, () => {
      expect(x.reason ?? '', 'a skipped example must say why').toMatch(/\w{3,}/);
    });
  }

  for (const x of examples.filter((e) => e.mode !== 'skip' && e.lang === 'yaml')) {
    it(`${title(x)} ${isFaultlineFile(x.body) ? 'is a valid faultline file' : 'parses as YAML'}${x.mode === 'run' ? ' and passes when run as written' : ''}`, async () => {
      if (!isFaultlineFile(x.body)) {
        expect(x.mode, 'only complete faultline files can be run').toBe('check');
        expect(parseDocument(x.body).errors.map((e) => e.message)).toEqual([]);
        return;
      }
      const dir = mkdtempSync(join(tmpdir(), 'faultline-doc-'));
      const file = join(dir, 'example.yaml');
      writeFileSync(file, x.body);
      const v = await cli(['validate', file]);
      expect(v.code, v.out).toBe(0);
      if (x.mode === 'run') {
        const r = await cli(['run', file, '--report-dir', join(dir, 'reports')]);
        expect(r.code, r.out.split('\n').filter((l) => /FAIL|result:|not reached/.test(l)).join('\n')).toBe(0);
      }
    });
  }

  for (const x of examples.filter((e) => e.mode !== 'skip' && ['sh', 'bash', 'shell'].includes(e.lang))) {
    const lines = faultlineLines(x.body);
    if (lines.length === 0) continue;
    it(`${title(x)}: ${lines.length} faultline command(s) use real commands and documented flags${x.mode === 'run' ? ' and exit 0' : ''}`, async () => {
      for (const l of lines) {
        const [name, sub] = l.args;
        expect(isCommandName(name ?? ''), `${l.text}: unknown command`).toBe(true);
        const usage = await usageOf(name!);
        if (sub && !sub.startsWith('-') && /^[a-z]+$/.test(sub) && name !== 'run' && name !== 'validate') expect(usage, `${l.text}: '${sub}' is not in '${name} --help'`).toMatch(new RegExp(`\\b${name} ${sub}\\b`));
        for (const flag of l.args.filter((a) => /^--[a-z]/.test(a)).map((a) => a.split('=')[0]!)) {
          expect(usage, `${l.text}: ${flag} is not in 'faultline ${name} --help'`).toMatch(new RegExp(`${flag}(?![\\w-])`));
        }
        if (x.mode === 'run') {
          const r = await cli(l.args);
          expect(r.code, `${l.text}\n${r.out}`).toBe(0);
        }
      }
    });
  }

  const ts = examples.filter((e) => e.mode !== 'skip' && ['ts', 'typescript'].includes(e.lang));
  if (ts.length > 0) {
    it(`${ts.map(title).join(', ')}: TypeScript examples typecheck against the sources${ts.some((e) => e.mode === 'run') ? ', and the runnable ones run' : ''}`, () => {
      const dir = join(root, '.tmp', `doc-examples-${process.pid}`);
      mkdirSync(dir, { recursive: true });
      try {
        writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', compilerOptions: { noEmit: true, noUnusedLocals: false }, include: ['*.ts'] }));
        const files = ts.map((x, i) => {
          const f = join(dir, `example-${i}.ts`);
          writeFileSync(f, `// ${x.where}\n${x.body.replaceAll("from './", "from '../../")}\nexport {};\n`);
          return f;
        });
        const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
        expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
        ts.forEach((x, i) => {
          if (x.mode !== 'run') return;
          const run = spawnSync(process.execPath, ['--import', 'tsx', files[i]!], { cwd: root, encoding: 'utf8', timeout: 60_000 });
          expect(run.status, `${x.where}\n${run.stdout}${run.stderr}`).toBe(0);
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe("README's CLI reference agrees with each command's --help", () => {
  const rows = readFileSync(join(root, 'README.md'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('| `faultline '))
    .map((l) => /^\| `faultline ([^`]*)`/.exec(l)![1]!);
  it(`finds the command rows (${rows.length})`, () => expect(rows.length).toBeGreaterThanOrEqual(8));
  for (const row of rows) {
    it(`faultline ${row.slice(0, 60)}${row.length > 60 ? '…' : ''}`, async () => {
      const name = row.split(/\s+/)[0]!;
      expect(isCommandName(name), `README documents an unknown command '${name}'`).toBe(true);
      const usage = await usageOf(name);
      for (const flag of new Set([...row.matchAll(/(?<![\w-])(--[a-z][a-z0-9-]*)/g)].map((m) => m[1]!))) {
        expect(usage, `README shows ${flag} for '${name}', which its --help does not`).toMatch(new RegExp(`${flag}(?![\\w-])`));
      }
    });
  }
});

describe("every command's --help agrees with its parser", () => {
  // The files whose parsers a command's usage covers (selftest and run share run-command.ts; drill has failover and rollout).
  const sources: Record<string, string[]> = { selftest: ['run'], drill: ['drill', 'rollout'] };
  for (const name of Object.keys(commands)) {
    it(`faultline ${name}`, async () => {
      const src = (sources[name] ?? [name]).map((f) => readFileSync(join(root, 'src/cli', `${f}-command.ts`), 'utf8')).join('\n');
      const parsed = new Set([...src.matchAll(/'?([a-z][a-z0-9-]*)'?: \{ type: '(?:string|boolean)'/g)].map((m) => `--${m[1]}`));
      const usage = await usageOf(name);
      const documented = new Set([...usage.matchAll(/(?<![\w-])(--[a-z][a-z0-9-]*)/g)].map((m) => m[1]!));
      documented.delete('--help');
      for (const f of documented) expect(parsed, `${name} --help shows ${f}, which its parser does not accept`).toContain(f);
      for (const f of parsed) expect(documented, `${name}'s parser accepts ${f}, which its --help does not show`).toContain(f);
    });
  }
});
