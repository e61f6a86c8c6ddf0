/*
 * IPVS generic-netlink codec (linux/ip_vs.h, "IPVS" family version 1), pure: request attributes
 * for services and destinations, and decoders for the kernel's GET_SERVICE / GET_DEST / GET_INFO
 * replies. Decoders never throw on kernel input: they return a DecodeResult, skip unknown
 * attributes and ignore trailing bytes.
 */
import { type Attr, type NlMessage, attr, attrString, decodeAttrs } from '../netlink/codec.js';
import { decodeGenl } from '../netlink/genl.js';
import { addressBytes, addressText } from '../vrrp/packet.js';
import {
  type Dest,
  type DestKey,
  type ForwardMethod,
  type IpvsInfo,
  type IpvsProtocol,
  type IpvsStats,
  type Service,
  type ServiceKey,
  SVC_F_HASHED,
  type SyncDaemon,
  type SyncState,
  type IpvsTimeouts,
  type TunnelType,
} from './types.js';

/** Family name and version registered by ip_vs_ctl.c. */
export const IPVS_GENL_NAME = 'IPVS';
export const IPVS_GENL_VERSION = 1;

/** IPVS_CMD_* (linux/ip_vs.h). */
export const CMD = {
  NEW_SERVICE: 1,
  SET_SERVICE: 2,
  DEL_SERVICE: 3,
  GET_SERVICE: 4,
  NEW_DEST: 5,
  SET_DEST: 6,
  DEL_DEST: 7,
  GET_DEST: 8,
  NEW_DAEMON: 9,
  DEL_DAEMON: 10,
  GET_DAEMON: 11,
  SET_CONFIG: 12,
  GET_CONFIG: 13,
  SET_INFO: 14,
  GET_INFO: 15,
  ZERO: 16,
  FLUSH: 17,
} as const;

/** IPVS_CMD_ATTR_* (first level). */
export const CMD_ATTR = { SERVICE: 1, DEST: 2, DAEMON: 3, TIMEOUT_TCP: 4, TIMEOUT_TCP_FIN: 5, TIMEOUT_UDP: 6 } as const;
/** IPVS_SVC_ATTR_* (inside CMD_ATTR.SERVICE). */
export const SVC_ATTR = {
  AF: 1,
  PROTOCOL: 2,
  ADDR: 3,
  PORT: 4,
  FWMARK: 5,
  SCHED_NAME: 6,
  FLAGS: 7,
  TIMEOUT: 8,
  NETMASK: 9,
  STATS: 10,
  PE_NAME: 11,
  STATS64: 12,
} as const;
/** IPVS_DEST_ATTR_* (inside CMD_ATTR.DEST). */
export const DEST_ATTR = {
  ADDR: 1,
  PORT: 2,
  FWD_METHOD: 3,
  WEIGHT: 4,
  U_THRESH: 5,
  L_THRESH: 6,
  ACTIVE_CONNS: 7,
  INACT_CONNS: 8,
  PERSIST_CONNS: 9,
  STATS: 10,
  ADDR_FAMILY: 11,
  STATS64: 12,
  TUN_TYPE: 13,
  TUN_PORT: 14,
  TUN_FLAGS: 15,
} as const;
/** IPVS_DAEMON_ATTR_* (inside CMD_ATTR.DAEMON). */
export const DAEMON_ATTR = {
  STATE: 1,
  MCAST_IFN: 2,
  SYNC_ID: 3,
  SYNC_MAXLEN: 4,
  MCAST_GROUP: 5,
  MCAST_GROUP6: 6,
  MCAST_PORT: 7,
  MCAST_TTL: 8,
} as const;
/** IP_VS_STATE_MASTER / IP_VS_STATE_BACKUP. */
const SYNC_STATES: Record<SyncState, number> = { master: 1, backup: 2 };
/** IPVS_STATS_ATTR_* in order CONNS..OUTBPS (1..10). */
const STATS_FIELDS = ['conns', 'inPkts', 'outPkts', 'inBytes', 'outBytes', 'cps', 'inPps', 'outPps', 'inBps', 'outBps'] as const;
/** IPVS_INFO_ATTR_*. */
export const INFO_ATTR = { VERSION: 1, CONN_TAB_SIZE: 2 } as const;

const AF_INET = 2;
const AF_INET6 = 10;
const PROTOCOLS: Record<IpvsProtocol, number> = { tcp: 6, udp: 17, sctp: 132 };
const FORWARD: readonly ForwardMethod[] = ['nat', 'local', 'tun', 'dr', 'bypass'];
const TUN_TYPES: readonly TunnelType[] = ['ipip', 'gue', 'gre'];

