import { type Family, type ScriptSpec, anyWords, arity, flag, int, oneOf, readInt, readIp, script, seconds, str } from './args.js';
import type { Checker } from './checkers.js';
import { checkerKeywords } from './checkers-more.js';
import { type ArgParser, type BlockSpec, alias, block, fieldPos, value } from './dsl.js';
import {
  type AddrPort,
  DEFAULT_PERSISTENCE_S,
  type Granularity,
  type LvsMethod,
  MAX_PERSISTENCE_S,
  MAX_TIMER_S,
  UINT_MAX,
  type VsgEntry,
  WEIGHT_MAX,
  addrPort,
  granularity,
  lvsMethod,
  readAddrPort,
  vsgEntry,
} from './lvs-args.js';
import { finishVirtualServer } from './lvs-resolve.js';

/*
 * LVS side of keepalived.conf: virtual_server_group, virtual_server, real_server, sorry_server and
 * the top-level SSL block. Durations are milliseconds; defaults are keepalived 2.2.7's
 * (check_data.c alloc_vs/alloc_rs, validate_check_config).
 */

/** IPVS schedulers keepalived accepts in `lvs_sched` (keepalived.conf(5), 2.2.7). */
export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'sh', 'mh', 'dh', 'fo', 'ovf', 'lblcr', 'sed', 'nq', 'twos'] as const;
/** An IPVS scheduler name. */
export type Scheduler = (typeof SCHEDULERS)[number];
/** Layer-4 protocol of a virtual service. */
export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** `real_server ADDR [PORT] { ... }` with its effective settings. */
export interface RealServer {
  readonly address: string;
  readonly family: Family;
  /** Effective port: as written, else the virtual server's port; 0 for fwmark services (and group services without one). */
  readonly port: number;
  /** Effective IPVS weight, 0-2147483647. Default: the virtual server's `weight` (1). */
  readonly weight: number;
  /** Effective forwarding method: own `lvs_method`, else the virtual server's (NAT). */
  readonly lvsMethod: LvsMethod;
  /** Set weight 0 on failure instead of removing. Default: the virtual server's (off). */
  readonly inhibitOnFailure: boolean;
  readonly notifyUp?: ScriptSpec;
  readonly notifyDown?: ScriptSpec;
  /** `uthreshold`: IPVS upper connection threshold (0 = none). */
  readonly upperThreshold?: number;
  /** `lthreshold`: IPVS lower connection threshold. */
  readonly lowerThreshold?: number;
  /** Effective alpha (start as failed). Default: the virtual server's (off). */
  readonly alpha: boolean;
  /** Retry default for this server's checkers (inherited from the virtual server when written there). */
  readonly retry?: number;
  readonly delayBeforeRetryMs?: number;
  readonly warmupMs?: number;
  /** Effective check interval. Default: the virtual server's (60 s). */
  readonly delayLoopMs: number;
  /** Effective checker connect timeout. Default: the virtual server's (5 s). */
  readonly connectTimeoutMs: number;
  /** Mail on state changes; undefined: global_defs smtp_alert_checker / smtp_alert, else on (keepalived). */
  readonly smtpAlert?: boolean;
  readonly virtualhost?: string;
  readonly snmpName?: string;
  /** Health checkers in file order; SMTP_CHECK host{} blocks are expanded to one checker each. None: always up. */
  readonly checkers: readonly Checker[];
}

/** `sorry_server ADDR [PORT]` and its options: used alone when the quorum is lost. */
export interface SorryServer {
  readonly address: string;
  readonly family: Family;
  /** Effective port, resolved as for real servers. */
  readonly port: number;
  /** Effective: `sorry_server_lvs_method`, else the virtual server's. */
  readonly lvsMethod: LvsMethod;
  /** `sorry_server_inhibit`: set weight 0 instead of removing it. */
  readonly inhibit: boolean;
}

