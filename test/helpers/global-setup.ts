/**
 * Vitest global setup: every test run gets one private temp root (TMPDIR), removed when the run ends,
 * so report dirs, sockets and PostgreSQL data left by tests never pile up in /tmp. The root is
 * world-traversable (0755) because the PostgreSQL server runs as its own OS user when tests run as root.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'faultline-tests-'));
  chmodSync(root, 0o755);
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
