import http from 'node:http';
import type { Logger } from 'pino';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { InstanceStatus } from '../vrrp/engine.js';

const STATES = ['INIT', 'BACKUP', 'MASTER', 'FAULT'] as const;

/** What the VRRP metrics read of each instance (the engine's snapshot, or the VRRP child's report). */
export type VrrpMetricsInstance = Pick<InstanceStatus, 'name' | 'state' | 'priority' | 'basePriority' | 'transitions' | 'advertsSent' | 'advertsReceived' | 'drops'>;

/**
 * Prometheus metrics (opt-in with --metrics-listen): VRRP state, priorities, transitions, adverts
 * sent/received/dropped by reason, read from the engine's snapshot at scrape time, plus the
 * process's own metrics.
 */
export function vrrpRegistry(snapshot: () => readonly VrrpMetricsInstance[]): Registry {
  const reg = new Registry();
  collectDefaultMetrics({ register: reg, prefix: 'vigil_' });
  new Gauge({
    name: 'vigil_vrrp_state',
    help: 'VRRP instance state: 1 for the current state, 0 for the others',
    labelNames: ['instance', 'state'],
    registers: [reg],
    collect() {
      this.reset();
      for (const i of snapshot()) for (const s of STATES) this.set({ instance: i.name, state: s }, i.state === s ? 1 : 0);
    },
  });
  new Gauge({
    name: 'vigil_vrrp_priority',
    help: 'VRRP priority: effective (after tracking) and base (configured)',
    labelNames: ['instance', 'kind'],
    registers: [reg],
    collect() {
      this.reset();
      for (const i of snapshot()) {
        this.set({ instance: i.name, kind: 'effective' }, i.priority);
        this.set({ instance: i.name, kind: 'base' }, i.basePriority);
      }
    },
  });
  const counter = (name: string, help: string, labelNames: string[], fill: (c: Counter, i: VrrpMetricsInstance) => void) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [reg],
      collect() {
        this.reset();
        for (const i of snapshot()) fill(this, i);
      },
    });
  counter('vigil_vrrp_transitions_total', 'VRRP transitions, by the state entered', ['instance', 'to'], (c, i) => {
    for (const [to, n] of Object.entries(i.transitions)) c.inc({ instance: i.name, to }, n);
  });
  counter('vigil_vrrp_adverts_sent_total', 'VRRP adverts sent', ['instance'], (c, i) => c.inc({ instance: i.name }, i.advertsSent));
  counter('vigil_vrrp_adverts_received_total', 'VRRP adverts received and accepted', ['instance'], (c, i) => c.inc({ instance: i.name }, i.advertsReceived));
  counter('vigil_vrrp_adverts_dropped_total', 'VRRP packets dropped, by reason (RFC 5798 §7.1 checks)', ['instance', 'reason'], (c, i) => {
    for (const [reason, n] of Object.entries(i.drops)) c.inc({ instance: i.name, reason }, n);
  });
  return reg;
}

/** What the supervisor's metrics read at scrape time. */
export interface DaemonMetricsSource {
  children(): readonly { readonly kind: string; readonly state: string; readonly restarts: number; readonly ipcRejected: number }[];
  reloads(): { readonly ok: number; readonly failed: number };
}

/**
 * The supervisor's metrics, added to `reg`: child processes up, restarts after crashes,
 * malformed IPC messages, reloads by result.
 */
export function daemonMetrics(reg: Registry, src: DaemonMetricsSource): void {
  new Gauge({
    name: 'vigil_child_up',
    help: 'Child process running and answering (1) or not (0), by kind (vrrp, checker)',
    labelNames: ['child', 'state'],
    registers: [reg],
    collect() {
      this.reset();
      for (const c of src.children()) this.set({ child: c.kind, state: c.state }, c.state === 'running' ? 1 : 0);
    },
  });
  const counter = (name: string, help: string, labelNames: string[], fill: (c: Counter) => void) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [reg],
      collect() {
        this.reset();
        fill(this);
      },
    });
  counter('vigil_child_restarts_total', 'Child processes restarted after they died', ['child'], (c) => {
    for (const ch of src.children()) c.inc({ child: ch.kind }, ch.restarts);
  });
  counter('vigil_ipc_rejected_total', 'Malformed IPC messages from a child, rejected', ['child'], (c) => {
    for (const ch of src.children()) c.inc({ child: ch.kind }, ch.ipcRejected);
  });
  counter('vigil_reloads_total', 'Configuration reloads (SIGHUP, vigil reload), by result', ['result'], (c) => {
    const r = src.reloads();
    c.inc({ result: 'ok' }, r.ok);
    c.inc({ result: 'failed' }, r.failed);
  });
}

/**
 * Serves `GET /metrics` on host:port; resolves with a close function. `refresh` runs before each
 * scrape (the supervisor fetches its children's snapshots there, once per scrape).
 */
export async function serveMetrics(listen: string, reg: Registry, log: Logger, refresh: () => Promise<void> = async () => {}): Promise<() => Promise<void>> {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen)!;
  const host = m[1] ?? m[2]!;
  const port = Number(m[3]);
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics\n');
      return;
    }
    refresh()
      .then(() => reg.metrics())
      .then(
        (body) => res.writeHead(200, { 'content-type': reg.contentType }).end(body),
        (err: unknown) => {
          log.error({ op: 'metrics', err }, 'collecting metrics failed');
          res.writeHead(500).end();
        },
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  log.info({ op: 'metrics', listen }, `metrics on http://${listen}/metrics`);
  return () => new Promise((r) => server.close(() => r()));
}
