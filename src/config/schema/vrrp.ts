import type { Pos } from '../diagnostics.js';
import { type Cidr, type Family, type ScriptSpec, arity, ifname, int, oneOf, readCidr, readIfname, script, seconds, str, wholeSeconds } from './args.js';
import { type ArgParser, type BlockSpec, alias, block, fieldPos, list, requireField, value } from './dsl.js';
import {
  type GarpExtraIf,
  type Tracked,
  type UnicastPeer,
  type VirtualIp,
  garpExtraIf,
  intZeroIsOne,
  isLinkLocalMulticast6,
  entryPos,
  isMulticast,
  laxBare,
  nameHead,
  optBool,
  optionalScript,
  readAddr,
  unicastPeer,
  virtualIp,
} from './vrrp-args.js';
import { type BfdInstance, type GarpGroup, type TrackFile, type TrackProcess, type VrrpScript, type VrrpSyncGroup, sharedTrackNotify, vrrpHelperRoot } from './vrrp-blocks.js';
import { type RouteSpec, type RuleSpec, routeEntry, ruleEntry } from './vrrp-routes.js';

/*
 * VRRP side of keepalived.conf: vrrp_instance (here) and the helper blocks (vrrp-blocks.ts).
 * Durations are milliseconds; names follow keepalived's keywords in camelCase; defaults and
 * ranges are keepalived 2.2.7's (vrrp_parser.c, vrrp_data.c alloc_vrrp).
 */

/** `authentication { auth_type PASS|AH; auth_pass SECRET }` (VRRPv2 only). */
export interface VrrpAuth {
  readonly type: 'PASS' | 'AH';
  /** Up to 8 characters; longer is truncated as keepalived does, with a warning. */
  readonly pass: string;
}

/** `use_vmac [NAME] [MAC]`: run the instance on a macvlan with the VRRP virtual MAC. */
export interface UseVmac {
  /** Interface name; default `vrrp.VRID` (keepalived uses vmac_prefix + VRID). */
  readonly name?: string;
  /** Own MAC address; 5 octets means "VRID is the 6th". Default 00:00:5e:00:01|02:VRID. */
  readonly mac?: string;
}

/** `use_ipvlan [NAME] [ADDR[/P]] [bridge|private|vepa]`. */
export interface UseIpvlan {
  readonly name?: string;
  readonly address?: Cidr;
  readonly mode: 'bridge' | 'private' | 'vepa';
}

