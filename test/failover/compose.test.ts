/**
 * The game-day docker compose pair (docker-compose.yml with docker-compose.override.yml's published
 * ports, or docker-compose.host-network.yml) and its scenario (scenarios/failover-external.yaml),
 * checked statically, without Docker: both nodes are reachable only on loopback, at the ports the
 * scenario connects to, in both network forms, and the scenario passes the drill's own validation
 * (schema, connection strings, ${PGPASSWORD} expansion, the commands its fault and follow-up need).
 * test/containers/compose-game-day.test.ts runs the pair for real.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { drillSpec, providerFrom } from '../../src/cli/drill-command.ts';
import { parsePgUrl, type FollowUp } from '../../src/failover/index.ts';
import { checkProviderSupports } from '../../src/failover/drill-options.ts';
import { InputError, loadSpecFile } from '../../src/shared/index.ts';

const path = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const composeFile = path('docker-compose.yml');
const scenarioFile = path('scenarios/failover-external.yaml');

interface ComposeService {
  image?: string;
  ports?: Array<string | { host_ip?: string; published?: string | number; target?: number }>;
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test?: string[] };
}
const readCompose = (f: string): { services: Record<string, ComposeService> } => parse(readFileSync(f, 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
const compose = readCompose(composeFile);
/** docker-compose.override.yml (read by default beside docker-compose.yml) publishes the ports. */
const override = readCompose(path('docker-compose.override.yml'));
const hostNetwork = readCompose(path('docker-compose.host-network.yml')) as { services: Record<string, ComposeService & { network_mode?: string; command?: string[]; environment?: Record<string, string> }> };
for (const [name, s] of Object.entries(override.services)) compose.services[name] = { ...compose.services[name], ...s };

