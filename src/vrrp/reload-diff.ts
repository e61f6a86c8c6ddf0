/*
 * What a reload changes in the VRRP engine, computed from the old and the new configuration
 * alone (pure). Instances are matched by name. Each is compared as the engine runs it: its own
 * keywords plus what it takes from global_defs (version, multicast group, garp timings...),
 * from its sync group and from the vrrp_script / track_file blocks it tracks — so a changed
 * global default or script counts as a change of the instances that use it.
 */
import type { Config } from '../config/compile.js';
import type { VirtualIp, VrrpInstance } from '../config/schema/vrrp.js';

/** What changed in one instance that exists before and after. */
export interface InstanceUpdate {
  readonly name: string;
  /** keepalived keywords (or block names) that differ, e.g. `priority`, `virtual_ipaddress`. */
  readonly changed: readonly string[];
  /** One human line per change: `priority 150 → 160`, `virtual_ipaddress +192.0.2.2/24 −192.0.2.1/24`. */
  readonly details: readonly string[];
  /** VIPs (virtual_ipaddress and virtual_ipaddress_excluded) only in the new configuration. */
  readonly vipsAdded: readonly VirtualIp[];
  /** VIPs only in the old configuration. */
  readonly vipsRemoved: readonly VirtualIp[];
  /**
   * Set when the instance cannot be changed in place (its identity changed: interface, VRID,
   * address family or unicast source): it is stopped and started again, as keepalived treats a
   * different instance. The text says why.
   */
  readonly restart?: string;
}

/** The reload plan of the VRRP engine. */
export interface VrrpReloadPlan {
  /** Instances identical in every respect: left alone. */
  readonly keep: readonly string[];
  /** New instances: started. */
  readonly add: readonly string[];
  /** Instances no longer configured: stopped (priority-0 advert and VIPs released when MASTER). */
  readonly remove: readonly string[];
  /** Instances that changed: updated in place, or restarted when `restart` is set. */
  readonly update: readonly InstanceUpdate[];
}

/** Fields whose change makes a different instance: interface, VRID, family, unicast source. */
const IDENTITY = ['interface', 'vrid', 'family', 'unicastSrcIp'] as const;

/** JSON with sorted keys, so that keyword order in the file does not count as a change. */
export function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  );
}

