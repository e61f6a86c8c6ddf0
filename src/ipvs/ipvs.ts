/*
 * The narrow interface the director layer programs IPVS through, and its typed error.
 * Implemented by the generic-netlink driver (driver.ts) and an in-memory fake (fake.ts).
 */
import type { Dest, DestKey, IpvsInfo, IpvsTimeouts, Service, ServiceKey, SyncDaemon, SyncState } from './types.js';

/** One write to the IPVS table, as data (what the director's diff plans and `apply` sends). */
export type IpvsOp =
  | { readonly op: 'addService'; readonly service: Service }
  | { readonly op: 'editService'; readonly service: Service }
  | { readonly op: 'deleteService'; readonly service: ServiceKey }
  | { readonly op: 'addDest'; readonly service: ServiceKey; readonly dest: Dest }
  | { readonly op: 'editDest'; readonly service: ServiceKey; readonly dest: Dest }
  | { readonly op: 'deleteDest'; readonly service: ServiceKey; readonly dest: DestKey };

/** What vigil needs from the kernel's IPVS table. Writes reject with IpvsError. */
export interface Ipvs {
  /** IPVS version and connection table size. */
  info(): Promise<IpvsInfo>;
  /** Every virtual service, with counters. */
  services(): Promise<Service[]>;
  /** The destinations of one service, with counters; empty when the service does not exist (as the kernel answers). */
  dests(svc: ServiceKey): Promise<Dest[]>;
  addService(svc: Service): Promise<void>;
  editService(svc: Service): Promise<void>;
  deleteService(svc: ServiceKey): Promise<void>;
  addDest(svc: ServiceKey, dest: Dest): Promise<void>;
  editDest(svc: ServiceKey, dest: Dest): Promise<void>;
  deleteDest(svc: ServiceKey, dest: DestKey): Promise<void>;
  /**
   * Sends the writes in order, several in flight at once (the kernel handles each in turn), and
   * resolves with one entry per op: undefined when it succeeded, else its IpvsError. A refused
   * op does not stop the ones after it. Rejects only when the socket itself is unusable.
   */
  apply(ops: readonly IpvsOp[]): Promise<(IpvsError | undefined)[]>;
  /** The running connection-sync daemons (none, master, backup or both). */
  daemons(): Promise<SyncDaemon[]>;
  /** Starts a sync daemon (EEXIST when one of that state runs; ENODEV for an unknown interface). */
  startDaemon(d: SyncDaemon): Promise<void>;
  /** Stops the sync daemon of that state (ESRCH when none runs). */
  stopDaemon(state: SyncState): Promise<void>;
  /** The TCP, TCP-FIN and UDP connection timeouts, in seconds. */
  timeouts(): Promise<IpvsTimeouts>;
  /** Sets the timeouts; a 0 leaves that one unchanged. */
  setTimeouts(t: IpvsTimeouts): Promise<void>;
  /** Removes every service. vigil never calls it on its own (only keepalived's `lvs_flush`). */
  flush(): Promise<void>;
  /** Releases the socket. Idempotent. */
  close(): void;
}

/**
 * A refused or failed IPVS operation, naming the operation and the object:
 * `ipvs.addDest 192.0.2.100:80 → 198.51.100.11:80: EEXIST`. `code` is the errno name
 * (EEXIST, ENOENT, ESRCH, EINVAL, ETIMEDOUT…) or EIPVSDECODE for an unreadable reply.
 */
export class IpvsError extends Error {
  constructor(
    readonly op: string,
    readonly object: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(`${op}${object ? ` ${object}` : ''}: ${code}`, options);
    this.name = 'IpvsError';
  }
}
