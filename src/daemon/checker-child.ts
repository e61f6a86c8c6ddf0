import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Config } from '../config/compile.js';
import type { RealServer, VirtualServer } from '../config/schema/lvs.js';
import { type DesiredTable, type HealthView, desiredTable } from '../director/desired.js';
import type { QuorumEvent, QuorumState } from '../director/quorum.js';
import { shareEntries } from '../director/memo.js';
import { Reconciler } from '../director/reconciler.js';
import { MANAGED_FILE, loadManaged, saveManaged } from '../director/managed-store.js';
import { IpvsDriver } from '../ipvs/driver.js';
import { FakeIpvs } from '../ipvs/fake.js';
import type { Ipvs } from '../ipvs/ipvs.js';
import { type CheckResultTotals, HealthEngine } from '../health/engine.js';
import { rsName, vsName } from '../health/names.js';
import { NotifyQueues } from '../health/notify.js';
import type { HealthTransition, RsView, Verdicts } from '../health/views.js';
import { realClock } from '../util/clock.js';
import { SyncDaemonControl, wantedDaemons } from '../vrrp/sync-daemon.js';
import { OverrideManager } from '../overrides/manager.js';
import { overrideControl, type OverridesReport } from '../overrides/control.js';
import { type CronScheduler, WindowEngine, nodeCronScheduler } from '../overrides/windows.js';
import type { ChildContext, ChildEngine } from './child-engine.js';

/*
 * The checker child: the health engine and the IPVS reconciler for every virtual_server, in a
 * process of their own so that checker load can never delay a VRRP advert (as keepalived's
 * checker child). Data flow: checks → verdicts → desired table (quorum, sorry server,
 * inhibit_on_failure) → reconciler → kernel. Each real-server transition recomputes the desired
 * table and reconciles with the transition as its reason; the reconciler coalesces bursts.
 *
 * Start reads the kernel first and adopts what matches (a restart, even after kill -9, writes
 * nothing when nothing changed); stop leaves IPVS in place unless lvs_flush_on_stop says otherwise.
 */

/** Options of the checker engine beyond the child context (tests inject a fake IPVS). */
export interface CheckerEngineOptions {
  readonly ipvs?: Ipvs;
  /** Period of the kernel re-read that puts hand changes right (default 30 s). */
  readonly resyncMs?: number;
  /** Holds the overrides (`<state dir>/overrides.json`); absent: overrides in memory only. */
  readonly stateDir?: string;
  /** Keep the managed set in `<state dir>` (default true); false for VIGIL_IPVS=memory, whose table is not the kernel's. */
  readonly keepManaged?: boolean;
  /** Runs the maintenance windows' cron schedules (default node-cron; tests inject a fake). */
  readonly scheduler?: CronScheduler;
}

/** One real server in `vigil status`: health beside what the kernel was given. */
export interface RsReport {
  readonly rs: string;
  readonly up: boolean;
  readonly weight: number;
  readonly configuredWeight: number;
  /** Weight vigil installed in IPVS; absent when the real server is not in the table. */
  readonly installed?: number;
  /** Operator override in force (drain, disable). */
  readonly override?: 'drain' | 'disable';
  readonly reason: string;
  readonly since: string;
  readonly checks: number;
  readonly failures: number;
  readonly lastResult?: { readonly ok: boolean; readonly reason: string; readonly detail: string; readonly latencyMs: number; readonly at: string };
  readonly checkers: readonly { readonly name: string; readonly up: boolean; readonly lastReason: string; readonly failures: number; readonly sharedBy: number }[];
}

/** One virtual server in `vigil status`. */
export interface VsReport {
  readonly vs: string;
  readonly quorumUp: boolean;
  readonly sorryActive: boolean;
  readonly weightSum: number;
  readonly realServers: readonly RsReport[];
}

/** What the checker child reports to the supervisor. */
export interface CheckerReport {
  readonly virtualServers: readonly VsReport[];
  readonly ipvs: ReturnType<Reconciler['status']>;
  readonly checks: { readonly distinct: number; readonly pairs: number; readonly lateness: ReturnType<HealthEngine['lateness']>; readonly results: CheckResultTotals };
  readonly problems: readonly string[];
  /** Operator overrides in force, maintenance windows and change counts. */
  readonly overrides?: OverridesReport;
}

/** The health view the director reads: the engine's verdicts by the engine's names. */
function healthView(v: Verdicts): HealthView {
  return (vs: VirtualServer, rs: RealServer) => v[vsName(vs)]?.[rsName(rs)];
}

