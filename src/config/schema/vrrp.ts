import type { Word } from '../parser.js';
import {
  type Cidr,
  type ScriptSpec,
  arity,
  flag,
  ifname,
  int,
  oneOf,
  readCidr,
  readInt,
  script,
  seconds,
  str,
} from './args.js';
import { type ArgParser, type BlockSpec, type BuildCtx, block, list, value } from './dsl.js';
import { fieldPos, requireField } from './dsl.js';

/*
 * VRRP side of keepalived.conf: vrrp_script and vrrp_instance.
 * Durations are milliseconds; names follow keepalived's keywords in camelCase.
 */

/** `vrrp_script NAME { ... }`: a periodic check whose result moves instance priorities or states. */
export interface VrrpScript {
  readonly name: string;
  readonly script: ScriptSpec;
  /** Milliseconds between runs. keepalived default 1 s. */
  readonly intervalMs: number;
  /** Milliseconds after which a run counts as failed; default: the interval. */
  readonly timeoutMs?: number;
  /** Priority change: added while up when > 0, subtracted while down when < 0; 0 = fault on failure. */
  readonly weight: number;
  readonly weightReverse: boolean;
  readonly rise: number;
  readonly fall: number;
  readonly user?: { readonly user: string; readonly group?: string };
  readonly initFail: boolean;
}

/** One entry of `virtual_ipaddress` / `virtual_ipaddress_excluded`. */
export interface VirtualIp extends Cidr {
  readonly brd?: string;
  readonly dev?: string;
  readonly scope?: string;
  readonly label?: string;
  readonly peer?: string;
  readonly home?: boolean;
  readonly noDad?: boolean;
  readonly noPrefixRoute?: boolean;
  readonly autojoin?: boolean;
  readonly trackGroup?: string;
  readonly noTrack?: boolean;
}

/** `authentication { auth_type PASS|AH; auth_pass SECRET }` (VRRPv2 only). */
export interface VrrpAuth {
  readonly type: 'PASS' | 'AH';
  /** Up to 8 characters; longer is truncated as keepalived does, with a warning. */
  readonly pass: string;
}

/** A tracked object with an optional weight (`track_script`, `track_interface`, ...). */
export interface Tracked {
  readonly name: string;
  readonly weight?: number;
  readonly reverse?: boolean;
}

/** `vrrp_instance NAME { ... }`. */
export interface VrrpInstance {
  readonly name: string;
  /** The state to start in; keepalived treats MASTER as a hint (it still runs the election). */
  readonly state: 'MASTER' | 'BACKUP';
  readonly interface?: string;
  readonly vrid?: number;
  /** 1-255; 255 means address owner. Default 100. */
  readonly priority: number;
  /** Advertisement interval in ms. Default 1000. */
  readonly advertIntMs: number;
  /** VRRP version; undefined = `vrrp_version` of global_defs (default 2). */
  readonly version?: 2 | 3;
  readonly virtualIpaddress: readonly VirtualIp[];
  readonly virtualIpaddressExcluded: readonly VirtualIp[];
  readonly authentication?: VrrpAuth;
  readonly nopreempt: boolean;
  /** Milliseconds to wait before preempting a lower priority master after start. Default 0. */
  readonly preemptDelayMs: number;
  readonly unicastSrcIp?: string;
  readonly unicastPeer: readonly UnicastPeer[];
  readonly trackScript: readonly Tracked[];
  readonly trackInterface: readonly Tracked[];
  readonly notifyMaster?: ScriptSpec;
  readonly notifyBackup?: ScriptSpec;
  readonly notifyFault?: ScriptSpec;
  readonly notifyStop?: ScriptSpec;
  readonly notify?: ScriptSpec;
  readonly garpMasterDelayMs?: number;
  readonly garpMasterRepeat?: number;
}

/** One `unicast_peer` entry: `ADDR [min_ttl N] [max_ttl N]`. */
export interface UnicastPeer {
  readonly address: string;
  readonly family: 4 | 6;
  readonly minTtl?: number;
  readonly maxTtl?: number;
}

