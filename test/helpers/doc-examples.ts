/**
 * Fenced examples in README.md and docs/*.md, for the executable-docs test. A block may carry a
 * marker on the line right above its fence:
 *   <!-- doc-test: run -->            run it for real (YAML: `faultline run`; sh: every faultline line;
 *                                     ts: executed with tsx), expecting exit 0
 *   <!-- doc-test: skip REASON -->    cannot run here; the reason is shown in the test's name
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface DocExample {
  /** `README.md:162` — where the fence opens. */
  where: string;
  lang: string;
  body: string;
  mode: 'check' | 'run' | 'skip';
  reason?: string;
}

export function docFiles(root: string): string[] {
  const docs = join(root, 'docs');
  return [join(root, 'README.md'), ...readdirSync(docs).filter((f) => f.endsWith('.md')).sort().map((f) => join(docs, f))];
}

export function extractExamples(file: string, root: string): DocExample[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: DocExample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const indent = open[1]!.length;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]!); i++) body.push(lines[i]!.slice(Math.min(indent, lines[i]!.length - lines[i]!.trimStart().length)));
    const marker = /<!--\s*doc-test:\s*(run|skip)\s*(.*?)\s*-->/.exec(lines[start - 1] ?? '');
    const ex: DocExample = { where: `${relative(root, file)}:${start + 1}`, lang: open[2] || 'text', body: body.join('\n'), mode: marker ? (marker[1] as 'run' | 'skip') : 'check' };
    if (marker?.[1] === 'skip') ex.reason = marker[2];
    out.push(ex);
  }
  return out;
}

export interface CliLine {
  /** The command line as written. */
  text: string;
  /** Arguments after `faultline`. */
  args: string[];
}

/** Splits a shell line into words (quotes respected; `#` comments dropped). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let has = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      has = true;
    } else if (ch === '#' && !has && cur === '') break;
    else if (/\s/.test(ch)) {
      if (has || cur) words.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (has || cur) words.push(cur);
  return words;
}

/** The faultline invocations of a shell block (`npx faultline …`, `faultline …`, `node bin/faultline.mjs …`). */
export function faultlineLines(body: string): CliLine[] {
  const out: CliLine[] = [];
  for (const raw of body.split('\n')) {
    const words = shellWords(raw.trim());
    const i = words.findIndex((w, k) => w === 'faultline' || (w === 'bin/faultline.mjs' && words[k - 1] === 'node'));
    if (i < 0 || (i > 0 && !['npx', 'node', 'exec'].includes(words[i - 1]!))) continue;
    out.push({ text: raw.trim(), args: words.slice(i + 1) });
  }
  return out;
}