/** Settings every kind of virtual_server has. */
interface VirtualServerCommon {
  /** TCP (vigil's default when not written; keepalived 2.2.7 warns and uses UDP), UDP or SCTP. Ignored for fwmark services. */
  readonly protocol: Protocol;
  /** Check interval. Default 60 s. */
  readonly delayLoopMs: number;
  /** Scheduler. Default wlc (keepalived's IPVS_DEF_SCHED, with a warning). */
  readonly lvsSched: Scheduler;
  /** Default forwarding method of its servers. Default NAT. */
  readonly lvsMethod: LvsMethod;
  readonly flag1: boolean;
  readonly flag2: boolean;
  readonly flag3: boolean;
  readonly shPort: boolean;
  readonly shFallback: boolean;
  readonly mhPort: boolean;
  readonly mhFallback: boolean;
  /** One-packet scheduling (UDP only). */
  readonly ops: boolean;
  /** Persistence in seconds (1-2678400); written without a value: 360. Absent: not persistent. */
  readonly persistenceTimeoutS?: number;
  readonly persistenceGranularity?: Granularity;
  /** IPVS persistence engine (e.g. sip). */
  readonly persistenceEngine?: string;
  readonly haSuspend: boolean;
  /** Mail on quorum changes; undefined: global_defs smtp_alert_checker / smtp_alert, else off. */
  readonly smtpAlert?: boolean;
  readonly virtualhost?: string;
  readonly snmpName?: string;
  readonly alpha: boolean;
  readonly omega: boolean;
  /** Minimum total weight of live servers. Default 1; reduced to the total weight when larger (as keepalived). */
  readonly quorum: number;
  /** Quorum flap damper. Default 0; must be below quorum. */
  readonly hysteresis: number;
  readonly quorumUp?: ScriptSpec;
  readonly quorumDown?: ScriptSpec;
  readonly inhibitOnFailure: boolean;
  readonly retry?: number;
  readonly delayBeforeRetryMs?: number;
  readonly warmupMs?: number;
  /** Default checker connect timeout. Default 5 s. */
  readonly connectTimeoutMs: number;
  /** Default weight of its real servers, 1-2147483647. Default 1. */
  readonly weight: number;
  /** `ip_family` as written. */
  readonly ipFamily?: Family;
  readonly sorryServer?: SorryServer;
  readonly realServers: readonly RealServer[];
}

/** `virtual_server ...`: by address, by fwmark or by group. */
export type VirtualServer = VirtualServerCommon &
  (
    | { readonly kind: 'ip'; readonly address: string; readonly family: Family; readonly port?: number }
    | { readonly kind: 'fwmark'; readonly fwmark: number; readonly family: Family }
    | { readonly kind: 'group'; readonly group: string; readonly family?: Family }
  );

/** `virtual_server_group NAME { entries }`. */
export interface VirtualServerGroup {
  readonly name: string;
  readonly entries: readonly VsgEntry[];
}

/** The top-level `SSL { ... }` block used by SSL_GET. Absent: an auto-generated context. */
export interface SslContext {
  readonly password?: string;
  readonly ca?: string;
  readonly certificate?: string;
  readonly key?: string;
}

const vsHead: ArgParser<Partial<VirtualServer>> = (args, kw, c) => {
  if (!arity(args, kw, c, 1, 2, 'ADDRESS [PORT], fwmark N or group NAME before its "{"')) return undefined;
  const [a, b] = args;
  if (a!.text === 'fwmark') {
    if (!b) return void c.diag.error(a!.pos, 'missing-argument', "'virtual_server fwmark' needs a mark (1-4294967295)");
    const fwmark = readInt(b, a!, c, 1, UINT_MAX);
    return fwmark === undefined ? undefined : ({ kind: 'fwmark', fwmark } as Partial<VirtualServer>);
  }
  if (a!.text === 'group') {
    if (!b) return void c.diag.error(a!.pos, 'missing-argument', "'virtual_server group' needs the name of a virtual_server_group");
    return { kind: 'group', group: b.text } as Partial<VirtualServer>;
  }
  const ap = readAddrPort(args, kw, c, 'virtual_server');
  return ap ? ({ kind: 'ip', ...ap } as Partial<VirtualServer>) : undefined;
};

const persistence: ArgParser<number> = (args, kw, c) =>
  args.length === 0 ? DEFAULT_PERSISTENCE_S : arity(args, kw, c, 0, 1, `a timeout in seconds (1-${MAX_PERSISTENCE_S}); default 360`) ? readInt(args[0]!, kw, c, 1, MAX_PERSISTENCE_S) : undefined;

const ipFamily: ArgParser<Family> = (args, kw, c) => {
  const v = oneOf(['inet', 'inet6'] as const)(args, kw, c);
  return v === undefined ? undefined : v === 'inet' ? 4 : 6;
};

const protocol = oneOf(['TCP', 'UDP', 'SCTP'] as const, true);
const TIMER = `(0.000001-${MAX_TIMER_S})`;