/** The checker/IPVS engine of one configuration (exported for tests; the child uses startCheckerChild). */
export class CheckerEngine {
  private quorum: ReadonlyMap<string, QuorumState> = new Map();
  private last: DesiredTable | undefined;
  private readonly scripts: NotifyQueues;
  private stopped = false;
  /** Date.now() − performance.now(), taken once so a time reads the same in every status. */
  private readonly wallOffset = Date.now() - performance.now();
  /** lvs_sync_daemon without a vrrp instance: both daemons run here (keepalived's checker does the same). */
  private syncd: SyncDaemonControl | undefined;
  /** Operator overrides (drain, disable): an input of the desired table beside the verdicts. */
  readonly overrides: OverrideManager;
  /** Maintenance windows: scheduled drains through the override manager. */
  readonly windows: WindowEngine;

  private constructor(
    private config: Config,
    private readonly health: HealthEngine,
    private readonly reconciler: Reconciler,
    private readonly ipvs: Ipvs,
    private readonly ctx: ChildContext,
    /** The engine opened the IPVS socket itself (else the caller closes what it injected). */
    private readonly ownsIpvs: boolean,
    scheduler: CronScheduler = nodeCronScheduler,
  ) {
    this.overrides = new OverrideManager({
      ...(ctx.stateDir !== undefined ? { file: `${ctx.stateDir}/overrides.json` } : {}),
      clock: realClock,
      wallNow: () => Date.now(),
      log: ctx.log,
      onChange: (reason) => void (this.stopped ? undefined : this.recompute(`override: ${reason}`, false)),
    });
    this.windows = new WindowEngine({ manager: this.overrides, scheduler, wallNow: () => Date.now(), log: ctx.log });
    this.scripts = new NotifyQueues({ log: ctx.log, ...(config.globalDefs.scriptUser ? { scriptUser: config.globalDefs.scriptUser } : {}) });
  }

  /** Opens IPVS, applies lvs_timeouts, adopts the kernel's table and starts the checks. */
  static async start(config: Config, ctx: ChildContext, o: CheckerEngineOptions = {}): Promise<CheckerEngine> {
    const ipvs = o.ipvs ?? (await IpvsDriver.open());
    const owns = o.ipvs === undefined;
    try {
      const t = config.globalDefs.lvsTimeouts;
      if (t) await ipvs.setTimeouts({ tcp: Math.round((t.tcpMs ?? 0) / 1000), tcpFin: Math.round((t.tcpfinMs ?? 0) / 1000), udp: Math.round((t.udpMs ?? 0) / 1000) });
      // the services vigil managed before this start: one dropped from the configuration meanwhile is removed
      const file = ctx.stateDir !== undefined && o.keepManaged !== false ? path.join(ctx.stateDir, MANAGED_FILE) : undefined;
      const managed = file ? { managed: { keys: loadManaged(file, ctx.log), source: file }, onManaged: (keys: ReadonlySet<string>) => saveManaged(file, keys, ctx.log) } : {};
      const reconciler = new Reconciler({ ipvs, clock: realClock, log: ctx.log, ...(o.resyncMs !== undefined ? { resyncMs: o.resyncMs } : {}), flushAtStart: config.globalDefs.lvsFlush, ...managed });
      const health = new HealthEngine(config, {
        log: ctx.log,
        probeOptions: { log: ctx.log, trackFiles: config.trackFiles, ...(config.globalDefs.scriptUser ? { scriptUser: config.globalDefs.scriptUser } : {}) },
        notify: { log: ctx.log, ...(config.globalDefs.scriptUser ? { scriptUser: config.globalDefs.scriptUser } : {}) },
      });
      const engine = new CheckerEngine(config, health, reconciler, ipvs, { ...ctx, ...(o.stateDir !== undefined ? { stateDir: o.stateDir } : {}) }, owns, o.scheduler);
      // before the first table: a drained real server must never get its weight back at a restart
      engine.overrides.load();
      await reconciler.start();
      health.onTransition((t) => engine.onTransition(t));
      // the table from the initial verdicts (up unless alpha) first, then the checks: at tens of
      // thousands of real servers the first checks would otherwise compete with programming it
      await engine.recompute('start: configured table', true);
      health.start();
      await engine.followSyncd('start');
      engine.windows.update(config);
      ctx.log.info(
        { op: 'checker.start', virtualServers: config.virtualServers.length, checks: health.snapshot().distinctChecks },
        `checker engine started: ${config.virtualServers.length} virtual server(s), ${health.snapshot().distinctChecks} distinct check(s)`,
      );
      return engine;
    } catch (e) {
      if (owns) ipvs.close();
      throw e;
    }
  }

