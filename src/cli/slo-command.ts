import { FaultlineError } from '../shared/index.ts';
import type { Command } from './io.ts';

// Placeholder until the owning issue lands; replaced by the real command.
export const sloCommand: Command = {
  summary: '(not yet available)',
  usage: 'faultline slo — not yet available',
  run: async () => {
    throw new FaultlineError('FAULTLINE_CLI_NOT_AVAILABLE', "'slo' is not available in this build yet");
  },
};
