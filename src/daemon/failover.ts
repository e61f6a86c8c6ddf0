import fs from 'node:fs';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Config } from '../config/compile.js';
import { describeCaller, requireRoot } from '../control/caller.js';
import { type Caller, HandlerError } from '../control/server.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { type Cancel, type Clock, realClock } from '../util/clock.js';
import { type Hold, type OverrideEvent, type OverrideState, nextExpiry, parseFailoverParams, stepOverride } from '../vrrp/override.js';
import type { ChildKind } from './ipc.js';

/*
 * `vigil failover` in the supervisor: the control handler, the holds (vrrp/override.ts), their
 * expiry timer and their file. The supervisor owns the holds so they outlive a VRRP child crash
 * and restart (sent again when it is ready) and a reload (holds of removed instances end); they
 * are written to <state-dir>/failover.json so a restart of the daemon (or of the machine, for
 * maintenance) does not hand the VIP back before the operator releases it or the hold expires.
 */

/** What the failover control needs of the supervisor. */
export interface FailoverSupervisor {
  readonly current: Config;
  override(kind: ChildKind, holds: Readonly<Record<string, Hold>>): Promise<unknown>;
}

/** Options of the failover control. */
export interface FailoverOptions {
  readonly sup: FailoverSupervisor;
  readonly log: Logger;
  /** <state-dir>/failover.json; absent: holds are not kept across daemon restarts (tests). */
  readonly file?: string;
  readonly clock?: Clock;
  /** Wall-clock ms (holds end at a date). */
  readonly wallNow?: () => number;
}

/** The answer of the `failover` method. */
export interface FailoverAnswer {
  readonly action: 'failover' | 'release';
  readonly instances: readonly string[];
  /** Every hold now in force (ISO dates). */
  readonly holds: Readonly<Record<string, { by: string; reason: string; since: string; until?: string }>>;
  /** The held instances' VRRP state right after the change, as the VRRP child answered. */
  readonly states?: unknown;
  /** Set when the VRRP child could not be told now (it gets the holds when it is ready). */
  readonly note?: string;
}

/** Counts of override changes, for the metrics. */
export interface OverrideCounts {
  hold: number;
  release: number;
  expired: number;
  removed: number;
}

/** The supervisor's side of `vigil failover`. */
export class FailoverControl {
  private state: OverrideState = {};
  private timer: Cancel | undefined;
  private readonly clock: Clock;
  private readonly wallNow: () => number;
  readonly counts: OverrideCounts = { hold: 0, release: 0, expired: 0, removed: 0 };

  constructor(private readonly o: FailoverOptions) {
    this.clock = o.clock ?? realClock;
    this.wallNow = o.wallNow ?? (() => Date.now());
    this.load();
  }

  /**
   * The control socket's `failover` method: refuses a non-root caller, validates, changes the
   * holds, tells the VRRP child. Who asked comes from the socket's peer credentials (`caller`),
   * said as for the real-server overrides.
   */
  async handle(params: Record<string, unknown>, caller: Caller | undefined): Promise<FailoverAnswer> {
    requireRoot(caller, params.release === true ? 'failover --release' : 'failover');
    const cfg = this.o.sup.current;
    const scope = { instances: cfg.vrrpInstances.map((v) => v.name), groups: new Map(cfg.vrrpSyncGroups.map((g) => [g.name, g.group])) };
    const p = parseFailoverParams(params, scope, this.wallNow(), describeCaller(caller));
    if (!p.ok) throw new HandlerError('bad-request', p.error);
    const r = p.req;
    const ev: OverrideEvent = r.release
      ? { type: 'release', instances: r.instances, by: r.by, reason: r.reason }
      : { type: 'failover', instances: r.instances, by: r.by, reason: r.reason, ...(r.until !== undefined ? { until: r.until } : {}) };
    const sent = await this.apply(ev);
    return { action: r.release ? 'release' : 'failover', instances: r.instances, holds: this.view(), ...sent };
  }

  /** The holds in force (a starting VRRP child gets them in its start message). */
  holds(): OverrideState {
    return this.state;
  }

  /** The VRRP child is (again) ready: it gets the holds, so a restarted child keeps them. */
  resend(): void {
    if (Object.keys(this.state).length === 0) return;
    void this.push();
  }

  /** After a reload: holds of instances that are gone end. */
  async reloaded(cfg: Config): Promise<void> {
    await this.apply({ type: 'forget', keep: cfg.vrrpInstances.map((v) => v.name) });
  }

