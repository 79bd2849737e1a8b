import { afterEach, describe, expect, it } from 'vitest';
import { frozenPgServer, type FrozenPgServer } from '../../test/helpers/frozen-pg-server.ts';
import { query } from './postgres.ts';

let open: FrozenPgServer[] = [];
afterEach(async () => {
  await Promise.all(open.map((f) => f.close()));
  open = [];
});

describe('a drill query against a frozen server (SIGSTOPped primary)', () => {
  for (const at of ['start-up', 'query', 'goodbye'] as const) {
    it(`returns within its deadline and closes its socket (frozen before the ${at} is answered)`, async () => {
      const f = await frozenPgServer(at);
      open.push(f);
      const t0 = performance.now();
      const r = await query({ host: '127.0.0.1', port: f.port, user: 'postgres', database: 'postgres' }, 'select 1', [], 300).then(
        () => 'answered',
        (e: Error) => e.message,
      );
      const ms = performance.now() - t0;
      // Frozen after answering: the rows arrived, so the query succeeded; otherwise it failed.
      if (at === 'goodbye') expect(r).toBe('answered');
      else expect(r).not.toBe('answered');
      expect(ms).toBeLessThan(300 + 500 + 500);
      // The client's side is gone: the server's socket sees the end of the stream.
      await new Promise((r) => setTimeout(r, 50));
      expect(f.sockets.length).toBe(1);
      expect(f.sockets[0]!.readableEnded).toBe(true);
    });
  }
});
