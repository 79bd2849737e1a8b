import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/faultline.mjs', import.meta.url));
const slo = fileURLToPath(new URL('../../fixtures/slo/minimal.yaml', import.meta.url));

function outageCsv(): string {
  const rows = ['t,total,errors'];
  let total = 0;
  let errors = 0;
  for (let m = 0; m <= 130; m++) {
    rows.push(`${m * 60},${total},${errors}`);
    total += 1000;
    if (m >= 60 && m < 70) errors += 1000;
  }
  return rows.join('\n') + '\n';
}

describe('faultline slo replay', () => {
  const dir = mkdtempSync(join(tmpdir(), 'faultline-slo-cli-'));
  const csv = join(dir, 'outage.csv');
  writeFileSync(csv, outageCsv());

  it('prints alert intervals and budget as JSON, byte-identical on every run', async () => {
    const a = await run(process.execPath, [bin, 'slo', 'replay', '--slo', slo, '--series', csv, '--json']);
    const b = await run(process.execPath, [bin, 'slo', 'replay', '--slo', slo, '--series', csv, '--json']);
    expect(a.stdout).toBe(b.stdout);
    const out = JSON.parse(a.stdout) as { alerts: Record<string, Array<[number, number | null]>>; budget: { badEvents: number } };
    // Errors first show in the 61-minute sample: 5m ratio 20 %, 1h ratio 1.67 % > 1.44 % → fires at 3660 s;
    // the 5m window is error-free again at 75 min → clears at 4500 s.
    expect(out.alerts['page-fast']).toEqual([[3660, 4500]]);
    expect(out.budget.badEvents).toBe(10_000);
  });

  it('exits 2 naming file and line for a bad CSV', async () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 't,total,errors\n0,0,0\n60,-1,0\n');
    const err = (await run(process.execPath, [bin, 'slo', 'replay', '--slo', slo, '--series', bad]).catch((e) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(2);
    expect(err.stderr).toContain('bad.csv:3');
    expect(err.stderr).not.toMatch(/\n\s+at /);
  });

  it('prints Prometheus rules for the SLO', async () => {
    const { stdout } = await run(process.execPath, [bin, 'slo', 'rules', '--slo', slo]);
    expect(stdout).toContain('record: slo:sli_error:ratio_rate5m');
    expect(stdout).toContain('alert: SLOErrorBudgetBurnPageFast');
    expect(stdout).toContain('> 0.014400000000000001');
  });
});