/** keepalived's keyword for a model field: `virtualIpaddress` → `virtual_ipaddress`, `advertIntMs` → `advert_int`. */
export function keyword(field: string): string {
  if (field === 'vrid') return 'virtual_router_id';
  return field.replace(/Ms$/, '').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The address family an instance runs in (the engine's rule: first VIP, else unicast_src_ip). */
export function instanceFamily(vi: VrrpInstance): 4 | 6 {
  return vi.virtualIpaddress[0]?.family ?? (vi.unicastSrcIp?.includes(':') ? 6 : 4);
}

/** A VIP as the kernel knows it: address, prefix and device. */
export function vipKernelKey(vi: VrrpInstance, v: VirtualIp): string {
  return `${v.address}/${v.prefix}@${v.dev ?? vi.interface ?? ''}`;
}

/** The instance as the engine runs it: own fields, resolved global defaults, tracked blocks. */
function effective(vi: VrrpInstance, c: Config): Record<string, unknown> {
  const g = c.globalDefs;
  const family = instanceFamily(vi);
  const group = c.vrrpSyncGroups.find((x) => x.group.includes(vi.name));
  const scriptNames = new Set([...vi.trackScript, ...(group?.trackScript ?? [])].map((t) => t.name));
  const fileNames = new Set([...vi.trackFile, ...(group?.trackFile ?? [])].map((t) => t.name));
  const { name: _n, ...own } = vi;
  void _n;
  return {
    ...own,
    family,
    version: vi.version ?? g.vrrpVersion,
    mcastDstIp: vi.unicastPeer.length > 0 ? undefined : (vi.mcastDstIp ?? (family === 4 ? g.vrrpMcastGroup4 : g.vrrpMcastGroup6)),
    garpMasterDelayMs: vi.garpMasterDelayMs ?? g.vrrpGarpMasterDelayMs,
    garpMasterRepeat: vi.garpMasterRepeat ?? g.vrrpGarpMasterRepeat,
    garpMasterRefreshMs: vi.garpMasterRefreshMs ?? g.vrrpGarpMasterRefreshMs,
    garpMasterRefreshRepeat: vi.garpMasterRefreshRepeat ?? g.vrrpGarpMasterRefreshRepeat,
    garpLowerPrioRepeat: vi.garpLowerPrioRepeat ?? g.vrrpGarpLowerPrioRepeat,
    garpLowerPrioDelayMs: vi.garpLowerPrioDelayMs ?? g.vrrpGarpLowerPrioDelayMs,
    downTimerAdverts: vi.downTimerAdverts ?? g.vrrpDownTimerAdverts,
    lowerPrioNoAdvert: vi.lowerPrioNoAdvert ?? g.vrrpLowerPrioNoAdvert,
    higherPrioSendAdvert: vi.higherPrioSendAdvert ?? g.vrrpHigherPrioSendAdvert,
    checkUnicastSrc: vi.checkUnicastSrc || g.vrrpCheckUnicastSrc,
    skipCheckAdvAddr: vi.skipCheckAdvAddr ?? g.vrrpSkipCheckAdvAddr,
    // Blocks and globals the instance depends on, under the names an operator would look for.
    'vrrp_sync_group': group ?? null,
    'vrrp_script': c.vrrpScripts.filter((s) => scriptNames.has(s.name)),
    'track_file block': c.trackFiles.filter((f) => fileNames.has(f.name)),
    'script_user': scriptNames.size > 0 || vi.notify || vi.notifyMaster || vi.notifyBackup || vi.notifyFault || vi.notifyStop ? (g.scriptUser ?? null) : null,
  };
}

function fmtValue(field: string, v: unknown): string {
  if (v === undefined || v === null) return '(unset)';
  if (typeof v === 'number' && field.endsWith('Ms')) return `${v / 1000}s`;
  if (typeof v === 'object') return stableJson(v);
  return String(v);
}

/** `192.0.2.1/24 dev eth1 label eth0:1`. */
export function vipText(v: VirtualIp): string {
  return [`${v.address}/${v.prefix}`, ...(v.dev ? [`dev ${v.dev}`] : []), ...(v.label ? [`label ${v.label}`] : []), ...(v.scope ? [`scope ${v.scope}`] : [])].join(' ');
}

function vipDelta(before: readonly VirtualIp[], after: readonly VirtualIp[]): { added: VirtualIp[]; removed: VirtualIp[] } {
  const b = new Set(before.map(stableJson));
  const a = new Set(after.map(stableJson));
  return { added: after.filter((v) => !b.has(stableJson(v))), removed: before.filter((v) => !a.has(stableJson(v))) };
}

/** Compares one instance before and after; undefined when nothing that matters changed. */
export function diffInstance(before: VrrpInstance, beforeCfg: Config, after: VrrpInstance, afterCfg: Config): InstanceUpdate | undefined {
  const e0 = effective(before, beforeCfg);
  const e1 = effective(after, afterCfg);
  const fields = [...new Set([...Object.keys(e0), ...Object.keys(e1)])].filter((f) => stableJson(e0[f]) !== stableJson(e1[f]));
  if (fields.length === 0) return undefined;
  const details: string[] = [];
  for (const f of fields) {
    if (f === 'virtualIpaddress' || f === 'virtualIpaddressExcluded') {
      const d = vipDelta(before[f], after[f]);
      details.push(`${keyword(f)} ${[...d.added.map((v) => `+${vipText(v)}`), ...d.removed.map((v) => `−${vipText(v)}`)].join(' ')}`);
    } else if (typeof e0[f] === 'object' || typeof e1[f] === 'object') details.push(`${f.includes(' ') || f.includes('_') ? f : keyword(f)} changed`);
    else details.push(`${keyword(f)} ${fmtValue(f, e0[f])} → ${fmtValue(f, e1[f])}`);
  }
  const all = vipDelta([...before.virtualIpaddress, ...before.virtualIpaddressExcluded], [...after.virtualIpaddress, ...after.virtualIpaddressExcluded]);
  const identity = IDENTITY.filter((f) => fields.includes(f));
  return {
    name: after.name,
    changed: fields.map((f) => (f.includes(' ') || f.includes('_') ? f : keyword(f))),
    details,
    vipsAdded: all.added,
    vipsRemoved: all.removed,
    ...(identity.length > 0 ? { restart: `${identity.map(keyword).join(', ')} changed: a different instance (stopped and started again)` } : {}),
  };
}

/** The reload plan: which instances to keep, add, remove, and update (in place or by restart). */
export function planVrrpReload(before: Config, after: Config): VrrpReloadPlan {
  const old = new Map(before.vrrpInstances.map((v) => [v.name, v]));
  const neu = new Map(after.vrrpInstances.map((v) => [v.name, v]));
  const keep: string[] = [];
  const update: InstanceUpdate[] = [];
  for (const [name, vi] of neu) {
    const was = old.get(name);
    if (!was) continue;
    const u = diffInstance(was, before, vi, after);
    if (u) update.push(u);
    else keep.push(name);
  }
  return {
    keep,
    add: [...neu.keys()].filter((n) => !old.has(n)),
    remove: [...old.keys()].filter((n) => !neu.has(n)),
    update,
  };
}
