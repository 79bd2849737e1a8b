/**
 * faultline's Alertmanager webhook receiver (IO shell): a loopback HTTP server that accepts
 * Alertmanager's webhook POSTs (payload version 4) and keeps every notification with the time it
 * arrived. Answers 200 to any well-formed JSON body (Alertmanager retries on errors), 400 otherwise.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { assertAllowed, parseHostPort, type NetworkPolicy } from '../shared/index.ts';

export interface NotifiedAlert {
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  fingerprint: string;
}

export interface Notification {
  /** Epoch ms when the POST arrived. */
  receivedAt: number;
  /** `firing` or `resolved` (for the whole group). */
  status: string;
  receiver: string;
  groupKey: string;
  groupLabels: Record<string, string>;
  alerts: NotifiedAlert[];
}

export interface AlertReceiver {
  /** `http://host:port/alertmanager` — what an Alertmanager `webhook_configs` url points at. */
  readonly url: string;
  readonly notifications: readonly Notification[];
  /** Called on each notification as it arrives. */
  onNotification(fn: (n: Notification) => void): void;
  close(): Promise<void>;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const strMap = (v: unknown): Record<string, string> =>
  v && typeof v === 'object' ? Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, String(x)])) : {};

/** Parses a webhook body into a Notification (pure); throws on a body that is not an Alertmanager payload. */
export function parseWebhook(body: unknown, receivedAt: number): Notification {
  if (!body || typeof body !== 'object' || !Array.isArray((body as { alerts?: unknown }).alerts)) throw new Error('not an Alertmanager webhook payload (no alerts[])');
  const b = body as Record<string, unknown>;
  return {
    receivedAt,
    status: str(b.status),
    receiver: str(b.receiver),
    groupKey: str(b.groupKey),
    groupLabels: strMap(b.groupLabels),
    alerts: (b.alerts as unknown[]).map((a) => {
      const x = (a ?? {}) as Record<string, unknown>;
      return { status: str(x.status), labels: strMap(x.labels), annotations: strMap(x.annotations), startsAt: str(x.startsAt), endsAt: str(x.endsAt), fingerprint: str(x.fingerprint) };
    }),
  };
}

/** Listens on `listen` (loopback unless `policy`, the scenario's network allowlist, admits the address). */
export async function startAlertReceiver(listen: string, policy?: NetworkPolicy, now: () => number = Date.now): Promise<AlertReceiver> {
  const { host, port } = parseHostPort(listen, 'monitoring.alertmanager.receiver.listen');
  assertAllowed(host, "faultline's alert receiver listen address", 'monitoring.alertmanager.receiver.listen', policy);
  const notifications: Notification[] = [];
  const listeners: Array<(n: Notification) => void> = [];
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size <= 4 * 1024 * 1024) parts.push(d);
    });
    req.on('end', () => {
      const at = now();
      let n: Notification;
      try {
        n = parseWebhook(JSON.parse(Buffer.concat(parts).toString('utf8')), at);
      } catch (e) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(e instanceof Error ? e.message : String(e));
        return;
      }
      notifications.push(n);
      for (const l of listeners) l(n);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/alertmanager`,
    notifications,
    onNotification: (fn) => listeners.push(fn),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
