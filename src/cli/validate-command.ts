import { ExitCode, InputError, lineOf, networkPolicy, readYamlSource, specData, validateSpec } from '../shared/index.ts';
import { parseFlags } from './args.ts';
import { loadScenario, parseRings, planScenario, rolloutFileSchema } from '../scenario/index.ts';
import { loadSloFile } from '../slo/index.ts';
import { readProxyConfigFile } from '../injector/index.ts';
import { drillSpec } from './drill-command.ts';
import type { CliIo, Command } from './io.ts';

/** Every kind of file faultline reads, by its `kind:` (a proxy config is a list, Toxiproxy's format). */
const VALIDATORS = {
  Experiment(file: string, io: CliIo, allowNetwork: readonly string[]): void {
    const model = loadScenario(file, { allowNetwork });
    const plan = planScenario(model, String(model.spec.seed ?? 'random'));
    io.stdout.write(`${file}: valid Experiment — ${plan.experiments.length} experiment(s), about ${(plan.totalMs / 1000).toFixed(0)} s, SLO ${model.slo.name} ${model.slo.objective}%\n`);
    plan.experiments.forEach((x, i) => {
      const observed = model.spec.experiments[i]?.expect.observed.length ?? 0;
      io.stdout.write(`  ${x.name}: ${x.expectations.length} expectations${observed ? ` + ${observed} observed in real monitoring` : ''}, faults ${x.faults.map((f) => f.type).join(', ') || 'none (healthy baseline)'}\n`);
    });
    const mon = model.spec.monitoring;
    if (mon) {
      const parts = [mon.prometheus ? `Prometheus ${mon.prometheus.url}` : '', mon.alertmanager?.url ? `Alertmanager API ${mon.alertmanager.url}` : '', mon.alertmanager?.receiver ? `webhook receiver on ${mon.alertmanager.receiver.listen}` : ''];
      io.stdout.write(`  monitoring: ${parts.filter(Boolean).join(', ')}\n`);
    }
    const d = model.spec.failoverDrill;
    if (d) io.stdout.write(`  then a failover drill: ${d.fault} (${d.mode}) on a real PostgreSQL pair${d.ifNoPostgres === 'skip' ? ', skipped when no PostgreSQL server binaries exist' : ''}\n`);
  },
  FailoverDrill(file: string, io: CliIo): void {
    const spec = validateSpec(readYamlSource(file), drillSpec, 'FAULTLINE_DRILL_INVALID');
    const provider = typeof spec.provider === 'string' ? spec.provider : 'external';
    io.stdout.write(`${file}: valid FailoverDrill — fault ${spec.fault}, mode ${spec.mode}, writer ${spec.writer}, follow-up ${spec.followUp}, ${spec.runs} run(s), provider ${provider}\n`);
  },
  RolloutDrill(file: string, io: CliIo): void {
    const { rollout: r } = validateSpec(readYamlSource(file), rolloutFileSchema, 'FAULTLINE_ROLLOUT_INVALID');
    const rings = parseRings(r.rings, r.replicas).map((g) => `${g.name}:${g.slots.length}`).join(', ');
    io.stdout.write(`${file}: valid RolloutDrill — ${r.replicas} replicas ${r.from.version} → ${r.to.version} (${r.commands ? 'your commands' : 'reference service'}), rings ${rings}, ${r.load.rate} req/s, check ${r.balancer.healthCheck ? `${r.balancer.interval} ms` : 'off'}\n`);
  },
  SLO(file: string, io: CliIo): void {
    const slo = loadSloFile(file);
    io.stdout.write(`${file}: valid SLO — ${slo.name} ${slo.objective}%, ${slo.policy.length} alert tier(s): ${slo.policy.map((t) => t.name).join(', ')}\n`);
  },
  ProxyConfig(file: string, io: CliIo, allowNetwork: readonly string[]): void {
    const proxies = readProxyConfigFile(file, networkPolicy(allowNetwork, '--allow-network'));
    io.stdout.write(`${file}: valid proxy config — ${proxies.length} prox${proxies.length === 1 ? 'y' : 'ies'}: ${proxies.map((p) => `${p.name} → ${p.upstream}`).join(', ')}\n`);
  },
} as const satisfies Record<string, (file: string, io: CliIo, allowNetwork: readonly string[]) => void>;

type Kind = keyof typeof VALIDATORS;

function kindOf(file: string): Kind {
  const src = readYamlSource(file);
  const js: unknown = specData(src);
  if (Array.isArray(js)) return 'ProxyConfig';
  const kinds = Object.keys(VALIDATORS).filter((k) => k !== 'ProxyConfig');
  const kind = js !== null && typeof js === 'object' ? (js as Record<string, unknown>).kind : undefined;
  if (typeof kind === 'string' && kinds.includes(kind)) return kind as Kind;
  throw new InputError('FAULTLINE_INPUT_KIND', `kind must be one of ${kinds.join(', ')} (got ${JSON.stringify(kind ?? null)}), or the file a list of proxies (serve --config)`, {
    file,
    line: lineOf(src, ['kind']) ?? 1,
    field: 'kind',
  });
}

export const validateCommand: Command = {
  usage: `faultline validate — check a file without running it

Usage: faultline validate FILE [--allow-network CIDR]…

Checks every kind of file faultline reads, by its kind: an Experiment scenario (prints the planned
experiments), a FailoverDrill scenario, a RolloutDrill, an SLO file, or the proxy list that 'faultline serve'
reads as its config (a list of {name, listen, upstream, enabled}). Problems are printed with file, line and
field (exit 2). Addresses outside loopback are refused unless the scenario's network.allow or
--allow-network CIDR (repeatable) admits them.`,
  async run(argv, io) {
    const [file, ...rest] = argv;
    if (!file || file.startsWith('-')) {
      io.stderr.write('faultline validate: missing FILE\n');
      return ExitCode.invalidInput;
    }
    const { values } = parseFlags(rest, { 'allow-network': { type: 'string', multiple: true } });
    VALIDATORS[kindOf(file)](file, io, values['allow-network'] ?? []);
    return ExitCode.passed;
  },
};
