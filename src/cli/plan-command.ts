import { ExitCode, InputError } from '../shared/index.ts';
import { gameDayPlan, gameDayPlanText, loadScenario, planScenario } from '../scenario/index.ts';
import { parseFlags } from './args.ts';
import type { Command } from './io.ts';

export const planCommand: Command = {
  usage: `faultline plan — the run's timeline for the game-day announcement, without running anything

Usage: faultline plan FILE [--json] [--error-ratio R] [--allow-network CIDR]…

Prints each experiment's phases with wall-clock offsets from the run start (T+m:ss), the faults,
and for every alert tier when the burn-rate maths expects it to fire (after inject) and clear
(after heal) — on the scenario's compressed timeline and real-equivalent — next to what the
scenario expects, with a warning where the maths says an expectation cannot hold. Rows observed in
real monitoring (expect.observed) show their tier's prediction and what Prometheus (scrape,
evaluation, for:) and Alertmanager (group_wait, group_interval) add on top.

The error ratio during inject is assumed from the faults (a partition, timeout or reset fails every
request through the link; a latency above the SLI's threshold makes every request slow); faults
whose effect depends on the service (loss, bandwidth, …) give no prediction unless --error-ratio R
(0..1) states it. Nothing is started, dialled or written.

  --json   the plan as JSON (times in ms from the experiment start; compressed)`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, { json: { type: 'boolean' }, 'error-ratio': { type: 'string' }, 'allow-network': { type: 'string', multiple: true } }, true);
    const [file, ...extra] = positionals;
    if (!file) throw new InputError('FAULTLINE_CLI_USAGE', "missing scenario FILE (see 'faultline plan --help')");
    if (extra.length > 0) throw new InputError('FAULTLINE_CLI_USAGE', `one scenario FILE only (also got '${extra.join("', '")}')`);
    let errorRatio: number | undefined;
    if (values['error-ratio'] !== undefined) {
      errorRatio = Number(values['error-ratio']);
      if (!(errorRatio >= 0 && errorRatio <= 1)) throw new InputError('FAULTLINE_CLI_USAGE', `--error-ratio must be between 0 and 1 (got '${values['error-ratio']}')`, { field: 'error-ratio' });
    }
    const model = loadScenario(file, { allowNetwork: values['allow-network'] ?? [] });
    const plan = planScenario(model, String(model.spec.seed ?? 1));
    const p = gameDayPlan(model, plan, errorRatio !== undefined ? { errorRatio } : {});
    io.stdout.write(values.json ? `${JSON.stringify(p, null, 2)}\n` : gameDayPlanText(p));
    return ExitCode.passed;
  },
};
