/**
 * Versioned YAML input → validated model, with errors that name the file, line and field.
 * Used by every `apiVersion: faultline/v1` document (SLO, Experiment, failover drill).
 */
import { readFileSync } from 'node:fs';
import { isAlias, isCollection, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { InputError, InputErrors } from './errors.ts';
import { parseDuration } from './durations.ts';
import { didYouMean } from './suggest.ts';

export const API_VERSION = 'faultline/v1';

/**
 * A duration field in a spec: `250ms`, `5m`, `1h30m` → milliseconds. A unit is required (a YAML number
 * or a bare "5" is refused: ms or s?), and the value is at most a year.
 */
export const durationSchema = z.unknown().transform((v, ctx) => {
  if (typeof v !== 'string') {
    const got = typeof v === 'number' ? `the number ${v}` : describeInput(v);
    const hint = typeof v === 'number' ? ` (write e.g. '${v}ms' or '${v}s')` : '';
    ctx.addIssue({ code: 'custom', message: `expected a duration with a unit such as 250ms, 5s, 1m30s, got ${got}${hint}` });
    return z.NEVER;
  }
  try {
    return parseDuration(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});
/** For objects built by code (not read from a user's file): a number of milliseconds, or a string with a unit. */
export const msOrDurationSchema = z.union([z.number(), z.string()]).transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});
export const positiveDurationSchema = durationSchema.refine((v) => v > 0, 'must be a positive duration');

export interface SpecSource {
  file: string;
  text: string;
  doc: Document.Parsed;
  lines: LineCounter;
}

export function parseYamlSource(text: string, file: string): SpecSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const pos = e.pos ? lines.linePos(e.pos[0]) : undefined;
      return new InputError('FAULTLINE_INPUT_YAML', e.message.split('\n')[0] ?? 'invalid YAML', {
        file,
        ...(pos ? { line: pos.line, column: pos.col } : {}),
      });
    });
    throw problems.length === 1 ? problems[0] : new InputErrors('FAULTLINE_INPUT_YAML', problems);
  }
  refuseCollectionKeys(doc, lines, file);
  return { file, text, doc, lines };
}

/**
 * A mapping key that is itself a mapping or a list (`? [a, b]`, `{a: 1}: x`, or an alias to one) has no
 * meaning in a faultline file; the yaml library would stringify it and print a Node warning. Refused
 * as invalid input at its line, before anything is converted.
 */
function refuseCollectionKeys(doc: Document.Parsed, lines: LineCounter, file: string): void {
  let bad: { line?: number; column?: number; kind: string } | undefined;
  visit(doc, {
    Pair(_, pair) {
      let key: unknown = pair.key;
      if (isAlias(key)) key = key.resolve(doc);
      // A tagged scalar can be an object too (`!!binary` gives bytes): only strings, numbers, booleans and null are keys.
      const objectScalar = isScalar(key) && key.value !== null && typeof key.value === 'object';
      if (!isCollection(key) && !objectScalar) return undefined;
      const at = (pair.key as { range?: [number, number, number] } | null)?.range?.[0];
      const pos = at !== undefined ? lines.linePos(at) : undefined;
      bad = { ...(pos ? { line: pos.line, column: pos.col } : {}), kind: isSeq(key) ? 'a list' : isMap(key) ? 'a mapping' : 'a tagged value (e.g. !!binary)' };
      return visit.BREAK;
    },
  });
  if (bad) {
    throw new InputError('FAULTLINE_INPUT_YAML', `a mapping key must be a plain value, got ${bad.kind} as a key`, {
      file,
      ...(bad.line !== undefined ? { line: bad.line, column: bad.column } : {}),
    });
  }
}

