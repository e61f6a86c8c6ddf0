import { arity, readIfname, readNumber, str, wholeSeconds } from './args.js';
import { type ArgParser, type BlockSpec, block, fieldPos, list, value } from './dsl.js';
import { type VirtualIp, laxBare, nameHead, positioned, virtualIp } from './vrrp-args.js';
import { type RouteSpec, type RuleSpec, routeEntry, ruleEntry } from './vrrp-routes.js';

/*
 * Process-wide top-level keywords outside global_defs (namespaces, pid files, linkbeat, debounce)
 * and the static blocks: track_group, static_ipaddress, static_routes, static_rules.
 */

/** One `linkbeat_interfaces` entry: `IFNAME [MII|ETHTOOL|IOCTL]`. */
export interface LinkbeatInterface {
  readonly name: string;
  /** Preferred polling method; default MII, falling back to ETHTOOL then IOCTL. */
  readonly type?: 'MII' | 'ETHTOOL' | 'IOCTL';
}

/** One `interface_up_down_delays` entry: `IFNAME DOWN_DELAY [UP_DELAY]`. */
export interface UpDownDelay {
  readonly name: string;
  /** Milliseconds an interface must stay down before instances go FAULT (0-255 s, µs resolution). */
  readonly downDelayMs: number;
  /** Milliseconds it must stay up before they leave FAULT; default: the down delay (keepalived.conf(5)). */
  readonly upDelayMs: number;
}

/** `track_group NAME { group { VI_1 VI_2 } }`: instances that go FAULT if a static item tagged with it is lost. */
export interface TrackGroup {
  readonly name: string;
  readonly group: readonly string[];
}

const linkbeatEntry: ArgParser<LinkbeatInterface> = positioned((words, kw, c) => {
  const [n, t, extra] = words;
  const name = readIfname(n!, kw, c);
  if (name === undefined) return undefined;
  if (extra) return void c.diag.error(extra.pos, 'extra-argument', `linkbeat interface ${name}: unexpected '${extra.raw}'`);
  if (!t) return { name };
  if (t.text !== 'MII' && t.text !== 'ETHTOOL' && t.text !== 'IOCTL') return void c.diag.error(t.pos, 'invalid-value', `linkbeat interface ${name}: expected MII, ETHTOOL or IOCTL, got '${t.raw}'`);
  return { name, type: t.text };
});

const upDownEntry: ArgParser<UpDownDelay> = positioned((words, kw, c) => {
  const [n, d, u, extra] = words;
  const name = readIfname(n!, kw, c);
  if (name === undefined) return undefined;
  if (!d) return void c.diag.error(n!.pos, 'missing-argument', `interface_up_down_delays ${name}: needs a down delay in seconds (0-255)`);
  if (extra) return void c.diag.error(extra.pos, 'extra-argument', `interface_up_down_delays ${name}: takes a down delay and an optional up delay; unexpected '${extra.raw}'`);
  const down = readNumber(d, kw, c, 0, 255, ' (seconds)');
  const up = u ? readNumber(u, kw, c, 0, 255, ' (seconds)') : down;
  if (down === undefined || up === undefined) return undefined;
  return { name, downDelayMs: Math.round(down * 1e6) / 1e3, upDelayMs: Math.round(up * 1e6) / 1e3 };
});

const names: ArgParser<string[]> = (words) => words.map((w) => w.text);

/** The `track_group` block. */
export const trackGroupSpec: BlockSpec<TrackGroup> = {
  name: 'track_group',
  head: nameHead,
  defaults: () => ({ group: [] }),
  keywords: { group: list('group', names, 'vrrp_instance names that track the static items tagged with this group.') },
  finalize(o, stmt, c) {
    const g = Object.assign(o, { group: (o.group as unknown as string[][]).flat() }) as TrackGroup;
    if (g.group.length === 0) c.diag.error(fieldPos(o, 'group') ?? stmt.keyword.pos, 'missing-keyword', `track_group ${o.name ?? ''} has no members in 'group { ... }' (keepalived removes it)`);
    return g;
  },
};

