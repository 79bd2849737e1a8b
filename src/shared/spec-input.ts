/**
 * Versioned YAML input → validated model, with errors that name the file, line and field.
 * Used by every `apiVersion: faultline/v1` document (SLO, Experiment, failover drill).
 */
import { readFileSync } from 'node:fs';
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { InputError, InputErrors } from './errors.ts';
import { parseDuration } from './durations.ts';

export const API_VERSION = 'faultline/v1';

/** A duration field in a spec: `250ms`, `5m`, `1h30m` or a number of milliseconds → milliseconds. */
export const durationSchema = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message.replace(/^.*?not a valid/, 'not a valid') });
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
  return { file, text, doc, lines };
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

/**
 * Validates a parsed document against a zod schema. Every issue becomes an InputError with file,
 * line and field; several issues are thrown together.
 */
export function validateSpec<S extends z.ZodType>(src: SpecSource, schema: S, code = 'FAULTLINE_INPUT_INVALID'): z.output<S> {
  const data: unknown = src.doc.toJS({ maxAliasCount: 100 });
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) =>
      new InputError(code, issue.message, {
        file: src.file,
        line: lineOf(src, issue.path),
        field: formatFieldPath(issue.path),
      }),
  );
  throw problems.length === 1 ? problems[0] : new InputErrors(code, problems);
}

/** Checks `apiVersion` and `kind` before schema validation, so the error is about the right thing. */
export function expectKind(src: SpecSource, kind: string): void {
  const js = src.doc.toJS() as Record<string, unknown> | null;
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
