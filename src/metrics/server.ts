import http from 'node:http';
import type { Logger } from 'pino';
import { Counter, Gauge, type Metric, Registry, collectDefaultMetrics } from 'prom-client';
import type { CheckerReport } from '../daemon/checker-child.js';
import type { CheckResultTotals } from '../health/engine.js';
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
 * What the checker metrics read: the checker child's report, plus the engine's result totals
 * (HealthEngine.results()) under `checks.results` when the child sends them.
 */
export type CheckerMetricsReport = Omit<CheckerReport, 'checks'> & { readonly checks: CheckerReport['checks'] & { readonly results?: CheckResultTotals } };

/** The checker section of a status answer, when it has the report's shape (else undefined: no checker metrics). */
export function asCheckerReport(x: unknown): CheckerMetricsReport | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const r = x as Partial<CheckerMetricsReport>;
  return Array.isArray(r.virtualServers) && typeof r.ipvs === 'object' && r.ipvs !== null && typeof r.checks === 'object' && r.checks !== null ? (r as CheckerMetricsReport) : undefined;
}

/**
 * The checker child's metrics, added to `reg`, read from its latest report at scrape time (none
 * when the child is not answering): real servers up/down and their weights, virtual-server quorum
 * and sorry server, checks by reason and their latency histogram, scheduler lateness, and the IPVS
 * reconciler's writes, failed writes, outside changes and convergence. The counters are the
 * child's own totals, so they start again from 0 when the child restarts (Prometheus's rate()
 * treats that as a counter reset).
 */
