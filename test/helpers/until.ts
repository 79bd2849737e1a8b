/**
 * The one way tests wait for something: poll an observable condition (sync or async; a throw counts
 * as "not yet") until it holds or a deadline passes. Never a fixed sleep standing in for an event.
 */
export async function pollUntil(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, everyMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve().then(cond).catch(() => false)) return;
    if (Date.now() >= end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Polls `cond` every `everyMs` until it holds or `ms` pass; returns whether it held (for tests that assert on the outcome). */
export async function until(cond: () => boolean, ms: number, everyMs = 50): Promise<boolean> {
  return pollUntil('condition', cond, ms, everyMs).then(
    () => true,
    () => false,
  );
}
