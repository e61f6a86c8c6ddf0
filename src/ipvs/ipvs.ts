/*
 * The narrow interface the director layer programs IPVS through, and its typed error.
 * Implemented by the generic-netlink driver (driver.ts) and an in-memory fake (fake.ts).
 */
import type { Dest, DestKey, IpvsInfo, Service, ServiceKey } from './types.js';

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
