import fs from 'node:fs';
import type { RouteSpec, RuleSpec } from '../config/schema/vrrp-routes.js';
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, type Attr, attr, encodeMessage } from '../netlink/codec.js';
import { addressBytes } from '../vrrp/packet.js';
import { AF_INET, AF_INET6 } from './libc.js';

/*
 * virtual_routes / virtual_rules as rtnetlink messages (RTM_NEWROUTE/DELROUTE,
 * RTM_NEWRULE/DELRULE), pure. The subset of `ip route` / `ip rule` syntax that maps onto plain
 * attributes is supported; anything else is reported, not silently dropped.
 */

export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_NEWRULE = 32;
export const RTM_DELRULE = 33;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_PREFSRC = 7;
const RTA_TABLE = 15;
const FRA_DST = 1;
const FRA_SRC = 2;
const FRA_PRIORITY = 6;
const FRA_TABLE = 15;
const FR_ACT_TO_TBL = 1;
/** keepalived marks its routes with protocol 18 (RTPROT_KEEPALIVED); vigil does the same. */
export const RTPROT_KEEPALIVED = 18;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RT_SCOPE_HOST = 254;
const TYPES: Record<string, number> = { unicast: 1, local: 2, broadcast: 3, anycast: 4, multicast: 5, blackhole: 6, unreachable: 7, prohibit: 8, throw: 9, nat: 10 };
const ROUTE_WORDS = new Set(['via', 'gw', 'dev', 'oif', 'table', 'metric', 'priority', 'preference', 'src', 'no_track', 'track_group', 'inet6', ...Object.keys(TYPES)]);
const RULE_WORDS = new Set(['from', 'to', 'table', 'lookup', 'preference', 'priority', 'order', 'no_track', 'track_group', 'inet6', 'all']);

/** Routing table name → number, from iproute2's rt_tables (main 254, local 255, default 253). */
export function tableId(name: string | undefined, file = '/etc/iproute2/rt_tables'): number | undefined {
  if (name === undefined) return 254;
  if (/^\d+$/.test(name)) return Number(name);
  const builtin: Record<string, number> = { main: 254, local: 255, default: 253, unspec: 0 };
  if (builtin[name] !== undefined) return builtin[name];
  try {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const m = /^\s*(\d+)\s+(\S+)/.exec(line);
      if (m && m[2] === name) return Number(m[1]);
    }
  } catch {
    /* no table file */
  }
  return undefined;
}

/** Why a route or rule cannot be expressed, or undefined when it can. */
export function unsupported(words: readonly string[], known: ReadonlySet<string>): string | undefined {
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (known.has(w)) {
      if (!['no_track', 'inet6', 'all', ...Object.keys(TYPES)].includes(w)) i++; // skip its value
      continue;
    }
    if (i === 0 || /^[0-9a-fA-F.:/]+$|^default$/.test(w)) continue; // the destination / selector
    return `'${w}' is not supported by vigil yet`;
  }
  return undefined;
}

/** RTM_NEWROUTE / RTM_DELROUTE for one virtual route; `ifindex` resolves `dev`. */
export function routeMessage(type: number, seq: number, r: RouteSpec, ifindex: (dev: string) => number | undefined): Buffer {
  const fam = r.family;
  const fixed = Buffer.alloc(12);
  fixed[0] = fam === 4 ? AF_INET : AF_INET6;
  fixed[1] = r.dest.prefix;
  const table = tableId(r.table) ?? 254;
  fixed[4] = table < 256 ? table : 252; // RT_TABLE_COMPAT; the real id goes in RTA_TABLE
  fixed[5] = RTPROT_KEEPALIVED;
  const rtype = TYPES[r.type ?? 'unicast'] ?? 1;
  fixed[6] = rtype === TYPES.local ? RT_SCOPE_HOST : r.via || rtype !== 1 ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  fixed[7] = rtype;
  const attrs: Attr[] = [attr.u32(RTA_TABLE, table)];
  if (r.dest.prefix > 0) attrs.push(attr.bytes(RTA_DST, addressBytes(r.dest.address, fam)));
  if (r.via) attrs.push(attr.bytes(RTA_GATEWAY, addressBytes(r.via, fam)));
  if (r.src) attrs.push(attr.bytes(RTA_PREFSRC, addressBytes(r.src, fam)));
  if (r.dev) {
    const idx = ifindex(r.dev);
    if (idx !== undefined) attrs.push(attr.u32(RTA_OIF, idx));
  }
  if (r.metric !== undefined) attrs.push(attr.u32(RTA_PRIORITY, r.metric));
  const flags = type === RTM_NEWROUTE ? NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL : NLM_F_REQUEST | NLM_F_ACK;
  return encodeMessage(type, flags, seq, fixed, attrs);
}

/** RTM_NEWRULE / RTM_DELRULE for one virtual rule. */
export function ruleMessage(type: number, seq: number, r: RuleSpec): Buffer {
  const fam = r.family ?? (typeof r.from === 'object' ? r.from.family : typeof r.to === 'object' ? r.to.family : 4);
  const fixed = Buffer.alloc(12);
  fixed[0] = fam === 4 ? AF_INET : AF_INET6;
  if (typeof r.to === 'object') fixed[1] = r.to.prefix;
  if (typeof r.from === 'object') fixed[2] = r.from.prefix;
  const table = tableId(r.table) ?? 254;
  fixed[4] = table < 256 ? table : 252;
  fixed[7] = FR_ACT_TO_TBL;
  const attrs: Attr[] = [attr.u32(FRA_TABLE, table)];
  if (typeof r.from === 'object' && r.from.prefix > 0) attrs.push(attr.bytes(FRA_SRC, addressBytes(r.from.address, fam)));
  if (typeof r.to === 'object' && r.to.prefix > 0) attrs.push(attr.bytes(FRA_DST, addressBytes(r.to.address, fam)));
  if (r.preference !== undefined) attrs.push(attr.u32(FRA_PRIORITY, r.preference));
  const flags = type === RTM_NEWRULE ? NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL : NLM_F_REQUEST | NLM_F_ACK;
  return encodeMessage(type, flags, seq, fixed, attrs);
}

/** Words a route may use here. */
export const routeWords: ReadonlySet<string> = ROUTE_WORDS;
/** Words a rule may use here. */
export const ruleWords: ReadonlySet<string> = RULE_WORDS;