const nsIpvs: ArgParser<string> = (a, k, c) => (arity(a, k, c, 0, 1, 'nothing (the default namespace) or a namespace name') ? (a[0]?.text ?? '') : undefined);

/** Top-level process keywords and static blocks. */
export const globalTopRoot = {
  net_namespace: value('netNamespace', str, 'Network namespace to run in (cannot change on reload).', { inert: 'vigil runs in the namespace it is started in' }),
  net_namespace_ipvs: value('netNamespaceIpvs', nsIpvs, '`[NAME]`: namespace holding the IPVS configuration; no name = the default namespace.', { inert: 'vigil programs IPVS in its own namespace' }),
  namespace_with_ipsets: value('namespaceWithIpsets', laxBare(), 'Allow ipsets in a namespace on kernels before 3.13.', { inert: 'vigil does not use ipsets' }),
  instance: value('instance', str, 'Instance name for pid files when several run in one namespace.'),
  use_pid_dir: value('usePidDir', laxBare(), 'Create pid files in /run/keepalived.'),
  linkbeat_use_polling: value('linkbeatUsePolling', laxBare(), 'Poll link state (MII/ethtool/ioctl) instead of netlink.', { inert: 'vigil uses netlink link events' }),
  child_wait_time: value('childWaitTimeMs', wholeSeconds(0, 4294967295), 'Seconds to wait for children to exit at stop. Default 5.'),
  linkbeat_interfaces: list('linkbeatInterfaces', linkbeatEntry, 'Interfaces whose link state is polled: `IFNAME [MII|ETHTOOL|IOCTL]` per line.', { inert: 'vigil uses netlink link events' }),
  interface_up_down_delays: list('interfaceUpDownDelays', upDownEntry, 'Debounce: `IFNAME DOWN_DELAY [UP_DELAY]` in seconds (0-255, µs resolution); UP defaults to DOWN.'),
  track_group: block('trackGroups', trackGroupSpec, 'Instances tracking static items: `track_group NAME { group { VI_1 VI_2 } }`.', { repeat: 'append' }),
  static_ipaddress: list('staticIpaddress', virtualIp, 'Addresses set at start and kept: `ADDR[/P] [dev IF] [scope S] [label L] [track_group G] ...` per line.', { inert: 'vigil does not manage static addresses yet' }),
  static_routes: list('staticRoutes', routeEntry, 'Routes set at start and kept (`ip route` syntax, plus track_group G).', { inert: 'vigil does not manage routes yet' }),
  static_rules: list('staticRules', ruleEntry, 'Policy rules set at start and kept (`ip rule` syntax, plus track_group G).', { inert: 'vigil does not manage rules yet' }),
};

/** The top-level process keywords and static blocks in the model. */
export interface GlobalTopModel {
  readonly netNamespace?: string;
  /** '' = the default namespace. */
  readonly netNamespaceIpvs?: string;
  readonly namespaceWithIpsets: boolean;
  readonly instance?: string;
  readonly usePidDir: boolean;
  readonly linkbeatUsePolling: boolean;
  /** Default 5 s. */
  readonly childWaitTimeMs: number;
  readonly linkbeatInterfaces: readonly LinkbeatInterface[];
  readonly interfaceUpDownDelays: readonly UpDownDelay[];
  readonly trackGroups: readonly TrackGroup[];
  readonly staticIpaddress: readonly VirtualIp[];
  readonly staticRoutes: readonly RouteSpec[];
  readonly staticRules: readonly RuleSpec[];
}

/** Defaults of the top-level process keywords. */
export function globalTopDefaults(): Partial<GlobalTopModel> {
  return {
    namespaceWithIpsets: false, usePidDir: false, linkbeatUsePolling: false, childWaitTimeMs: 5000,
    linkbeatInterfaces: [], interfaceUpDownDelays: [], trackGroups: [], staticIpaddress: [], staticRoutes: [], staticRules: [],
  };
}
