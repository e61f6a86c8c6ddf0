/*
 * The IPVS table vigil wants, from the configuration and the checkers' verdicts (pure). It follows
 * keepalived 2.2.7 (check/ipwrapper.c, ipvswrapper.c):
 *
 * - a real server that is up sits in its services at its effective (dynamic) weight; one that is
 *   down is removed, or kept at weight 0 with `inhibit_on_failure`;
 * - a real server not checked yet is up, unless it has checkers in alpha mode (then down); one
 *   without checkers is always up;
 * - the quorum (live weight against quorum ± hysteresis, see quorum.ts) decides the sorry server:
 *   while the quorum is lost, the sorry server is alone in the pool at weight 1 (the live real
 *   servers are taken out, inhibited ones kept at weight 0); `sorry_server_inhibit` keeps it at
 *   weight 0 while the quorum holds. Without a sorry server a lost quorum changes nothing in IPVS;
 * - a virtual_server_group becomes one kernel service per member (each address of a range, each
 *   fwmark), all with the same real servers;
 * - vigil's tunnel_check adds one fwmark service per checked tunnel, its real server alone at
 *   weight 1 whatever its health (tunnel-check.ts).
 */
import type { Granularity, LvsMethod, LvsModel, RealServer, SorryServer, VirtualServer, VsgEntry } from '../config/schema/lvs.js';
import { fromBig, toBig } from '../config/schema/lvs-args.js';
import {
  type Dest,
  type Service,
  type ServiceKey,
  SVC_F_ONEPACKET,
  SVC_F_PERSISTENT,
  SVC_F_SCHED1,
  SVC_F_SCHED2,
  SVC_F_SCHED3,
  destKey,
  destText,
  serviceKey,
} from '../ipvs/types.js';
import type { ServiceEntry } from './diff.js';
import { type QuorumEvent, type QuorumState, startQuorum, stepQuorum } from './quorum.js';
import { type TunnelService, tunnelServices } from './tunnel-check.js';
import { type OverrideAction, type OverrideView, applyOverride } from '../overrides/model.js';

/** A real server's verdict: up or down, and its effective weight (dynamic weights included). */
export interface RsHealth {
  readonly up: boolean;
  readonly weight: number;
}

/** The checkers' view of one real server of one virtual server; undefined: not checked yet. */
export type HealthView = (vs: VirtualServer, rs: RealServer) => RsHealth | undefined;

/** What a desired table is computed from. */
export interface DesiredInput {
  readonly lvs: Pick<LvsModel, 'virtualServers' | 'virtualServerGroups'>;
  readonly health: HealthView;
  /** Quorum state per virtual server (vsKey) from the previous computation; absent ones start fresh. */
  readonly quorum?: ReadonlyMap<string, QuorumState>;
  /** Operator overrides (drain: weight 0; disable: down), applied on top of the verdicts. */
  readonly overrides?: OverrideView;
}

/** One real server as the status shows it. */
export interface RsStatus {
  /** `198.51.100.11:80`. */
  readonly rs: string;
  readonly up: boolean;
  /** Whether the verdict came from a check (false: not checked yet, alpha/default applied). */
  readonly checked: boolean;
  /** Effective weight (what it has when up). */
  readonly weight: number;
  /** Weight installed in IPVS; undefined when it is not in the table. */
  readonly installed?: number;
  /** The operator override in force, if any. */
  readonly override?: OverrideAction;
}

/** One virtual server after the computation. */
export interface VsStatus {
  readonly vs: string;
  readonly quorum: QuorumState;
  /** Sum of the effective weights of the live real servers. */
  readonly weightSum: number;
  /** The sorry server is in the pool instead of the real servers. */
  readonly sorryActive: boolean;
  /** Kernel services this virtual server stands for (serviceKey). */
  readonly services: readonly string[];
  readonly realServers: readonly RsStatus[];
}

/** The desired table, the new quorum states, the quorum events to deliver and a status. */
export interface DesiredTable {
  readonly table: readonly ServiceEntry[];
  readonly quorum: ReadonlyMap<string, QuorumState>;
  readonly events: readonly QuorumEvent[];
  readonly status: readonly VsStatus[];
  /** The fwmark services of the tunnel checks (also in `table`). */
  readonly tunnels: readonly TunnelService[];
  /** Problems that left something out (two virtual servers on one kernel service, a missing group, a huge range). */
  readonly problems: readonly string[];
}

/** IP_VS_TUNNEL_ENCAP_FLAG_CSUM / REMCSUM (linux/ip_vs.h); nocsum is 0. */
const TUN_FLAGS = { nocsum: 0, csum: 1, remcsum: 2 } as const;
/** Largest number of kernel services one group entry may expand to. */
export const MAX_RANGE = 65536;
/** keepalived's IPVS_WEIGHT_LIMIT (INT_MAX). */
const WEIGHT_LIMIT = 2147483647;