/** Tracked entry: `NAME [weight W [reverse]]`. */
export function tracked(minWeight: number, maxWeight: number): ArgParser<Tracked> {
  return (args, kw, c) => {
    const [first, ...rest] = args;
    if (!first) return undefined;
    const name = first.text;
    args = rest;
    if (args.length === 0) return { name };
    const w0 = args[0]!;
    if (w0.text !== 'weight') {
      c.diag.error(w0.pos, 'invalid-option', `${kw.text} '${name}': expected 'weight N [reverse]', got '${w0.raw}'`);
      return undefined;
    }
    if (!arity(args, w0, c, 2, 3, `a weight (${minWeight}-${maxWeight}) and optionally 'reverse'`)) return undefined;
    const weight = readInt(args[1]!, w0, c, minWeight, maxWeight);
    if (weight === undefined) return undefined;
    if (args[2] && args[2].text !== 'reverse') {
      c.diag.error(args[2].pos, 'invalid-option', `${kw.text} '${name}': expected 'reverse' after the weight, got '${args[2].raw}'`);
      return undefined;
    }
    return args[2] ? { name, weight, reverse: true } : { name, weight };
  };
}

const VIP_OPTIONS: Record<string, 'value' | 'flag'> = {
  brd: 'value',
  broadcast: 'value',
  dev: 'value',
  scope: 'value',
  label: 'value',
  peer: 'value',
  home: 'flag',
  '-nodad': 'flag',
  nodad: 'flag',
  noprefixroute: 'flag',
  autojoin: 'flag',
  track_group: 'value',
  no_track: 'flag',
};
const SCOPES = ['site', 'link', 'host', 'nowhere', 'global'];

/** `ADDR[/PREFIX] [brd ADDR] [dev IF] [scope S] [label L] [peer ADDR] [home] [-nodad] ...` */
export const virtualIp: ArgParser<VirtualIp> = (words, kw, c) => {
  const [first, ...args] = words;
  if (!first) return undefined;
  const cidr = readCidr(first, kw, c);
  if (!cidr) return undefined;
  const out: Record<string, unknown> = { ...cidr };
  for (let k = 0; k < args.length; k++) {
    const w = args[k]!;
    const kind = VIP_OPTIONS[w.text];
    if (!kind) {
      c.diag.error(w.pos, 'invalid-option', `virtual address ${first.text}: unexpected '${w.raw}'; expected one of ${Object.keys(VIP_OPTIONS).join(', ')}`);
      return undefined;
    }
    if (kind === 'flag') {
      out[{ '-nodad': 'noDad', nodad: 'noDad', noprefixroute: 'noPrefixRoute', home: 'home', autojoin: 'autojoin', no_track: 'noTrack' }[w.text]!] = true;
      continue;
    }
    const v = args[++k];
    if (!v) {
      c.diag.error(w.pos, 'missing-argument', `virtual address ${first.text}: '${w.text}' needs a value`);
      return undefined;
    }
    switch (w.text) {
      case 'brd':
      case 'broadcast':
      case 'peer': {
        const a = readCidr(v, w, c);
        if (!a) return undefined;
        out[w.text === 'peer' ? 'peer' : 'brd'] = a.address;
        break;
      }
      case 'scope':
        if (!SCOPES.includes(v.text) && !/^\d+$/.test(v.text)) {
          c.diag.error(v.pos, 'invalid-value', `virtual address ${first.text}: scope '${v.raw}' is not one of ${SCOPES.join('|')} or a number`);
          return undefined;
        }
        out.scope = v.text;
        break;
      case 'dev':
        out.dev = v.text;
        break;
      case 'label':
        out.label = v.text;
        break;
      case 'track_group':
        out.trackGroup = v.text;
        break;
    }
  }
  return out as unknown as VirtualIp;
};

/** `ADDR [min_ttl N] [max_ttl N]`. */
export const unicastPeer: ArgParser<UnicastPeer> = (words, kw, c) => {
  const [first, ...args] = words;
  if (!first) return undefined;
  const a = readCidr(first, kw, c);
  if (!a) return undefined;
  if (a.prefix !== (a.family === 4 ? 32 : 128) || first.text.includes('/')) {
    c.diag.error(first.pos, 'invalid-address', `unicast_peer '${first.raw}' must be a plain address, without a prefix`);
    return undefined;
  }
  const out: { address: string; family: 4 | 6; minTtl?: number; maxTtl?: number } = { address: a.address, family: a.family };
  for (let k = 0; k < args.length; k += 2) {
    const w = args[k]!;
    const v = args[k + 1];
    if ((w.text !== 'min_ttl' && w.text !== 'max_ttl') || !v) {
      c.diag.error(w.pos, 'invalid-option', `unicast_peer ${first.text}: expected 'min_ttl N' or 'max_ttl N', got '${w.raw}'`);
      return undefined;
    }
    const n = readInt(v, w, c, 0, 255);
    if (n === undefined) return undefined;
    if (w.text === 'min_ttl') out.minTtl = n;
    else out.maxTtl = n;
  }
  return out;
};

