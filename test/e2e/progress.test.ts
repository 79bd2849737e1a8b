/**
 * The live progress display: redrawn in place on a TTY, one plain line per update otherwise (CI).
 * Pure formatting over run events.
 */
import { describe, expect, it } from 'vitest';
import { progressReporter } from '../../src/report/index.ts';
import type { RunEvent } from '../../src/scenario/index.ts';
import type { SloSnapshot } from '../../src/slo/index.ts';

const snap = (t: number, firing: boolean): SloSnapshot =>
  ({
    t,
    tReal: t * 720,
    total: 100,
    errors: 10,
    burnRates: { '5m': 20.5, '1h': 15.25, '30m': null },
    tiers: [
      { tier: 'page-fast', state: firing ? 'firing' : 'inactive' },
      { tier: 'page-slow', state: 'pending' },
    ],
  }) as unknown as SloSnapshot;

const tick = (t: number, firing = false): RunEvent => ({
  type: 'tick',
  experiment: 'full-partition',
  t,
  phase: 'inject',
  totalMs: 18_000,
  load: { completedPerSec: 200, errorRatio: 0.125, p99Ms: 1003.4 },
  slo: snap(t, firing),
});

function collect(tty: boolean): { out: string[]; feed: (e: RunEvent) => void } {
  const out: string[] = [];
  return { out, feed: progressReporter((s) => out.push(s), { tty }) };
}

describe('progress display', () => {
  it('shows phase, elapsed/total and remaining time, request rate, error rate, p99, burn rate per window and alert states', () => {
    const { out, feed } = collect(false);
    feed(tick(7000, true));
    expect(out).toEqual(['  [full-partition] inject   7.0/18s (11.0s left)  rate 200/s  err 12.5%  p99 1003.4ms  burn 5m=20.5 1h=15.3 30m=-  page-fast:FIRING page-slow:pending\n']);
  });

  it('prints plain lines at most once a second when stdout is not a TTY', () => {
    const { out, feed } = collect(false);
    for (let t = 0; t <= 3000; t += 250) feed(tick(t));
    expect(out).toHaveLength(4);
    for (const line of out) {
      expect(line.endsWith('\n')).toBe(true);
      expect(line).not.toContain('\r');
      expect(line).not.toContain('\x1b');
    }
  });

  it('redraws one status line in place on a TTY, with events on lines of their own', () => {
    const { out, feed } = collect(true);
    for (let t = 0; t <= 1000; t += 250) feed(tick(t));
    expect(out).toHaveLength(5);
    for (const s of out) {
      expect(s.startsWith('\r\x1b[2K')).toBe(true);
      expect(s.endsWith('\n')).toBe(false);
    }
    feed({ type: 'alert', experiment: 'full-partition', transition: { tier: 'page-fast', t: 1580, tReal: 1580 * 720, from: 'pending', to: 'firing' } });
    expect(out.at(-1)).toBe('\r\x1b[2K  1.58s alert page-fast FIRING (18m57s real-equivalent)\n');
  });

  it('fits the redrawn line to the terminal width, so an 80-column terminal never wraps it', () => {
    const out: string[] = [];
    const feed = progressReporter((s) => out.push(s), { tty: true, columns: () => 80 });
    feed(tick(7000, true));
    const visible = out[0]!.replace('\r\x1b[2K', '');
    expect([...visible].length).toBeLessThan(80);
    expect(visible.endsWith('…')).toBe(true);
    expect(visible.startsWith('  [full-partition] inject   7.0/18s (11.0s left)  rate 200/s')).toBe(true);
  });

  it('says where --metrics serves', () => {
    const { out, feed } = collect(false);
    feed({ type: 'metrics-listening', url: 'http://127.0.0.1:9464/metrics' });
    expect(out).toEqual(['metrics: http://127.0.0.1:9464/metrics (Prometheus format: SLI counters, burn rates, alert states)\n']);
  });
});