  /** The holds as `vigil status` shows them (ISO dates). */
  view(): FailoverAnswer['holds'] {
    return Object.fromEntries(
      Object.entries(this.state).map(([i, h]) => [i, { by: h.by, reason: h.reason, since: new Date(h.since).toISOString(), ...(h.until !== undefined ? { until: new Date(h.until).toISOString() } : {}) }]),
    );
  }

  /** Stops the expiry timer (the daemon stops). */
  close(): void {
    this.timer?.();
    this.timer = undefined;
  }

  private async apply(ev: OverrideEvent): Promise<{ states?: unknown; note?: string }> {
    const r = stepOverride(this.state, ev, this.wallNow());
    if (r.actions.length === 0) return { note: 'nothing to change' };
    this.state = r.state;
    for (const a of r.actions) this.counts[a.type === 'hold' ? 'hold' : a.why]++;
    const instances = [...new Set(r.actions.map((a) => a.instance))];
    this.o.log.warn({ op: 'override.failover', event: ev.type, instances, reason: r.reason }, `failover override (${instances.join(', ')}): ${r.reason}`);
    this.save();
    this.arm();
    return this.push();
  }

  private async push(): Promise<{ states?: unknown; note?: string }> {
    try {
      return { states: await this.o.sup.override('vrrp', this.state) };
    } catch (e) {
      const note = `the VRRP child was not told now (${(e as Error).message}); it gets the holds when it is ready`;
      this.o.log.warn({ op: 'override.failover', err: (e as Error).message }, note);
      return { note };
    }
  }

  private arm(): void {
    this.timer?.();
    this.timer = undefined;
    const at = nextExpiry(this.state);
    if (at === undefined) return;
    // a long timeout is re-armed in steps (timers hold at most ~24.8 days; the wall clock may move)
    const wait = Math.min(Math.max(0, at - this.wallNow()), 3_600_000);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.apply({ type: 'tick' }).then(() => this.arm());
    }, wait);
  }

  private load(): void {
    const f = this.o.file;
    if (!f || !fs.existsSync(f)) return;
    try {
      const raw = JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, Hold>;
      const known = this.o.sup.current.vrrpInstances.map((v) => v.name);
      const now = this.wallNow();
      this.state = Object.fromEntries(
        Object.entries(raw).filter(([i, h]) => known.includes(i) && typeof h?.by === 'string' && typeof h.reason === 'string' && typeof h.since === 'number' && (h.until === undefined || (typeof h.until === 'number' && h.until > now))),
      );
      if (Object.keys(this.state).length > 0)
        this.o.log.warn({ op: 'override.failover', instances: Object.keys(this.state), file: f }, `failover holds kept from before the restart (${f}): ${Object.keys(this.state).join(', ')}`);
      this.arm();
    } catch (e) {
      this.o.log.error({ op: 'override.failover', file: f, err: e }, `cannot read the failover holds in ${f}: ${(e as Error).message}; starting without`);
    }
  }

  private save(): void {
    const f = this.o.file;
    if (!f) return;
    try {
      writeFileAtomic(f, `${JSON.stringify(this.state)}\n`);
    } catch (e) {
      this.o.log.error({ op: 'override.failover', file: f, err: e }, `cannot write the failover holds to ${f}: ${(e as Error).message}; they hold until this daemon stops`);
    }
  }
}

/**
 * `vigil_failover_changes_total{action}` and `vigil_failover_held{instance}`: the director-side
 * overrides, named apart from the real-server ones (`vigil_override_*`, overrides/metrics.ts) so
 * that both register in one registry.
 */
export function failoverMetrics(reg: Registry, fc: FailoverControl): void {
  new Counter({
    name: 'vigil_failover_changes_total',
    help: 'vigil failover changes, by action (hold, release, expired, removed)',
    labelNames: ['action'],
    registers: [reg],
    collect() {
      this.reset();
      for (const [action, n] of Object.entries(fc.counts)) this.inc({ action }, n);
    },
  });
  new Gauge({
    name: 'vigil_failover_held',
    help: 'VRRP instances held in BACKUP by vigil failover (1), by instance',
    labelNames: ['instance'],
    registers: [reg],
    collect() {
      this.reset();
      for (const i of Object.keys(fc.view())) this.set({ instance: i }, 1);
    },
  });
}
