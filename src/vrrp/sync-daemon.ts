import type { Logger } from 'pino';
import type { Config } from '../config/compile.js';
import type { LvsSyncDaemon } from '../config/schema/global-args.js';
import type { Ipvs } from '../ipvs/ipvs.js';
import { type SyncDaemon, type SyncState, syncDaemonText } from '../ipvs/types.js';
import { type Cancel, type Clock, realClock } from '../util/clock.js';
import type { Phase } from './fsm.js';

/*
 * `lvs_sync_daemon IF VRRP_INSTANCE ...` (global_defs): the IPVS connection-sync daemon follows
 * the named instance, as keepalived's VRRP process drives it (vrrp.c, vrrp_scheduler.c,
 * vrrp_daemon.c, ipvswrapper.c ipvs_syncd_master/backup):
 *   - start: the backup daemon (keepalived first stops any daemon an abnormal exit left);
 *   - the instance becomes MASTER: stop the backup daemon, start the master daemon;
 *   - it leaves MASTER (BACKUP or FAULT): stop the master daemon, start the backup daemon;
 *   - stop: the running daemon is stopped;
 *   - reload: when the sync settings changed, the daemon is restarted with the new ones.
 * vigil reconciles instead of replaying commands: the wanted daemons are computed from the
 * instance's phase (pure, below) and only the difference with what the kernel runs is applied,
 * so a restarted VRRP child that finds the right daemon running (even after kill -9) leaves it.
 * One difference: an adopting start (a killed master's child restarting with its VIPs still in
 * place) keeps the master daemon while it listens, instead of flapping it to backup and back.
 */

/**
 * The sync daemon the configuration asks for: global_defs `lvs_sync_daemon`, else the deprecated
 * `lvs_sync_daemon_interface IF` of the first vrrp_instance that has it (keepalived turns it into
 * `lvs_sync_daemon IF INSTANCE`; validation warns about the others).
 */
export function syncdConfig(c: Config): LvsSyncDaemon | undefined {
  if (c.globalDefs.lvsSyncDaemon) return c.globalDefs.lvsSyncDaemon;
  const vi = c.vrrpInstances.find((v) => v.lvsSyncDaemonInterface !== undefined);
  return vi ? { interface: vi.lvsSyncDaemonInterface!, instance: vi.name } : undefined;
}

/** The role the sync daemon takes for an instance phase; 'none' once the instance stopped. */
export function syncRole(phase: Phase, adopting: boolean): SyncState | 'none' {
  if (phase === 'MASTER' || (phase === 'BACKUP' && adopting)) return 'master';
  if (phase === 'BACKUP' || phase === 'FAULT') return 'backup';
  return 'none';
}

/**
 * The daemons wanted for `role` (pure). The sync id defaults to the instance's VRID (keepalived:
 * "syncid default is vrid of instance"); unset options take the kernel's defaults.
 */
export function wantedDaemons(cfg: LvsSyncDaemon | undefined, vrid: number, role: SyncState | 'none' | 'both'): SyncDaemon[] {
  if (!cfg || role === 'none') return [];
  const base = {
    ifname: cfg.interface,
    syncId: cfg.syncId ?? vrid,
    ...(cfg.maxlen !== undefined ? { maxlen: cfg.maxlen } : {}),
    ...(cfg.group !== undefined ? { group: cfg.group } : {}),
    ...(cfg.port !== undefined ? { port: cfg.port } : {}),
    ...(cfg.ttl !== undefined ? { ttl: cfg.ttl } : {}),
  };
  const states: SyncState[] = role === 'both' ? ['master', 'backup'] : [role];
  return states.map((state) => ({ state, ...base }));
}

/** True when the kernel's daemon `have` is what `want` asks for (options left unset take any kernel default). */
export function daemonMatches(have: SyncDaemon, want: SyncDaemon): boolean {
  return (
    have.state === want.state &&
    have.ifname === want.ifname &&
    have.syncId === want.syncId &&
    (want.maxlen === undefined || have.maxlen === want.maxlen) &&
    (want.group === undefined || have.group === want.group) &&
    (want.port === undefined || have.port === want.port) &&
    (want.ttl === undefined || have.ttl === want.ttl)
  );
}

/** What to do to go from the kernel's daemons to the wanted ones: stops first (keepalived's order), then starts. */
export interface SyncdPlan {
  readonly stop: readonly SyncState[];
  readonly start: readonly SyncDaemon[];
}

/** The difference between running and wanted daemons (pure). A daemon with other settings is stopped and started again. */
export function planSyncd(kernel: readonly SyncDaemon[], want: readonly SyncDaemon[]): SyncdPlan {
  const stop: SyncState[] = [];
  const start: SyncDaemon[] = [];
  for (const state of ['backup', 'master'] as const) {
    const have = kernel.find((d) => d.state === state);
    const w = want.find((d) => d.state === state);
    if (have && w && daemonMatches(have, w)) continue;
    if (have) stop.push(state);
    if (w) start.push(w);
  }
  return { stop, start };
}

/** What `vigil status` shows of the sync daemon. */
export interface SyncdStatus {
  readonly instance?: string;
  /** The daemons vigil wants now ('master', 'backup'). */
  readonly wanted: readonly string[];
  /** The daemons the kernel ran at the last change, as `master sync daemon eth1 id 51`. */
  readonly running: readonly string[];
  readonly lastChange?: { readonly reason: string; readonly at: string };
  readonly error?: string;
}

/** Opens the IPVS socket (lazily: only a configuration with lvs_sync_daemon needs it). */
export type IpvsOpener = () => Promise<Ipvs>;

/** How a failed change is retried: `initialMs`, doubling, at most `maxMs` apart. */
export interface SyncdRetryPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

