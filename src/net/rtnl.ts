import { AF_INET, AF_INET6 } from './libc.js';
import { addressBytes, addressText } from '../vrrp/packet.js';
import {
  type NlMessage,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  attr,
  attrString,
  decodeAttrs,
  encodeMessage,
} from '../netlink/codec.js';
import { NetlinkError, NetlinkSocket } from '../netlink/socket.js';

/*
 * rtnetlink for what VRRP needs: interfaces (index, MAC, up/running, change events) and
 * addresses (list, add, delete — idempotent). No `ip` subprocess.
 */

const NETLINK_ROUTE = 0;
const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
const RTM_GETADDR = 22;
const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_LABEL = 3;
const IFA_BROADCAST = 4;
const IFA_FLAGS = 8;
const IFF_UP = 0x1;
const IFF_RUNNING = 0x40;
const IFF_LOWER_UP = 0x10000;
/** rtnetlink multicast groups (the legacy bitmask form). */
export const RTMGRP_LINK = 0x1;
export const RTMGRP_IPV4_IFADDR = 0x10;
export const RTMGRP_IPV6_IFADDR = 0x100;
const IFA_F_NODAD = 0x02;
const IFA_F_HOMEADDRESS = 0x10;
const IFA_F_NOPREFIXROUTE = 0x200;

/** Address scopes by name (iproute2's names; numbers accepted too). */
export const SCOPES: Record<string, number> = { global: 0, site: 200, link: 253, host: 254, nowhere: 255 };

/** An interface as rtnetlink reports it. */
export interface LinkInfo {
  readonly index: number;
  readonly name: string;
  /** Hardware address, lower-case colon-separated ('' when none). */
  readonly mac: string;
  /** Administratively up (IFF_UP). */
  readonly up: boolean;
  /** Operationally running with carrier (IFF_RUNNING and IFF_LOWER_UP). */
  readonly running: boolean;
  readonly mtu?: number;
  /** True for RTM_DELLINK notifications. */
  readonly deleted?: boolean;
}

/** An address on an interface. */
export interface AddrInfo {
  readonly index: number;
  readonly family: 4 | 6;
  readonly address: string;
  readonly prefix: number;
  readonly scope: number;
  readonly label?: string;
}

/** An address to add or delete. */
export interface AddrSpec {
  readonly index: number;
  readonly family: 4 | 6;
  readonly address: string;
  readonly prefix: number;
  readonly broadcast?: string;
  readonly peer?: string;
  readonly label?: string;
  readonly scope?: number;
  readonly noDad?: boolean;
  readonly home?: boolean;
  readonly noPrefixRoute?: boolean;
}

/** The rtnetlink operations the VRRP engine uses; the real one talks to the kernel. */
export interface Rtnl {
  links(): Promise<LinkInfo[]>;
  addresses(family?: 4 | 6): Promise<AddrInfo[]>;
  addAddress(a: AddrSpec): Promise<'added' | 'exists'>;
  deleteAddress(a: AddrSpec): Promise<'deleted' | 'absent'>;
  /** Sends a prepared route or rule message (RTM_NEWROUTE, RTM_DELRULE, ...); idempotent like the address calls. */
  change(op: string, adding: boolean, build: (seq: number) => Buffer): Promise<'added' | 'exists' | 'deleted' | 'absent'>;
  close(): void;
}

/** rtnetlink over a netlink socket; `onLink` receives link change notifications. */
export class KernelRtnl implements Rtnl {
  private readonly sock: NetlinkSocket;

  constructor(opts: { onLink?: (l: LinkInfo) => void } = {}) {
    this.sock = new NetlinkSocket(NETLINK_ROUTE, {
      ...(opts.onLink ? { groups: RTMGRP_LINK, onNotify: (m: NlMessage) => { const l = parseLink(m); if (l) opts.onLink!(l); } } : {}),
    });
  }

  async links(): Promise<LinkInfo[]> {
    const seq = this.sock.nextSeq();
    const msgs = await this.sock.request('rtnl.getLinks', seq, encodeMessage(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq, Buffer.alloc(16)));
    return msgs.map(parseLink).filter((l): l is LinkInfo => l !== undefined);
  }

  async addresses(family?: 4 | 6): Promise<AddrInfo[]> {
    const seq = this.sock.nextSeq();
    const fixed = Buffer.alloc(8);
    fixed[0] = family === 4 ? AF_INET : family === 6 ? AF_INET6 : 0;
    const msgs = await this.sock.request('rtnl.getAddresses', seq, encodeMessage(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq, fixed));
    return msgs.map(parseAddr).filter((a): a is AddrInfo => a !== undefined);
  }

  async addAddress(a: AddrSpec): Promise<'added' | 'exists'> {
    const seq = this.sock.nextSeq();
    try {
      await this.sock.request(`rtnl.addAddress ${a.address}/${a.prefix} on ifindex ${a.index}`, seq, addrMessage(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, a));
      return 'added';
    } catch (e) {
      if (e instanceof NetlinkError && e.code === 'EEXIST') return 'exists';
      throw e;
    }
  }

  async deleteAddress(a: AddrSpec): Promise<'deleted' | 'absent'> {
    const seq = this.sock.nextSeq();
    try {
      await this.sock.request(`rtnl.deleteAddress ${a.address}/${a.prefix} on ifindex ${a.index}`, seq, addrMessage(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, seq, a));
      return 'deleted';
    } catch (e) {
      if (e instanceof NetlinkError && (e.code === 'EADDRNOTAVAIL' || e.code === 'ENODEV')) return 'absent';
      throw e;
    }
  }

