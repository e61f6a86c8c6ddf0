/*
 * An in-memory Ipvs with the kernel's error semantics (ip_vs_ctl.c): EEXIST for a service or
 * destination that exists, ESRCH for a service that does not, ENOENT for a missing destination
 * or an unknown scheduler, ERANGE/EINVAL for values the kernel refuses (the same codes the UML
 * bed test gets from the real kernel). For unit tests of the director layer.
 */
import { isIP } from 'node:net';
import { type Ipvs, IpvsError } from './ipvs.js';
import {
  type Dest,
  type DestKey,
  type IpvsInfo,
  type Service,
  type ServiceKey,
  SVC_F_HASHED,
  destConfig,
  destKey,
  destText,
  serviceConfig,
  serviceKey,
  serviceText,
} from './types.js';

/** Schedulers the real kernel ships (linux/net/netfilter/ipvs/ip_vs_*.c). */
export const KNOWN_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'];

/** One write the fake accepted or refused, for tests that count kernel writes. */
export interface FakeIpvsCall {
  readonly op: string;
  readonly object: string;
  readonly code?: string;
}

/** In-memory IPVS table. */
export class FakeIpvs implements Ipvs {
  private readonly table = new Map<string, { svc: Service; dests: Map<string, Dest> }>();
  /** Every write, in order (reads are not recorded). */
  readonly calls: FakeIpvsCall[] = [];
  /** When set, the next write with this op fails with this code (then the hook clears). */
  failNext: { op: string; code: string } | undefined;
  private closed = false;

  constructor(private readonly schedulers: readonly string[] = KNOWN_SCHEDULERS) {}

  private check(op: string, object: string, fn: () => string | undefined): Promise<void> {
    let code = this.closed ? 'ECLOSED' : undefined;
    if (code === undefined && this.failNext?.op === op) {
      code = this.failNext.code;
      this.failNext = undefined;
    }
    code ??= fn();
    this.calls.push(code === undefined ? { op, object } : { op, object, code });
    // settle asynchronously, like the kernel's answer
    return new Promise((resolve, reject) => setImmediate(() => (code === undefined ? resolve() : reject(new IpvsError(op, object, code)))));
  }

  private validService(s: Service): string | undefined {
    if (!this.schedulers.includes(s.scheduler)) return 'ENOENT';
    if (s.netmask < 0 || s.netmask > (s.family === 4 ? 32 : 128) || (s.family === 6 && s.netmask < 1)) return 'EINVAL';
    return undefined;
  }

  private static validDest(d: Dest): string | undefined {
    if (isIP(d.address) !== d.family) return 'EINVAL'; // the driver refuses such text before sending
    if (d.weight < 0) return 'ERANGE';
    if (d.lowerThreshold > d.upperThreshold) return 'ERANGE';
    if (d.forward === 'tun' && d.tunType === 'gue' && d.tunPort === 0) return 'EINVAL';
    return undefined;
  }

  info(): Promise<IpvsInfo> {
    return Promise.resolve({ version: 0x010201, versionText: '1.2.1', connTableSize: 4096 });
  }

  services(): Promise<Service[]> {
    return Promise.resolve([...this.table.values()].map((e) => ({ ...e.svc })));
  }

  dests(svc: ServiceKey): Promise<Dest[]> {
    const e = this.table.get(serviceKey(svc));
    return Promise.resolve(e ? [...e.dests.values()].map((d) => ({ ...d, conns: { active: 0, inactive: 0, persistent: 0 } })) : []);
  }

  addService(svc: Service): Promise<void> {
    return this.check('ipvs.addService', serviceText(svc), () => {
      if (this.table.has(serviceKey(svc))) return 'EEXIST';
      const bad = this.validService(svc);
      if (bad) return bad;
      this.table.set(serviceKey(svc), { svc: { ...serviceConfig(svc), flags: svc.flags & ~SVC_F_HASHED }, dests: new Map() });
      return undefined;
    });
  }

  editService(svc: Service): Promise<void> {
    return this.check('ipvs.editService', serviceText(svc), () => {
      const e = this.table.get(serviceKey(svc));
      if (!e) return 'ESRCH';
      const bad = this.validService(svc);
      if (bad) return bad;
      e.svc = { ...serviceConfig(svc), flags: svc.flags & ~SVC_F_HASHED };
      return undefined;
    });
  }

  deleteService(svc: ServiceKey): Promise<void> {
    return this.check('ipvs.deleteService', serviceText(svc), () => (this.table.delete(serviceKey(svc)) ? undefined : 'ESRCH'));
  }

  addDest(svc: ServiceKey, dest: Dest): Promise<void> {
    return this.check('ipvs.addDest', `${serviceText(svc)} → ${destText(dest)}`, () => {
      const e = this.table.get(serviceKey(svc));
      if (!e) return 'ESRCH';
      if (e.dests.has(destKey(dest))) return 'EEXIST';
      const bad = FakeIpvs.validDest(dest);
      if (bad) return bad;
      e.dests.set(destKey(dest), destConfig(dest));
      return undefined;
    });
  }

  editDest(svc: ServiceKey, dest: Dest): Promise<void> {
    return this.check('ipvs.editDest', `${serviceText(svc)} → ${destText(dest)}`, () => {
      const e = this.table.get(serviceKey(svc));
      if (!e) return 'ESRCH';
      if (!e.dests.has(destKey(dest))) return 'ENOENT';
      const bad = FakeIpvs.validDest(dest);
      if (bad) return bad;
      e.dests.set(destKey(dest), destConfig(dest));
      return undefined;
    });
  }

  deleteDest(svc: ServiceKey, dest: DestKey): Promise<void> {
    return this.check('ipvs.deleteDest', `${serviceText(svc)} → ${destText(dest)}`, () => {
      const e = this.table.get(serviceKey(svc));
      if (!e) return 'ESRCH';
      return e.dests.delete(destKey(dest)) ? undefined : 'ENOENT';
    });
  }

  flush(): Promise<void> {
    return this.check('ipvs.flush', '', () => {
      this.table.clear();
      return undefined;
    });
  }

  close(): void {
    this.closed = true;
  }
}