/** `vrrp_instance NAME { ... }`. */
export interface VrrpInstance {
  readonly name: string;
  /** The state to start in; keepalived treats MASTER as a hint (it still runs the election). Default BACKUP. */
  readonly state: 'MASTER' | 'BACKUP';
  readonly interface?: string;
  /** VRF to run in when unicast without an interface. */
  readonly vrf?: string;
  readonly vrid?: number;
  /** 1-255; 255 means address owner. Default 100. */
  readonly priority: number;
  /** Advertisement interval in ms. Default 1000. */
  readonly advertIntMs: number;
  /** VRRP version; undefined = 3 for IPv6 instances, else `vrrp_version` of global_defs (default 2). */
  readonly version?: 2 | 3;
  readonly virtualIpaddress: readonly VirtualIp[];
  readonly virtualIpaddressExcluded: readonly VirtualIp[];
  readonly virtualRoutes: readonly RouteSpec[];
  readonly virtualRules: readonly RuleSpec[];
  readonly authentication?: VrrpAuth;
  readonly nopreempt: boolean;
  /** Milliseconds to wait before preempting a lower priority master after start. 0-1000 s, default 0. */
  readonly preemptDelayMs: number;
  /** Source address of adverts (`unicast_src_ip`, or its older spelling `mcast_src_ip`). */
  readonly unicastSrcIp?: string;
  readonly unicastPeer: readonly UnicastPeer[];
  /** TTL/hop limit of unicast adverts, 0-255. Default 255. */
  readonly unicastTtl?: number;
  /** With no unicast peer, go FAULT instead of falling back to multicast. */
  readonly unicastFaultNoPeer: boolean;
  /** Drop unicast adverts whose source is not a configured peer. */
  readonly checkUnicastSrc: boolean;
  readonly oldUnicastChecksum?: 'on' | 'never';
  /** Multicast destination of adverts; default global vrrp_mcast_group4/6. */
  readonly mcastDstIp?: string;
  /** FAULT when the configured source address disappears. */
  readonly trackSrcIp: boolean;
  readonly useVmac?: UseVmac;
  readonly useVmacAddr: boolean;
  readonly vmacXmitBase: boolean;
  readonly useIpvlan?: UseIpvlan;
  readonly nativeIpv6: boolean;
  /** Ignore faults of the instance's own interface. */
  readonly dontTrackPrimary: boolean;
  readonly trackInterface: readonly Tracked[];
  readonly trackScript: readonly Tracked[];
  readonly trackFile: readonly Tracked[];
  readonly trackProcess: readonly Tracked[];
  readonly trackBfd: readonly Tracked[];
  readonly notifyMaster?: ScriptSpec;
  readonly notifyBackup?: ScriptSpec;
  readonly notifyFault?: ScriptSpec;
  readonly notifyStop?: ScriptSpec;
  readonly notify?: ScriptSpec;
  readonly notifyMasterRxLowerPri?: ScriptSpec;
  /** Report DELETED instead of FAULT when removed on reload; optionally run a script. */
  readonly notifyDeleted?: { readonly script?: ScriptSpec };
  readonly smtpAlert?: boolean;
  readonly notifyPriorityChanges?: boolean;
  /** Default: global vrrp_garp_master_delay (5 s). */
  readonly garpMasterDelayMs?: number;
  /** Default: global vrrp_garp_master_repeat (5). */
  readonly garpMasterRepeat?: number;
  readonly garpLowerPrioDelayMs?: number;
  readonly garpLowerPrioRepeat?: number;
  readonly garpMasterRefreshMs?: number;
  readonly garpMasterRefreshRepeat?: number;
  readonly garpExtraIf?: GarpExtraIf;
  /** Master down timer in adverts, 1-100; default global vrrp_down_timer_adverts (3). */
  readonly downTimerAdverts?: number;
  readonly lowerPrioNoAdvert?: boolean;
  readonly higherPrioSendAdvert?: boolean;
  readonly skipCheckAdvAddr?: boolean;
  /** Default: global vrrp_strict. */
  readonly strictMode?: boolean;
  /** Accept mode; undefined: on unless strict mode (then on only for priority 255). */
  readonly accept?: boolean;
  readonly promoteSecondaries: boolean;
  readonly debug?: number;
  readonly kernelRxBufSize?: number;
  readonly linkbeatUsePolling: boolean;
  /** Deprecated per-instance IPVS sync daemon interface (global lvs_sync_daemon replaces it). */
  readonly lvsSyncDaemonInterface?: string;
}

const authBlock: BlockSpec<VrrpAuth> = {
  name: 'authentication',
  defaults: () => ({}),
  keywords: {
    auth_type: value('type', oneOf(['PASS', 'AH'] as const), 'PASS (simple password) or AH (IPSEC-AH). VRRPv2 only; removed from the protocol by RFC 3768.'),
    auth_pass: value('pass', str, 'The password; only the first 8 characters are used.'),
  },
  finalize(o, stmt, c) {
    if (!requireField(o, 'type', 'auth_type', stmt, c, "'authentication'")) return undefined;
    if (!requireField(o, 'pass', 'auth_pass', stmt, c, "'authentication'")) return undefined;
    if (o.pass!.length > 8) {
      c.diag.warn(fieldPos(o, 'pass') ?? stmt.keyword.pos, 'truncated', `auth_pass is longer than 8 characters; only '${o.pass!.slice(0, 8)}' is used (as keepalived does)`);
      return { type: o.type!, pass: o.pass!.slice(0, 8) };
    }
    return o as VrrpAuth;
  },
};

const MAC5_6 = /^([0-9a-f]{1,2})(:[0-9a-f]{1,2}){4,5}:?$/i;