/**
 * 1 s, 2 s, 4 s ... 60 s. keepalived tries once per transition or reload and then only logs; a
 * sync daemon on an interface that appears later (a VLAN created after the daemon started) would
 * stay off until the next transition, so vigil keeps trying, slowly.
 */
export const SYNCD_RETRY: SyncdRetryPolicy = { initialMs: 1000, maxMs: 60_000 };

/** The delay before retry number `failures` (1 = after the first failure) (pure). */
export function syncdRetryMs(failures: number, p: SyncdRetryPolicy = SYNCD_RETRY): number {
  return Math.min(p.maxMs, p.initialMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
}

/** Time and retries of a SyncDaemonControl. */
export interface SyncdOptions {
  /** Timers of the retries (default the real clock). */
  readonly clock?: Clock;
  /** Wall-clock ms, for the status' change time only (default Date.now). */
  readonly wallNow?: () => number;
  readonly retry?: SyncdRetryPolicy;
}

/**
 * Keeps the kernel's sync daemons as wanted: `set()` replaces the wanted set and one loop applies
 * the difference (reading the kernel first), one change at a time; a burst of calls coalesces
 * into the last one. Every change is logged once with its reason. A change that fails is retried
 * with growing delays (SYNCD_RETRY) until it succeeds or `set()` wants something else.
 */
export class SyncDaemonControl {
  private ipvs: Ipvs | undefined;
  private want: readonly SyncDaemon[] = [];
  private reason = '';
  private dirty = false;
  private loop: Promise<void> | undefined;
  private running: readonly SyncDaemon[] = [];
  private lastChange: SyncdStatus['lastChange'];
  private error: string | undefined;
  /** Consecutive failed attempts at the current wanted set. */
  private failures = 0;
  private retryTimer: Cancel | undefined;
  private closed = false;
  private readonly clock: Clock;
  private readonly wallNow: () => number;
  private readonly retry: SyncdRetryPolicy;

  constructor(
    private readonly open: IpvsOpener,
    private readonly log: Logger,
    private readonly instance?: string,
    o: SyncdOptions = {},
  ) {
    this.clock = o.clock ?? realClock;
    this.wallNow = o.wallNow ?? (() => Date.now());
    this.retry = o.retry ?? SYNCD_RETRY;
  }

  /** Wants exactly `daemons`; resolves when the kernel runs them (or the attempt failed, was logged and a retry armed). */
  set(daemons: readonly SyncDaemon[], reason: string): Promise<void> {
    this.cancelRetry();
    this.closed = false;
    this.failures = 0;
    this.want = daemons;
    this.reason = reason;
    this.dirty = true;
    this.loop ??= this.run();
    return this.loop;
  }

  /** The wanted and running daemons for `vigil status`. */
  status(): SyncdStatus {
    return {
      ...(this.instance !== undefined ? { instance: this.instance } : {}),
      wanted: this.want.map((d) => d.state),
      running: this.running.map((d) => syncDaemonText(d)),
      ...(this.lastChange ? { lastChange: this.lastChange } : {}),
      ...(this.error !== undefined ? { error: this.error } : {}),
    };
  }

  /** Closes the IPVS socket and cancels a pending retry (the daemons stay as they are). */
  close(): void {
    this.closed = true;
    this.cancelRetry();
    this.ipvs?.close();
    this.ipvs = undefined;
  }

  private async run(): Promise<void> {
    try {
      await this.drain();
    } finally {
      // in the same microtask as the last dirty check: a set() from now on starts a new loop
      this.loop = undefined;
    }
    if (this.error !== undefined && !this.closed) this.armRetry();
  }

  private armRetry(): void {
    this.cancelRetry();
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (this.closed) return;
      this.dirty = true;
      this.loop ??= this.run();
    }, syncdRetryMs(this.failures, this.retry));
  }

  private cancelRetry(): void {
    this.retryTimer?.();
    this.retryTimer = undefined;
  }

  private async drain(): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      const want = this.want;
      const reason = this.reason;
      try {
        this.ipvs ??= await this.open();
        const plan = planSyncd(await this.ipvs.daemons(), want);
        for (const state of plan.stop) {
          await this.ipvs.stopDaemon(state).catch((e: unknown) => {
            // ESRCH: it stopped on its own meanwhile; that is what we wanted
            if ((e as { code?: string }).code !== 'ESRCH') throw e;
          });
          this.log.info({ op: 'ipvs.syncd.stop', state, reason }, `stopped the ${state} sync daemon: ${reason}`);
        }
        for (const d of plan.start) {
          await this.ipvs.startDaemon(d);
          this.log.info({ op: 'ipvs.syncd.start', state: d.state, ifname: d.ifname, syncId: d.syncId, reason }, `started the ${syncDaemonText(d)}: ${reason}`);
        }
        this.running = await this.ipvs.daemons();
        if (plan.stop.length + plan.start.length > 0) this.lastChange = { reason, at: new Date(this.wallNow()).toISOString() };
        if (this.error !== undefined && this.failures > 0) this.log.info({ op: 'ipvs.syncd', reason, attempts: this.failures + 1 }, `sync daemons as wanted after ${this.failures + 1} attempts`);
        this.error = undefined;
        this.failures = 0;
      } catch (e) {
        this.error = (e as Error).message;
        this.failures++;
        const retryInMs = syncdRetryMs(this.failures, this.retry);
        this.log.error(
          { op: 'ipvs.syncd', reason, err: e, attempt: this.failures, retryInMs },
          `sync daemon not as wanted (${want.map((d) => d.state).join(', ') || 'none'}): ${(e as Error).message}; retrying in ${retryInMs / 1000}s`,
        );
      }
    }
  }
}
