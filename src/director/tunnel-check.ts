/*
 * The IPVS side of vigil's `tunnel_check` (config/schema/tunnel-check.ts): for each tunnel the
 * compiled checkers name, one fwmark service holding that real server alone, in tunnel mode with
 * its encapsulation, at weight 1 whatever its health (the check must reach it to see it recover).
 * A probe marked with that fwmark is taken by IPVS at LOCAL_OUT (fwmark services are looked up
 * before address/port ones) and leaves encapsulated to that one real server. Pure; desired.ts adds
 * these services to the table, where they are adopted, diffed and removed like any other.
 */
import type { CheckConn } from '../config/schema/checkers.js';
import type { LvsModel } from '../config/schema/lvs.js';
import type { TunnelPath } from '../config/schema/tunnel-check.js';
import { type Dest, type Service, destEqual, destText, serviceKey, serviceText } from '../ipvs/types.js';
import type { ServiceEntry } from './diff.js';

/** IP_VS_TUNNEL_ENCAP_FLAG_CSUM / REMCSUM (linux/ip_vs.h); nocsum is 0. */
const TUN_FLAGS = { nocsum: 0, csum: 1, remcsum: 2 } as const;

/** One tunnel-check service, for status and logs. */
export interface TunnelService {
  /** `fwmark 2134074379`. */
  readonly service: string;
  readonly fwmark: number;
  /** The real server it steers to: `198.51.100.12`. */
  readonly realServer: string;
}

/** The tunnel-check services and what had to be left out. */
export interface TunnelServices {
  readonly entries: readonly ServiceEntry[];
  readonly services: readonly TunnelService[];
  readonly problems: readonly string[];
}

/** The fwmark service of one tunnel. */
export function tunnelEntry(t: TunnelPath): ServiceEntry {
  const service: Service = { family: t.family, fwmark: t.fwmark, scheduler: 'rr', flags: 0, timeout: 0, netmask: t.family === 4 ? 32 : 128 };
  const dest: Dest = {
    family: t.realServerFamily,
    address: t.realServer,
    port: 0,
    forward: 'tun',
    weight: 1,
    upperThreshold: 0,
    lowerThreshold: 0,
    tunType: t.method.type,
    tunPort: t.method.port ?? 0,
    tunFlags: TUN_FLAGS[t.method.csum],
  };
  return { service, dests: [dest] };
}

/** The fwmark services every `tunnel_check` of the configuration needs, one per (family, mark). Pure. */
export function tunnelServices(lvs: Pick<LvsModel, 'virtualServers'>): TunnelServices {
  const entries = new Map<string, ServiceEntry>();
  const services: TunnelService[] = [];
  const problems: string[] = [];
  for (const vs of lvs.virtualServers)
    for (const rs of vs.realServers)
      for (const ck of rs.checkers) {
        const t = (ck as Partial<CheckConn>).tunnel;
        if (t === undefined) continue;
        const e = tunnelEntry(t);
        const k = serviceKey(e.service);
        const prev = entries.get(k);
        if (prev === undefined) {
          entries.set(k, e);
          services.push({ service: serviceText(e.service), fwmark: t.fwmark, realServer: t.realServer });
        } else if (!destEqual(prev.dests[0]!, e.dests[0]!))
          problems.push(`tunnel check ${serviceText(e.service)}: wanted for ${destText(prev.dests[0]!)} and ${destText(e.dests[0]!)}; the first is kept`);
      }
  return { entries: [...entries.values()], services, problems };
}