/** `NAME` of a block head. */
export const nameHead: ArgParser<{ name: string }> = (args, kw, c) =>
  arity(args, kw, c, 1, 1, 'a name before its "{"') ? { name: args[0]!.text } : undefined;

const authBlock: BlockSpec<VrrpAuth> = {
  name: 'authentication',
  defaults: () => ({}),
  keywords: {
    auth_type: value('type', oneOf(['PASS', 'AH'] as const), 'PASS (simple password) or AH (IPSEC-AH). VRRPv2 only.'),
    auth_pass: value('pass', str, 'The password; only the first 8 characters are used.'),
  },
  finalize(o, stmt, c) {
    if (!o.type) {
      c.diag.error(stmt.keyword.pos, 'missing-keyword', "'authentication' needs 'auth_type PASS|AH'");
      return undefined;
    }
    if (o.pass === undefined) {
      c.diag.error(stmt.keyword.pos, 'missing-keyword', "'authentication' needs 'auth_pass'");
      return undefined;
    }
    if (o.pass.length > 8) {
      c.diag.warn(fieldPos(o, 'pass') ?? stmt.keyword.pos, 'truncated', `auth_pass is longer than 8 characters; only '${o.pass.slice(0, 8)}' is used (as keepalived does)`);
      return { type: o.type, pass: o.pass.slice(0, 8) };
    }
    return o as VrrpAuth;
  },
};

/** The `vrrp_script` block. */
export const vrrpScriptSpec: BlockSpec<VrrpScript> = {
  name: 'vrrp_script',
  head: nameHead,
  defaults: () => ({ intervalMs: 1000, weight: 0, weightReverse: false, rise: 1, fall: 1, initFail: false }),
  keywords: {
    script: value('script', script, 'Command to run: a path, or a quoted command line with arguments.'),
    interval: value('intervalMs', seconds(0.000001, 86400), 'Seconds between runs. Default 1.'),
    timeout: value('timeoutMs', seconds(0.000001, 86400), 'Seconds after which a run counts as failed. Default: the interval.'),
    weight: value('weight', weightReverse, 'Priority adjustment -253..253, optionally followed by `reverse`. Default 0 (failure means FAULT).'),
    rise: value('rise', int(1, 2147483647), 'Successes needed to count as up. Default 1.'),
    fall: value('fall', int(1, 2147483647), 'Failures needed to count as down. Default 1.'),
    user: value('user', userGroup, 'User and optional group to run the script as.'),
    init_fail: value('initFail', flag, 'Start in the failed state.'),
  },
  finalize(o, stmt, c) {
    if (!o.script) {
      c.diag.error(stmt.keyword.pos, 'missing-keyword', `vrrp_script ${o.name ?? ''} has no 'script'`);
      return undefined;
    }
    const w = o.weight as unknown as { weight: number; reverse: boolean } | number | undefined;
    if (typeof w === 'object') return { ...o, weight: w.weight, weightReverse: w.reverse } as VrrpScript;
    return o as VrrpScript;
  },
};

function weightReverse(args: readonly Word[], kw: Word, c: BuildCtx): { weight: number; reverse: boolean } | undefined {
  if (!arity(args, kw, c, 1, 2, "a weight (-253..253), optionally followed by 'reverse'")) return undefined;
  const weight = readInt(args[0]!, kw, c, -253, 253);
  if (weight === undefined) return undefined;
  if (args[1] && args[1].text !== 'reverse') {
    c.diag.error(args[1].pos, 'invalid-option', `'${kw.text}': expected 'reverse' after the weight, got '${args[1].raw}'`);
    return undefined;
  }
  return { weight, reverse: args[1] !== undefined };
}

/** `USER [GROUP]`. */
export function userGroup(args: readonly Word[], kw: Word, c: BuildCtx): { user: string; group?: string } | undefined {
  if (!arity(args, kw, c, 1, 2, 'a user name and optionally a group name')) return undefined;
  return args[1] ? { user: args[0]!.text, group: args[1].text } : { user: args[0]!.text };
}