const useVmac: ArgParser<UseVmac> = (args, kw, c) => {
  const out: { name?: string; mac?: string } = {};
  for (let k = 0; k < args.length; k++) {
    const w = args[k]!;
    if (w.text.includes(':')) {
      if (!MAC5_6.test(w.text)) {
        c.diag.error(w.pos, 'invalid-value', `'use_vmac': '${w.raw}' is not a MAC address (5 or 6 hex octets separated by ':')`);
        return undefined;
      }
      if (parseInt(w.text.split(':')[0]!, 16) & 1) {
        c.diag.error(w.pos, 'invalid-value', `'use_vmac': MAC address ${w.raw} is multicast`);
        return undefined;
      }
      out.mac = w.text.toLowerCase();
      continue;
    }
    const n = w.text === 'name' ? args[++k] : w;
    if (!n) {
      c.diag.error(w.pos, 'missing-argument', "'use_vmac': 'name' needs an interface name");
      return undefined;
    }
    if (out.name !== undefined) {
      c.diag.error(n.pos, 'extra-argument', `'use_vmac': interface name already given ('${out.name}')`);
      return undefined;
    }
    const name = readIfname(n, kw, c);
    if (name === undefined) return undefined;
    out.name = name;
  }
  return out;
};

const useIpvlan: ArgParser<UseIpvlan> = (args, kw, c) => {
  const out: { name?: string; address?: Cidr; mode: 'bridge' | 'private' | 'vepa' } = { mode: 'bridge' };
  let mode = false;
  for (let k = 0; k < args.length; k++) {
    const w = args[k]!;
    if (w.text === 'bridge' || w.text === 'private' || w.text === 'vepa') {
      if (mode) {
        c.diag.error(w.pos, 'extra-argument', `'use_ipvlan': mode already given ('${out.mode}')`);
        return undefined;
      }
      out.mode = w.text;
      mode = true;
    } else if (/^[0-9a-f.:]+(\/\d+)?$/i.test(w.text) && (w.text.includes('.') || w.text.includes('::') || w.text.split(':').length > 2)) {
      const a = readCidr(w, kw, c);
      if (!a) return undefined;
      out.address = a;
    } else {
      const n = w.text === 'name' ? args[++k] : w;
      if (!n) return void c.diag.error(w.pos, 'missing-argument', "'use_ipvlan': 'name' needs an interface name");
      const name = readIfname(n, kw, c);
      if (name === undefined) return undefined;
      out.name = name;
    }
  }
  return out;
};

const srcIp: ArgParser<string> = (a, k, c) => (arity(a, k, c, 1, 1, 'one IP address') ? readAddr(a[0]!, k, c)?.address : undefined);

const mcastDst: ArgParser<string> = (a, k, c) => {
  if (!arity(a, k, c, 1, 1, 'one multicast address')) return undefined;
  const ad = readAddr(a[0]!, k, c);
  if (!ad) return undefined;
  if (ad.family === 4 ? !isMulticast(ad.address, 4) : !isLinkLocalMulticast6(ad.address)) {
    c.diag.error(a[0]!.pos, 'invalid-address', `'mcast_dst_ip': ${a[0]!.raw} is not ${ad.family === 4 ? 'an IPv4 multicast address (224.0.0.0/4)' : 'an IPv6 link-local multicast address (ffX2::/16)'}`);
    return undefined;
  }
  return ad.address;
};

const G = (k: string) => `Default: global vrrp_${k}.`;

