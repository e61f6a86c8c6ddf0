import http from 'node:http';
import type { Logger } from 'pino';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { InstanceStatus } from '../vrrp/engine.js';

const STATES = ['INIT', 'BACKUP', 'MASTER', 'FAULT'] as const;

/**
 * Prometheus metrics (opt-in with --metrics-listen): VRRP state, priorities, transitions, adverts
 * sent/received/dropped by reason, read from the engine's snapshot at scrape time, plus the
 * process's own metrics.
 */
export function vrrpRegistry(snapshot: () => InstanceStatus[]): Registry {
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
  const counter = (name: string, help: string, labelNames: string[], fill: (c: Counter, i: InstanceStatus) => void) =>
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

/** Serves `GET /metrics` on host:port; resolves with a close function. */
export async function serveMetrics(listen: string, reg: Registry, log: Logger): Promise<() => Promise<void>> {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen)!;
  const host = m[1] ?? m[2]!;
  const port = Number(m[3]);
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics\n');
      return;
    }
    reg.metrics().then(
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
