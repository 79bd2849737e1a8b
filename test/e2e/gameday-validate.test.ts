/**
 * Validation of the game-day parts of a scenario (no network): `expect.observed` needs the matching
 * `monitoring` block, monitoring addresses are loopback, `target.listen` is for the built-in
 * service; each refusal is exit 2 with file, line and field. The shipped game-day scenario validates.
 */
import { describe, expect, it } from 'vitest';
import { faultline, type Ran } from '../helpers/cli.ts';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const gameday = fileURLToPath(new URL('../../scenarios/gameday-alertmanager.yaml', import.meta.url));

const validate = (file: string): Promise<Ran> => faultline(['validate', file]);

describe('game-day scenario validation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'faultline-gameday-validate-'));
  const text = readFileSync(gameday, 'utf8');
  const write = (name: string, body: string): string => {
    const f = join(dir, name);
    writeFileSync(f, body);
    writeFileSync(join(dir, 'gameday-slo.yaml'), readFileSync(fileURLToPath(new URL('../../scenarios/gameday-slo.yaml', import.meta.url)), 'utf8'));
    return f;
  };

  it('accepts the shipped game-day scenario and lists its observed rows and monitoring', async () => {
    const r = await validate(gameday);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('partition: ');
    expect(r.stdout).toContain('+ 3 observed in real monitoring');
    expect(r.stdout).toContain('monitoring: Prometheus http://127.0.0.1:9090, Alertmanager API http://127.0.0.1:9093, webhook receiver on 127.0.0.1:9095');
  });

  it('refuses observed rows without the monitoring they read, naming the field (exit 2)', async () => {
    const noMonitoring = text.replace(/^monitoring:\n( {2}.*\n)+/m, '');
    const r = await validate(write('no-monitoring.yaml', noMonitoring));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no-monitoring\.yaml:\d+ field 'experiments\[0\]\.expect\.observed\[0\]\.source': source: prometheus needs monitoring\.prometheus\.url/);
    expect(r.stderr).toMatch(/field 'experiments\[0\]\.expect\.observed\[1\]\.source': source: alertmanager needs monitoring\.alertmanager\.receiver/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a monitoring URL or receiver off loopback without dialling it (exit 2)', async () => {
    const r = await validate(write('remote.yaml', text.replace('url: http://127.0.0.1:9090', 'url: http://10.1.2.3:9090')));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/remote\.yaml:\d+ field 'monitoring\.prometheus\.url': .*'10\.1\.2\.3' is not a loopback address/);
    const r2 = await validate(write('remote-receiver.yaml', text.replace('listen: 127.0.0.1:9095', 'listen: 0.0.0.0:9095')));
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/field 'monitoring\.alertmanager\.receiver\.listen'/);
    // A staging Prometheus is reachable through the scenario's network allowlist, like targets.
    const allowed = text.replace('url: http://127.0.0.1:9090', 'url: http://10.1.2.3:9090').replace(/^experiments:/m, 'network:\n  allow: [10.1.2.0/24]\nexperiments:');
    const r3 = await validate(write('allowed.yaml', allowed));
    expect(r3.stderr).toBe('');
    expect(r3.stdout).toContain('monitoring: Prometheus http://10.1.2.3:9090');
  });

  it('refuses an unknown tier, a bad regex matcher and target.listen on a non-builtin target (exit 2)', async () => {
    const bad = text
      .replace('alert: { alertname: SLOErrorBudgetBurnTicket }', "alert: { alertname: '=~SLO(' }")
      .replace('fires: false                       # pending', 'tier: nope\n          fires: false                       # pending');
    const r = await validate(write('bad-rows.yaml', bad));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/field 'experiments\[0\]\.expect\.observed\[2\]\.alert\.alertname': invalid regular expression/);
    expect(r.stderr).toMatch(/field 'experiments\[0\]\.expect\.observed\[2\]\.tier': unknown alert tier 'nope'/);
    const r2 = await validate(write('listen.yaml', text.replace('builtin: reference', 'url: http://127.0.0.1:8080')));
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/field 'target\.listen'/);
  });
});