export function checkerMetrics(reg: Registry, report: () => CheckerMetricsReport | undefined): void {
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge, r: CheckerMetricsReport) => void) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [reg],
      collect() {
        this.reset();
        const r = report();
        if (r) fill(this, r);
      },
    });
  const counter = (name: string, help: string, labelNames: string[], fill: (c: Counter, r: CheckerMetricsReport) => void) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [reg],
      collect() {
        this.reset();
        const r = report();
        if (r) fill(this, r);
      },
    });
  gauge('vigil_realserver_up', 'Real server healthy (1) or down (0), by virtual server', ['vs', 'rs'], (g, r) => {
    for (const v of r.virtualServers) for (const rs of v.realServers) g.set({ vs: v.vs, rs: rs.rs }, rs.up ? 1 : 0);
  });
  gauge('vigil_realserver_weight', 'Real server weight: configured, effective (after dynamic weights) and installed in IPVS (absent when not installed)', ['vs', 'rs', 'kind'], (g, r) => {
    for (const v of r.virtualServers)
      for (const rs of v.realServers) {
        g.set({ vs: v.vs, rs: rs.rs, kind: 'configured' }, rs.configuredWeight);
        g.set({ vs: v.vs, rs: rs.rs, kind: 'effective' }, rs.weight);
        if (rs.installed !== undefined) g.set({ vs: v.vs, rs: rs.rs, kind: 'installed' }, rs.installed);
      }
  });
  gauge('vigil_virtualserver_realservers', 'Real servers of a virtual server, by health (up, down)', ['vs', 'state'], (g, r) => {
    for (const v of r.virtualServers) {
      const up = v.realServers.filter((x) => x.up).length;
      g.set({ vs: v.vs, state: 'up' }, up);
      g.set({ vs: v.vs, state: 'down' }, v.realServers.length - up);
    }
  });
  gauge('vigil_virtualserver_quorum_up', 'Virtual server quorum met (1) or lost (0)', ['vs'], (g, r) => {
    for (const v of r.virtualServers) g.set({ vs: v.vs }, v.quorumUp ? 1 : 0);
  });
  gauge('vigil_virtualserver_sorry_server_active', 'Sorry server in service (1) or not (0)', ['vs'], (g, r) => {
    for (const v of r.virtualServers) g.set({ vs: v.vs }, v.sorryActive ? 1 : 0);
  });
  gauge('vigil_check_last_latency_seconds', 'Latency of the last check result of each real server', ['vs', 'rs'], (g, r) => {
    for (const v of r.virtualServers) for (const rs of v.realServers) if (rs.lastResult) g.set({ vs: v.vs, rs: rs.rs }, rs.lastResult.latencyMs / 1000);
  });
  gauge('vigil_check_consecutive_failures', 'Consecutive failed checks of each real server (its worst checker)', ['vs', 'rs'], (g, r) => {
    for (const v of r.virtualServers) for (const rs of v.realServers) g.set({ vs: v.vs, rs: rs.rs }, rs.failures);
  });
  gauge('vigil_check_start_lateness_seconds', 'How late checks started against their schedule since the child started, by quantile (HDR histogram in the child)', ['quantile'], (g, r) => {
    const l = r.checks.lateness;
    if (l.count === 0) return;
    for (const [q, ms] of [['0.5', l.p50Ms], ['0.9', l.p90Ms], ['0.99', l.p99Ms], ['0.999', l.p999Ms], ['1', l.maxMs]] as const) g.set({ quantile: q }, ms / 1000);
  });
  gauge('vigil_checks_distinct', 'Distinct health checks run (a check shared by several virtual servers runs once)', [], (g, r) => g.set(r.checks.distinct));
  counter('vigil_checks_total', 'Check results, by result (ok, failed) and reason (connect-refused, timeout, ...)', ['result', 'reason'], (c, r) => {
    for (const [reason, n] of Object.entries(r.checks.results?.byReason ?? {})) c.inc({ result: reason === 'ok' ? 'ok' : 'failed', reason }, n);
  });
  const ipvs = (name: string, help: string, key: 'writes' | 'failedWrites' | 'outsideChanges' | 'reads' | 'runs') =>
    counter(name, help, [], (c, r) => c.inc(r.ipvs[key]));
  ipvs('vigil_ipvs_writes_total', 'IPVS changes written to the kernel', 'writes');
  ipvs('vigil_ipvs_failed_writes_total', 'IPVS changes the kernel refused', 'failedWrites');
  ipvs('vigil_ipvs_outside_changes_total', 'IPVS changes made by someone else (e.g. ipvsadm) found and put right', 'outsideChanges');
  ipvs('vigil_ipvs_reads_total', 'IPVS table reads', 'reads');
  ipvs('vigil_ipvs_reconcile_runs_total', 'IPVS reconcile runs', 'runs');
  gauge('vigil_ipvs_converged', 'IPVS table as desired (1) or not yet (0, retrying)', [], (g, r) => g.set(r.ipvs.converged ? 1 : 0));
  gauge('vigil_ipvs_retry_attempt', 'Failed IPVS reconcile runs in a row (0 when the last one succeeded)', [], (g, r) => g.set(r.ipvs.retryAttempt));
  gauge('vigil_ipvs_managed_services', 'IPVS services vigil manages', [], (g, r) => g.set(r.ipvs.managed));
  reg.registerMetric(latencyHistogram(report) as unknown as Metric);
}

/**
 * `vigil_check_duration_seconds`, a Prometheus histogram whose buckets the child counted
 * (HealthEngine.results()): prom-client's Histogram can only observe values, not take counts, so
 * this is a minimal metric object in the shape its registry formats (name, help, type, get()).
 */
function latencyHistogram(report: () => CheckerMetricsReport | undefined) {
  const name = 'vigil_check_duration_seconds';
  return {
    name,
    help: 'Time each check took, from start to result',
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const l = report()?.checks.results?.latency;
      const values: { value: number; labels: Record<string, string | number>; metricName: string }[] = [];
      if (l) {
        let cum = 0;
        l.bucketsMs.forEach((b, i) => {
          cum += l.counts[i] ?? 0;
          values.push({ metricName: `${name}_bucket`, labels: { le: b / 1000 }, value: cum });
        });
        values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: l.count });
        values.push({ metricName: `${name}_sum`, labels: {}, value: l.sumMs / 1000 });
        values.push({ metricName: `${name}_count`, labels: {}, value: l.count });
      }
      return { name, help: this.help, type: this.type, aggregator: this.aggregator, values };
    },
  };
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