/** Keywords that real_server and virtual_server share (the real server's value overrides). */
const serverDefaults = {
  alpha: value('alpha', flag, 'Start the checkers as failed (alpha mode). Default off.'),
  retry: value('retry', int(1, UINT_MAX), 'Default retry count of the checkers, 1-4294967295. Default: per checker type (1; DNS 3; MISC 0).'),
  delay_before_retry: value('delayBeforeRetryMs', seconds(0, MAX_TIMER_S), 'Default seconds between checker retries. Default: per checker type (HTTP/SSL 3, DNS delay_loop, else 1).'),
  warmup: value('warmupMs', seconds(0, MAX_TIMER_S), 'Default maximum random delay before the first check. Default: delay_loop; 0 disables.'),
  connect_timeout: value('connectTimeoutMs', seconds(0.000001, 4294.967295), 'Default checker connect timeout in seconds (0.000001-4294.967295). Default 5.'),
  delay_loop: value('delayLoopMs', seconds(0.000001, MAX_TIMER_S), `Seconds between checks ${TIMER}. Default 60.`),
  inhibit_on_failure: value('inhibitOnFailure', flag, 'On failure set weight 0 instead of removing the server. Default off.'),
  smtp_alert: value('smtpAlert', flag, 'Send mail on changes. Default: global_defs smtp_alert.'),
  virtualhost: value('virtualhost', str, 'Default Host header of HTTP_GET/SSL_GET checkers.'),
  snmp_name: value('snmpName', str, 'Name shown in SNMP data.'),
};

/** The `real_server` block. */
export const realServerSpec: BlockSpec<RealServer> = {
  name: 'real_server',
  head: (args, kw, c) => readAddrPort(args, kw, c, 'real_server') as Partial<RealServer> | undefined,
  defaults: () => ({ checkers: [] }),
  keywords: {
    ...serverDefaults,
    weight: value('weight', int(0, WEIGHT_MAX), `IPVS weight 0-${WEIGHT_MAX}. Default: the virtual server's weight (1).`),
    lvs_method: value('lvsMethod', lvsMethod, "Forwarding method for this server: NAT, DR or TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]. Default: the virtual server's."),
    uthreshold: value('upperThreshold', int(0, UINT_MAX), 'Upper connection threshold (IPVS -x), 0-4294967295.'),
    lthreshold: value('lowerThreshold', int(0, UINT_MAX), 'Lower connection threshold (IPVS -y), 0-4294967295.'),
    notify_up: value('notifyUp', script, 'Script run when the server comes up: path or quoted command line, [USER [GROUP]].'),
    notify_down: value('notifyDown', script, 'Script run when the server goes down.'),
    ...checkerKeywords,
  },
};

/** The `virtual_server` block. */
export const virtualServerSpec: BlockSpec<VirtualServer> = {
  name: 'virtual_server',
  head: vsHead,
  defaults: () =>
    ({
      delayLoopMs: 60000,
      flag1: false, flag2: false, flag3: false, shPort: false, shFallback: false, mhPort: false, mhFallback: false, ops: false,
      haSuspend: false, alpha: false, omega: false, quorum: 1, hysteresis: 0, inhibitOnFailure: false, connectTimeoutMs: 5000, weight: 1,
      realServers: [],
    }) as Partial<VirtualServer>,
  keywords: {
    ...serverDefaults,
    protocol: value('protocol', protocol, 'TCP, UDP or SCTP (any case). vigil default TCP; keepalived 2.2.7 warns and uses UDP. Ignored for fwmark services.'),
    lvs_sched: value('lvsSched', oneOf(SCHEDULERS), `IPVS scheduler: ${SCHEDULERS.join('|')}. Default wlc (with a warning, as keepalived).`),
    lb_algo: alias('lvs_sched', value('lvsSched', oneOf(SCHEDULERS), '')),
    lvs_method: value('lvsMethod', lvsMethod, 'Default forwarding method: NAT, DR or TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]. Default NAT.'),
    lb_kind: alias('lvs_method', value('lvsMethod', lvsMethod, '')),
    'flag-1': value('flag1', flag, 'Scheduler flag 1 (ipvsadm -b flag-1).'),
    'flag-2': value('flag2', flag, 'Scheduler flag 2 (ipvsadm -b flag-2).'),
    'flag-3': value('flag3', flag, 'Scheduler flag 3 (ipvsadm -b flag-3).'),
    'sh-port': value('shPort', flag, 'sh scheduler: hash the port too. Only with lvs_sched sh.'),
    'sh-fallback': value('shFallback', flag, 'sh scheduler: fall back to another server when the chosen one is unavailable. Only with sh.'),
    'mh-port': value('mhPort', flag, 'mh scheduler: hash the port too. Only with lvs_sched mh.'),
    'mh-fallback': value('mhFallback', flag, 'mh scheduler: fall back when the chosen server is unavailable. Only with mh.'),
    ops: value('ops', flag, 'One-packet scheduling (ipvsadm -o); UDP services and fwmarks only.'),
    hashed: value('hashed' as never, flag, 'Legacy scheduler flag; accepted and ignored.', { deprecated: 'keepalived 2.2.7 ignores it (it reports "only applies to sh scheduler"); remove it', inert: 'ignored' }),
    nat_mask: value('natMask' as never, anyWords, 'Legacy NAT netmask; accepted and ignored.', { deprecated: 'removed in keepalived 1.2; it has no effect', inert: 'ignored' }),
    persistence_timeout: value('persistenceTimeoutS', persistence, `Persistence timeout in seconds, 1-${MAX_PERSISTENCE_S}; without a value 360.`),
    persistence_granularity: value('persistenceGranularity', granularity, 'Persistence granularity: IPv4 netmask or IPv6 prefix length (implies persistence_timeout 360).'),
    persistence_engine: value('persistenceEngine', str, 'IPVS persistence engine name (sip).'),
    ha_suspend: value('haSuspend', flag, 'Suspend the checkers while the virtual address is not on this host.'),
    omega: value('omega', flag, 'Run quorum_down and notify_down scripts at shutdown.'),
    quorum: value('quorum', int(1, UINT_MAX), 'Minimum total weight of live servers. Default 1.'),
    hysteresis: value('hysteresis', int(0, UINT_MAX), 'Quorum hysteresis in weight units. Default 0.'),
    quorum_up: value('quorumUp', script, 'Script run when the quorum is gained.'),
    quorum_down: value('quorumDown', script, 'Script run when the quorum is lost.'),
    weight: value('weight', int(1, WEIGHT_MAX), `Default weight of the real servers, 1-${WEIGHT_MAX}. Default 1.`),
    ip_family: value('ipFamily', ipFamily, 'inet or inet6: family of a fwmark service whose servers are all tunnelled. Default inet.'),
    sorry_server: value('sorry' as never, addrPort, 'Server used alone while the quorum is lost: ADDR [PORT].'),
    sorry_server_inhibit: value('sorryInhibit' as never, flag, 'Inhibit (weight 0) the sorry server instead of removing it.'),
    sorry_server_lvs_method: value('sorryMethod' as never, lvsMethod, "Forwarding method of the sorry server. Default: the virtual server's."),
    real_server: block('realServers', realServerSpec, 'A real server: `real_server ADDR [PORT] { weight ...; checkers }`.', { repeat: 'append' }),
  },
  finalize: finishVirtualServer,
};

