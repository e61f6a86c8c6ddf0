/*
 * The IPVS objects vigil reads and writes: virtual services, their destinations (real servers)
 * and counters, with explicit identity (`key`), configuration equality that ignores counters
 * (`equal`) and the text that names them in errors and logs. Pure.
 */

/** Transport protocol of a service that is not fwmark-based. */
export type IpvsProtocol = 'tcp' | 'udp' | 'sctp';
/** Forwarding method (IP_VS_CONN_F_FWD_MASK values: MASQ 0, LOCALNODE 1, TUNNEL 2, DROUTE 3, BYPASS 4). */
export type ForwardMethod = 'nat' | 'local' | 'tun' | 'dr' | 'bypass';
/** Tunnel encapsulation of a TUN destination (IP_VS_CONN_F_TUNNEL_TYPE_*). */
export type TunnelType = 'ipip' | 'gue' | 'gre';

/** Identifies a service: protocol, address and port, or a firewall mark (both per address family). */
export type ServiceKey =
  | { readonly family: 4 | 6; readonly protocol: IpvsProtocol; readonly address: string; readonly port: number; readonly fwmark?: undefined }
  | { readonly family: 4 | 6; readonly fwmark: number; readonly protocol?: undefined; readonly address?: undefined; readonly port?: undefined };

/** IP_VS_SVC_F_* (linux/ip_vs.h). HASHED is kernel-internal and never part of a Service's flags. */
export const SVC_F_PERSISTENT = 0x1;
export const SVC_F_HASHED = 0x2;
export const SVC_F_ONEPACKET = 0x4;
export const SVC_F_SCHED1 = 0x8;
export const SVC_F_SCHED2 = 0x10;
export const SVC_F_SCHED3 = 0x20;

/** Connection counters of a service or destination (IPVS_STATS_ATTR_*; the 64-bit set when present). */
export interface IpvsStats {
  readonly conns: bigint;
  readonly inPkts: bigint;
  readonly outPkts: bigint;
  readonly inBytes: bigint;
  readonly outBytes: bigint;
  readonly cps: bigint;
  readonly inPps: bigint;
  readonly outPps: bigint;
  readonly inBps: bigint;
  readonly outBps: bigint;
}

/** A virtual service's configuration, plus its counters when read from the kernel. */
export type Service = ServiceKey & {
  readonly scheduler: string;
  /** IP_VS_SVC_F_* without HASHED: PERSISTENT, ONEPACKET, SCHED1..3 (e.g. sh-fallback, sh-port, mh flags). */
  readonly flags: number;
  /** Persistence timeout in seconds (meaningful with SVC_F_PERSISTENT). */
  readonly timeout: number;
  /** Persistence netmask as a prefix length (0–32 for IPv4, 0–128 for IPv6). */
  readonly netmask: number;
  /** Persistence engine ("sip"), when one is set. */
  readonly peName?: string;
  readonly stats?: IpvsStats;
};

/** Identifies a destination within its service. */
export interface DestKey {
  readonly family: 4 | 6;
  readonly address: string;
  readonly port: number;
}

/** Active/inactive/persistent connection counts of a destination. */
export interface DestConns {
  readonly active: number;
  readonly inactive: number;
  readonly persistent: number;
}

/** A destination's configuration, plus its counters when read from the kernel. */
export interface Dest extends DestKey {
  readonly forward: ForwardMethod;
  readonly weight: number;
  /** Upper connection threshold (0 = none). */
  readonly upperThreshold: number;
  /** Lower connection threshold (0 = none). */
  readonly lowerThreshold: number;
  /** Tunnel type, port (GUE) and flags (IP_VS_TUNNEL_ENCAP_FLAG_*); used with forward 'tun'. */
  readonly tunType: TunnelType;
  readonly tunPort: number;
  readonly tunFlags: number;
  readonly conns?: DestConns;
  readonly stats?: IpvsStats;
}

/** General IPVS information (IPVS_CMD_GET_INFO). */
export interface IpvsInfo {
  /** IP_VS_VERSION_CODE, e.g. 0x010201 = "1.2.1". */
  readonly version: number;
  readonly versionText: string;
  /** Size of the connection hash table. */
  readonly connTableSize: number;
}

const hostport = (family: 4 | 6, address: string, port: number): string => (family === 6 ? `[${address}]:${port}` : `${address}:${port}`);

