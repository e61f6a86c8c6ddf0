/*
 * An in-memory Ipvs with the kernel's error semantics (ip_vs_ctl.c): EEXIST for a service or
 * destination that exists, ESRCH for a service that does not, ENOENT for a missing destination
 * or an unknown scheduler, ERANGE/EINVAL for values the kernel refuses (the same codes the UML
 * bed test gets from the real kernel). For unit tests of the director layer.
 */
import { isIP } from 'node:net';
import { type Ipvs, IpvsError, type IpvsOp } from './ipvs.js';
import {
  type Dest,
  type DestKey,
  type IpvsInfo,
  type IpvsTimeouts,
  type Service,
  type ServiceKey,
  SVC_F_HASHED,
  type SyncDaemon,
  type SyncState,
  syncDaemonText,
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
  /** When set, every write it returns a code for fails with that code (before any change). */
  failWhen: ((op: string, object: string) => string | undefined) | undefined;
  /** When set, reads (services, dests) reject with this code. */
  failReads: string | undefined;
  private closed = false;
  private readonly syncd = new Map<SyncState, SyncDaemon>();
  private timeoutTable: IpvsTimeouts = { tcp: 900, tcpFin: 120, udp: 300 };

  /**
   * `schedulers`: the ones the kernel knows; `interfaces`: names a sync daemon may bind to
   * (others: ENODEV), each with its MTU (the kernel's default maxlen is MTU − 28).
   */
  constructor(
    private readonly schedulers: readonly string[] = KNOWN_SCHEDULERS,
    private readonly interfaces: ReadonlyMap<string, number> = new Map([['lo', 65536], ['eth0', 1500]]),
  ) {}

  private check(op: string, object: string, fn: () => string | undefined): Promise<void> {
    let code = this.closed ? 'ECLOSED' : undefined;
    if (code === undefined && this.failNext?.op === op) {
      code = this.failNext.code;
      this.failNext = undefined;
    }
    code ??= this.failWhen?.(op, object);
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

  private read<T>(op: string, v: () => T): Promise<T> {
    const code = this.closed ? 'ECLOSED' : this.failReads;
    return code === undefined ? Promise.resolve(v()) : Promise.reject(new IpvsError(op, '', code));
  }

  services(): Promise<Service[]> {
    return this.read('ipvs.services', () => [...this.table.values()].map((e) => ({ ...e.svc })));
  }

  dests(svc: ServiceKey): Promise<Dest[]> {
    const e = this.table.get(serviceKey(svc));
    return this.read('ipvs.dests', () => (e ? [...e.dests.values()].map((d) => ({ ...d, conns: { active: 0, inactive: 0, persistent: 0 } })) : []));
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

  /** Runs each op through the single-op methods, in order; refusals come back as values. */
  async apply(ops: readonly IpvsOp[]): Promise<(IpvsError | undefined)[]> {
    const out: (IpvsError | undefined)[] = [];
    for (const o of ops) {
      try {
        if (o.op === 'addService') await this.addService(o.service);
        else if (o.op === 'editService') await this.editService(o.service);
        else if (o.op === 'deleteService') await this.deleteService(o.service);
        else if (o.op === 'addDest') await this.addDest(o.service, o.dest);
        else if (o.op === 'editDest') await this.editDest(o.service, o.dest);
        else await this.deleteDest(o.service, o.dest);
        out.push(undefined);
      } catch (e) {
        if (!(e instanceof IpvsError)) throw e;
        out.push(e);
      }
    }
    return out;
  }

  daemons(): Promise<SyncDaemon[]> {
    return this.read('ipvs.daemons', () => [...this.syncd.values()].map((d) => ({ ...d })));
  }

  /** As ip_vs_sync.c start_sync_thread: EEXIST, ENODEV; defaults filled in as the kernel reports them. */
  startDaemon(d: SyncDaemon): Promise<void> {
    return this.check('ipvs.startDaemon', syncDaemonText(d), () => {
      const mtu = this.interfaces.get(d.ifname);
      if (mtu === undefined) return 'ENODEV';
      if (this.syncd.has(d.state)) return 'EEXIST';
      const v6 = d.group?.includes(':') === true;
      const max = mtu - (v6 ? 48 : 28);
      this.syncd.set(d.state, {
        state: d.state,
        ifname: d.ifname,
        syncId: d.syncId,
        maxlen: d.maxlen ? Math.min(d.maxlen, max) : max,
        group: d.group ?? '224.0.0.81',
        port: d.port || 8848,
        ttl: d.ttl || 1,
      });
      return undefined;
    });
  }

  stopDaemon(state: SyncState): Promise<void> {
    return this.check('ipvs.stopDaemon', syncDaemonText({ state }), () => (this.syncd.delete(state) ? undefined : 'ESRCH'));
  }

  timeouts(): Promise<IpvsTimeouts> {
    return this.read('ipvs.timeouts', () => ({ ...this.timeoutTable }));
  }

  setTimeouts(t: IpvsTimeouts): Promise<void> {
    return this.check('ipvs.setTimeouts', `tcp ${t.tcp} tcpfin ${t.tcpFin} udp ${t.udp}`, () => {
      if (t.tcp < 0 || t.tcpFin < 0 || t.udp < 0) return 'EINVAL';
      this.timeoutTable = { tcp: t.tcp || this.timeoutTable.tcp, tcpFin: t.tcpFin || this.timeoutTable.tcpFin, udp: t.udp || this.timeoutTable.udp };
      return undefined;
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
