/*
 * An in-memory RealServerHost with the kernel's behaviour where it matters: creating a tunnel
 * device loads its module, which creates the device down with the namespace's `conf.default`
 * sysctls (tunl0 only exists once ipip is loaded); a missing module is ENOMODULE, as KernelHost
 * reports it; adding an existing address is 'exists'. For unit tests of setup, check and undo.
 */
import { RealServerError } from './errors.js';
import type { RealServerHost } from './host.js';
import type { ObservedAddr, ObservedLink, Tunnel } from './model.js';
import type { Sysctls } from './sysctl.js';

/** Sysctls in a map; writing one that does not exist fails as on /proc/sys. */
export class MemorySysctls implements Sysctls {
  readonly values: Map<string, number>;

  constructor(init: Record<string, number> = {}) {
    this.values = new Map(Object.entries(init));
  }

  read(key: string): number | undefined {
    return this.values.get(key);
  }

  write(key: string, value: number): void {
    if (!this.values.has(key)) throw new RealServerError('ESYSCTL', `sysctl.write ${key}=${value}`, 'ENOENT (no such sysctl)');
    this.values.set(key, value);
  }

  /** Creates a sysctl (what the kernel does when an interface appears). */
  define(key: string, value: number): void {
    this.values.set(key, value);
  }
}

/** Options of FakeHost. */
export interface FakeHostOptions {
  links?: readonly { name: string; up: boolean }[];
  addresses?: readonly ObservedAddr[];
  /** Default: a MemorySysctls with conf.all and conf.default of a fresh kernel (all 0). */
  sysctls?: Sysctls;
  /** Modules that can be loaded (default ipip and ip6_tunnel). */
  available?: readonly string[];
  /** Modules loaded already. */
  loaded?: readonly string[];
}

const CONF = ['arp_ignore', 'arp_announce', 'rp_filter'];

/** A fresh kernel's IPv4 conf.all and conf.default values for what realserver reads. */
export function freshSysctls(): Record<string, number> {
  return Object.fromEntries(['all', 'default'].flatMap((d) => CONF.map((c) => [`net.ipv4.conf.${d}.${c}`, 0])));
}

/** An in-memory real server; `writes` logs every change made through it. */
export class FakeHost implements RealServerHost {
  readonly sysctls: Sysctls;
  readonly linkTable: ObservedLink[];
  addressTable: ObservedAddr[];
  readonly loaded: Set<string>;
  readonly available: Set<string>;
  /** Every change, in order, e.g. `link tunl0 up`, `sysctl net.ipv4.conf.all.rp_filter=0`. */
  readonly writes: string[] = [];
  closed = false;
  private nextIndex = 1;

  constructor(o: FakeHostOptions = {}) {
    this.sysctls = o.sysctls ?? new MemorySysctls(freshSysctls());
    this.linkTable = (o.links ?? [{ name: 'lo', up: true }, { name: 'eth0', up: true }]).map((l) => ({ ...l, index: this.nextIndex++ }));
    this.addressTable = [...(o.addresses ?? [])];
    this.available = new Set(o.available ?? ['ipip', 'ip6_tunnel']);
    this.loaded = new Set(o.loaded ?? []);
  }

  async links(): Promise<ObservedLink[]> {
    return this.linkTable.map((l) => ({ ...l }));
  }

  async addresses(): Promise<ObservedAddr[]> {
    return this.addressTable.map((a) => ({ ...a }));
  }

  read(key: string): number | undefined {
    return this.sysctls.read(key);
  }

  write(key: string, value: number): void {
    this.sysctls.write(key, value);
    this.writes.push(`sysctl ${key}=${value}`);
  }

  moduleLoaded(name: string): boolean {
    return this.loaded.has(name);
  }

  async createDevice(t: Tunnel): Promise<'created' | 'exists'> {
    if (this.linkTable.some((l) => l.name === t.device)) return 'exists';
    if (!this.loaded.has(t.module)) {
      if (!this.available.has(t.module)) throw new RealServerError('ENOMODULE', `module ${t.module}`, `the kernel has no ${t.module} module; nothing was changed`);
      this.loaded.add(t.module);
      this.writes.push(`modprobe ${t.module}`);
      this.addDevice(t.device);
      return 'exists'; // the module created it; NLM_F_EXCL then finds it (the kernel's EEXIST)
    }
    this.writes.push(`link add ${t.device} type ${t.kind}`);
    this.addDevice(t.device);
    return 'created';
  }

  async setLinkUp(device: string, up: boolean): Promise<void> {
    const l = this.link(device);
    (l as { up: boolean }).up = up;
    this.writes.push(`link ${device} ${up ? 'up' : 'down'}`);
  }

  async addAddress(device: string, family: 4 | 6, address: string, prefix: number): Promise<'added' | 'exists'> {
    this.link(device);
    if (this.addressTable.some((a) => a.device === device && a.address === address)) return 'exists';
    this.addressTable.push({ device, family, address, prefix });
    this.writes.push(`addr add ${address}/${prefix} dev ${device}`);
    return 'added';
  }

  async deleteAddress(device: string, _family: 4 | 6, address: string, prefix: number): Promise<'deleted' | 'absent'> {
    const before = this.addressTable.length;
    this.addressTable = this.addressTable.filter((a) => !(a.device === device && a.address === address && a.prefix === prefix));
    if (this.addressTable.length === before) return 'absent';
    this.writes.push(`addr del ${address}/${prefix} dev ${device}`);
    return 'deleted';
  }

  close(): void {
    this.closed = true;
  }

  private link(device: string): ObservedLink {
    const l = this.linkTable.find((x) => x.name === device);
    if (!l) throw new RealServerError('EKERNEL', `link ${device}`, 'no such interface');
    return l;
  }

  /** A new interface: down, with conf.<dev> sysctls copied from conf.default (IPv4 tunnels). */
  private addDevice(device: string): void {
    this.linkTable.push({ name: device, index: this.nextIndex++, up: false });
    if (device !== 'tunl0' || !(this.sysctls instanceof MemorySysctls)) return;
    for (const c of CONF) this.sysctls.define(`net.ipv4.conf.${device}.${c}`, this.sysctls.read(`net.ipv4.conf.default.${c}`) ?? 0);
  }
}