  /**
   * keepalived's check_daemon: an lvs_sync_daemon that names no vrrp_instance runs both the master
   * and the backup daemon from the checker process, and stops them on exit. With an instance the
   * VRRP child drives it (vrrp/sync-daemon.ts) and the checker leaves it alone.
   */
  private followSyncd(reason: string, stopping = false): Promise<void> {
    const cfg = this.config.globalDefs.lvsSyncDaemon;
    const mine = cfg !== undefined && cfg.instance === undefined;
    // with an instance the VRRP child owns them (it stops any surplus daemon itself): hands off
    if (!mine && (!this.syncd || cfg !== undefined)) return Promise.resolve();
    this.syncd ??= new SyncDaemonControl(async () => this.ipvs, this.ctx.log);
    return this.syncd.set(mine && !stopping ? wantedDaemons(cfg, 0, 'both') : [], reason);
  }

  private onTransition(t: HealthTransition): void {
    if (this.stopped) return;
    this.ctx.log.info({ op: 'rs.transition', vs: t.vs, rs: t.rs, up: t.up, weight: t.weight, change: t.change, reason: t.reason }, `${t.vs} ${t.rs} ${t.change === 'weight' ? `weight ${t.weight}` : t.change}: ${t.reason}`);
    void this.recompute(`${t.vs} ${t.rs} ${t.change}: ${t.reason}`, false);
  }

  /** Desired table from the current verdicts; quorum scripts; then one reconcile. */
  private async recompute(reason: string, init: boolean): Promise<void> {
    const d = desiredTable({ lvs: this.config, health: healthView(this.health.verdicts()), quorum: this.quorum, overrides: this.overrides.view() });
    this.quorum = d.quorum;
    // unchanged services keep their objects, so the reconciler diffs only what changed
    const table = shareEntries(this.last?.table ?? [], d.table);
    for (const p of d.problems) if (!this.last?.problems.includes(p)) this.ctx.log.warn({ op: 'director' }, p);
    this.last = { ...d, table };
    for (const ev of d.events) this.quorumEvent(ev, init);
    const r = await this.reconciler.reconcile(table, reason);
    if (!r.ok) this.ctx.log.warn({ op: 'ipvs.reconcile', reason, err: r.error?.message }, `IPVS not yet as desired (retrying): ${r.error?.message ?? 'unknown error'}`);
  }

  private quorumEvent(ev: QuorumEvent, init: boolean): void {
    this.ctx.log.warn({ op: 'quorum', vs: ev.vs, kind: ev.kind, weightSum: ev.weightSum, threshold: ev.threshold, init }, `${ev.vs}: ${ev.kind}: ${ev.reason}`);
    const vs = this.config.virtualServers.find((v) => vsName(v) === ev.vs);
    const spec = ev.kind === 'quorum_up' ? vs?.quorumUp : vs?.quorumDown;
    if (spec) this.scripts.push(`quorum ${ev.vs}`, spec, { vs: ev.vs, event: ev.kind });
  }

  /** Applies a new configuration: unchanged checks keep their state and schedule; IPVS gets only the difference. */
  async reload(next: Config): Promise<unknown> {
    const before = this.health.snapshot().distinctChecks;
    // counted before update(): its weight transitions reconcile at once
    const writesBefore = this.reconciler.writes;
    this.config = next;
    this.health.update(next);
    this.windows.update(next);
    await this.recompute('reload', false);
    await this.reconciler.idle();
    await this.followSyncd('reload');
    return { distinctChecksBefore: before, distinctChecksAfter: this.health.snapshot().distinctChecks, ipvsWrites: this.reconciler.writes - writesBefore };
  }

  /** The report for `vigil status` and metrics (times as wall-clock ISO strings). */
  status(): CheckerReport {
    const wall = (mono: number) => new Date(this.wallOffset + mono).toISOString();
    const snap = this.health.snapshot();
    const byVs = new Map(this.last?.status.map((s) => [s.vs, s]));
    const virtualServers = snap.virtualServers.map((v) => {
      const d = byVs.get(v.vs);
      const installed = new Map(d?.realServers.map((r) => [r.rs, r.installed]));
      const overridden = new Map(d?.realServers.map((r) => [r.rs, r.override]));
      return {
        vs: v.vs,
        quorumUp: d?.quorum.up ?? true,
        sorryActive: d?.sorryActive ?? false,
        weightSum: d?.weightSum ?? 0,
        realServers: v.realServers.map((r: RsView): RsReport => {
          const inst = installed.get(r.rs);
          return {
            rs: r.rs,
            up: r.up,
            weight: r.weight,
            configuredWeight: r.configuredWeight,
            ...(inst !== undefined ? { installed: inst } : {}),
            ...(overridden.get(r.rs) ? { override: overridden.get(r.rs)! } : {}),
            reason: r.reason,
            since: wall(r.since),
            checks: r.checks,
            failures: r.failures,
            ...(r.last ? { lastResult: { ok: r.last.ok, reason: r.last.reason, detail: r.last.detail, latencyMs: Math.round(r.last.latencyMs * 10) / 10, at: wall(r.last.at) } } : {}),
            checkers: r.checkers.map((c) => ({ name: c.name, up: c.up, lastReason: c.lastReason, failures: c.failures, sharedBy: c.sharedBy })),
          };
        }),
      };
    });
    return {
      virtualServers,
      ipvs: this.reconciler.status(),
      checks: { distinct: snap.distinctChecks, pairs: snap.pairs, lateness: this.health.lateness(), results: this.health.results() },
      problems: this.last?.problems ?? [],
      overrides: overrideControl.report(this.overrides, this.config, this.windows.report()),
    };
  }

