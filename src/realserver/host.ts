import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type AddrSpec, KernelRtnl, linkUpMessage, newLinkMessage } from '../net/rtnl.js';
import { NetlinkError } from '../netlink/socket.js';
import { RealServerError } from './errors.js';
import type { Observed, ObservedAddr, ObservedLink, Tunnel } from './model.js';
import { SysctlFs, type Sysctls } from './sysctl.js';

/** The machine `vigil realserver` reads and changes; the real one is the kernel, tests may fake it. */
export interface RealServerHost extends Sysctls {
  links(): Promise<ObservedLink[]>;
  addresses(): Promise<ObservedAddr[]>;
  moduleLoaded(name: string): boolean;
  /** Creates the tunnel device (the kernel loads its module first); 'exists' when it was there. */
  createDevice(t: Tunnel): Promise<'created' | 'exists'>;
  setLinkUp(device: string, up: boolean): Promise<void>;
  addAddress(device: string, family: 4 | 6, address: string, prefix: number): Promise<'added' | 'exists'>;
  deleteAddress(device: string, family: 4 | 6, address: string, prefix: number): Promise<'deleted' | 'absent'>;
  close(): void;
}

/** Reads everything `plan` needs about `modules` and `sysctlKeys`. */
export async function observe(host: RealServerHost, sysctlKeys: readonly string[], modules: readonly string[]): Promise<Observed> {
  // one after the other: a netlink socket runs one dump at a time (EBUSY otherwise)
  const links = await host.links();
  const addresses = await host.addresses();
  const sysctls: Record<string, number | undefined> = {};
  for (const k of sysctlKeys) sysctls[k] = host.read(k);
  return { links, addresses, sysctls, modules: modules.filter((m) => host.moduleLoaded(m)) };
}

/** Where the kernel host reads its files (tests point them at temp folders). */
export interface KernelHostOptions {
  /** Default `/proc/sys`. */
  procSys?: string;
  /** Default `/sys` (modules are `<sys>/module/<name>`). */
  sys?: string;
}

function kernelError(op: string, e: unknown): RealServerError {
  if (e instanceof RealServerError) return e;
  const code = e instanceof NetlinkError ? e.code : ((e as NodeJS.ErrnoException).code ?? (e as Error).message);
  const hint = code === 'EPERM' || code === 'EACCES' ? ' (run as root: this needs CAP_NET_ADMIN)' : '';
  return new RealServerError('EKERNEL', op, `${code}${hint}`, { cause: e });
}

/** The real machine: rtnetlink for links and addresses, `/proc/sys` for sysctls, `/sys/module`. */
export class KernelHost implements RealServerHost {
  private readonly rtnl = new KernelRtnl();
  private readonly sysctls: SysctlFs;
  private readonly sys: string;

  constructor(opts: KernelHostOptions = {}) {
    this.sysctls = new SysctlFs(opts.procSys);
    this.sys = opts.sys ?? '/sys';
  }

  async links(): Promise<ObservedLink[]> {
    try {
      return (await this.rtnl.links()).map((l) => ({ name: l.name, index: l.index, up: l.up }));
    } catch (e) {
      throw kernelError('rtnl.links', e);
    }
  }

  async addresses(): Promise<ObservedAddr[]> {
    try {
      const links = await this.rtnl.links();
      const addrs = await this.rtnl.addresses();
      const names = new Map(links.map((l) => [l.index, l.name]));
      return addrs.map((a) => ({ device: names.get(a.index) ?? `ifindex ${a.index}`, family: a.family, address: a.address, prefix: a.prefix }));
    } catch (e) {
      throw kernelError('rtnl.addresses', e);
    }
  }

  read(key: string): number | undefined {
    return this.sysctls.read(key);
  }

  write(key: string, value: number): void {
    this.sysctls.write(key, value);
  }

  moduleLoaded(name: string): boolean {
    return existsSync(join(this.sys, 'module', name));
  }

  async createDevice(t: Tunnel): Promise<'created' | 'exists'> {
    const op = `rtnl.newLink ${t.device} type ${t.kind}`;
    try {
      const r = await this.rtnl.change(op, true, (seq) => newLinkMessage(seq, t.device, t.kind));
      return r === 'exists' ? 'exists' : 'created';
    } catch (e) {
      if (e instanceof NetlinkError && e.code === 'EOPNOTSUPP') {
        throw new RealServerError(
          'ENOMODULE',
          `module ${t.module}`,
          `the kernel has no ${t.module} module (it cannot create ${t.device}: EOPNOTSUPP, unknown link type ${t.kind}), so tunnel mode cannot work here; ` +
            `load it with \`modprobe ${t.module}\` (a kernel built with CONFIG_${t.family === 4 ? 'NET_IPIP' : 'IPV6_TUNNEL'}); nothing was changed`,
          { cause: e },
        );
      }
      throw kernelError(op, e);
    }
  }

  async setLinkUp(device: string, up: boolean): Promise<void> {
    const op = `rtnl.setLink ${device} ${up ? 'up' : 'down'}`;
    try {
      const index = await this.index(device);
      await this.rtnl.change(op, true, (seq) => linkUpMessage(seq, index, up));
    } catch (e) {
      throw kernelError(op, e);
    }
  }

  async addAddress(device: string, family: 4 | 6, address: string, prefix: number): Promise<'added' | 'exists'> {
    try {
      return await this.rtnl.addAddress(await this.spec(device, family, address, prefix));
    } catch (e) {
      throw kernelError(`rtnl.addAddress ${address}/${prefix} on ${device}`, e);
    }
  }

  async deleteAddress(device: string, family: 4 | 6, address: string, prefix: number): Promise<'deleted' | 'absent'> {
    try {
      return await this.rtnl.deleteAddress(await this.spec(device, family, address, prefix));
    } catch (e) {
      throw kernelError(`rtnl.deleteAddress ${address}/${prefix} on ${device}`, e);
    }
  }

  close(): void {
    this.rtnl.close();
  }

  private async index(device: string): Promise<number> {
    const l = (await this.rtnl.links()).find((x) => x.name === device);
    if (!l) throw new RealServerError('EKERNEL', `link ${device}`, 'no such interface');
    return l.index;
  }

  private async spec(device: string, family: 4 | 6, address: string, prefix: number): Promise<AddrSpec> {
    // nodad: ip6tnl0 is NOARP anyway; a VIP must be usable at once
    return { index: await this.index(device), family, address, prefix, ...(family === 6 ? { noDad: true } : {}) };
  }
}