/** The `vrrp_instance` block. */
export const vrrpInstanceSpec: BlockSpec<VrrpInstance> = {
  name: 'vrrp_instance',
  head: nameHead,
  defaults: () => ({
    state: 'BACKUP', priority: 100, advertIntMs: 1000, virtualIpaddress: [], virtualIpaddressExcluded: [], virtualRoutes: [], virtualRules: [],
    nopreempt: false, preemptDelayMs: 0, unicastPeer: [], unicastFaultNoPeer: false, checkUnicastSrc: false, trackSrcIp: false,
    useVmacAddr: false, vmacXmitBase: false, nativeIpv6: false, dontTrackPrimary: false,
    trackInterface: [], trackScript: [], trackFile: [], trackProcess: [], trackBfd: [], promoteSecondaries: false, linkbeatUsePolling: false,
  }),
  keywords: {
    state: value('state', oneOf(['MASTER', 'BACKUP'] as const), 'Initial state, MASTER or BACKUP. Default BACKUP. The election still decides (MASTER with priority 255 takes over at once).'),
    interface: value('interface', ifname, 'Interface the instance runs on. Required unless unicast peers are given.'),
    vrf: value('vrf', ifname, 'VRF to run in when unicast with no interface.', { inert: 'vigil does not support VRFs yet' }),
    virtual_router_id: value('vrid', int(1, 255), 'VRID 1-255. Required. Unique per interface and address family (unless unicast peers or mcast_dst_ip differ).'),
    priority: value('priority', int(1, 255), 'Priority 1-255; 255 is the address owner. Default 100.'),
    advert_int: value('advertIntMs', seconds(0.01, 255), 'Seconds between adverts (0.01-255). Default 1. VRRPv3: multiple of 0.01 up to 40.95; VRRPv2: whole seconds.'),
    version: value('version', oneOf(['2', '3'] as const), 'VRRP version 2 or 3. Default: 3 for IPv6 instances, else global vrrp_version (2).'),
    virtual_ipaddress: list('virtualIpaddress', virtualIp, 'The VIPs, one per line: `ADDR[/PREFIX] [dev IF] [brd ADDR] [scope S] [label L] [use_vmac [NAME]] [no_track] ...`. All of one family.'),
    virtual_ipaddress_excluded: list('virtualIpaddressExcluded', virtualIp, 'Addresses managed like VIPs but not carried in adverts (may mix families).'),
    virtual_routes: list('virtualRoutes', routeEntry, 'Routes added on MASTER, removed otherwise: `ip route` syntax (`[src A] DEST [via A] [dev IF] [table T] [no_track] ...`).', { inert: "partly: dest, src, via, dev, table, metric and route type are applied; other options are logged and the route skipped" }),
    virtual_rules: list('virtualRules', ruleEntry, 'Policy rules added on MASTER: `ip rule` syntax (`from P [to P] table T [preference N] [no_track] ...`).', { inert: 'partly: from, to, table and preference are applied; other options are logged and the rule skipped' }),
    authentication: block('authentication', authBlock, 'VRRPv2 authentication: `auth_type PASS|AH`, `auth_pass`. Avoid (RFC 3768 removed it).'),
    nopreempt: value('nopreempt', laxBare(), 'Do not take over from a lower priority master. Needs state BACKUP.'),
    preempt: value('nopreempt', laxBare(false), 'Legacy: preempt (the default); cancels an earlier nopreempt.'),
    preempt_delay: value('preemptDelayMs', seconds(0, 1000), 'Seconds to wait after start before preempting a lower-priority master. 0-1000, default 0. Needs state BACKUP.'),
    unicast_src_ip: value('unicastSrcIp', srcIp, 'Source address of adverts (unicast or multicast). Default: the interface\'s primary address.'),
    mcast_src_ip: alias('unicast_src_ip', value('unicastSrcIp', srcIp, '')),
    unicast_peer: list('unicastPeer', unicastPeer, 'Peers to send adverts to by unicast: `ADDR [min_ttl N] [max_ttl N]` per line.'),
    unicast_ttl: value('unicastTtl', int(0, 255), 'TTL/hop limit of unicast adverts, 0-255. Default 255.'),
    unicast_fault_no_peer: value('unicastFaultNoPeer', laxBare(), 'With no unicast peer, go FAULT instead of using multicast.'),
    check_unicast_src: value('checkUnicastSrc', laxBare(), 'Drop unicast adverts not from a configured peer. Default: global vrrp_check_unicast_src.'),
    old_unicast_checksum: value('oldUnicastChecksum', (a, k, c) => {
      if (!arity(a, k, c, 0, 1, "nothing or 'never'")) return undefined;
      if (!a[0]) return 'on';
      if (a[0].text === 'never') return 'never';
      c.diag.error(a[0].pos, 'invalid-value', `'old_unicast_checksum' expects nothing or 'never', got '${a[0].raw}'`);
      return undefined;
    }, 'Use the pre-1.3.6 VRRPv3 unicast checksum; `never` disables its auto-detection.', { inert: 'vigil always uses the RFC 5798 checksum' }),
    mcast_dst_ip: value('mcastDstIp', mcastDst, 'Multicast destination of adverts (IPv6: link-local ffX2::). Default 224.0.0.18 / ff02::12.'),
    track_src_ip: value('trackSrcIp', laxBare(), 'Go FAULT if the configured source address is removed.', { inert: 'the VRRP engine does not track the source address yet' }),
    use_vmac: value('useVmac', useVmac, 'Use a macvlan with the VRRP MAC: `use_vmac [NAME] [MAC]`. Default name vrrp.VRID.', { inert: 'the VRRP engine does not create macvlan interfaces yet; adverts use the interface MAC' }),
    use_vmac_addr: value('useVmacAddr', laxBare(), 'Create VMACs on every other interface a VIP/eVIP uses.', { inert: 'the VRRP engine does not create macvlan interfaces yet' }),
    vmac_xmit_base: value('vmacXmitBase', laxBare(), 'Send and receive adverts on the base interface instead of the VMAC.', { inert: 'the VRRP engine does not create macvlan interfaces yet' }),
    use_ipvlan: value('useIpvlan', useIpvlan, '`use_ipvlan [NAME] [ADDR[/P]] [bridge|private|vepa]`: an L2 ipvlan instead of a macvlan.', { inert: 'vigil does not create ipvlans yet' }),
    native_ipv6: value('nativeIpv6', laxBare(), 'Force IPv6 (VRRPv3).', { deprecated: 'the VIPs decide the address family' }),
    dont_track_primary: value('dontTrackPrimary', laxBare(), 'Ignore faults of the instance\'s own interface.'),
    ...sharedTrackNotify,
    notify_master_rx_lower_pri: value('notifyMasterRxLowerPri', script, 'Script run when a MASTER receives a lower-priority advert.'),
    notify_deleted: value('notifyDeleted', optionalScript, '`[SCRIPT [USER [GROUP]]]`: report DELETED instead of FAULT when removed on reload, and optionally run a script.', { inert: 'the VRRP engine has no reload yet (instances are never deleted at run time)' }),
    garp_master_delay: value('garpMasterDelayMs', wholeSeconds(0, 4294), `Seconds after becoming MASTER before the second GARP burst (0: none), 0-4294. ${G('garp_master_delay')}`),
    garp_master_repeat: value('garpMasterRepeat', intZeroIsOne(4294967295), `GARPs per burst, 1-4294967295. ${G('garp_master_repeat')}`),
    garp_lower_prio_delay: value('garpLowerPrioDelayMs', wholeSeconds(0, 4294), `Seconds before the second GARP burst after a lower-priority advert, 0-4294. ${G('garp_lower_prio_delay')}`),
    garp_lower_prio_repeat: value('garpLowerPrioRepeat', int(0, 2147483647), `GARPs per burst after a lower-priority advert, 0-2147483647. ${G('garp_lower_prio_repeat')}`),
    garp_master_refresh: value('garpMasterRefreshMs', wholeSeconds(0, 4294967295), `Seconds between GARP refreshes while MASTER (0: none). ${G('garp_master_refresh')}`),
    garp_master_refresh_repeat: value('garpMasterRefreshRepeat', intZeroIsOne(4294967295), `GARPs per refresh, 1-4294967295. ${G('garp_master_refresh_repeat')}`),
    garp_extra_if: value('garpExtraIf', garpExtraIf(0), `\`[all] SECONDS\` (0-86400; 0 disables): periodic GARP/NA on other interfaces of its VIPs. ${G('garp_extra_if')}`, { inert: 'the VRRP engine does not send GARPs on other interfaces yet' }),
    vmac_garp_intvl: alias('garp_extra_if', value('garpExtraIf', garpExtraIf(0), '', { deprecated: "use 'garp_extra_if'" })),
    down_timer_adverts: value('downTimerAdverts', int(1, 100), `Master down timer in adverts, 1-100 (RFC: 3). ${G('down_timer_adverts')}`),
    lower_prio_no_advert: value('lowerPrioNoAdvert', optBool, `\`[<BOOL>]\`: do not answer a lower-priority advert with an advert. ${G('lower_prio_no_advert')}`),
    higher_prio_send_advert: value('higherPrioSendAdvert', optBool, `\`[<BOOL>]\`: as MASTER, send one advert before yielding to a higher priority. ${G('higher_prio_send_advert')}`),
    skip_check_adv_addr: value('skipCheckAdvAddr', optBool, `\`[<BOOL>]\`: skip checking the address list of adverts from the current master. ${G('skip_check_adv_addr')} (keepalived 2.2.7 turns it on even for 'off'.)`),
    strict_mode: value('strictMode', optBool, '`[<BOOL>]`: strict RFC compliance for this instance. Default: global vrrp_strict.'),
    accept: value('accept', laxBare(), 'Accept mode: accept packets for the VIPs when not address owner. Default on unless strict.', { inert: 'the VRRP engine does not install firewall rules' }),
    no_accept: value('accept', laxBare(false), 'Drop packets for the VIPs unless address owner (needs a firewall in keepalived).', { inert: 'vigil does not install firewall rules' }),
    promote_secondaries: value('promoteSecondaries', laxBare(), 'Set promote_secondaries on the interface so removing one VIP keeps others of its subnet.', { inert: 'the VRRP engine does not change interface sysctls' }),
    debug: value('debug', int(0, 4), 'Debug level 0-4 (not implemented by keepalived either).', { inert: 'no effect in keepalived either' }),
    kernel_rx_buf_size: value('kernelRxBufSize', int(0, 4294967295), 'Socket receive buffer size in bytes (see vrrp_rx_bufs_policy).', { inert: 'vigil sizes its sockets itself' }),
    linkbeat_use_polling: value('linkbeatUsePolling', laxBare(), 'Poll the interface link state (MII/ethtool).', { deprecated: 'use the top-level linkbeat_interfaces block', inert: 'vigil uses netlink link events' }),
    lvs_sync_daemon_interface: value('lvsSyncDaemonInterface', ifname, 'IPVS sync daemon interface tied to this instance (read as `lvs_sync_daemon IF INSTANCE`, as keepalived does).', { deprecated: "use global_defs 'lvs_sync_daemon IF INSTANCE'" }),
  },
  finalize: finishInstance,
};

