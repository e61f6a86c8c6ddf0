/*
 * Maintenance windows (`vigil_maintenance_window` in keepalived.conf): at each start of a window's
 * cron schedule its real servers are drained as `vigil drain --until END` would, by the override
 * manager, so a window's drain is persisted, survives restarts and ends by itself at END (counted
 * as window-end). A real server with an override of its own (from the CLI, or another window)
 * keeps it. Cron timing goes through an injected CronScheduler (node-cron in the daemon, a fake
 * in unit tests).
 */
import cron from 'node-cron';
import type { Logger } from 'pino';
import type { Config } from '../config/compile.js';
import { type MaintenanceWindow, resolveWindow } from '../config/schema/maintenance.js';
import type { WindowReport } from './control.js';
import type { OverrideManager } from './manager.js';

/** A running schedule. */
export interface CronHandle {
  cancel(): void;
  /** Next start, when the schedule has one. */
  nextRun(): Date | undefined;
}

/** Runs `fn` at each start of a cron schedule, with the start's wall time (ms) as scheduled. */
export interface CronScheduler {
  schedule(expression: string, timezone: string | undefined, fn: (scheduledAt: number) => void): CronHandle;
}

/** node-cron: seconds and time zones supported. */
export const nodeCronScheduler: CronScheduler = {
  schedule(expression, timezone, fn) {
    // context.date is the matched second, whatever the timer's lateness
    const task = cron.createTask(expression, (ctx) => fn(ctx.date.getTime()), { ...(timezone ? { timezone } : {}) });
    void task.start();
    return {
      cancel: () => void task.destroy(),
      nextRun: () => task.getNextRun() ?? undefined,
    };
  },
};

/** What the windows need. */
export interface WindowEngineOptions {
  readonly manager: OverrideManager;
  readonly scheduler: CronScheduler;
  readonly wallNow: () => number;
  readonly log: Logger;
}

interface Running {
  readonly window: MaintenanceWindow;
  readonly key: string;
  readonly handle: CronHandle;
}

const source = (name: string) => `window:${name}`;

/** The maintenance windows of one checker child. */
export class WindowEngine {
  private readonly running = new Map<string, Running>();
  private config: Config | undefined;

  constructor(private readonly o: WindowEngineOptions) {}

  /** Schedules the configuration's windows: unchanged ones keep their schedule; removed ones are released now. */
  update(config: Config): void {
    this.config = config;
    const next = new Map((config.maintenanceWindows ?? []).map((w) => [w.name, w]));
    for (const [name, r] of this.running) {
      const w = next.get(name);
      if (w && JSON.stringify(strip(w)) === r.key) continue;
      r.handle.cancel();
      this.running.delete(name);
      if (!w) this.release(name, 'maintenance window removed from the configuration');
    }
    for (const [name, w] of next) {
      if (this.running.has(name)) continue;
      const handle = this.o.scheduler.schedule(w.schedule, w.timezone, (at) => this.begin(name, at));
      this.running.set(name, { window: w, key: JSON.stringify(strip(w)), handle });
      this.o.log.info({ op: 'window.schedule', window: name, schedule: w.schedule, timezone: w.timezone, next: handle.nextRun()?.toISOString() }, `maintenance window ${name}: '${w.schedule}'${w.timezone ? ` ${w.timezone}` : ''}, next run ${handle.nextRun()?.toISOString() ?? 'never'}`);
    }
  }

  /**
   * A run starts: drain every target without an override of its own, until the run's end. The
   * end counts from the scheduled start (`scheduledAt`), so a late timer does not lengthen it.
   */
  begin(name: string, scheduledAt?: number): void {
    const r = this.running.get(name);
    if (!r || !this.config) return;
    const w = r.window;
    const wall = this.o.wallNow();
    const now = scheduledAt !== undefined && scheduledAt <= wall && wall - scheduledAt < w.durationMs ? scheduledAt : wall;
    const until = new Date(now + w.durationMs).toISOString();
    const reason = w.reason ?? `maintenance window ${name}`;
    const { targets, errors } = resolveWindow(w, this.config.virtualServers);
    for (const e of errors) this.o.log.warn({ op: 'window.start', window: name }, e.message);
    const drained: string[] = [];
    const kept: string[] = [];
    for (const t of targets) {
      const own = this.o.manager.get(t.vs, t.rs);
      if (own && own.source !== source(name)) {
        kept.push(`${t.rs} (${own.action} by ${own.who})`);
        continue;
      }
      try {
        this.o.manager.put({ vs: t.vs, rs: t.rs, action: 'drain', reason, who: `maintenance window ${name}`, since: new Date(now).toISOString(), until, source: source(name) }, 'window-start');
        drained.push(`${t.vs} ${t.rs}`);
      } catch (e) {
        this.o.log.error({ op: 'window.start', window: name, vs: t.vs, rs: t.rs, err: e }, (e as Error).message);
      }
    }
    this.o.log.info(
      { op: 'window.start', window: name, until, drained, kept, reason },
      `maintenance window ${name} started: ${drained.length} real server(s) drained until ${until}${kept.length ? `; kept their own override: ${kept.join(', ')}` : ''}: ${reason}`,
    );
  }

  /** Ends a window's drains now. */
  private release(name: string, why: string): void {
    for (const ov of this.o.manager.list()) {
      if (ov.source !== source(name)) continue;
      try {
        this.o.manager.remove(ov, 'window-end', why);
      } catch (e) {
        this.o.log.error({ op: 'window.end', window: name, err: e }, (e as Error).message);
      }
    }
  }

  /** The windows for `vigil status`. */
  report(): WindowReport[] {
    const overrides = this.o.manager.list();
    return [...this.running.values()].map(({ window: w, handle }) => {
      const mine = overrides.filter((x) => x.source === source(w.name));
      const next = handle.nextRun();
      const endsAt = mine.map((x) => x.until ?? '').sort().at(-1);
      return {
        name: w.name,
        schedule: w.schedule,
        ...(w.timezone ? { timezone: w.timezone } : {}),
        durationMs: w.durationMs,
        targets: w.targets.map((t) => (t.rs ? `${t.vs} ${t.rs}` : `${t.vs} (all)`)),
        active: mine.length > 0,
        ...(next ? { nextRun: next.toISOString() } : {}),
        ...(mine.length && endsAt ? { endsAt } : {}),
      };
    });
  }

  /** Cancels the schedules (drains in force stay, persisted with their end). */
  stop(): void {
    for (const r of this.running.values()) r.handle.cancel();
    this.running.clear();
  }
}

/** A window without source positions, to compare definitions across reloads. */
function strip(w: MaintenanceWindow): unknown {
  return { ...w, targets: w.targets.map((t) => ({ vs: t.vs, rs: t.rs })) };
}