/** A decoder's answer: the value, or why the input was refused (never thrown). */
export type DecodeResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: IpvsDecodeError };

/** Kernel input that does not describe a valid IPVS object. */
export class IpvsDecodeError extends Error {
  readonly code = 'EIPVSDECODE';
  constructor(message: string) {
    super(message);
    this.name = 'IpvsDecodeError';
  }
}

const fail = (msg: string): { ok: false; error: IpvsDecodeError } => ({ ok: false, error: new IpvsDecodeError(msg) });

const familyAf = (f: 4 | 6): number => (f === 4 ? AF_INET : AF_INET6);
const afFamily = (af: number): 4 | 6 | undefined => (af === AF_INET ? 4 : af === AF_INET6 ? 6 : undefined);

/** The 16-byte union nf_inet_addr the kernel uses for every address attribute (IPv4 in the first 4). */
function inetAddr(address: string, family: 4 | 6): Buffer {
  const out = Buffer.alloc(16);
  addressBytes(address, family).copy(out);
  return out;
}

function netmaskAttr(prefix: number, family: 4 | 6): Attr {
  // IPv4: a __be32 mask; IPv6: the prefix length as a host-order u32 (ip_vs_ctl.c, ipvsadm).
  if (family === 6) return attr.u32(SVC_ATTR.NETMASK, prefix);
  const b = Buffer.alloc(4);
  b.writeUInt32BE(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
  return attr.bytes(SVC_ATTR.NETMASK, b);
}

/** Service attributes, in the kernel's and ipvsadm's order; `full` adds scheduler, flags, timeout, netmask. */
export function serviceAttrs(s: ServiceKey | Service, full: boolean): Attr[] {
  const out: Attr[] = [attr.u16(SVC_ATTR.AF, familyAf(s.family))];
  if (s.fwmark !== undefined) out.push(attr.u32(SVC_ATTR.FWMARK, s.fwmark));
  else out.push(attr.u16(SVC_ATTR.PROTOCOL, PROTOCOLS[s.protocol]), attr.bytes(SVC_ATTR.ADDR, inetAddr(s.address, s.family)), attr.u16be(SVC_ATTR.PORT, s.port));
  if (full && 'scheduler' in s) {
    out.push(attr.str(SVC_ATTR.SCHED_NAME, s.scheduler));
    if (s.peName !== undefined) out.push(attr.str(SVC_ATTR.PE_NAME, s.peName));
    const flags = Buffer.alloc(8); // struct ip_vs_flags { flags, mask }: set exactly these flags
    flags.writeUInt32LE((s.flags & ~SVC_F_HASHED) >>> 0, 0);
    flags.writeUInt32LE(0xffffffff, 4);
    out.push(attr.bytes(SVC_ATTR.FLAGS, flags), attr.u32(SVC_ATTR.TIMEOUT, s.timeout), netmaskAttr(s.netmask, s.family));
  }
  return out;
}

/** Destination attributes, in ipvsadm's order (libipvs); `full` adds forwarding, weight, tunnel, thresholds. */
export function destAttrs(d: DestKey | Dest, full: boolean): Attr[] {
  const out: Attr[] = [attr.u16(DEST_ATTR.ADDR_FAMILY, familyAf(d.family)), attr.bytes(DEST_ATTR.ADDR, inetAddr(d.address, d.family)), attr.u16be(DEST_ATTR.PORT, d.port)];
  if (full && 'forward' in d) {
    out.push(
      attr.u32(DEST_ATTR.FWD_METHOD, FORWARD.indexOf(d.forward)),
      attr.u32(DEST_ATTR.WEIGHT, d.weight),
      attr.u8(DEST_ATTR.TUN_TYPE, TUN_TYPES.indexOf(d.tunType)),
      attr.u16be(DEST_ATTR.TUN_PORT, d.tunPort),
      attr.u16(DEST_ATTR.TUN_FLAGS, d.tunFlags),
      attr.u32(DEST_ATTR.U_THRESH, d.upperThreshold),
      attr.u32(DEST_ATTR.L_THRESH, d.lowerThreshold),
    );
  }
  return out;
}

/** First-level attributes of a request: the nested service and/or destination. */
export function requestAttrs(svc: { s: ServiceKey | Service; full: boolean } | undefined, dest?: { d: DestKey | Dest; full: boolean }): Attr[] {
  const out: Attr[] = [];
  if (svc) out.push(attr.nested(CMD_ATTR.SERVICE, serviceAttrs(svc.s, svc.full)));
  if (dest) out.push(attr.nested(CMD_ATTR.DEST, destAttrs(dest.d, dest.full)));
  return out;
}

/**
 * Attributes inside CMD_ATTR.DAEMON for NEW_DAEMON, in libipvs's order (ipvs_start_daemon):
 * state, interface, sync id, then the optional maxlen, port, ttl and group. The port is a
 * host-order u16 and the IPv4 group raw network bytes (nla_get_u16 / nla_get_in_addr).
 */
export function daemonAttrs(d: SyncDaemon): Attr[] {
  const out: Attr[] = [attr.u32(DAEMON_ATTR.STATE, SYNC_STATES[d.state]), attr.str(DAEMON_ATTR.MCAST_IFN, d.ifname), attr.u32(DAEMON_ATTR.SYNC_ID, d.syncId)];
  if (d.maxlen) out.push(attr.u16(DAEMON_ATTR.SYNC_MAXLEN, d.maxlen));
  if (d.port) out.push(attr.u16(DAEMON_ATTR.MCAST_PORT, d.port));
  if (d.ttl) out.push(attr.u8(DAEMON_ATTR.MCAST_TTL, d.ttl));
  if (d.group !== undefined) {
    const fam = d.group.includes(':') ? 6 : 4;
    out.push(attr.bytes(fam === 4 ? DAEMON_ATTR.MCAST_GROUP : DAEMON_ATTR.MCAST_GROUP6, addressBytes(d.group, fam)));
  }
  return out;
}

/**
 * First-level attributes of NEW_DAEMON (`full`) or DEL_DAEMON: the kernel only reads the state
 * of the latter; an empty interface and sync id 0 go with it, as ipvsadm sends them.
 */
export function daemonRequestAttrs(d: SyncDaemon | { state: SyncState }, full: boolean): Attr[] {
  return [attr.nested(CMD_ATTR.DAEMON, daemonAttrs(full && 'ifname' in d ? d : { state: d.state, ifname: '', syncId: 0 }))];
}

/** First-level attributes of SET_CONFIG: the three timeouts in seconds (0 = leave as is). */
export function timeoutAttrs(t: IpvsTimeouts): Attr[] {
  return [attr.u32(CMD_ATTR.TIMEOUT_TCP, t.tcp), attr.u32(CMD_ATTR.TIMEOUT_TCP_FIN, t.tcpFin), attr.u32(CMD_ATTR.TIMEOUT_UDP, t.udp)];
}

// ---- decoding -------------------------------------------------------------------------------

const u8 = (b: Buffer | undefined): number | undefined => (b && b.length >= 1 ? b.readUInt8(0) : undefined);
const u16 = (b: Buffer | undefined): number | undefined => (b && b.length >= 2 ? b.readUInt16LE(0) : undefined);
const u16be = (b: Buffer | undefined): number | undefined => (b && b.length >= 2 ? b.readUInt16BE(0) : undefined);
const u32 = (b: Buffer | undefined): number | undefined => (b && b.length >= 4 ? b.readUInt32LE(0) : undefined);

function readAddr(b: Buffer | undefined, family: 4 | 6): string | undefined {
  const n = family === 4 ? 4 : 16;
  return b && b.length >= n ? addressText(b.subarray(0, n), family) : undefined;
}

function prefixOfMask(mask: number): number {
  let n = 0;
  while (n < 32 && mask & (0x80000000 >>> n)) n++;
  return n;
}

/** Decodes a nested IPVS_*_ATTR_STATS (u32/u64 mix) or STATS64 (all u64) attribute; absent fields are 0. */
export function decodeStats(buf: Buffer): IpvsStats {
  const a = decodeAttrs(buf);
  const out: Record<string, bigint> = {};
  STATS_FIELDS.forEach((name, i) => {
    const b = a.get(i + 1);
    out[name] = b === undefined ? 0n : b.length >= 8 ? b.readBigUInt64LE(0) : b.length >= 4 ? BigInt(b.readUInt32LE(0)) : 0n;
  });
  return out as unknown as IpvsStats;
}

/** Decodes the attributes inside CMD_ATTR.SERVICE. */
export function decodeService(buf: Buffer): DecodeResult<Service> {
  const a = decodeAttrs(buf);
  const af = u16(a.get(SVC_ATTR.AF));
  const family = af === undefined ? undefined : afFamily(af);
  if (family === undefined) return fail(`service: address family ${af ?? 'missing'} is not AF_INET or AF_INET6`);
  const scheduler = attrString(a.get(SVC_ATTR.SCHED_NAME));
  const flagsB = a.get(SVC_ATTR.FLAGS);
  const timeout = u32(a.get(SVC_ATTR.TIMEOUT));
  const maskB = a.get(SVC_ATTR.NETMASK);
  if (scheduler === undefined || !flagsB || flagsB.length < 4 || timeout === undefined || !maskB || maskB.length < 4)
    return fail('service: scheduler, flags, timeout or netmask missing');
  const netmask = family === 4 ? prefixOfMask(maskB.readUInt32BE(0)) : maskB.readUInt32LE(0);
  const peName = attrString(a.get(SVC_ATTR.PE_NAME));
  const s64 = a.get(SVC_ATTR.STATS64);
  const s32 = a.get(SVC_ATTR.STATS);
  const common = {
    scheduler,
    flags: flagsB.readUInt32LE(0) & ~SVC_F_HASHED,
    timeout,
    netmask,
    ...(peName !== undefined ? { peName } : {}),
    ...(s64 ? { stats: decodeStats(s64) } : s32 ? { stats: decodeStats(s32) } : {}),
  };
  const fwmark = u32(a.get(SVC_ATTR.FWMARK));
  if (fwmark !== undefined && fwmark !== 0) return { ok: true, value: { family, fwmark, ...common } };
  const protoNum = u16(a.get(SVC_ATTR.PROTOCOL));
  const protocol = (Object.keys(PROTOCOLS) as IpvsProtocol[]).find((p) => PROTOCOLS[p] === protoNum);
  const address = readAddr(a.get(SVC_ATTR.ADDR), family);
  const port = u16be(a.get(SVC_ATTR.PORT));
  if (protocol === undefined || address === undefined || port === undefined)
    return fail(`service: neither a fwmark nor protocol/address/port (protocol ${protoNum ?? 'missing'})`);
  return { ok: true, value: { family, protocol, address, port, ...common } };
}

/** Decodes the attributes inside CMD_ATTR.DEST; `svcFamily` applies when ADDR_FAMILY is absent (old kernels). */
export function decodeDest(buf: Buffer, svcFamily: 4 | 6 = 4): DecodeResult<Dest> {
  const a = decodeAttrs(buf);
  const af = u16(a.get(DEST_ATTR.ADDR_FAMILY));
  const family = af === undefined ? svcFamily : afFamily(af);
  if (family === undefined) return fail(`dest: address family ${af} is not AF_INET or AF_INET6`);
  const address = readAddr(a.get(DEST_ATTR.ADDR), family);
  const port = u16be(a.get(DEST_ATTR.PORT));
  const fwd = u32(a.get(DEST_ATTR.FWD_METHOD));
  const weight = u32(a.get(DEST_ATTR.WEIGHT));
  if (address === undefined || port === undefined || fwd === undefined || weight === undefined) return fail('dest: address, port, forwarding method or weight missing');
  const forward = FORWARD[fwd & 0x7];
  if (forward === undefined) return fail(`dest ${address}: forwarding method ${fwd} unknown`);
  const tunType = TUN_TYPES[u8(a.get(DEST_ATTR.TUN_TYPE)) ?? 0];
  if (tunType === undefined) return fail(`dest ${address}: tunnel type ${u8(a.get(DEST_ATTR.TUN_TYPE))} unknown`);
  const s64 = a.get(DEST_ATTR.STATS64);
  const s32 = a.get(DEST_ATTR.STATS);
  return {
    ok: true,
    value: {
      family,
      address,
      port,
      forward,
      weight: weight | 0, // the kernel's weight is an int
      upperThreshold: u32(a.get(DEST_ATTR.U_THRESH)) ?? 0,
      lowerThreshold: u32(a.get(DEST_ATTR.L_THRESH)) ?? 0,
      tunType,
      tunPort: u16be(a.get(DEST_ATTR.TUN_PORT)) ?? 0,
      tunFlags: u16(a.get(DEST_ATTR.TUN_FLAGS)) ?? 0,
      conns: {
        active: u32(a.get(DEST_ATTR.ACTIVE_CONNS)) ?? 0,
        inactive: u32(a.get(DEST_ATTR.INACT_CONNS)) ?? 0,
        persistent: u32(a.get(DEST_ATTR.PERSIST_CONNS)) ?? 0,
      },
      ...(s64 ? { stats: decodeStats(s64) } : s32 ? { stats: decodeStats(s32) } : {}),
    },
  };
}

function nestedOf(m: NlMessage, type: number): DecodeResult<Buffer> {
  const g = decodeGenl(m);
  if (!g) return fail(`message type ${m.type}: shorter than a genl header`);
  const inner = decodeAttrs(g.attrs).get(type);
  return inner ? { ok: true, value: inner } : fail(`message cmd ${g.cmd}: no nested attribute ${type}`);
}

/** Decodes one GET_SERVICE dump message. */
export function decodeServiceMessage(m: NlMessage): DecodeResult<Service> {
  const n = nestedOf(m, CMD_ATTR.SERVICE);
  return n.ok ? decodeService(n.value) : n;
}

/** Decodes one GET_DEST dump message. */
export function decodeDestMessage(m: NlMessage, svcFamily: 4 | 6 = 4): DecodeResult<Dest> {
  const n = nestedOf(m, CMD_ATTR.DEST);
  return n.ok ? decodeDest(n.value, svcFamily) : n;
}

/** Decodes the GET_INFO reply (top-level INFO attributes). */
export function decodeInfoMessage(m: NlMessage): DecodeResult<IpvsInfo> {
  const g = decodeGenl(m);
  if (!g) return fail('info: shorter than a genl header');
  const a = decodeAttrs(g.attrs);
  const version = u32(a.get(INFO_ATTR.VERSION));
  const connTableSize = u32(a.get(INFO_ATTR.CONN_TAB_SIZE));
  if (version === undefined || connTableSize === undefined) return fail('info: version or connection table size missing');
  return { ok: true, value: { version, versionText: `${(version >> 16) & 0xff}.${(version >> 8) & 0xff}.${version & 0xff}`, connTableSize } };
}

/** Decodes the attributes inside CMD_ATTR.DAEMON (one GET_DAEMON dump message each). */
export function decodeDaemon(buf: Buffer): DecodeResult<SyncDaemon> {
  const a = decodeAttrs(buf);
  const st = u32(a.get(DAEMON_ATTR.STATE));
  const state = (Object.keys(SYNC_STATES) as SyncState[]).find((k) => SYNC_STATES[k] === st);
  const ifname = attrString(a.get(DAEMON_ATTR.MCAST_IFN));
  const syncId = u32(a.get(DAEMON_ATTR.SYNC_ID));
  if (state === undefined || ifname === undefined || syncId === undefined) return fail(`daemon: state ${st ?? 'missing'}, interface or sync id missing`);
  const g4 = a.get(DAEMON_ATTR.MCAST_GROUP);
  const g6 = a.get(DAEMON_ATTR.MCAST_GROUP6);
  const group = g4 && g4.length >= 4 ? readAddr(g4, 4) : g6 && g6.length >= 16 ? readAddr(g6, 6) : undefined;
  const maxlen = u16(a.get(DAEMON_ATTR.SYNC_MAXLEN));
  const port = u16(a.get(DAEMON_ATTR.MCAST_PORT));
  const ttl = u8(a.get(DAEMON_ATTR.MCAST_TTL));
  return {
    ok: true,
    value: {
      state,
      ifname,
      syncId,
      ...(maxlen !== undefined ? { maxlen } : {}),
      ...(group !== undefined ? { group } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(ttl !== undefined ? { ttl } : {}),
    },
  };
}

/** Decodes one GET_DAEMON dump message. */
export function decodeDaemonMessage(m: NlMessage): DecodeResult<SyncDaemon> {
  const n = nestedOf(m, CMD_ATTR.DAEMON);
  return n.ok ? decodeDaemon(n.value) : n;
}

/** Decodes the GET_CONFIG reply (top-level TIMEOUT_* attributes, seconds). */
export function decodeConfigMessage(m: NlMessage): DecodeResult<IpvsTimeouts> {
  const g = decodeGenl(m);
  if (!g) return fail('config: shorter than a genl header');
  const a = decodeAttrs(g.attrs);
  const tcp = u32(a.get(CMD_ATTR.TIMEOUT_TCP));
  const tcpFin = u32(a.get(CMD_ATTR.TIMEOUT_TCP_FIN));
  const udp = u32(a.get(CMD_ATTR.TIMEOUT_UDP));
  if (tcp === undefined || tcpFin === undefined || udp === undefined) return fail('config: a timeout (tcp, tcpfin, udp) is missing');
  return { ok: true, value: { tcp, tcpFin, udp } };
}

/** Decodes every message of a dump; the ones that fail come back as errors, never thrown. */
export function decodeAll<T>(msgs: readonly NlMessage[], one: (m: NlMessage) => DecodeResult<T>): { values: T[]; errors: IpvsDecodeError[] } {
  const values: T[] = [];
  const errors: IpvsDecodeError[] = [];
  for (const m of msgs) {
    const r = one(m);
    if (r.ok) values.push(r.value);
    else errors.push(r.error);
  }
  return { values, errors };
}
