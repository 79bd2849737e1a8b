import { createLogger, ExitCode, formatLogLine, InputError, networkPolicy } from '../shared/index.ts';
import { readProxyConfigFile, startControlServer, type ProxyConfig } from '../injector/index.ts';
import { onStopSignal } from './stop-signals.ts';
import { parseFlags } from './args.ts';
import type { Command } from './io.ts';

const usage = `faultline serve — run the fault injector's control plane (Toxiproxy HTTP API)

Usage: faultline serve [--host 127.0.0.1] [--port 8474] [--config proxies.json] [--seed N] [--allow-network CIDR]…

  --host     loopback address to bind (127.0.0.0/8 or ::1 only; anything else is refused)
  --port     control plane port (default 8474; 0 picks a free port)
  --config   JSON (or YAML) array of proxies to create at start: [{"name","listen","upstream","enabled"}]
  --seed     seed for every random draw (jitter, loss, toxicity); reported by GET /version
  --allow-network CIDR  (repeatable) let proxies listen on or dial addresses in CIDR, beyond loopback;
             the control plane itself stays on loopback (no override)
  --verbose  log every fault change

Drive it with any Toxiproxy client (e.g. toxiproxy-node-client) or curl. GET /metrics serves
Prometheus counters. SIGINT/SIGTERM heal every fault before exit.`;

export const serveCommand: Command = {
  usage,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      host: { type: 'string' },
      port: { type: 'string' },
      config: { type: 'string' },
      seed: { type: 'string' },
      verbose: { type: 'boolean' },
      'allow-network': { type: 'string', multiple: true },
    });
    const network = networkPolicy(values['allow-network'] ?? [], '--allow-network');
    const port = values.port === undefined ? 8474 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError('FAULTLINE_CLI_USAGE', `--port must be 0..65535 (got '${values.port}')`, { field: 'port' });
    const configs: ProxyConfig[] = values.config ? readProxyConfigFile(values.config, network) : [];
    const logger = createLogger((r) => io.stderr.write(`${formatLogLine(r)}\n`), values.verbose ? 'info' : 'warn');
    const control = await startControlServer({ host: values.host ?? '127.0.0.1', port, seed: values.seed ?? 0, logger, network });
    if (configs.length > 0) await control.populate(configs);
    io.stdout.write(`faultline control plane listening on ${control.url} (${control.proxies().length} proxies)\n`);
    // SIGINT, SIGTERM or — started through npm (npx faultline serve) — the end of its parent: a SIGTERM
    // to the top of the npm tree would otherwise leave the control plane listening with nobody to stop it.
    await new Promise<void>((resolve) => {
      const unsubscribe = onStopSignal(io, (reason) => {
        io.stderr.write(`${reason.replace(/^received /, '')}: healing every fault and stopping\n`);
        unsubscribe();
        resolve();
      });
    });
    await control.healAll();
    await control.stop();
    return ExitCode.passed;
  },
};