const hostport = (family: 4 | 6, address: string, port: number): string => (family === 6 ? `[${address}]:${port}` : `${address}:${port}`);

/**
 * Stable name of a virtual server (key of quorum state, health and status), the same as the health
 * engine's (health/names.ts vsName): `192.0.2.100:80 TCP`, `fwmark 7`, `group web TCP`.
 */
export function vsKey(vs: VirtualServer): string {
  if (vs.kind === 'ip') return `${hostport(vs.family, vs.address, vs.port ?? 0)} ${vs.protocol}`;
  if (vs.kind === 'fwmark') return `fwmark ${vs.fwmark}${vs.family === 6 ? ' IPv6' : ''}`;
  return `group ${vs.group} ${vs.protocol}`;
}

/** Stable name of a real server within its virtual server: `198.51.100.11:80`. */
export function rsKey(rs: Pick<RealServer, 'family' | 'address' | 'port'>): string {
  return hostport(rs.family, rs.address, rs.port);
}

const PROTO = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' } as const;

function maskPrefix(mask: string): number {
  const n = Number(toBig(mask, 4));
  let p = 0;
  while (p < 32 && n & (0x80000000 >>> p)) p++;
  return p;
}

function netmaskFor(g: Granularity | undefined, family: 4 | 6): number {
  if (g?.family === 4 && family === 4) return maskPrefix(g.netmask);
  if (g?.family === 6 && family === 6) return g.prefix;
  return family === 4 ? 32 : 128;
}

/** Scheduler, flags and persistence of a virtual server (ipvswrapper.c ipvs_set_srule). */
function serviceOf(vs: VirtualServer, key: ServiceKey): Service {
  let flags = 0;
  if (vs.persistenceTimeoutS !== undefined) flags |= SVC_F_PERSISTENT;
  if (vs.ops) flags |= SVC_F_ONEPACKET;
  if (vs.flag1 || vs.shFallback || vs.mhFallback) flags |= SVC_F_SCHED1;
  if (vs.flag2 || vs.shPort || vs.mhPort) flags |= SVC_F_SCHED2;
  if (vs.flag3) flags |= SVC_F_SCHED3;
  return {
    ...key,
    scheduler: vs.lvsSched,
    flags,
    timeout: vs.persistenceTimeoutS ?? 0,
    netmask: netmaskFor(vs.persistenceGranularity, key.family),
    ...(vs.persistenceEngine !== undefined ? { peName: vs.persistenceEngine } : {}),
  } as Service;
}

/** The kernel services of a virtual server: one, or one per group member. */
function serviceKeys(vs: VirtualServer, groups: LvsModel['virtualServerGroups'], problems: string[]): ServiceKey[] {
  const protocol = PROTO[vs.protocol];
  if (vs.kind === 'ip') return [{ family: vs.family, protocol, address: vs.address, port: vs.port ?? 0 }];
  if (vs.kind === 'fwmark') return [{ family: vs.family, fwmark: vs.fwmark }];
  const g = groups.find((x) => x.name === vs.group);
  if (!g) {
    problems.push(`${vsKey(vs)}: virtual_server_group ${vs.group} is not defined`);
    return [];
  }
  return g.entries.flatMap((e) => memberKeys(e, vs, protocol, problems));
}

function memberKeys(e: VsgEntry, vs: VirtualServer, protocol: 'tcp' | 'udp' | 'sctp', problems: string[]): ServiceKey[] {
  if (e.kind === 'fwmark') return [{ family: e.family ?? vs.family ?? 4, fwmark: e.fwmark }];
  const first = toBig(e.first, e.family);
  const last = toBig(e.last, e.family);
  if (last - first >= BigInt(MAX_RANGE)) {
    problems.push(`${vsKey(vs)}: group range ${e.first}-${e.last} has more than ${MAX_RANGE} addresses; left out`);
    return [];
  }
  const out: ServiceKey[] = [];
  for (let n = first; n <= last; n++) out.push({ family: e.family, protocol, address: fromBig(n, e.family), port: e.port ?? 0 });
  return out;
}

/** A destination for a real or sorry server (ipvswrapper.c ipvs_set_drule). */
function destOf(s: { address: string; family: 4 | 6; port: number; lvsMethod: LvsMethod }, weight: number, rs?: RealServer): Dest {
  const m = s.lvsMethod;
  return {
    family: s.family,
    address: s.address,
    port: s.port,
    forward: m.method === 'NAT' ? 'nat' : m.method === 'DR' ? 'dr' : 'tun',
    weight,
    upperThreshold: rs?.upperThreshold ?? 0,
    lowerThreshold: rs?.lowerThreshold ?? 0,
    tunType: m.method === 'TUN' ? m.type : 'ipip',
    tunPort: m.method === 'TUN' ? (m.port ?? 0) : 0,
    tunFlags: m.method === 'TUN' ? TUN_FLAGS[m.csum] : 0,
  };
}

