import type { Diagnostics, Pos } from './diagnostics.js';
import { fieldPos } from './schema/dsl.js';
import type { RootModel } from './schema/root.js';
import { entryPos } from './schema/vrrp-args.js';
import type { Tracked, VrrpInstance } from './schema/vrrp.js';
import type { HostChecks, PosOf } from './validate.js';

/** The address family an instance runs: its first VIP, else its source or first peer, else IPv4. */
export function instanceFamily(vi: VrrpInstance): 4 | 6 {
  return vi.virtualIpaddress[0]?.family ?? (vi.unicastSrcIp ? (vi.unicastSrcIp.includes(':') ? 6 : 4) : (vi.unicastPeer[0]?.family ?? (vi.nativeIpv6 ? 6 : 4)));
}

/** The VRRP version an instance runs: its own, 3 for IPv6, else global vrrp_version. */
export function instanceVersion(vi: VrrpInstance, m: RootModel): 2 | 3 {
  return vi.version ?? (instanceFamily(vi) === 6 ? 3 : m.globalDefs.vrrpVersion);
}

/** True when the instance runs keepalived's strict mode (its strict_mode, else global vrrp_strict). */
export function instanceStrict(vi: VrrpInstance, m: RootModel): boolean {
  return vi.strictMode ?? m.globalDefs.vrrpStrict;
}