  async change(op: string, adding: boolean, build: (seq: number) => Buffer): Promise<'added' | 'exists' | 'deleted' | 'absent'> {
    const seq = this.sock.nextSeq();
    try {
      await this.sock.request(op, seq, build(seq));
      return adding ? 'added' : 'deleted';
    } catch (e) {
      if (e instanceof NetlinkError && adding && e.code === 'EEXIST') return 'exists';
      if (e instanceof NetlinkError && !adding && (e.code === 'ESRCH' || e.code === 'ENOENT')) return 'absent';
      throw e;
    }
  }

  close(): void {
    this.sock.close();
  }
}

/** Builds RTM_NEWADDR / RTM_DELADDR. */
export function addrMessage(type: number, flags: number, seq: number, a: AddrSpec): Buffer {
  const fixed = Buffer.alloc(8);
  fixed[0] = a.family === 4 ? AF_INET : AF_INET6;
  fixed[1] = a.prefix;
  let ifaFlags = 0;
  if (a.noDad) ifaFlags |= IFA_F_NODAD;
  if (a.home) ifaFlags |= IFA_F_HOMEADDRESS;
  if (a.noPrefixRoute) ifaFlags |= IFA_F_NOPREFIXROUTE;
  fixed[2] = ifaFlags & 0xff;
  fixed[3] = a.scope ?? 0;
  fixed.writeUInt32LE(a.index, 4);
  const local = addressBytes(a.address, a.family);
  const attrs = [attr.bytes(IFA_LOCAL, local), attr.bytes(IFA_ADDRESS, a.peer ? addressBytes(a.peer, a.family) : local)];
  if (a.broadcast && a.family === 4) attrs.push(attr.bytes(IFA_BROADCAST, addressBytes(a.broadcast, 4)));
  if (a.label && a.family === 4) attrs.push(attr.str(IFA_LABEL, a.label));
  if (ifaFlags > 0xff) attrs.push(attr.u32(IFA_FLAGS, ifaFlags));
  return encodeMessage(type, flags, seq, fixed, attrs);
}

/** Parses RTM_NEWLINK / RTM_DELLINK. */
export function parseLink(m: NlMessage): LinkInfo | undefined {
  if ((m.type !== RTM_NEWLINK && m.type !== RTM_DELLINK) || m.body.length < 16) return undefined;
  const index = m.body.readInt32LE(4);
  const flags = m.body.readUInt32LE(8);
  const attrs = decodeAttrs(m.body.subarray(16));
  const mac = attrs.get(IFLA_ADDRESS);
  const mtu = attrs.get(IFLA_MTU);
  return {
    index,
    name: attrString(attrs.get(IFLA_IFNAME)) ?? '',
    mac: mac ? [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':') : '',
    up: (flags & IFF_UP) !== 0,
    running: (flags & IFF_RUNNING) !== 0 && (flags & IFF_LOWER_UP) !== 0,
    ...(mtu && mtu.length >= 4 ? { mtu: mtu.readUInt32LE(0) } : {}),
    ...(m.type === RTM_DELLINK ? { deleted: true } : {}),
  };
}

/** Parses RTM_NEWADDR. */
export function parseAddr(m: NlMessage): AddrInfo | undefined {
  if (m.type !== RTM_NEWADDR || m.body.length < 8) return undefined;
  const fam = m.body[0] === AF_INET ? 4 : m.body[0] === AF_INET6 ? 6 : undefined;
  if (!fam) return undefined;
  const attrs = decodeAttrs(m.body.subarray(8));
  const raw = attrs.get(IFA_LOCAL) ?? attrs.get(IFA_ADDRESS);
  if (!raw || raw.length !== (fam === 4 ? 4 : 16)) return undefined;
  const label = attrString(attrs.get(IFA_LABEL));
  return {
    index: m.body.readUInt32LE(4),
    family: fam,
    address: addressText(raw, fam),
    prefix: m.body[1]!,
    scope: m.body[3]!,
    ...(label ? { label } : {}),
  };
}

const IFLA_LINKINFO = 18;
const IFLA_INFO_KIND = 1;

/**
 * Builds RTM_NEWLINK setting an interface administratively up or down (ifi_change = IFF_UP, so
 * no other flag is touched); send it with `Rtnl.change`.
 */
export function linkUpMessage(seq: number, index: number, up: boolean): Buffer {
  const fixed = Buffer.alloc(16);
  fixed.writeInt32LE(index, 4);
  fixed.writeUInt32LE(up ? IFF_UP : 0, 8);
  fixed.writeUInt32LE(IFF_UP, 12);
  return encodeMessage(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, fixed);
}

/**
 * Builds RTM_NEWLINK creating interface `name` of link kind `kind` (NLM_F_CREATE | NLM_F_EXCL).
 * When the kind is unknown the kernel first asks its module loader for `rtnl-link-<kind>`
 * (request_module, as `ip link add` does), so this also loads e.g. `ipip`; a kernel without the
 * module answers EOPNOTSUPP, an existing interface of that name EEXIST.
 */
export function newLinkMessage(seq: number, name: string, kind: string): Buffer {
  return encodeMessage(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, Buffer.alloc(16), [
    attr.str(IFLA_IFNAME, name),
    attr.nested(IFLA_LINKINFO, [attr.str(IFLA_INFO_KIND, kind)]),
  ]);
}