export function readYamlSource(file: string): SpecSource {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError('FAULTLINE_INPUT_FILE', `cannot read file: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file }, { cause: e });
  }
  return parseYamlSource(text, file);
}

/** Formats a zod/issue path as `phases[1].faults[0].type`. */
export function formatFieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

/** 1-based line of the node at `path` (or of its closest existing ancestor). */
export function lineOf(src: SpecSource, path: ReadonlyArray<PropertyKey>): number | undefined {
  let node: unknown = src.doc.contents;
  let best: number | undefined = rangeLine(src, node);
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => {
        const k = it.key as YamlNode | string | null;
        const kv = k !== null && typeof k === 'object' && 'value' in k ? (k as { value: unknown }).value : k;
        return String(kv) === String(key);
      });
      if (!pair) break;
      const keyLine = rangeLine(src, pair.key);
      if (keyLine !== undefined) best = keyLine;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
      const l = rangeLine(src, node);
      if (l !== undefined) best = l;
    } else {
      break;
    }
  }
  return best;
}

function rangeLine(src: SpecSource, node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  if (!range) return undefined;
  return src.lines.linePos(range[0]).line;
}

/** A value as a refusal shows it: `null`, `string "x"`, `number 5`, `array`, `object`. */
export function describeInput(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  const json = JSON.stringify(v) ?? String(v);
  return `${typeof v} ${json.length > 60 ? `${json.slice(0, 57)}...` : json}`;
}

/**
 * The document as plain data. Alias problems (an alias before its anchor, an alias bomb) are input
 * errors with file and line, never harness errors.
 */
export function specData(src: SpecSource): unknown {
  try {
    return src.doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    const bomb = /alias count/i.test(msg);
    let line: number | undefined;
    visit(src.doc, {
      Alias(_, node) {
        if (!bomb && node.resolve(src.doc) !== undefined) return undefined;
        line = rangeLine(src, node);
        return visit.BREAK;
      },
    });
    const text = bomb ? 'too many alias expansions (at most 100; an alias bomb?)' : msg.replace(/\s+/g, ' ');
    throw new InputError('FAULTLINE_INPUT_YAML', text, { file: src.file, ...(line !== undefined ? { line } : {}) }, { cause: e });
  }
}

type Issue = z.core.$ZodIssue;

/** Structural mismatches of a union branch: keys it does not know, keys it needs that are absent. */
function mismatches(issues: Issue[], depth: number): number {
  return issues.filter((i) => i.code === 'unrecognized_keys' || (i.code === 'invalid_type' && i.input === undefined && i.path.length <= depth + 1)).length;
}

/**
 * Zod reports a union that matched no branch as one 'Invalid input' at the union. Instead, pick the
 * branch the user evidently meant (fewest unknown/missing keys, then fewest problems) and report its
 * problems at their own, deepest fields.
 */
function expandIssue(issue: Issue, prefix: PropertyKey[] = []): Issue[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const branches = issue.errors.map((b) => b.flatMap((i) => expandIssue(i, path)));
    const scored = branches.map((b) => ({ b, m: mismatches(b, path.length), n: b.length }));
    scored.sort((x, y) => x.m - y.m || x.n - y.n);
    const best = scored[0] as { b: Issue[]; m: number };
    if (best.m > 0 && scored.every((x) => x.m === best.m)) {
      const missing = [...new Set(branches.flatMap((b) => b.filter((i) => i.code === 'invalid_type' && i.input === undefined && i.path.length === path.length + 1).map((i) => String(i.path[path.length]))))];
      const unknown = [...new Set(branches.flatMap((b) => b.flatMap((i) => (i.code === 'unrecognized_keys' && i.path.length <= path.length + 1 ? i.keys : []))))];
      const hint = unknown.map((k) => `'${k}'${didYouMean(k, missing)}`).join(', ');
      if (missing.length > 1) return [{ ...issue, code: 'custom', path, message: `expected exactly one of ${missing.join(', ')}${hint ? `; unknown: ${hint}` : ''}` } as Issue];
    }
    if (best.b.length > 0) return best.b;
  }
  if (issue.code === 'unrecognized_keys' && issue.keys.length === 1) {
    return [{ ...issue, path: [...path, issue.keys[0] as string], message: `unknown field '${issue.keys[0]}'` } as Issue];
  }
  return [{ ...issue, path } as Issue];
}

/** The message with what was expected and what came (zod's own says both for types; add the value otherwise). */
function issueMessage(issue: Issue): string {
  const m = issue.message;
  if (issue.code === 'invalid_type') return m.replace(/^Invalid input: /, '');
  if (/\b(got|received)\b/.test(m) || issue.input === undefined || issue.code === 'unrecognized_keys' || issue.code === 'custom') return m;
  return `${m.replace(/^(Too big|Too small|Invalid input|Invalid string|Invalid option): /, '')}, got ${describeInput(issue.input)}`;
}

/**
 * Validates a parsed document against a zod schema. Every issue becomes an InputError with file,
 * line and the deepest field; several issues are thrown together.
 */
export function validateSpec<S extends z.ZodType>(src: SpecSource, schema: S, code = 'FAULTLINE_INPUT_INVALID'): z.output<S> {
  const data: unknown = specData(src);
  const result = schema.safeParse(data, { reportInput: true });
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((i) => expandIssue(i)).map(
    (issue) =>
      new InputError(code, issueMessage(issue), {
        file: src.file,
        line: lineOf(src, issue.path),
        field: formatFieldPath(issue.path),
      }),
  );
  throw problems.length === 1 ? problems[0] : new InputErrors(code, problems);
}

/** Checks `apiVersion` and `kind` before schema validation, so the error is about the right thing. */
export function expectKind(src: SpecSource, kind: string): void {
  const js = specData(src) as Record<string, unknown> | null;
  if (js === null || typeof js !== 'object' || Array.isArray(js)) {
    throw new InputError('FAULTLINE_INPUT_INVALID', `expected a YAML mapping with apiVersion and kind`, { file: src.file, line: 1 });
  }
  if (js.apiVersion !== API_VERSION) {
    throw new InputError('FAULTLINE_INPUT_API_VERSION', `apiVersion must be '${API_VERSION}' (got ${JSON.stringify(js.apiVersion)})`, {
      file: src.file,
      line: lineOf(src, ['apiVersion']) ?? 1,
      field: 'apiVersion',
    });
  }
  if (js.kind !== kind) {
    throw new InputError('FAULTLINE_INPUT_KIND', `kind must be '${kind}' (got ${JSON.stringify(js.kind)})`, {
      file: src.file,
      line: lineOf(src, ['kind']) ?? 1,
      field: 'kind',
    });
  }
}

/** Read + check kind + validate, the common path. */
export function loadSpecFile<S extends z.ZodType>(file: string, kind: string, schema: S): z.output<S> {
  const src = readYamlSource(file);
  expectKind(src, kind);
  return validateSpec(src, schema);
}

export function loadSpecText<S extends z.ZodType>(text: string, file: string, kind: string, schema: S): z.output<S> {
  const src = parseYamlSource(text, file);
  expectKind(src, kind);
  return validateSpec(src, schema);
}
