import { type ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Config } from '../config/compile.js';
import { type Cancel, type Clock, realClock } from '../util/clock.js';
import { RateLimiter } from '../util/rate-limit.js';
import { type BackoffPolicy, DEFAULT_BACKOFF, RestartBackoff } from './backoff.js';
import type { Hold } from '../vrrp/override.js';
import { type ChildKind, type ChildOptions, type DumpKind, type ParentMessage, isReject, parseChildMessage } from './ipc.js';

/**
 * The part of the configuration a child is sent. The VRRP child never reads the virtual servers,
 * and with thousands of them they are most of the message: serialised by the supervisor, parsed
 * by the child in one blocking JSON.parse (tens of ms on the VRRP child's event loop at every
 * start and reload, while adverts are due) and then held in its heap. So it gets them empty;
 * the checker child gets everything.
 */
export function childConfig(kind: ChildKind, config: Config): Config {
  if (kind !== 'vrrp' || (config.virtualServers.length === 0 && config.virtualServerGroups.length === 0)) return config;
  return { ...config, virtualServers: [], virtualServerGroups: [] };
}

/** A child could not be started, or asked of something it cannot do now. */
export class SupervisorError extends Error {
  readonly code: 'VIGIL_CHILD_START' | 'VIGIL_CHILD_UNAVAILABLE' | 'VIGIL_CHILD_TIMEOUT' | 'VIGIL_CHILD_FAILED';
  constructor(code: SupervisorError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

/** Where a child is in its life. */
export type ChildState = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped';

/** One child as `vigil status` shows it. */
export interface ChildStatus {
  readonly kind: ChildKind;
  /** `unresponsive`: running, but it did not answer the status request in time. */
  readonly state: ChildState | 'unresponsive';
  readonly pid?: number;
  /** Restarts after a crash since the daemon started. */
  readonly restarts: number;
  /** When the current process started (ISO). */
  readonly since?: string;
  readonly lastExit?: { readonly code: number | null; readonly signal: string | null; readonly at: string; readonly reason: string };
  /** While restarting: time until the next start. */
  readonly nextStartInMs?: number;
  /** Malformed IPC messages received from this child (rejected, not acted on). */
  readonly ipcRejected: number;
  /** Why the status request failed, when it did. */
  readonly error?: string;
  /** Set in single-process mode (in-process.ts): the engine runs in the supervisor's process. */
  readonly inProcess?: boolean;
}

/** What one child made of a reload. */
export interface ReloadOutcome {
  readonly kind: ChildKind;
  readonly ok: boolean;
  /** The child's report of what changed. */
  readonly result?: unknown;
  readonly error?: string;
  /** Set when the child was not running: it starts with the new configuration. */
  readonly note?: string;
}

/** How the supervisor runs its children. */
export interface SupervisorOptions {
  /** The children, started in this order. */
  readonly kinds: readonly ChildKind[];
  /**
   * Whether a configuration gives a child work (default: always). A child without work is not
   * started; a reload that gives it work starts it, one that takes its work away stops it after
   * it applied the reload (keepalived's parent starts a missing child on SIGHUP the same way).
   */
  readonly hasWork?: (kind: ChildKind, config: Config) => boolean;
  /** The validated configuration every child starts with. */
  readonly config: Config;
  readonly childOptions: ChildOptions;
  readonly log: Logger;
  /** keepalived's -r / -c: files holding each child's pid while it runs. */
  readonly pidFiles?: Partial<Record<ChildKind, string>>;
  /** Restart crashed children (default true; keepalived's -R turns it off). */
  readonly respawn?: boolean;
  readonly backoff?: BackoffPolicy;
  readonly clock?: Clock;
  /** The module forked for every child (default: dist/daemon/child.js). */
  readonly entry?: string;
  /** Node options of the children (default: the supervisor's own, process.execArgv). */
  readonly execArgv?: readonly string[];
  /** A child that is not ready by then is killed (default 30 s). */
  readonly startTimeoutMs?: number;
  /** A child that has not exited this long after SIGTERM is killed (default 15 s). */
  readonly stopTimeoutMs?: number;
  /** A child that does not answer a status request by then shows as unresponsive (default 2 s). */
  readonly statusTimeoutMs?: number;
  /** Time a child has to apply a reload (default 60 s). */
  readonly reloadTimeoutMs?: number;
  /** The operator holds in force, handed to the VRRP child in its start message (before any instance starts). */
  readonly holds?: () => Readonly<Record<string, Hold>>;
  /** A child became ready (at start and after each restart): state it must get again is sent from here. */
  readonly onReady?: (kind: ChildKind) => void;
  /** A child died and will not be restarted (respawn off): the daemon should stop. */
  readonly onGiveUp?: (kind: ChildKind, why: string) => void;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

interface Child {
  readonly kind: ChildKind;
  readonly backoff: RestartBackoff;
  /** Not started: the configuration gives it no work (hasWork); absent from status and dumps. */
  idle: boolean;
  proc: ChildProcess | undefined;
  state: ChildState;
  /** True until the child was ready once: a failure then stops the daemon's start instead of a restart. */
  initial: boolean;
  restarts: number;
  startedAt: number;
  startedWall: number;
  lastExit: ChildStatus['lastExit'] | undefined;
  fatal: string | undefined;
  nextStartAt: number | undefined;
  restartTimer: Cancel | undefined;
  rejected: number;
  readonly pending: Map<number, Pending>;
  ready: Promise<void> | undefined;
  settleReady: { resolve(): void; reject(e: Error): void } | undefined;
  exited: Promise<void>;
}

/** The child entry next to this module (dist/daemon/child.js; from the TypeScript sources, the built one). */
export function defaultChildEntry(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts') ? fileURLToPath(new URL('../../dist/daemon/child.js', import.meta.url)) : fileURLToPath(new URL('./child.js', import.meta.url));
}

/**
 * Runs each engine in its own child process (node fork with an IPC channel), so that checker
 * load or a GC pause in one never delays the other's timers. A child that dies is restarted
 * after a growing delay (backoff.ts); requests to children time out, so a hung child shows as
 * such instead of hanging the caller. `stop()` sends SIGTERM to each child (the VRRP child sends
 * priority-0 adverts and releases its VIPs) and waits for them.
 */
export class Supervisor {
  private readonly children: Child[];
  private readonly clock: Clock;
  private readonly limiter: RateLimiter;
  private config: Config;
  private seq = 0;
  private stopping = false;
  private reloads: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: SupervisorOptions) {
    this.clock = o.clock ?? realClock;
    this.limiter = new RateLimiter(this.clock, 10_000);
    this.config = o.config;
    this.children = o.kinds.map((kind) => ({
      kind,
      backoff: new RestartBackoff(o.backoff ?? DEFAULT_BACKOFF),
      idle: !this.hasWork(kind, o.config),
      proc: undefined,
      state: 'stopped',
      initial: true,
      restarts: 0,
      startedAt: 0,
      startedWall: 0,
      lastExit: undefined,
      fatal: undefined,
      nextStartAt: undefined,
      restartTimer: undefined,
      rejected: 0,
      pending: new Map(),
      ready: undefined,
      settleReady: undefined,
      exited: Promise.resolve(),
    }));
  }

  private hasWork(kind: ChildKind, config: Config): boolean {
    return this.o.hasWork?.(kind, config) ?? true;
  }

  /** The configuration the children run (the last one every running child applied). */
  get current(): Config {
    return this.config;
  }

  /** Starts every child and resolves when all are ready; on failure stops those started and rejects with the child's reason. */
  async start(): Promise<void> {
    try {
      for (const c of this.children) {
        if (c.idle) this.o.log.info({ op: 'start', child: c.kind }, `not starting the ${c.kind} child: the configuration gives it nothing to do`);
        else await this.spawn(c);
      }
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /** Pids of the running children. */
  pids(): Partial<Record<ChildKind, number>> {
    return Object.fromEntries(this.children.flatMap((c) => (c.proc?.pid !== undefined ? [[c.kind, c.proc.pid]] : [])));
  }

  /** The children the configuration gives work (the others are not started). */
  private active(): Child[] {
    return this.children.filter((c) => !c.idle);
  }

  /** Every child's state, and each running child's own snapshot under its kind. */
  async status(): Promise<{ children: ChildStatus[]; sections: Partial<Record<ChildKind, unknown>> }> {
    const sections: Partial<Record<ChildKind, unknown>> = {};
    const children = await Promise.all(
      this.active().map(async (c): Promise<ChildStatus> => {
        const base = this.describe(c);
        if (c.state !== 'running') return base;
        try {
          sections[c.kind] = await this.request(c, { t: 'request', id: 0, op: 'status' }, this.o.statusTimeoutMs ?? 2000);
          return base;
        } catch (e) {
          const err = e as SupervisorError;
          return { ...base, state: err.code === 'VIGIL_CHILD_TIMEOUT' ? 'unresponsive' : base.state, error: err.message };
        }
      }),
    );
    return { children, sections };
  }

  /**
   * Sends a new, validated configuration to every child; each applies only the difference.
   * The supervisor keeps it (children restarted later get it) when every running child applied
   * it. Reloads run one at a time.
   */
  reload(next: Config): Promise<ReloadOutcome[]> {
    const run = this.reloads.then(() => this.applyReload(next));
    this.reloads = run.catch(() => {});
    return run;
  }

  private async applyReload(next: Config): Promise<ReloadOutcome[]> {
    const out: ReloadOutcome[] = [];
    for (const c of this.active()) {
      if (c.state === 'starting') await c.ready?.catch(() => {});
      if (c.state !== 'running') {
        out.push({ kind: c.kind, ok: true, note: `${c.kind} child is ${c.state}; it starts with the new configuration` });
        continue;
      }
      // a child losing its work applies the reload first (the checker removes its services,
      // the VRRP child releases its VIPs with priority-0 adverts), then stops below
      try {
        const result = await this.request(c, { t: 'request', id: 0, op: 'reload', config: childConfig(c.kind, next) }, this.o.reloadTimeoutMs ?? 60_000);
        out.push({ kind: c.kind, ok: true, result });
      } catch (e) {
        out.push({ kind: c.kind, ok: false, error: (e as Error).message });
      }
    }
    if (!out.every((r) => r.ok) || this.stopping) return out;
    this.config = next;
    for (const c of this.children) {
      const work = this.hasWork(c.kind, next);
      if (!work && !c.idle) {
        await this.retire(c);
        const i = out.findIndex((r) => r.kind === c.kind);
        out[i] = { ...out[i]!, note: `${c.kind} child stopped: the configuration gives it nothing to do` };
      } else if (work && c.idle) {
        out.push(await this.startForReload(c));
      }
    }
    return out;
  }

  /** Starts a child a reload gave work; a failed start is retried like a crash. */
  private async startForReload(c: Child): Promise<ReloadOutcome> {
    c.idle = false;
    c.initial = false;
    this.o.log.info({ op: 'reload', child: c.kind }, `starting the ${c.kind} child: the configuration now gives it work`);
    try {
      await this.spawn(c);
      return { kind: c.kind, ok: true, note: `${c.kind} child started: the configuration now gives it work` };
    } catch (e) {
      return { kind: c.kind, ok: false, error: `${(e as Error).message}${c.state === 'restarting' ? `; retrying in ${Math.round((c.nextStartAt! - this.clock.now()) / 100) / 10}s` : ''}` };
    }
  }

  /** Stops one child gracefully (a reload took its work away); it shows no more in status. */
  private async retire(c: Child): Promise<void> {
    this.o.log.info({ op: 'reload', child: c.kind }, `stopping the ${c.kind} child: the configuration gives it nothing to do`);
    await this.stopChild(c, 'SIGTERM');
    c.idle = true;
    c.initial = true;
  }

  /** Sends the whole set of operator holds to a running child; rejects when it is not running (onReady sends them again). */
  override(kind: ChildKind, holds: Readonly<Record<string, Hold>>): Promise<unknown> {
    const c = this.children.find((x) => x.kind === kind);
    if (!c) return Promise.reject(new SupervisorError('VIGIL_CHILD_UNAVAILABLE', `no ${kind} child`));
    return this.request(c, { t: 'request', id: 0, op: 'override', holds }, this.o.statusTimeoutMs ?? 2000);
  }

  /** Sends a control request (`override.*`) to a running child and resolves with its answer. */
  call(kind: ChildKind, method: string, params: Record<string, unknown>, timeoutMs = 10_000): Promise<unknown> {
    const c = this.children.find((x) => x.kind === kind);
    if (!c) return Promise.reject(new SupervisorError('VIGIL_CHILD_UNAVAILABLE', `no ${kind} child in this daemon`));
    return this.request(c, { t: 'request', id: 0, op: 'control', method, params }, timeoutMs);
  }

  /** The children's keepalived-style dump sections, in child order ('' from a child that is not running). */
  async dump(kind: DumpKind): Promise<string> {
    const parts = await Promise.all(
      this.active().map(async (c) => {
        if (c.state !== 'running') return `# ${c.kind} child is ${c.state}: no data\n`;
        try {
          return String(await this.request(c, { t: 'request', id: 0, op: 'dump', kind }, this.o.statusTimeoutMs ?? 2000));
        } catch (e) {
          return `# ${c.kind} child: ${(e as Error).message}\n`;
        }
      }),
    );
    return parts.join('');
  }

  /** Stops every child gracefully (SIGTERM, then SIGKILL after the stop timeout); idempotent. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    this.stopping = true;
    await Promise.all(this.children.map((c) => this.stopChild(c, signal)));
  }

  private async stopChild(c: Child, signal: NodeJS.Signals): Promise<void> {
    c.restartTimer?.();
    c.restartTimer = undefined;
    const proc = c.proc;
    if (!proc) {
      c.state = 'stopped';
      return;
    }
    c.state = 'stopping';
    proc.kill(signal);
    const killTimer = this.clock.setTimeout(() => {
      this.o.log.error({ op: 'child.stop', child: c.kind, pid: proc.pid }, `${c.kind} child (pid ${proc.pid}) did not stop within ${this.o.stopTimeoutMs ?? 15_000} ms: SIGKILL`);
      proc.kill('SIGKILL');
    }, this.o.stopTimeoutMs ?? 15_000);
    await c.exited;
    killTimer();
  }

  private describe(c: Child): ChildStatus {
    return {
      kind: c.kind,
      state: c.state,
      ...(c.proc?.pid !== undefined ? { pid: c.proc.pid, since: new Date(c.startedWall).toISOString() } : {}),
      restarts: c.restarts,
      ...(c.lastExit ? { lastExit: c.lastExit } : {}),
      ...(c.state === 'restarting' && c.nextStartAt !== undefined ? { nextStartInMs: Math.max(0, Math.round(c.nextStartAt - this.clock.now())) } : {}),
      ipcRejected: c.rejected,
    };
  }

  /** Forks the child and resolves when it is ready. */
  private spawn(c: Child): Promise<void> {
    const log = this.o.log;
    const proc = fork(this.o.entry ?? defaultChildEntry(), [c.kind], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      ...(this.o.execArgv ? { execArgv: [...this.o.execArgv] } : {}),
    });
    c.proc = proc;
    c.state = 'starting';
    c.fatal = undefined;
    c.nextStartAt = undefined;
    c.startedAt = this.clock.now();
    c.startedWall = Date.now();
    c.ready = new Promise<void>((resolve, reject) => (c.settleReady = { resolve, reject }));
    c.ready.catch(() => {}); // the exit handler decides what a failed start means
    let exited!: () => void;
    c.exited = new Promise<void>((r) => (exited = r));
    const pidFile = this.o.pidFiles?.[c.kind];
    if (pidFile && proc.pid !== undefined) writePidFile(pidFile, proc.pid, log);
    // The checker is ready once the whole IPVS table is programmed: at tens of thousands of real
    // servers on a loaded machine that takes minutes, not seconds.
    const startTimeoutMs = this.o.startTimeoutMs ?? (c.kind === 'checker' ? 600_000 : 30_000);
    const startTimer = this.clock.setTimeout(() => {
      if (c.proc !== proc || c.state !== 'starting') return;
      c.fatal = `not ready within ${startTimeoutMs} ms`;
      log.error({ op: 'child.start', child: c.kind, pid: proc.pid }, `${c.kind} child (pid ${proc.pid}) ${c.fatal}: SIGKILL`);
      proc.kill('SIGKILL');
    }, startTimeoutMs);
    proc.on('message', (m) => this.onMessage(c, proc, m));
    proc.on('error', (err) => log.error({ op: 'child.ipc', child: c.kind, pid: proc.pid, err }, `${c.kind} child: ${err.message}`));
    proc.on('exit', (code, signal) => {
      startTimer();
      if (pidFile && proc.pid !== undefined) removePidFile(pidFile, proc.pid);
      this.onExit(c, proc, code, signal);
      exited();
    });
    log.info({ op: 'child.spawn', child: c.kind, pid: proc.pid }, `${c.kind} child started (pid ${proc.pid})`);
    return c.ready;
  }

  private onMessage(c: Child, proc: ChildProcess, raw: unknown): void {
    if (c.proc !== proc) return;
    const m = parseChildMessage(raw);
    if (isReject(m)) {
      c.rejected++;
      const suppressed = this.limiter.allow(`${c.kind}/ipc`);
      if (suppressed >= 0) this.o.log.warn({ op: 'ipc.reject', child: c.kind, pid: proc.pid, reason: m.reject, suppressed }, `ignored a malformed message from the ${c.kind} child: ${m.reject}`);
      return;
    }
    switch (m.t) {
      case 'hello': {
        if (c.state !== 'starting') return;
        const holds = c.kind === 'vrrp' ? this.o.holds?.() : undefined;
        const start: ParentMessage = { t: 'start', config: childConfig(c.kind, this.config), options: this.o.childOptions, ...(holds ? { holds } : {}) };
        proc.send(start, (err: Error | null) => {
          if (err) this.o.log.error({ op: 'child.start', child: c.kind, err }, `cannot send the configuration to the ${c.kind} child: ${err.message}`);
        });
        return;
      }
      case 'ready':
        if (c.state !== 'starting') return;
        c.state = 'running';
        c.initial = false;
        this.o.log.info({ op: 'child.ready', child: c.kind, pid: proc.pid, restarts: c.restarts }, `${c.kind} child (pid ${proc.pid}) running`);
        c.settleReady?.resolve();
        this.o.onReady?.(c.kind);
        return;
      case 'fatal':
        c.fatal = m.message;
        return;
      case 'reply': {
        const p = c.pending.get(m.id);
        if (!p) {
          this.o.log.debug({ op: 'ipc.late', child: c.kind, id: m.id }, `late answer ${m.id} from the ${c.kind} child (after its timeout)`);
          return;
        }
        c.pending.delete(m.id);
        if (m.ok) p.resolve(m.result);
        else p.reject(new SupervisorError('VIGIL_CHILD_FAILED', m.error));
        return;
      }
    }
  }

  private onExit(c: Child, proc: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (c.proc !== proc) return;
    c.proc = undefined;
    const reason = c.fatal ?? (signal ? `killed by ${signal}` : `exited with code ${code}`);
    c.lastExit = { code, signal, at: new Date().toISOString(), reason };
    for (const p of c.pending.values()) p.reject(new SupervisorError('VIGIL_CHILD_UNAVAILABLE', `${c.kind} child exited (${reason})`));
    c.pending.clear();
    const log = this.o.log;
    if (this.stopping || c.state === 'stopping') {
      c.state = 'stopped';
      c.settleReady?.reject(new SupervisorError('VIGIL_CHILD_START', `${c.kind} child: stopped while starting`));
      log.info({ op: 'child.exit', child: c.kind, pid: proc.pid, code, signal }, `${c.kind} child (pid ${proc.pid}) stopped`);
      return;
    }
    if (c.initial) {
      c.state = 'stopped';
      c.settleReady?.reject(new SupervisorError('VIGIL_CHILD_START', `${c.kind} child: ${reason}`));
      return;
    }
    if (this.o.respawn === false) {
      c.state = 'stopped';
      log.error({ op: 'child.exit', child: c.kind, pid: proc.pid, code, signal, reason }, `${c.kind} child (pid ${proc.pid}) ${reason}; not restarting (respawn off)`);
      this.o.onGiveUp?.(c.kind, reason);
      return;
    }
    const now = this.clock.now();
    const delay = c.backoff.next(c.startedAt, now);
    c.state = 'restarting';
    c.nextStartAt = now + delay;
    c.settleReady?.reject(new SupervisorError('VIGIL_CHILD_START', `${c.kind} child: ${reason}`));
    log.error({ op: 'child.exit', child: c.kind, pid: proc.pid, code, signal, reason, restartInMs: delay }, `${c.kind} child (pid ${proc.pid}) ${reason}; restarting in ${delay / 1000}s`);
    c.restartTimer = this.clock.setTimeout(() => {
      c.restartTimer = undefined;
      if (this.stopping) return;
      c.restarts++;
      void this.spawn(c);
    }, delay);
  }

  private request(c: Child, msg: ParentMessage & { t: 'request' }, timeoutMs: number): Promise<unknown> {
    const proc = c.proc;
    if (!proc || c.state !== 'running') return Promise.reject(new SupervisorError('VIGIL_CHILD_UNAVAILABLE', `${c.kind} child is ${c.state}`));
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      const cancel = this.clock.setTimeout(() => {
        c.pending.delete(id);
        reject(new SupervisorError('VIGIL_CHILD_TIMEOUT', `${c.kind} child (pid ${proc.pid}) did not answer '${msg.op}' within ${timeoutMs} ms`));
      }, timeoutMs);
      c.pending.set(id, {
        resolve: (v) => {
          cancel();
          resolve(v);
        },
        reject: (e) => {
          cancel();
          reject(e);
        },
      });
      proc.send({ ...msg, id }, (err: Error | null) => {
        if (!err) return;
        c.pending.get(id)?.reject(new SupervisorError('VIGIL_CHILD_UNAVAILABLE', `${c.kind} child: ${err.message}`));
        c.pending.delete(id);
      });
    });
  }
}

/** Writes `pid` to a pid file (keepalived's -p/-r/-c), creating its folder. */
export function writePidFile(file: string, pid: number, log?: Logger): void {
  try {
    fs.mkdirSync(fileDir(file), { recursive: true });
    fs.writeFileSync(file, `${pid}\n`, { mode: 0o644 });
  } catch (err) {
    log?.error({ op: 'pidfile', file, err }, `cannot write pid file ${file}: ${(err as Error).message}`);
  }
}

/** Removes a pid file if it still holds `pid`. */
export function removePidFile(file: string, pid: number): void {
  try {
    if (fs.readFileSync(file, 'utf8').trim() === String(pid)) fs.unlinkSync(file);
  } catch {
    /* gone already */
  }
}

function fileDir(file: string): string {
  const i = file.lastIndexOf('/');
  return i > 0 ? file.slice(0, i) : '.';
}
