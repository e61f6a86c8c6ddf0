import type { Logger } from 'pino';
import type { Config } from '../config/compile.js';
import type { Hold } from '../vrrp/override.js';
import type { ChildKind, DumpKind } from './ipc.js';

/**
 * What one child process runs (the VRRP engine today; the checker/IPVS engine next). The
 * generic child entry (child.ts) owns the IPC channel and the signals and calls these.
 */
export interface ChildEngine {
  /** A JSON-able snapshot for `vigil status` and the metrics (the supervisor adds it under the child's kind). */
  status(): unknown;
  /**
   * Applies a new, already validated configuration, changing only the difference; resolves with
   * a JSON-able report of what changed. Rejects — having changed nothing — when it cannot apply it.
   */
  reload(config: Config): Promise<unknown>;
  /** A keepalived-style text dump (SIGUSR1 data, SIGUSR2 stats); '' when the child has none. */
  dump(kind: DumpKind): string;
  /** Operator holds (`vigil failover`), the whole set; only the VRRP child has them. */
  override?(holds: Readonly<Record<string, Hold>>): unknown;
  /** Graceful stop (VRRP: priority-0 adverts, VIPs released); resolves when done. */
  stop(): Promise<void>;
  /** Control requests routed to this child (`override.*` for the checker); rejects with the reason. */
  control?(method: string, params: Record<string, unknown>): Promise<unknown>;
}

/** What a child engine gets besides the configuration. */
export interface ChildContext {
  readonly log: Logger;
  /** Operator holds in force at start (VRRP child): applied before any instance starts, so a held address owner never takes the VIP after a child restart. */
  readonly holds?: Readonly<Record<string, Hold>>;
  /** vigil's state directory (--state-dir): the checker's managed services and overrides, kept across restarts; absent: nothing is kept. */
  readonly stateDir?: string;
  /** --ipvs-resync-ms (checker child); absent: the reconciler's default (30 s). */
  readonly ipvsResyncMs?: number;
}

/** Builds and starts a child's engine; rejects with a message the supervisor shows when it cannot start. */
export type StartChild = (config: Config, ctx: ChildContext) => Promise<ChildEngine>;

/**
 * The engine behind each child kind, loaded lazily so a child loads only its own code (and the
 * supervisor none of it). To add a kind: implement StartChild in `<kind>-child.ts` and list it here.
 */
export const CHILD_ENGINES: Readonly<Partial<Record<ChildKind, () => Promise<StartChild>>>> = {
  vrrp: async () => (await import('./vrrp-child.js')).startVrrpChild,
  checker: async () => (await import('./checker-child.js')).startCheckerChild,
};

/** The kinds that have an engine in this build. */
export function availableKinds(): ChildKind[] {
  return (Object.keys(CHILD_ENGINES) as ChildKind[]).filter((k) => CHILD_ENGINES[k] !== undefined);
}

/**
 * As keepalived: a child has work when the configuration gives it some (the checker a
 * virtual_server, the VRRP child a vrrp_instance); with neither, the VRRP child runs so the
 * daemon has a body. `managedLeft`: the state directory names services vigil created earlier.
 */
export function childHasWork(kind: ChildKind, config: Config, managedLeft = false): boolean {
  // services vigil created before a restart that the configuration dropped: the checker removes them
  if (kind === 'checker') return config.virtualServers.length > 0 || managedLeft;
  if (kind === 'vrrp') return config.vrrpInstances.length > 0 || config.virtualServers.length === 0;
  return true;
}
