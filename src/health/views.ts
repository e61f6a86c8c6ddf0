import type { Reason } from './result.js';
import type { SchedulerStats } from './scheduler.js';
import type { RsVerdict } from './state.js';

/*
 * What the health engine shows: transitions for the director, verdicts, and the snapshot that
 * `vigil status` and the metrics read. Plain data, JSON as is.
 */

/** A real server of a virtual server changed: up/down, or its effective weight. */
export interface HealthTransition {
  /** Virtual server name (names.ts vsName): `192.0.2.100:80 TCP`, `fwmark 7`, `group NAME TCP`. */
  readonly vs: string;
  /** Real server name (names.ts rsName): `10.0.0.2:80`, `[2001:db8::2]:80`. */
  readonly rs: string;
  readonly up: boolean;
  /** Effective weight (configured, or dynamic from a checker), reported whether up or not. */
  readonly weight: number;
  /** What changed: the up/down state, or only the weight. */
  readonly change: 'up' | 'down' | 'weight';
  /**
   * `CHECKER: why`, e.g. `TCP_CHECK 10.0.0.2:80: connect-refused (ECONNREFUSED) after 1 retry`,
   * `MISC_CHECK /bin/x: weight 1 -> 5`, or `reload: ...` for a change made by update().
   */
  readonly reason: string;
  /** Clock time of the change. */
  readonly at: number;
}

/** Per virtual server name, per real server name: the verdict. */
export type Verdicts = Readonly<Record<string, Readonly<Record<string, RsVerdict>>>>;

/** The last result of a check. */
export interface LastResult {
  readonly ok: boolean;
  readonly reason: Reason;
  readonly detail: string;
  readonly latencyMs: number;
  /** Clock time the result arrived. */
  readonly at: number;
}

/** One checker of a real server as `vigil status` shows it (a shared check shows the same values everywhere). */
export interface CheckView {
  /** `HTTP_GET 10.0.0.2:80`. */
  readonly name: string;
  readonly up: boolean;
  /** Consecutive failed checks (reset by a success). */
  readonly failures: number;
  /** The next check is a retry (delay_before_retry). */
  readonly retrying: boolean;
  readonly checks: number;
  /** Reason of the last result, or `start` / `alpha` before the first. */
  readonly lastReason: string;
  readonly last?: LastResult;
  /** Clock time of the next check, when scheduled. */
  readonly nextAt?: number;
  /** Clock time of this checker's last up/down change (or of its creation). */
  readonly since: number;
  /** Last dynamic weight this checker asked for (MISC_CHECK misc_dynamic). */
  readonly weight?: number;
  /** Last weight delta this checker asked for (FILE_CHECK). */
  readonly weightDelta?: number;
  /** How many (virtual server, real server) pairs share this check. */
  readonly sharedBy: number;
}

/** A real server of a virtual server as `vigil status` shows it. */
export interface RsView extends RsVerdict {
  readonly rs: string;
  readonly address: string;
  readonly port: number;
  readonly configuredWeight: number;
  /** Reason of the last transition; before any: `start`, `no checkers` or the down checker's (`...: alpha`). */
  readonly reason: string;
  /** Clock time of the last transition (or of when the engine learnt of the pair). */
  readonly since: number;
  readonly transitions: number;
  /** Checks run for this server (over all its checkers). */
  readonly checks: number;
  /** Highest consecutive failure count among its checkers. */
  readonly failures: number;
  /** The most recent result of any of its checkers. */
  readonly last?: LastResult;
  readonly checkers: readonly CheckView[];
}

/** A virtual server with its real servers. */
export interface VsView {
  readonly vs: string;
  /** Real servers up. */
  readonly up: number;
  readonly realServers: readonly RsView[];
}

/** What snapshot() returns. */
export interface HealthSnapshot {
  readonly at: number;
  readonly running: boolean;
  readonly virtualServers: readonly VsView[];
  /** Distinct checks after fan-out. */
  readonly distinctChecks: number;
  /** (virtual server, real server) pairs. */
  readonly pairs: number;
  /** Probes in flight, queue, counters and lateness percentiles. */
  readonly scheduler: SchedulerStats;
}