/** Cross-block checks of the VRRP side: names, references, VRIDs, version and strict-mode rules. */
export function validateVrrp(m: RootModel, diag: Diagnostics, host: HostChecks, at: PosOf): void {
  const where = (o: object, field: string): Pos => entryPos(o) ?? at(o, field);
  const unique = <T extends { name: string }>(items: readonly T[], kind: string): Map<string, T> => {
    const seen = new Map<string, T>();
    for (const it of items) {
      const prev = seen.get(it.name);
      if (prev) diag.error(at(it), 'duplicate-name', `${kind} ${it.name} is defined twice (first at line ${at(prev).line}); keepalived skips the second`);
      else seen.set(it.name, it);
    }
    return seen;
  };
  const instances = unique(m.vrrpInstances, 'vrrp_instance');
  const scripts = unique(m.vrrpScripts, 'vrrp_script');
  const files = unique(m.trackFiles, 'track_file');
  const processes = unique(m.trackProcesses, 'vrrp_track_process');
  const bfds = unique(m.bfdInstances, 'bfd_instance');
  const groups = unique(m.vrrpSyncGroups, 'vrrp_sync_group');
  const trackGroups = unique(m.trackGroups, 'track_group');

  const refs = (owner: { name: string }, kind: string, field: string, list: readonly Tracked[], known: Map<string, unknown>, what: string) => {
    for (const t of list)
      if (!known.has(t.name)) diag.error(where(t, field), 'unknown-reference', `${kind} ${owner.name}: ${field.replace(/[A-Z]/g, (x) => `_${x.toLowerCase()}`)} '${t.name}' is not defined by any ${what}`);
  };
  const trackRefs = (o: VrrpInstance | (typeof m.vrrpSyncGroups)[number], kind: string) => {
    refs(o, kind, 'trackScript', o.trackScript, scripts, 'vrrp_script');
    refs(o, kind, 'trackFile', o.trackFile, files, 'track_file');
    refs(o, kind, 'trackProcess', o.trackProcess, processes, 'vrrp_track_process');
    refs(o, kind, 'trackBfd', o.trackBfd, bfds, 'bfd_instance');
  };

  // Sync groups: members exist and belong to one group only.
  const memberOf = new Map<string, string>();
  for (const g of groups.values()) {
    trackRefs(g, 'vrrp_sync_group');
    for (const name of g.group) {
      if (!instances.has(name)) diag.error(at(g, 'group'), 'unknown-reference', `vrrp_sync_group ${g.name}: member '${name}' is not a vrrp_instance`);
      const other = memberOf.get(name);
      if (other && other !== g.name) diag.error(at(g, 'group'), 'duplicate-member', `vrrp_instance ${name} is in vrrp_sync_group ${other} and ${g.name}; an instance can be in one sync group only`);
      else memberOf.set(name, g.name);
    }
    if (g.group.length === 1) diag.warn(at(g, 'group'), 'single-member', `vrrp_sync_group ${g.name} has only one member; a sync group needs two to be useful`);
  }

  // Instances.
  const vrids = new Map<string, VrrpInstance>();
  const gd = m.globalDefs;
  let syncIfInstance: VrrpInstance | undefined;
  for (const vi of instances.values()) {
    const what = `vrrp_instance ${vi.name}`;
    const version = instanceVersion(vi, m);
    const strict = instanceStrict(vi, m);
    const family = instanceFamily(vi);
    trackRefs(vi, 'vrrp_instance');
    if (version === 2 && vi.advertIntMs % 1000 !== 0)
      diag.error(at(vi, 'advertIntMs'), 'invalid-value', `${what}: VRRPv2 advert_int must be whole seconds (got ${vi.advertIntMs / 1000}); use 'version 3' for sub-second adverts`);
    if (version === 3 && (vi.advertIntMs % 10 !== 0 || vi.advertIntMs > 40950))
      diag.error(at(vi, 'advertIntMs'), 'invalid-value', `${what}: VRRPv3 advert_int must be a multiple of 0.01 s up to 40.95 s (RFC 5798 §5.2.7), got ${vi.advertIntMs / 1000}`);
    if (version === 3 && vi.authentication)
      diag.error(at(vi, 'authentication'), 'invalid-value', `${what}: VRRPv3 has no authentication (RFC 5798 §9); remove the authentication block or use version 2`);
    if (vi.priority === 255 && vi.state === 'BACKUP')
      diag.warn(at(vi, 'priority'), 'owner-backup', `${what}: priority 255 (address owner) with state BACKUP; the owner always becomes MASTER at once`);
    if (vi.priority === 255) {
      const weighted = [...vi.trackScript, ...vi.trackFile, ...vi.trackProcess, ...vi.trackBfd, ...vi.trackInterface].find((t) => t.weight !== undefined && t.weight !== 0);
      if (weighted) diag.warn(where(weighted, 'trackScript'), 'owner-weight', `${what}: an address owner (priority 255) cannot change priority; the weight of '${weighted.name}' is ignored (keepalived sets it to 0)`);
    }
    const group = memberOf.get(vi.name);
    if (group && !groups.get(group)!.syncGroupTrackingWeight) {
      const weighted = [...vi.trackScript, ...vi.trackFile, ...vi.trackProcess, ...vi.trackBfd, ...vi.trackInterface].find((t) => t.weight !== undefined && t.weight !== 0);
      if (weighted) diag.warn(where(weighted, 'trackScript'), 'sync-weight', `${what} is in vrrp_sync_group ${group}: tracking weights of members are ignored (keepalived sets them to 0) unless the group sets sync_group_tracking_weight`);
    }
    if (strict) {
      const why = vi.strictMode !== undefined ? 'strict_mode' : 'vrrp_strict';
      if (vi.virtualIpaddress.length === 0) diag.error(at(vi, 'virtualIpaddress'), 'strict-mode', `${what}: ${why} needs at least one virtual_ipaddress`);
      if (vi.unicastPeer.length > 0) diag.error(at(vi, 'unicastPeer'), 'strict-mode', `${what}: ${why} does not allow unicast_peer (RFC VRRP is multicast)`);
      if (vi.authentication) diag.error(at(vi, 'authentication'), 'strict-mode', `${what}: ${why} does not allow authentication`);
      if (version === 2 && family === 6) diag.error(at(vi), 'strict-mode', `${what}: ${why} does not allow IPv6 with VRRPv2`);
      if (vi.preemptDelayMs > 0) diag.warn(at(vi, 'preemptDelayMs'), 'strict-mode', `${what}: ${why} does not support preempt_delay; it is ignored (as keepalived does)`);
      if (vi.state === 'MASTER' && vi.priority !== 255) diag.warn(at(vi, 'state'), 'strict-mode', `${what}: ${why} allows state MASTER only with priority 255; starting as BACKUP (as keepalived does)`);
      if (version === 2 && vi.accept === true) diag.warn(at(vi, 'accept'), 'strict-mode', `${what}: ${why} does not allow accept mode with VRRPv2; it is ignored`);
      if (family === 6 && vi.virtualIpaddress[0] && !vi.virtualIpaddress[0].address.startsWith('fe80:'))
        diag.warn(where(vi.virtualIpaddress[0], 'virtualIpaddress'), 'strict-mode', `${what}: ${why}: the first IPv6 VIP should be link-local (RFC 5798 §5.2.9)`);
    } else if (vi.virtualIpaddress.length === 0 && !fieldPos(vi, 'virtualIpaddress')) {
      diag.warn(at(vi), 'no-vip', `${what} has no virtual_ipaddress`);
    }
    if (vi.interface && host.interfaceExists && !host.interfaceExists(vi.interface))
      diag.error(at(vi, 'interface'), 'unknown-interface', `${what}: interface '${vi.interface}' does not exist on this host`);
    if (host.interfaceExists) for (const t of vi.trackInterface) if (!host.interfaceExists(t.name)) diag.warn(where(t, 'trackInterface'), 'unknown-interface', `${what}: tracked interface '${t.name}' does not exist on this host`);
    if (vi.lvsSyncDaemonInterface) {
      if (gd.lvsSyncDaemon) diag.warn(at(vi, 'lvsSyncDaemonInterface'), 'ignored', `${what}: lvs_sync_daemon_interface is ignored because global_defs sets lvs_sync_daemon`);
      else if (syncIfInstance) diag.warn(at(vi, 'lvsSyncDaemonInterface'), 'ignored', `${what}: lvs_sync_daemon_interface is already set by vrrp_instance ${syncIfInstance.name}; ignored`);
      else syncIfInstance = vi;
    }
    // VRIDs: one per interface and family, unless unicast peers are disjoint or multicast groups differ.
    if (vi.vrid !== undefined) {
      const dev = vi.interface ?? `vrf:${vi.vrf ?? ''}`;
      const key = `${dev}/${family}/${vi.vrid}`;
      const other = vrids.get(key);
      const clash = (a: VrrpInstance, b: VrrpInstance) => {
        const ua = a.unicastPeer.length > 0;
        const ub = b.unicastPeer.length > 0;
        if (ua !== ub) return false;
        if (ua) return a.unicastPeer.some((p) => b.unicastPeer.some((q) => q.address === p.address));
        return (a.mcastDstIp ?? '') === (b.mcastDstIp ?? '');
      };
      if (other && clash(other, vi))
        diag.error(at(vi, 'vrid'), 'duplicate-vrid', `${what} uses VRID ${vi.vrid} with IPv${family} on ${vi.interface ?? 'its VRF'}, already used by ${other.name} (line ${at(other, 'vrid').line})`);
      else if (!other) vrids.set(key, vi);
    }
  }

  // lvs_sync_daemon names an instance.
  const sd = gd.lvsSyncDaemon;
  if (sd?.instance !== undefined && !instances.has(sd.instance))
    diag.error(at(gd, 'lvsSyncDaemon'), 'unknown-reference', `lvs_sync_daemon: '${sd.instance}' is not a vrrp_instance`);

  // track_group members and static items naming track groups.
  for (const tg of trackGroups.values())
    for (const name of tg.group) if (!instances.has(name)) diag.error(at(tg, 'group'), 'unknown-reference', `track_group ${tg.name}: member '${name}' is not a vrrp_instance`);
  for (const [field, items] of [['staticIpaddress', m.staticIpaddress], ['staticRoutes', m.staticRoutes], ['staticRules', m.staticRules]] as const)
    for (const it of items as readonly { trackGroup?: string }[])
      if (it.trackGroup !== undefined && !trackGroups.has(it.trackGroup))
        diag.error(where(it, field), 'unknown-reference', `track_group '${it.trackGroup}' is not defined by any track_group block`);
  for (const vi of instances.values())
    for (const [field, items] of [['virtualIpaddress', vi.virtualIpaddress], ['virtualIpaddressExcluded', vi.virtualIpaddressExcluded], ['virtualRoutes', vi.virtualRoutes], ['virtualRules', vi.virtualRules]] as const)
      for (const it of items as readonly { trackGroup?: string }[])
        if (it.trackGroup !== undefined) diag.warn(where(it, field), 'ignored', `vrrp_instance ${vi.name}: track_group applies only to static addresses, routes and rules; ignored here`);

  // garp_group: an interface in one group only.
  const garpIf = new Map<string, number>();
  m.garpGroups.forEach((g, i) => {
    for (const name of [...(g.interface ? [g.interface] : []), ...g.interfaces]) {
      if (garpIf.has(name) && garpIf.get(name) !== i) diag.warn(at(g), 'duplicate-member', `garp_group: interface ${name} is already in an earlier garp_group; ignored here (as keepalived does)`);
      else garpIf.set(name, i);
    }
  });
}
