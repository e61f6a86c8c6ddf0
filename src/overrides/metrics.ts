import { Counter, Gauge, type Registry } from 'prom-client';
import type { OverridesReport } from './control.js';

/** The overrides part of a checker report when it has the expected shape (an older child sends none). */
function asReport(x: unknown): OverridesReport | undefined {
  const r = x as Partial<OverridesReport> | undefined;
  return r && Array.isArray(r.active) && Array.isArray(r.windows) && typeof r.changes === 'object' && r.changes !== null ? (r as OverridesReport) : undefined;
}

/**
 * Prometheus metrics of the overrides, read from the checker child's report at each scrape:
 * `vigil_override_active{vs,rs,action,source}` (1 per override in force),
 * `vigil_override_changes_total{action}` (drain, disable, enable, expire, window-start,
 * window-end; since the checker child started) and `vigil_maintenance_window_active{window}`.
 */
export function overrideMetrics(reg: Registry, report: () => unknown): void {
  new Gauge({
    name: 'vigil_override_active',
    help: 'Operator overrides in force (1 each), by virtual server, real server, action and source (cli or window:NAME)',
    labelNames: ['vs', 'rs', 'action', 'source'],
    registers: [reg],
    collect() {
      this.reset();
      for (const o of asReport(report())?.active ?? []) this.set({ vs: o.vs, rs: o.rs, action: o.action, source: o.source }, 1);
    },
  });
  new Counter({
    name: 'vigil_override_changes_total',
    help: 'Override and maintenance-window changes since the checker child started, by action (drain, disable, enable, expire, window-start, window-end)',
    labelNames: ['action'],
    registers: [reg],
    collect() {
      this.reset();
      for (const [action, n] of Object.entries(asReport(report())?.changes ?? {})) this.inc({ action }, n);
    },
  });
  new Gauge({
    name: 'vigil_maintenance_window_active',
    help: 'Maintenance window in its run (1) or not (0)',
    labelNames: ['window'],
    registers: [reg],
    collect() {
      this.reset();
      for (const w of asReport(report())?.windows ?? []) this.set({ window: w.name }, w.active ? 1 : 0);
    },
  });
}
