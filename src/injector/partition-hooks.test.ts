/** The partition's connection hooks on their own: what each mode and scope does to new connections, open ones and the listener. */
import { describe, expect, it } from 'vitest';
import { FAULT_TYPES, normaliseFault, type FaultRecorder, type ProxyControl, type Stream } from './faults.ts';

const hooks = FAULT_TYPES.partition.connections;
const partition = (mode: string, scope: string, stream: Stream = 'both') => normaliseFault({ type: 'partition', stream, attributes: { mode, scope } });

function fakeProxy(open = 3): { control: ProxyControl; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    control: {
      resetConnections: (reason) => {
        calls.push(`reset ${open} (${reason})`);
        return open;
      },
      closeListener: () => calls.push('close listener'),
      reopenListener: () => calls.push('reopen listener'),
      releaseHeldDials: () => calls.push('release held dials'),
    },
  };
}

function recorder(): FaultRecorder & { resets: number } {
  const r = { resets: 0, chunk() {}, delay() {}, stall() {}, paced() {}, drop() {}, close() {}, reset: () => r.resets++ };
  return r;
}

describe('partition connection hooks', () => {
  it('on accept: refuse and reset answer RST, a blackhole towards the upstream holds the dial, scope existing lets new connections through', () => {
    expect(hooks.onAccept(partition('refuse', 'both'))).toBe('refuse');
    expect(hooks.onAccept(partition('reset', 'new'))).toBe('refuse');
    expect(hooks.onAccept(partition('blackhole', 'new', 'upstream'))).toBe('hold-dial');
    expect(hooks.onAccept(partition('blackhole', 'both', 'both'))).toBe('hold-dial');
    // One-way towards the client: the SYN gets through, the answers are held on the link.
    expect(hooks.onAccept(partition('blackhole', 'new', 'downstream'))).toBe('accept');
    for (const mode of ['refuse', 'reset', 'blackhole']) expect(hooks.onAccept(partition(mode, 'existing'))).toBe('accept');
  });

  it('scope decides which connections the blackhole stage attaches to', () => {
    expect(['existing', 'new', 'both'].map((s) => hooks.scope(partition('blackhole', s)))).toEqual(['existing', 'new', 'both']);
  });

  it('on add: refuse resets open connections (counted) and closes the listener; scope new leaves open connections alone', () => {
    const p = fakeProxy(3);
    const rec = recorder();
    hooks.onAdd(partition('refuse', 'both'), p.control, rec);
    expect(p.calls).toEqual(['reset 3 (partition refuse)', 'close listener']);
    expect(rec.resets).toBe(3);
    const q = fakeProxy(3);
    hooks.onAdd(partition('refuse', 'new'), q.control, recorder());
    expect(q.calls).toEqual(['close listener']);
  });

  it('on add: reset RSTs open connections but keeps listening; a blackhole touches neither', () => {
    const p = fakeProxy(2);
    hooks.onAdd(partition('reset', 'existing'), p.control, recorder());
    expect(p.calls).toEqual(['reset 2 (partition reset)']);
    const q = fakeProxy(2);
    hooks.onAdd(partition('blackhole', 'both'), q.control, recorder());
    expect(q.calls).toEqual([]);
  });

  it('the listener stays closed only for refuse on new connections; removal re-opens it and releases held dials', () => {
    expect(hooks.holdsListenerClosed(partition('refuse', 'both'))).toBe(true);
    expect(hooks.holdsListenerClosed(partition('refuse', 'existing'))).toBe(false);
    expect(hooks.holdsListenerClosed(partition('reset', 'both'))).toBe(false);
    const p = fakeProxy();
    hooks.onRemove(partition('refuse', 'new'), p.control);
    expect(p.calls).toEqual(['reopen listener', 'release held dials']);
    const q = fakeProxy();
    hooks.onRemove(partition('blackhole', 'both'), q.control);
    expect(q.calls).toEqual(['release held dials']);
  });
});
