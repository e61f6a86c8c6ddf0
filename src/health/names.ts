import type { Checker } from '../config/schema/checkers.js';
import type { RealServer, VirtualServer } from '../config/schema/lvs.js';

/*
 * How the health engine names things. Virtual servers: `192.0.2.100:80 TCP`, `[2001:db8::1]:443
 * TCP`, `fwmark 7` (`fwmark 7 IPv6` for an IPv6 fwmark service), `group NAME TCP` (a group may be
 * used once per protocol); a service written without a port (persistent) has port 0. Real servers: `10.0.0.2:80`, `[2001:db8::2]:80` (port 0
 * for fwmark services of DR/TUN servers). The fan-out key of a check is a canonical serialization
 * of its compiled checker, which holds every effective value (connect ip/port, timing, urls...).
 */

/** `addr:port`, IPv6 in brackets. */
export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The name of a virtual server in transitions, verdicts and status. */
export function vsName(vs: VirtualServer): string {
  if (vs.kind === 'fwmark') return `fwmark ${vs.fwmark}${vs.family === 6 ? ' IPv6' : ''}`;
  if (vs.kind === 'group') return `group ${vs.group} ${vs.protocol}`;
  return `${hostPort(vs.address, vs.port ?? 0)} ${vs.protocol}`;
}

/** The name of a real server within its virtual server. */
export function rsName(rs: Pick<RealServer, 'address' | 'port'>): string {
  return hostPort(rs.address, rs.port);
}

/** JSON with object keys sorted at every level: equal values give equal strings. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

/**
 * The fan-out key of a check: checks with equal keys are the same probe of the same target with
 * the same timing, run once for every (virtual server, real server) that has it.
 */
export function checkKey(c: Checker): string {
  return canonicalJson(c);
}
