/*
 * Single-process mode (`vigil run --single-process`, VIGIL_SINGLE_PROCESS=1), for benchmarking
 * and debugging only: the engines that normally run in child processes (supervisor.ts) run in
 * the supervisor's own process, one event loop for all. It exists so that `npm run
 * bench:isolation` can show what the process split buys (checker load delaying VRRP adverts),
 * and so that one debugger or profiler sees every engine. Nothing is restarted: an engine that
 * throws takes the whole daemon down. It answers the same calls as the Supervisor, so the daemon
 * (control socket, reload, dumps, metrics) works unchanged; `vigil status` shows each engine
 * with the supervisor's pid and `inProcess: true`.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/compile.js';
import { CHILD_ENGINES, type ChildEngine } from './child-engine.js';
import type { ChildKind, ChildOptions, DumpKind } from './ipc.js';
import type { Hold } from '../vrrp/override.js';
import { type ChildStatus, type ReloadOutcome, SupervisorError, removePidFile, writePidFile } from './supervisor.js';

/** What the daemon asks of whatever runs its engines: the Supervisor (children) or InProcessEngines. */
export interface EngineHost {
  start(): Promise<void>;
  pids(): Partial<Record<ChildKind, number>>;
  status(): Promise<{ children: ChildStatus[]; sections: Partial<Record<ChildKind, unknown>> }>;
  reload(next: Config): Promise<ReloadOutcome[]>;
  dump(kind: DumpKind): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** The configuration the engines run. */
  readonly current: Config;
  /** Sends the whole set of operator holds (`vigil failover`) to the VRRP engine. */
  override(kind: ChildKind, holds: Readonly<Record<string, Hold>>): Promise<unknown>;
  /** A control request (`override.*`) to one engine. */
  call(kind: ChildKind, method: string, params: Record<string, unknown>, timeoutMs?: number): Promise<unknown>;
}

/** Options of InProcessEngines. */
export interface InProcessOptions {
  /** The engines, started in this order (stopped in the reverse order). */
  readonly kinds: readonly ChildKind[];
  readonly config: Config;
  readonly log: Logger;
  /** keepalived's -r / -c: written with this process's pid while the engine runs. */
  readonly pidFiles?: Partial<Record<ChildKind, string>>;
  /** What a child would get in its start message: the state dir and the IPVS re-read period. */
  readonly childOptions?: Pick<ChildOptions, 'stateDir' | 'ipvsResyncMs'>;
  /** The operator holds in force, applied before the VRRP engine starts (as a child gets them). */
  readonly holds?: () => Readonly<Record<string, Hold>>;
}

/** Every engine in this process: the Supervisor's calls without the children. */
export class InProcessEngines implements EngineHost {
  private readonly engines = new Map<ChildKind, ChildEngine>();
  private readonly since = new Map<ChildKind, string>();
  private config: Config;
  private reloads: Promise<unknown> = Promise.resolve();
  private stopping: Promise<void> | undefined;

  constructor(private readonly o: InProcessOptions) {
    this.config = o.config;
  }

  /** The configuration the engines run. */
  get current(): Config {
    return this.config;
  }

  /** Starts each engine in turn; on failure stops those started and rejects with the engine's reason. */
  async start(): Promise<void> {
    for (const kind of this.o.kinds) {
      const load = CHILD_ENGINES[kind];
      if (!load) throw new SupervisorError('VIGIL_CHILD_START', `${kind} engine: not part of this build`);
      try {
        const holds = kind === 'vrrp' ? this.o.holds?.() : undefined;
        const opts = this.o.childOptions;
        const engine = await (await load())(this.config, {
          log: this.o.log.child({ child: kind }),
          ...(holds && Object.keys(holds).length > 0 ? { holds } : {}),
          ...(opts?.stateDir !== undefined ? { stateDir: opts.stateDir } : {}),
          ...(opts?.ipvsResyncMs !== undefined ? { ipvsResyncMs: opts.ipvsResyncMs } : {}),
        });
        this.engines.set(kind, engine);
        this.since.set(kind, new Date().toISOString());
        const pidFile = this.o.pidFiles?.[kind];
        if (pidFile) writePidFile(pidFile, process.pid, this.o.log);
        this.o.log.info({ op: 'child.ready', child: kind, pid: process.pid, inProcess: true }, `${kind} engine running in the supervisor's process (single-process mode)`);
      } catch (e) {
        await this.stop();
        throw new SupervisorError('VIGIL_CHILD_START', `${kind} engine: ${(e as Error).message}`);
      }
    }
  }