const clampWeight = (w: number): number => (Number.isFinite(w) ? Math.min(WEIGHT_LIMIT, Math.max(0, Math.trunc(w))) : 0);

/** A real server's verdict with keepalived's defaults for one not checked yet. */
function verdict(vs: VirtualServer, rs: RealServer, health: HealthView): { up: boolean; weight: number; checked: boolean } {
  const h = health(vs, rs);
  if (h) return { up: h.up, weight: clampWeight(h.weight), checked: true };
  return { up: !(rs.alpha && rs.checkers.length > 0), weight: rs.weight, checked: false };
}

/** The destinations of one virtual server for its quorum state. */
function destsOf(vs: VirtualServer, live: readonly { rs: RealServer; up: boolean; weight: number }[], sorryActive: boolean): Map<string, Dest> {
  const out = new Map<string, Dest>();
  for (const { rs, up, weight } of live) {
    const d = sorryActive ? (rs.inhibitOnFailure ? destOf(rs, 0, rs) : undefined) : up ? destOf(rs, weight, rs) : rs.inhibitOnFailure ? destOf(rs, 0, rs) : undefined;
    if (d) out.set(destKey(d), d);
  }
  const sorry: SorryServer | undefined = vs.sorryServer;
  if (sorry) {
    const key = destKey(sorry);
    if (sorryActive) out.set(key, destOf(sorry, 1));
    else if (sorry.inhibit && !out.has(key)) out.set(key, destOf(sorry, 0));
  }
  return out;
}

/**
 * Computes the desired IPVS table. Pure: the same input gives the same table; keep `quorum`
 * from the result and pass it back next time so that the hysteresis holds.
 */
export function desiredTable(input: DesiredInput): DesiredTable {
  const problems: string[] = [];
  const quorum = new Map<string, QuorumState>();
  const events: QuorumEvent[] = [];
  const status: VsStatus[] = [];
  const table = new Map<string, ServiceEntry>();
  const owner = new Map<string, string>();
  for (const vs of input.lvs.virtualServers) {
    const key = vsKey(vs);
    if (quorum.has(key)) {
      problems.push(`${key}: defined twice; the first one is used`);
      continue;
    }
    const live = vs.realServers.map((rs) => {
      const o = input.overrides?.(vs, rs);
      return { rs, ...applyOverride(verdict(vs, rs, input.health), o), override: o };
    });
    const weightSum = live.reduce((n, x) => n + (x.up ? x.weight : 0), 0);
    const prev = input.quorum?.get(key);
    const step = prev ? stepQuorum(key, vs, prev, weightSum) : startQuorum(key, vs, weightSum, vs.sorryServer !== undefined);
    quorum.set(key, step.state);
    if (step.event) events.push(step.event);
    const sorryActive = !step.state.up && vs.sorryServer !== undefined;
    const dests = destsOf(vs, live, sorryActive);
    const keys: string[] = [];
    for (const sk of serviceKeys(vs, input.lvs.virtualServerGroups, problems)) {
      const k = serviceKey(sk);
      const other = owner.get(k);
      if (other !== undefined) {
        problems.push(`${key}: kernel service ${k} already belongs to ${other}; left to it`);
        continue;
      }
      owner.set(k, key);
      keys.push(k);
      table.set(k, { service: serviceOf(vs, sk), dests: [...dests.values()] });
    }
    status.push({
      vs: key,
      quorum: step.state,
      weightSum,
      sorryActive,
      services: keys,
      realServers: live.map(({ rs, up, weight, checked, override }) => {
        const d = dests.get(destKey(rs));
        return { rs: destText(rs), up, checked, weight, ...(d ? { installed: d.weight } : {}), ...(override ? { override } : {}) };
      }),
    });
  }
  const tunnels = tunnelServices(input.lvs);
  problems.push(...tunnels.problems);
  const kept: TunnelService[] = [];
  tunnels.entries.forEach((e, i) => {
    const k = serviceKey(e.service);
    const other = owner.get(k);
    if (other !== undefined) {
      problems.push(`tunnel check ${tunnels.services[i]!.service} → ${tunnels.services[i]!.realServer}: kernel service already belongs to ${other}; left to it`);
      return;
    }
    owner.set(k, 'tunnel check');
    table.set(k, e);
    kept.push(tunnels.services[i]!);
  });
  return { table: [...table.values()], quorum, events, status, tunnels: kept, problems };
}