/** The `vrrp_instance` block. */
export const vrrpInstanceSpec: BlockSpec<VrrpInstance> = {
  name: 'vrrp_instance',
  head: nameHead,
  defaults: () => ({
    state: 'BACKUP',
    priority: 100,
    advertIntMs: 1000,
    virtualIpaddress: [],
    virtualIpaddressExcluded: [],
    nopreempt: false,
    preemptDelayMs: 0,
    unicastPeer: [],
    trackScript: [],
    trackInterface: [],
  }),
  keywords: {
    state: value('state', oneOf(['MASTER', 'BACKUP'] as const), 'Initial state, MASTER or BACKUP. Default BACKUP. The election still decides.'),
    interface: value('interface', ifname, 'Interface the instance runs on (adverts sent and received there).'),
    virtual_router_id: value('vrid', int(1, 255), 'VRID, 1-255. Required. Must be unique per interface and address family.'),
    priority: value('priority', int(1, 255), 'Priority 1-255; 255 is the address owner. Default 100.'),
    advert_int: value('advertIntMs', seconds(0.01, 255), 'Seconds between adverts. Default 1. VRRPv3 allows 0.01-40.95 in centiseconds; VRRPv2 whole seconds.'),
    version: value('version', oneOf(['2', '3'] as const), 'VRRP version 2 or 3 for this instance. Default: `vrrp_version` of global_defs (2).'),
    virtual_ipaddress: list('virtualIpaddress', virtualIp, 'The VIPs: `ADDR[/PREFIX] [dev IF] [brd ADDR] [scope S] [label L] ...`, one per line.'),
    virtual_ipaddress_excluded: list('virtualIpaddressExcluded', virtualIp, 'Addresses managed like VIPs but not carried in adverts.'),
    authentication: block('authentication', authBlock, 'VRRPv2 authentication: `auth_type PASS|AH`, `auth_pass`.'),
    nopreempt: value('nopreempt', flag, 'Do not take over from a lower priority master. Requires state BACKUP.'),
    preempt_delay: value('preemptDelayMs', seconds(0, 1000), 'Seconds to wait after start before preempting a lower-priority master. 0-1000, default 0.'),
    unicast_src_ip: value('unicastSrcIp', (a, k, c) => (arity(a, k, c, 1, 1, 'one IP address') ? readCidr(a[0]!, k, c)?.address : undefined), 'Source address of unicast adverts.'),
    unicast_peer: list('unicastPeer', unicastPeer, 'Peers to send adverts to by unicast instead of multicast.'),
    track_script: list('trackScript', tracked(-254, 254), 'vrrp_script names to track, each `NAME [weight W [reverse]]`.'),
    track_interface: list('trackInterface', tracked(-254, 254), 'Interfaces to track, each `IFNAME [weight W [reverse]]`.'),
    notify_master: value('notifyMaster', script, 'Script run on becoming MASTER.'),
    notify_backup: value('notifyBackup', script, 'Script run on becoming BACKUP.'),
    notify_fault: value('notifyFault', script, 'Script run on entering FAULT.'),
    notify_stop: value('notifyStop', script, 'Script run when the instance stops.'),
    notify: value('notify', script, 'Script run on every transition with: GROUP|INSTANCE NAME STATE PRIORITY.'),
    garp_master_delay: value('garpMasterDelayMs', seconds(0, 255), 'Seconds after becoming MASTER before the second GARP burst. Default: global vrrp_garp_master_delay (5).'),
    garp_master_repeat: value('garpMasterRepeat', int(0, 255), 'GARPs per burst. Default: global vrrp_garp_master_repeat (5).'),
  },
  finalize(o, stmt, c) {
    if (o.version !== undefined) (o as { version: unknown }).version = Number(o.version);
    requireField(o, 'vrid', 'virtual_router_id', stmt, c, `vrrp_instance ${o.name ?? ''}`);
    if (o.unicastPeer?.length === 0) requireField(o, 'interface', 'interface', stmt, c, `vrrp_instance ${o.name ?? ''}`);
    return o as VrrpInstance;
  },
};

/** Statements of the top level that belong to the VRRP side. */
export const vrrpRoot = {
  vrrp_script: block('vrrpScripts', vrrpScriptSpec, 'Define a tracking script: `vrrp_script NAME { script ...; interval ...; weight ... }`.', { repeat: 'append' }),
  vrrp_instance: block('vrrpInstances', vrrpInstanceSpec, 'A VRRP instance: `vrrp_instance NAME { ... }`.', { repeat: 'append' }),
};

/** The VRRP part of the compiled configuration. */
export interface VrrpModel {
  readonly vrrpScripts: readonly VrrpScript[];
  readonly vrrpInstances: readonly VrrpInstance[];
}

/** Defaults of the VRRP part of the top level (lists start empty). */
export function vrrpRootDefaults(): Partial<VrrpModel> {
  return { vrrpScripts: [], vrrpInstances: [] };
}