  /** Control requests routed to this child (`override.*`: vigil drain / disable / enable). */
  control(method: string, params: Record<string, unknown>): Promise<unknown> {
    return overrideControl.handle(method, params, { manager: this.overrides, config: this.config, table: () => this.last, ipvs: this.ipvs, windows: () => this.windows.report() });
  }

  /** keepalived-style text dumps: the checker has none of its own yet. */
  dump(): string {
    return '';
  }

  /** Stops the checks; IPVS is left as it is unless lvs_flush_on_stop asks otherwise. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.health.stop();
    this.overrides.stop();
    this.windows.stop();
    this.reconciler.stop();
    await this.reconciler.idle();
    await this.followSyncd('stop', true);
    const how = this.config.globalDefs.lvsFlushOnStop;
    try {
      if (how === 'vs') await this.reconciler.removeManaged('stop: lvs_flush_on_stop VS');
      else if (how === 'full') await this.ipvs.flush();
    } catch (e) {
      this.ctx.log.error({ op: 'ipvs.stop', err: e }, `lvs_flush_on_stop failed: ${(e as Error).message}`);
    }
    await this.scripts.idle();
    if (this.ownsIpvs) this.ipvs.close();
    this.ctx.log.info({ op: 'checker.stop', ipvsWrites: this.reconciler.writes, leftInPlace: how === 'off' }, how === 'off' ? 'checker stopped; IPVS left in place' : `checker stopped; IPVS flushed (${how})`);
  }
}

/**
 * Where the checker child keeps the IPVS table: VIGIL_IPVS=kernel (the default: generic netlink)
 * or VIGIL_IPVS=memory — the in-memory table of ipvs/fake.ts, so health checks, verdicts, the
 * director and the reconciler all run on a host whose kernel has no IPVS, while the kernel is
 * never programmed. For benchmarks and tests only (`npm run bench:isolation`); logged loudly at
 * start. Any other value is an error: the child does not start.
 */
export function ipvsModeFromEnv(env: NodeJS.ProcessEnv): 'kernel' | 'memory' {
  const v = env['VIGIL_IPVS'];
  if (v === undefined || v === '' || v === 'kernel') return 'kernel';
  if (v === 'memory') return 'memory';
  throw new Error(`VIGIL_IPVS must be 'kernel' (the default) or 'memory' (benchmarks and tests only); got '${v}'`);
}

/** Opens the kernel's IPVS; when the kernel has no IPVS family, says so and what to do. */
async function openKernelIpvs(): Promise<Ipvs> {
  try {
    return await IpvsDriver.open();
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT')
      throw new Error(
        `${(e as Error).message}: this kernel has no IPVS (the generic netlink family 'IPVS' is missing; load it with 'modprobe ip_vs'). The checker cannot program IPVS and does not start. For benchmarks and tests only, VIGIL_IPVS=memory runs the checks against an in-memory table instead.`,
        { cause: e },
      );
    throw e;
  }
}

/** The checker child: health checks and IPVS for every virtual_server. */
export async function startCheckerChild(config: Config, ctx: ChildContext): Promise<ChildEngine> {
  // --ipvs-resync-ms / VIGIL_IPVS_RESYNC_MS, validated with the other settings (settings.ts)
  const mode = ipvsModeFromEnv(process.env);
  let ipvs: Ipvs;
  if (mode === 'memory') {
    ipvs = new FakeIpvs();
    ctx.log.warn(
      { op: 'checker.start', VIGIL_IPVS: 'memory' },
      'VIGIL_IPVS=memory: the IPVS table is kept IN MEMORY ONLY — the kernel is NOT programmed and no traffic is balanced; health checks run for real. For benchmarks and tests only.',
    );
  } else ipvs = await openKernelIpvs();
  let engine: CheckerEngine;
  try {
    engine = await CheckerEngine.start(config, ctx, { ipvs, keepManaged: mode !== 'memory', ...(ctx.ipvsResyncMs !== undefined ? { resyncMs: ctx.ipvsResyncMs } : {}) });
  } catch (e) {
    ipvs.close();
    throw e;
  }
  return {
    status: () => engine.status(),
    reload: (next) => engine.reload(next),
    dump: () => engine.dump(),
    stop: async () => {
      await engine.stop();
      ipvs.close();
    },
    control: (method, params) => engine.control(method, params),
  };
}