/** The `virtual_server_group` block: its body is a list of entries. */
export const virtualServerGroupSpec: BlockSpec<VirtualServerGroup> = {
  name: 'virtual_server_group',
  head: (args, kw, c) => (arity(args, kw, c, 1, 1, 'a name before its "{"') ? { name: args[0]!.text } : undefined),
  defaults: () => ({ entries: [] }),
  keywords: {},
  entries: { field: 'entries', parse: vsgEntry, doc: '`ADDR [PORT]`, `A.B.C.D-E [PORT]`, `ADDR1-ADDR2 [PORT]`, `ADDR/LEN [PORT]` or `fwmark N [inet|inet6]`.' },
  finalize(o, stmt, c) {
    if (o.entries?.length === 0 && !fieldPos(o, 'entries')) c.diag.warn(stmt.keyword.pos, 'empty-block', `virtual_server_group ${o.name} has no entries (keepalived removes it)`);
    return o as VirtualServerGroup;
  },
};

/** The top-level `SSL` block. */
export const sslSpec: BlockSpec<SslContext> = {
  name: 'SSL',
  defaults: () => ({}),
  keywords: {
    password: value('password', str, 'Password of the key file.'),
    ca: value('ca', str, 'CA certificate file.'),
    certificate: value('certificate', str, 'Client certificate file.'),
    key: value('key', str, 'Private key file.'),
  },
};

/** Top-level statements that belong to the LVS side. */
export const lvsRoot = {
  virtual_server_group: block('virtualServerGroups', virtualServerGroupSpec, 'A named set of virtual addresses/ranges/fwmarks: `virtual_server_group NAME { 10.0.0.1 80; 10.0.0.2-9 80; fwmark 5 }`.', { repeat: 'append' }),
  virtual_server: block('virtualServers', virtualServerSpec, 'A virtual service: `virtual_server ADDR [PORT] | fwmark N | group NAME { ... }`.', { repeat: 'append' }),
  SSL: block('ssl', sslSpec, 'TLS client context for SSL_GET: `SSL { ca ...; certificate ...; key ...; password ... }`.'),
};

/** The LVS part of the compiled configuration. */
export interface LvsModel {
  readonly virtualServers: readonly VirtualServer[];
  readonly virtualServerGroups: readonly VirtualServerGroup[];
  readonly ssl?: SslContext;
}

/** Defaults of the LVS part of the top level (lists start empty). */
export function lvsRootDefaults(): Partial<LvsModel> {
  return { virtualServers: [], virtualServerGroups: [] };
}

export type { AddrPort, Granularity, LvsMethod, VsgEntry };
