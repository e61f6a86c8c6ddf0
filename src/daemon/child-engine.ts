import type { Logger } from 'pino';
import type { Config } from '../config/compile.js';
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
  /** Graceful stop (VRRP: priority-0 adverts, VIPs released); resolves when done. */
  stop(): Promise<void>;
  /** Control requests routed to this child (`override.*` for the checker); rejects with the reason. */
  control?(method: string, params: Record<string, unknown>): Promise<unknown>;
}

/** What a child engine gets besides the configuration. */
export interface ChildContext {
  readonly log: Logger;
  /** vigil's state directory (--state-dir), for state that survives restarts. */
  readonly stateDir?: string;
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