function finishInstance(o: Partial<VrrpInstance>, stmt: { keyword: { pos: Pos } }, c: Parameters<NonNullable<BlockSpec<VrrpInstance>['finalize']>>[2]): VrrpInstance {
  const vi = o as { -readonly [K in keyof VrrpInstance]: VrrpInstance[K] };
  const what = `vrrp_instance ${vi.name ?? ''}`;
  const at = (f: string) => fieldPos(o, f) ?? stmt.keyword.pos;
  if (vi.version !== undefined) vi.version = Number(vi.version) as 2 | 3;
  requireField(o, 'vrid', 'virtual_router_id', stmt as never, c, what);
  if (vi.unicastPeer.length === 0 && vi.vrf === undefined) requireField(o, 'interface', 'interface', stmt as never, c, `${what} (multicast)`);
  if (vi.vrf !== undefined && vi.interface !== undefined) c.diag.error(at('vrf'), 'conflict', `${what}: 'vrf' is only for instances without 'interface' (keepalived ignores it)`);
  if (vi.vrf !== undefined && vi.unicastPeer.length === 0) c.diag.warn(at('vrf'), 'no-effect', `${what}: 'vrf' only applies to unicast instances without an interface`);
  if (vi.nopreempt && vi.state === 'MASTER') c.diag.warn(at('nopreempt'), 'ignored', `${what}: nopreempt needs 'state BACKUP'; with state MASTER it still preempts at start`);
  if (vi.preemptDelayMs > 0 && vi.state === 'MASTER') c.diag.warn(at('preemptDelayMs'), 'ignored', `${what}: preempt_delay needs 'state BACKUP'`);
  if (vi.unicastTtl !== undefined && vi.unicastPeer.length === 0) c.diag.warn(at('unicastTtl'), 'ignored', `${what}: unicast_ttl without unicast_peer has no effect (keepalived resets it)`);
  if (vi.useVmac && vi.unicastPeer.length > 0 && !vi.vmacXmitBase) c.diag.warn(at('useVmac'), 'adjusted', `${what}: use_vmac with unicast peers needs vmac_xmit_base; it is implied (as keepalived does)`);
  if (vi.useVmac && vi.useVmac.name === undefined && vi.useVmac.mac === undefined && vi.vrid !== undefined) vi.useVmac = { name: `vrrp.${vi.vrid}` };
  // Address families: VIPs one family; source, peers and multicast destination must match it.
  const vips = vi.virtualIpaddress;
  const fam: Family | undefined = vips[0]?.family ?? (vi.unicastSrcIp ? (vi.unicastSrcIp.includes(':') ? 6 : 4) : vi.unicastPeer[0]?.family);
  for (const v of vips) if (v.family !== fam) c.diag.error(entryPos(v) ?? at('virtualIpaddress'), 'family-mismatch', `${what}: VIP ${v.address} is IPv${v.family} but the instance is IPv${fam} (its first VIP); put other-family addresses in virtual_ipaddress_excluded`);
  if (fam && vi.unicastSrcIp && (vi.unicastSrcIp.includes(':') ? 6 : 4) !== fam) c.diag.error(at('unicastSrcIp'), 'family-mismatch', `${what}: source address ${vi.unicastSrcIp} is not IPv${fam} like the instance`);
  for (const p of vi.unicastPeer) if (fam && p.family !== fam) c.diag.error(entryPos(p) ?? at('unicastPeer'), 'family-mismatch', `${what}: unicast_peer ${p.address} is IPv${p.family} but the instance is IPv${fam}`);
  if (fam && vi.mcastDstIp && (vi.mcastDstIp.includes(':') ? 6 : 4) !== fam) c.diag.error(at('mcastDstIp'), 'family-mismatch', `${what}: mcast_dst_ip ${vi.mcastDstIp} is not IPv${fam} like the instance`);
  if ((fam === 6 || vi.nativeIpv6) && vi.version === 2) c.diag.error(at('version'), 'invalid-value', `${what}: IPv6 instances run VRRPv3 (RFC 5798); 'version 2' conflicts`);
  if ((fam === 6 || vi.nativeIpv6) && vi.nativeIpv6 && vips[0]?.family === 4) c.diag.error(at('nativeIpv6'), 'family-mismatch', `${what}: native_ipv6 with IPv4 VIPs`);
  return vi;
}


