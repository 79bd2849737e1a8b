// ESLint flat config. The architecture rule lives here (enforced in lint, not in review):
//   - src/shared imports nothing else of faultline;
//   - src/injector, src/slo, src/load, src/failover import only src/shared (never each other);
//   - src/scenario may import the four modules and shared; src/report imports scenario and shared;
//   - src/cli (the composition root) may import everything;
//   - src/cli and src/scenario may import fixtures/reference-service/index.ts (the embedded default target);
//   - any import that crosses from one src/ folder into another goes through that folder's index.ts
//     (one exception: src/cli may import src/shared/version.ts, so --version starts as fast as --help);
//   - no import cycles in src/, type-only imports included (faultline/no-cycle below; import-x's
//     no-cycle skips `import type`, and a type cycle is what this rule exists to catch).
import js from '@eslint/js';
import fs from 'node:fs';
import tseslint from 'typescript-eslint';
import path from 'node:path';

const SRC = path.resolve('src');
const ALLOWED = {
  shared: [],
  injector: ['shared'],
  slo: ['shared'],
  load: ['shared'],
  failover: ['shared'],
  scenario: ['shared', 'injector', 'slo', 'load', 'failover'],
  report: ['shared', 'scenario'],
  cli: ['shared', 'injector', 'slo', 'load', 'failover', 'scenario', 'report'],
};

function topFolder(file) {
  const rel = path.relative(SRC, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep)[0];
}

const boundaries = {
  meta: { type: 'problem', messages: { forbidden: '{{why}}' }, schema: [] },
  create(context) {
    const file = context.filename;
    const from = topFolder(file);
    if (from === undefined || !(from in ALLOWED)) return {};
    const check = (node, source) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = path.resolve(path.dirname(file), source);
      const to = topFolder(target);
      if (to === undefined) {
        // The composition root may start the built-in reference service (the embedded default target).
        if ((from === 'cli' || from === 'scenario') && path.relative(path.resolve('fixtures/reference-service'), target) === 'index.ts') return;
        context.report({ node, messageId: 'forbidden', data: { why: `src/${from} must not import from outside src/ ('${source}')` } });
        return;
      }
      if (to === from) return;
      if (!ALLOWED[from].includes(to)) {
        context.report({
          node,
          messageId: 'forbidden',
          data: { why: `src/${from} may import only ${ALLOWED[from].map((f) => `src/${f}`).join(', ') || 'nothing else of faultline'}; not src/${to}` },
        });
        return;
      }
      const rel = path.relative(path.join(SRC, to), target);
      // The CLI's --version answers without loading src/shared's front door (yaml, zod: ~0.2 s of start-up).
      if (from === 'cli' && to === 'shared' && rel === 'version.ts') return;
      if (rel !== 'index.ts' && rel !== 'index.js' && rel !== 'index' && rel !== '') {
        context.report({ node, messageId: 'forbidden', data: { why: `import src/${to} through its front door (src/${to}/index.ts), not '${source}'` } });
      }
    };
    return {
      ImportDeclaration: (n) => check(n, n.source.value),
      ExportNamedDeclaration: (n) => n.source && check(n, n.source.value),
      ExportAllDeclaration: (n) => check(n, n.source.value),
      ImportExpression: (n) => n.source.type === 'Literal' && check(n, n.source.value),
    };
  },
};


// --- no-cycle: static imports (value and type) among src/ files must not form a cycle ---------------
const IMPORT_RE = /(?:^|[\n;])\s*(?:import|export)\s[^;]*?\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]/g;
const graphCache = new Map(); // file → { mtimeMs, deps }

function depsOf(file) {
  let stat;
  try {
    stat = fs.statSync(file);
  } catch {
    return [];
  }
  const hit = graphCache.get(file);
  if (hit && hit.mtimeMs === stat.mtimeMs) return hit.deps;
  const text = fs.readFileSync(file, 'utf8');
  const deps = [...text.matchAll(IMPORT_RE)].map((m) => path.resolve(path.dirname(file), m[1])).filter((d) => topFolder(d) !== undefined && d.endsWith('.ts'));
  graphCache.set(file, { mtimeMs: stat.mtimeMs, deps });
  return deps;
}

/** A path of imports from `from` back to `to` (files), or undefined. */
function pathBack(from, to) {
  const seen = new Set();
  const walk = (f, trail) => {
    if (f === to) return trail;
    if (seen.has(f)) return undefined;
    seen.add(f);
    for (const d of depsOf(f)) {
      const found = walk(d, [...trail, d]);
      if (found) return found;
    }
    return undefined;
  };
  return walk(from, [from]);
}

const noCycle = {
  meta: { type: 'problem', messages: { cycle: 'import cycle: {{path}}' }, schema: [] },
  create(context) {
    const file = context.filename;
    if (topFolder(file) === undefined || file.endsWith('.test.ts')) return {};
    const check = (node, source) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = path.resolve(path.dirname(file), source);
      if (topFolder(target) === undefined) return;
      const back = pathBack(target, file);
      if (back) context.report({ node, messageId: 'cycle', data: { path: [file, ...back].map((f) => path.relative(SRC, f)).join(' → ') } });
    };
    return {
      ImportDeclaration: (n) => check(n, n.source.value),
      ExportNamedDeclaration: (n) => n.source && check(n, n.source.value),
      ExportAllDeclaration: (n) => check(n, n.source.value),
    };
  },
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'reports/**', 'coverage/**', 'fixtures/**/*.js', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { faultline: { rules: { boundaries, 'no-cycle': noCycle } } },
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', performance: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', URL: 'readonly', Buffer: 'readonly', structuredClone: 'readonly', fetch: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', queueMicrotask: 'readonly' } },
    rules: {
      'faultline/boundaries': 'error',
      'faultline/no-cycle': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'error',
    },
  },
  {
    // Functions stay short enough to read in one screen: at most 80 lines (blank and comment lines not counted).
    files: ['src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }] },
  },
  {
    // Tests, benchmarks, fixtures and bin scripts may print and may reach into any module.
    files: ['test/**', 'bench/**', 'fixtures/**', 'bin/**', '**/*.test.ts', 'eslint.config.js', 'vitest.config.ts'],
    rules: { 'no-console': 'off', 'faultline/boundaries': 'off', 'faultline/no-cycle': 'off' },
  },
);