  /** Every running engine's pid: this process. */
  pids(): Partial<Record<ChildKind, number>> {
    return Object.fromEntries([...this.engines.keys()].map((k) => [k, process.pid]));
  }

  /** Each engine as a child entry (this pid, `inProcess`), and its snapshot under its kind. */
  async status(): Promise<{ children: ChildStatus[]; sections: Partial<Record<ChildKind, unknown>> }> {
    const sections: Partial<Record<ChildKind, unknown>> = {};
    const children = this.o.kinds.map((kind): ChildStatus => {
      const e = this.engines.get(kind);
      const base: ChildStatus = {
        kind,
        state: e ? (this.stopping ? 'stopping' : 'running') : 'stopped',
        ...(e ? { pid: process.pid, since: this.since.get(kind)! } : {}),
        restarts: 0,
        ipcRejected: 0,
        inProcess: true,
      };
      if (!e || this.stopping) return base;
      try {
        sections[kind] = e.status();
        return base;
      } catch (err) {
        return { ...base, error: (err as Error).message };
      }
    });
    return { children, sections };
  }

  /** Gives each engine the new configuration, one at a time; kept when every engine applied it. */
  reload(next: Config): Promise<ReloadOutcome[]> {
    const run = this.reloads.then(async () => {
      const out: ReloadOutcome[] = [];
      for (const kind of this.o.kinds) {
        const e = this.engines.get(kind);
        if (!e) {
          out.push({ kind, ok: false, error: `${kind} engine is not running` });
          continue;
        }
        try {
          out.push({ kind, ok: true, result: await e.reload(next) });
        } catch (err) {
          out.push({ kind, ok: false, error: (err as Error).message });
        }
      }
      if (out.every((r) => r.ok)) this.config = next;
      return out;
    });
    this.reloads = run.catch(() => {});
    return run;
  }

  /** The holds to the VRRP engine, as the Supervisor sends them to its child. */
  async override(kind: ChildKind, holds: Readonly<Record<string, Hold>>): Promise<unknown> {
    const e = this.engines.get(kind);
    if (!e) throw new SupervisorError('VIGIL_CHILD_UNAVAILABLE', `no ${kind} engine`);
    if (!e.override) throw new Error(`the ${kind} engine has no overrides`);
    return e.override(holds);
  }

  /** A control request to one engine, as the Supervisor forwards it to its child. */
  async call(kind: ChildKind, method: string, params: Record<string, unknown>): Promise<unknown> {
    const e = this.engines.get(kind);
    if (!e) throw new SupervisorError('VIGIL_CHILD_UNAVAILABLE', `no ${kind} engine in this daemon`);
    if (!e.control) throw new Error(`the ${kind} engine has no method '${method}'`);
    return e.control(method, params);
  }

  /** The engines' keepalived-style dump sections, in engine order. */
  async dump(kind: DumpKind): Promise<string> {
    return this.o.kinds.map((k) => this.engines.get(k)?.dump(kind) ?? `# ${k} engine is not running: no data\n`).join('');
  }

  /** Stops the engines in the reverse order of their start (the checker before VRRP); idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const kind of [...this.o.kinds].reverse()) {
        const e = this.engines.get(kind);
        if (!e) continue;
        try {
          await e.stop();
        } catch (err) {
          this.o.log.error({ op: 'child.stop', child: kind, err }, `${kind} engine: error while stopping: ${(err as Error).message}`);
        }
        const pidFile = this.o.pidFiles?.[kind];
        if (pidFile) removePidFile(pidFile, process.pid);
        this.o.log.info({ op: 'child.exit', child: kind, pid: process.pid, inProcess: true }, `${kind} engine stopped`);
      }
      this.engines.clear();
    })();
    return this.stopping;
  }
}
