/** Front door of src/report: reporters that subscribe to run events and render the run's result. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../scenario/index.ts';
import { renderHtml, renderJournal, renderJunit, renderMarkdown } from './render.ts';

export { progressReporter, verdictTable } from './progress.ts';

/** A run id that sorts by time: `<scenario>-<UTC timestamp>-<seed>`. */
export function runId(scenario: string, startedAt: number, seed: string): string {
  const ts = new Date(startedAt).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${scenario}-${ts}-${seed}`.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** Writes journal.json, junit.xml, report.md and report.html under `dir`; returns their paths. */
export function writeReports(result: RunResult, dir: string): Record<'journal' | 'junit' | 'markdown' | 'html', string> {
  mkdirSync(dir, { recursive: true });
  const paths = {
    journal: join(dir, 'journal.json'),
    junit: join(dir, 'junit.xml'),
    markdown: join(dir, 'report.md'),
    html: join(dir, 'report.html'),
  };
  writeFileSync(paths.journal, renderJournal(result));
  writeFileSync(paths.junit, renderJunit(result));
  writeFileSync(paths.markdown, renderMarkdown(result));
  writeFileSync(paths.html, renderHtml(result));
  return paths;
}
