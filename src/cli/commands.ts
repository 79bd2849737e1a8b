/**
 * The command registry: a typed const map. Each command lives in its own `<name>-command.ts` and is
 * imported only when it runs (or prints its usage), so `faultline --help` loads none of the modules'
 * dependencies (pg, undici, zod, yaml, prom-client, hdr-histogram-js…). The one-line summaries live
 * here, with the loaders, because `faultline --help` needs them without loading anything.
 */
import type { Command } from './io.ts';

export interface CommandEntry {
  /** One line for `faultline --help`. */
  summary: string;
  /** Imports the command's module (and with it its dependencies). */
  load(): Promise<Command>;
}

export const commands = {
  selftest: {
    summary: 'the chaos self-test on the embedded default: proves burn alerts fire under faults and clear after heal',
    load: async () => (await import('./run-command.ts')).selftestCommand,
  },
  run: {
    summary: 'run an experiment scenario (baseline → inject → observe → heal → observe)',
    load: async () => (await import('./run-command.ts')).runCommand,
  },
  plan: {
    summary: "print a scenario's timeline for the game-day announcement (phases, faults, expected alert fire/clear times) without running it",
    load: async () => (await import('./plan-command.ts')).planCommand,
  },
  validate: {
    summary: 'check a scenario, drill, SLO or proxy-config file without running it',
    load: async () => (await import('./validate-command.ts')).validateCommand,
  },
  serve: {
    summary: 'run the injector control plane (Toxiproxy-compatible HTTP API) on loopback',
    load: async () => (await import('./serve-command.ts')).serveCommand,
  },
  load: {
    summary: 'drive open-loop HTTP load at a fixed schedule and report honest latency',
    load: async () => (await import('./load-command.ts')).loadCommand,
  },
  slo: {
    summary: 'replay a counter series through the SLO burn-rate alerts, or print Prometheus rules',
    load: async () => (await import('./slo-command.ts')).sloCommand,
  },
  drill: {
    summary: 'drills: a regional PostgreSQL failover (RPO, RTO, invariants); a zero-downtime rollout under load (rings, health gate, rollback)',
    load: async () => (await import('./drill-command.ts')).drillCommand,
  },
  check: {
    summary: 'one-shot checks: a support bundle must be secret-free',
    load: async () => (await import('./check-command.ts')).checkCommand,
  },
} as const satisfies Record<string, CommandEntry>;

export type CommandName = keyof typeof commands;

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(commands, name);
}