/** Stable identity of a service: equal keys denote the same kernel object. */
export function serviceKey(s: ServiceKey): string {
  return s.fwmark !== undefined ? `fwm|${s.family}|${s.fwmark}` : `${s.protocol}|${s.family}|${s.address}|${s.port}`;
}

/** How a service is named in errors and logs: `192.0.2.100:80`, `udp [2001:db8::1]:53`, `fwmark 7 IPv6`. */
export function serviceText(s: ServiceKey): string {
  if (s.fwmark !== undefined) return `fwmark ${s.fwmark}${s.family === 6 ? ' IPv6' : ''}`;
  return `${s.protocol === 'tcp' ? '' : `${s.protocol} `}${hostport(s.family, s.address, s.port)}`;
}

/** Only the identifying fields of a service. */
export function serviceKeyOf(s: ServiceKey): ServiceKey {
  return s.fwmark !== undefined
    ? { family: s.family, fwmark: s.fwmark }
    : { family: s.family, protocol: s.protocol, address: s.address, port: s.port };
}

/** Configuration equality of two services; counters are ignored. */
export function serviceEqual(a: Service, b: Service): boolean {
  return (
    serviceKey(a) === serviceKey(b) &&
    a.scheduler === b.scheduler &&
    (a.flags & ~SVC_F_HASHED) === (b.flags & ~SVC_F_HASHED) &&
    a.timeout === b.timeout &&
    a.netmask === b.netmask &&
    (a.peName ?? '') === (b.peName ?? '')
  );
}

/** Stable identity of a destination within its service. */
export function destKey(d: DestKey): string {
  return `${d.family}|${d.address}|${d.port}`;
}

/** How a destination is named: `198.51.100.11:80`, `[2001:db8::11]:80`. */
export function destText(d: DestKey): string {
  return hostport(d.family, d.address, d.port);
}

/** Configuration equality of two destinations; counters are ignored, tunnel fields only matter for 'tun'. */
export function destEqual(a: Dest, b: Dest): boolean {
  const tun = a.forward !== 'tun' || (a.tunType === b.tunType && a.tunPort === b.tunPort && a.tunFlags === b.tunFlags);
  return (
    destKey(a) === destKey(b) &&
    a.forward === b.forward &&
    a.weight === b.weight &&
    a.upperThreshold === b.upperThreshold &&
    a.lowerThreshold === b.lowerThreshold &&
    tun
  );
}

/** The same service without counters. */
export function serviceConfig(s: Service): Service {
  const { stats: _s, ...rest } = s;
  return rest as Service;
}

/** The same destination without counters. */
export function destConfig(d: Dest): Dest {
  const { stats: _s, conns: _c, ...rest } = d;
  return rest;
}

/** Role of a connection-sync daemon (IP_VS_STATE_MASTER 1, IP_VS_STATE_BACKUP 2). */
export type SyncState = 'master' | 'backup';

/**
 * A connection-synchronisation daemon (IPVS_CMD_NEW_DAEMON / GET_DAEMON). Optional fields left
 * out on start take the kernel's defaults (maxlen from the interface MTU, group 224.0.0.81 or
 * ff02::8:81... as the kernel has it, port 8848, ttl 1); the kernel reports them all back.
 */
export interface SyncDaemon {
  readonly state: SyncState;
  /** Interface the daemon sends or listens on. */
  readonly ifname: string;
  /** Sync id 0-255: a backup only accepts messages with its own id. */
  readonly syncId: number;
  /** Largest sync message payload (bytes). */
  readonly maxlen?: number;
  /** Multicast group (IPv4 or IPv6). */
  readonly group?: string;
  /** UDP port. */
  readonly port?: number;
  /** Multicast TTL. */
  readonly ttl?: number;
}

/** How a sync daemon is named in errors and logs: `master sync daemon eth0 id 5`. */
export function syncDaemonText(d: Pick<SyncDaemon, 'state'> & Partial<SyncDaemon>): string {
  return `${d.state} sync daemon${d.ifname !== undefined ? ` ${d.ifname}` : ''}${d.syncId !== undefined ? ` id ${d.syncId}` : ''}`;
}

/**
 * IPVS connection timeouts in seconds (IPVS_CMD_SET_CONFIG / GET_CONFIG): established TCP,
 * TCP after FIN, UDP. On set, 0 leaves that timeout as it is (ip_vs_set_timeout).
 */
export interface IpvsTimeouts {
  readonly tcp: number;
  readonly tcpFin: number;
  readonly udp: number;
}
