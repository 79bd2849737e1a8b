import { FaultlineError } from '../shared/index.ts';
import type { Command } from './io.ts';

// Placeholders until the experiments issue lands; replaced by the real commands.
const notYet = (name: string): Command => ({
  summary: '(not yet available)',
  usage: `faultline ${name} — not yet available`,
  run: async () => {
    throw new FaultlineError('FAULTLINE_CLI_NOT_AVAILABLE', `'${name}' is not available in this build yet`);
  },
});
export const runCommand = notYet('run');
export const validateCommand = notYet('validate');
export const selftestCommand = notYet('selftest');