/** Every published port of a service as { hostIp, hostPort, containerPort } (short and long syntax). */
function published(s: ComposeService): Array<{ hostIp: string | undefined; hostPort: number; containerPort: number }> {
  return (s.ports ?? []).map((p) => {
    if (typeof p === 'object') return { hostIp: p.host_ip, hostPort: Number(p.published), containerPort: Number(p.target) };
    // [host_ip:]host_port:container_port — the host IP may be bracketed IPv6.
    const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d+):(\d+)(?:\/tcp)?$/.exec(p);
    if (!m) throw new Error(`unrecognised port mapping '${p}'`);
    return { hostIp: m[1], hostPort: Number(m[2]), containerPort: Number(m[3]) };
  });
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('docker-compose.yml (game-day pair)', () => {
  it('is a PostgreSQL 15 primary pg-eu and replica pg-us from the official image unless FAULTLINE_PG_IMAGE names another', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['pg-eu', 'pg-us']);
    for (const s of Object.values(compose.services)) {
      expect(s.image).toBe('${FAULTLINE_PG_IMAGE:-postgres:15}');
      expect(s.environment?.POSTGRES_USER).toBe('drill');
      expect(s.environment?.POSTGRES_DB).toBe('drill');
      expect(s.healthcheck?.test).toContain('pg_isready');
    }
  });

  it('publishes every port on 127.0.0.1 only', () => {
    const all = Object.entries(compose.services).flatMap(([name, s]) => published(s).map((p) => ({ name, ...p })));
    expect(all.length).toBe(2);
    for (const p of all) expect(p, `${p.name} publishes ${p.hostIp ?? '(all interfaces)'}:${p.hostPort}`).toMatchObject({ hostIp: '127.0.0.1', containerPort: 5432 });
    expect(all.map((p) => `${p.name}=${p.hostPort}`).sort()).toEqual(['pg-eu=15432', 'pg-us=15433']);
  });

  it('host-network form: every node on the host network, bound to 127.0.0.1 at its published port; peers addressed on loopback', () => {
    const ports: Record<string, number> = {};
    for (const [name, s] of Object.entries(hostNetwork.services)) {
      expect(s.network_mode, name).toBe('host');
      expect(s.command, name).toEqual(expect.arrayContaining(['listen_addresses=127.0.0.1']));
      const port = Number(s.command?.find((a) => a.startsWith('port='))?.slice(5));
      expect(published(compose.services[name]!)[0]!.hostPort, name).toBe(port);
      expect(s.environment?.PGPORT, name).toBe(String(port));
      expect(s.healthcheck?.test, name).toContain(`--port=${port}`);
      ports[name] = port;
    }
    expect(hostNetwork.services['pg-us']!.environment).toMatchObject({ FAULTLINE_PRIMARY_HOST: '127.0.0.1', FAULTLINE_PRIMARY_PORT: String(ports['pg-eu']) });
    expect(hostNetwork.services['pg-eu']!.environment).toMatchObject({ FAULTLINE_PEER_HOST: '127.0.0.1', FAULTLINE_PEER_PORT: String(ports['pg-us']) });
  });

  it('takes the password from PGPASSWORD and stores none', () => {
    for (const s of Object.values(compose.services)) {
      for (const k of ['POSTGRES_PASSWORD', 'PGPASSWORD']) expect(s.environment?.[k]).toMatch(/^\$\{PGPASSWORD:\?[^}]+\}$/);
    }
  });

  it('allows replication and turns wal_log_hints on in the configuration file (pg_rewind) at initdb', () => {
    const init = compose.services['pg-eu']!.volumes?.find((v) => v.includes(':/docker-entrypoint-initdb.d/'));
    expect(init).toBeDefined();
    const script = readFileSync(path(init!.split(':')[0]!.replace(/^\.\//, '')), 'utf8');
    expect(script).toMatch(/host replication \$\{POSTGRES_USER\} all scram-sha-256/);
    expect(script).toMatch(/^wal_log_hints = on\b/m);
    const replica = compose.services['pg-us']!.volumes?.find((v) => v.includes('replica-entrypoint.sh'));
    expect(readFileSync(path(replica!.split(':')[0]!.replace(/^\.\//, '')), 'utf8')).toMatch(/pg_basebackup [^\n]*--write-recovery-conf/);
  });
});

describe('scenarios/failover-external.yaml', () => {
  it("connects to the ports docker-compose.yml publishes: primary = pg-eu, replica = pg-us", () => {
    const raw = parse(readFileSync(scenarioFile, 'utf8')) as { provider: { primary: string; replica: string } };
    const portOf = (service: string): number => published(compose.services[service]!)[0]!.hostPort;
    for (const [field, service] of [
      ['primary', 'pg-eu'],
      ['replica', 'pg-us'],
    ] as const) {
      const url = raw.provider[field];
      expect(url).toContain('${PGPASSWORD}');
      const t = parsePgUrl(url.replace('${PGPASSWORD}', 'x'), `provider.${field}`);
      expect(t).toMatchObject({ host: '127.0.0.1', port: portOf(service), user: 'drill', database: 'drill' });
    }
  });

  it('passes the drill command\'s own validation with PGPASSWORD set, and can do its fault and follow-up', () => {
    vi.stubEnv('PGPASSWORD', 'game day p@ss:/word');
    const spec = loadSpecFile(scenarioFile, 'FailoverDrill', drillSpec);
    expect(spec.provider).not.toBe('native');
    expect(spec.mode).toBe('async');
    const provider = providerFrom(spec, process.env);
    expect(provider.name).toBe('external');
    expect([...provider.capabilities].sort()).toEqual(['kill', 'partition-replication', 'pause', 'restart', 'rewind', 'stop']);
    // The file's own fault and follow-up, and each fault and follow-up the commands are there for.
    checkProviderSupports(provider, spec.fault, spec.followUp as FollowUp);
    for (const fault of ['kill', 'pause', 'partition', 'partition-clients', 'partition-replica', 'switchover'] as const) {
      for (const followUp of ['none', 'restart', 'rewind'] as const) expect(() => checkProviderSupports(provider, fault, followUp)).not.toThrow();
    }
    expect(() => checkProviderSupports(provider, 'kill', 'reclone')).toThrow(/reclone/);
  });

  it('refuses to build the provider when PGPASSWORD is not set, naming the field', () => {
    vi.stubEnv('PGPASSWORD', undefined);
    const spec = loadSpecFile(scenarioFile, 'FailoverDrill', drillSpec);
    let err: unknown;
    try {
      providerFrom(spec, process.env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toMatch(/provider\.primary.*environment variable PGPASSWORD is not set/);
    expect((err as InputError).exitCode).toBe(2);
  });

  it('only names services docker-compose.yml defines in its docker compose commands', () => {
    const spec = loadSpecFile(scenarioFile, 'FailoverDrill', drillSpec);
    if (typeof spec.provider !== 'object' || spec.provider.type !== 'external') throw new Error('expected an external provider');
    const commands = Object.entries(spec.provider.commands);
    expect(commands.length).toBeGreaterThan(0);
    for (const [name, cmd] of commands) {
      const named = [...cmd!.matchAll(/docker compose\}? (?:\S+ )*?(pg-[a-z]+)\b/g)].map((m) => m[1]);
      expect(named.length, `${name}: ${cmd}`).toBeGreaterThan(0);
      for (const s of named) expect(Object.keys(compose.services), `${name} names ${s}`).toContain(s);
    }
  });
});