/** Statements of the top level that belong to the VRRP side. */
export const vrrpRoot = {
  ...vrrpHelperRoot,
  vrrp_instance: block('vrrpInstances', vrrpInstanceSpec, 'A VRRP instance: `vrrp_instance NAME { state ...; interface ...; virtual_router_id ...; priority ...; virtual_ipaddress { ... } }`.', { repeat: 'append' }),
};

/** The VRRP part of the compiled configuration. */
export interface VrrpModel {
  readonly vrrpScripts: readonly VrrpScript[];
  readonly vrrpInstances: readonly VrrpInstance[];
  readonly vrrpSyncGroups: readonly VrrpSyncGroup[];
  readonly trackFiles: readonly TrackFile[];
  readonly trackProcesses: readonly TrackProcess[];
  readonly garpGroups: readonly GarpGroup[];
  readonly bfdInstances: readonly BfdInstance[];
}

/** Defaults of the VRRP part of the top level (lists start empty). */
export function vrrpRootDefaults(): Partial<VrrpModel> {
  return { vrrpScripts: [], vrrpInstances: [], vrrpSyncGroups: [], trackFiles: [], trackProcesses: [], garpGroups: [], bfdInstances: [] };
}

/** Model types of the helper blocks and entries, re-exported for consumers of the VRRP model. */
export type { BfdInstance, GarpGroup, RouteSpec, RuleSpec, TrackFile, TrackProcess, Tracked, UnicastPeer, VirtualIp, VrrpScript, VrrpSyncGroup };
export { nameHead, tracked, unicastPeer, userGroup, virtualIp } from './vrrp-args.js';
export { vrrpScriptSpec, vrrpSyncGroupSpec } from './vrrp-blocks.js';
