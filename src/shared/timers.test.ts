import { describe, expect, it } from 'vitest';
import { atMonotonic, MAX_TIMER_MS, sleep } from './timers.ts';

describe('sleep (the one abortable sleep)', () => {
  it('resolves no earlier than the delay on the monotonic clock', async () => {
    for (const ms of [1, 5, 20]) {
      const t0 = performance.now();
      await sleep(ms);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(ms);
    }
  });

  it('resolves at once (never rejects) when the signal aborts during the wait, and clears its timer', async () => {
    const timeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timeouts();
    const ac = new AbortController();
    const t0 = performance.now();
    const slept = sleep(60_000, ac.signal);
    expect(timeouts()).toBe(before + 1);
    ac.abort(new Error('stop'));
    await expect(slept).resolves.toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(timeouts()).toBe(before);
  });

  it('resolves at once for an already aborted signal or a delay of zero or less', async () => {
    const ac = new AbortController();
    ac.abort();
    const t0 = performance.now();
    await sleep(60_000, ac.signal);
    await sleep(0);
    await sleep(-5);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('lets timers and IO run between turns of a loop that awaits an aborted sleep (a loop cannot starve the process)', async () => {
    const ac = new AbortController();
    ac.abort();
    let timerFired = false;
    setTimeout(() => (timerFired = true), 5);
    let turns = 0;
    // A step that completes without IO, then an aborted sleep: the loop only ends once the timer has run.
    while (!timerFired && turns < 1_000_000) {
      await Promise.resolve();
      await sleep(100, ac.signal);
      turns++;
    }
    expect(timerFired).toBe(true);
    expect(turns).toBeLessThan(1_000_000);
    let zeroTimer = false;
    setTimeout(() => (zeroTimer = true), 1);
    for (let i = 0; i < 1_000_000 && !zeroTimer; i++) await sleep(0);
    expect(zeroTimer).toBe(true);
  });

  it('removes its abort listener once the time is up (no listener piles up in a poll loop)', async () => {
    const ac = new AbortController();
    let added = 0;
    let removed = 0;
    const add = ac.signal.addEventListener.bind(ac.signal);
    const remove = ac.signal.removeEventListener.bind(ac.signal);
    ac.signal.addEventListener = ((...a: Parameters<typeof add>) => (added++, add(...a))) as typeof add;
    ac.signal.removeEventListener = ((...a: Parameters<typeof remove>) => (removed++, remove(...a))) as typeof remove;
    for (let i = 0; i < 5; i++) await sleep(1, ac.signal);
    expect(added).toBe(5);
    expect(removed).toBe(5);
  });
});

describe('atMonotonic', () => {
  it('fires at or after its monotonic target, and not at all once cancelled', async () => {
    const target = performance.now() + 15;
    const firedAt = await new Promise<number>((r) => atMonotonic(target, () => r(performance.now())));
    expect(firedAt).toBeGreaterThanOrEqual(target);
    let fired = false;
    const cancel = atMonotonic(performance.now() + 5, () => (fired = true));
    cancel();
    await sleep(20);
    expect(fired).toBe(false);
  });

  it('holds a target past the 32-bit timer limit instead of firing at once', async () => {
    let fired = false;
    const cancel = atMonotonic(performance.now() + MAX_TIMER_MS + 10_000, () => (fired = true));
    await sleep(20);
    cancel();
    expect(fired).toBe(false);
  });
});
