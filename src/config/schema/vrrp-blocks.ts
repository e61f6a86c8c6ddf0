import { type Family, type ScriptSpec, arity, decimal, ifname, int, readIfname, readInt, script, seconds } from './args.js';
import { type ArgParser, type BlockSpec, alias, block, fieldPos, list, requireField, value } from './dsl.js';
import { type Tracked, laxBare, nameHead, optBool, readAddr, secondsZeroIsOne, tracked, spreadWeight, userGroup, weightReverse } from './vrrp-args.js';

/*
 * The VRRP side's named helper blocks: vrrp_script, vrrp_sync_group, track_file,
 * vrrp_track_process, garp_group and bfd_instance. Defaults and ranges are keepalived 2.2.7's
 * (vrrp_parser.c, track_file.c, bfd_parser.c).
 */

/** `vrrp_script NAME { ... }`: a periodic check whose result moves instance priorities or states. */
export interface VrrpScript {
  readonly name: string;
  readonly script: ScriptSpec;
  /** Milliseconds between runs: whole seconds 1-4294 in the file. Default 1 s. */
  readonly intervalMs: number;
  /** Milliseconds after which a run counts as failed; whole seconds 1-4294. Default: the interval. */
  readonly timeoutMs?: number;
  /** Priority change: added while up when > 0, subtracted while down when < 0; 0 = fault on failure. */
  readonly weight: number;
  readonly weightReverse: boolean;
  readonly rise: number;
  readonly fall: number;
  readonly user?: { readonly user: string; readonly group?: string };
  readonly initFail: boolean;
}

const INT_MAX = 2147483647;

/** The `vrrp_script` block. */
export const vrrpScriptSpec: BlockSpec<VrrpScript> = {
  name: 'vrrp_script',
  head: nameHead,
  defaults: () => ({ intervalMs: 1000, weight: 0, weightReverse: false, rise: 1, fall: 1, initFail: false }),
  keywords: {
    script: value('script', script, 'Command to run: a path, or a quoted command line with arguments, optionally followed by user and group.'),
    interval: value('intervalMs', secondsZeroIsOne(4294), 'Whole seconds between runs, 1-4294. Default 1. (keepalived reads 0 as 1 and rejects fractions.)'),
    timeout: value('timeoutMs', secondsZeroIsOne(4294), 'Whole seconds after which a run counts as failed, 1-4294. Default: the interval.'),
    weight: value('weight', weightReverse(253), 'Priority adjustment -253..253, optionally followed by `reverse`. Default 0 (failure means FAULT).'),
    rise: value('rise', int(1, INT_MAX), 'Successes needed to count as up, 1-2147483647. Default 1.'),
    fall: value('fall', int(1, INT_MAX), 'Failures needed to count as down, 1-2147483647. Default 1.'),
    user: value('user', userGroup, 'User and optional group to run the script as. Default: global script_user.'),
    init_fail: value('initFail', laxBare(), 'Start in the failed state. Default: start as succeeded.'),
  },
  finalize(o, stmt, c) {
    if (!requireField(o, 'script', 'script', stmt, c, `vrrp_script ${o.name ?? ''}`)) return undefined;
    spreadWeight(o);
    return o as VrrpScript;
  },
};

/** `vrrp_sync_group NAME { group { ... } ... }`: instances that change state together. */
export interface VrrpSyncGroup {
  readonly name: string;
  /** Names of the member vrrp_instances. */
  readonly group: readonly string[];
  readonly trackInterface: readonly Tracked[];
  readonly trackScript: readonly Tracked[];
  readonly trackFile: readonly Tracked[];
  readonly trackProcess: readonly Tracked[];
  readonly trackBfd: readonly Tracked[];
  readonly notifyMaster?: ScriptSpec;
  readonly notifyBackup?: ScriptSpec;
  readonly notifyFault?: ScriptSpec;
  readonly notifyStop?: ScriptSpec;
  /** Run on every transition with: GROUP NAME STATE PRIORITY appended. */
  readonly notify?: ScriptSpec;
  /** Undefined: global smtp_alert_vrrp / smtp_alert. */
  readonly smtpAlert?: boolean;
  readonly notifyPriorityChanges?: boolean;
  /** Let members keep differing tracking weights (`global_tracking` is its deprecated spelling). */
  readonly syncGroupTrackingWeight: boolean;
}

/** One line of a name list block: every word is a name (keepalived's read_value_block). */
const names: ArgParser<string[]> = (words) => words.map((w) => w.text);

const trackKeywords = {
  track_interface: list('trackInterface', tracked(253, true), 'Interfaces to track: `IFNAME [weight -253..253 [reverse|noreverse]]`. Unweighted: FAULT when down.'),
  track_script: list('trackScript', tracked(253), 'vrrp_script names to track: `NAME [weight -253..253] [reverse|noreverse]`. Default weight: the script\'s.'),
  track_file: list('trackFile', tracked(254), 'track_file names: `NAME [weight -254..254] [reverse|noreverse]`. Default weight: the track_file\'s.'),
  track_process: list('trackProcess', tracked(254), 'vrrp_track_process names: `NAME [weight -254..254] [reverse|noreverse]`. Default weight: the process\'s.'),
  track_bfd: list('trackBfd', tracked(253), 'bfd_instance names: `NAME [weight -253..253] [reverse|noreverse]`. Default weight: the BFD instance\'s.', { inert: 'vigil has no BFD engine yet' }),
};

/** Keywords shared by vrrp_sync_group and vrrp_instance (tracking, notify scripts, alerts). */
export const sharedTrackNotify = {
  ...trackKeywords,
  notify_master: value('notifyMaster', script, 'Script run on becoming MASTER: path or quoted command line, [USER [GROUP]].'),
  notify_backup: value('notifyBackup', script, 'Script run on becoming BACKUP.'),
  notify_fault: value('notifyFault', script, 'Script run on entering FAULT.'),
  notify_stop: value('notifyStop', script, 'Script run when VRRP stops.'),
  notify: value('notify', script, 'Script run on every transition, with GROUP|INSTANCE NAME STATE PRIORITY appended.'),
  smtp_alert: value('smtpAlert', optBool, 'Send mail on transitions `[<BOOL>]`. Default: global smtp_alert_vrrp / smtp_alert (off).', { inert: 'vigil does not send mail' }),
  notify_priority_changes: value('notifyPriorityChanges', optBool, 'Also write priority changes to the notify FIFOs `[<BOOL>]`. Default: global vrrp_notify_priority_changes (off).', { inert: 'the VRRP engine writes transitions only' }),
};

/** The `vrrp_sync_group` block. */
export const vrrpSyncGroupSpec: BlockSpec<VrrpSyncGroup> = {
  name: 'vrrp_sync_group',
  head: nameHead,
  defaults: () => ({ group: [], trackInterface: [], trackScript: [], trackFile: [], trackProcess: [], trackBfd: [], syncGroupTrackingWeight: false }),
  keywords: {
    group: list('group', names, 'Member vrrp_instance names, one or more per line. Required.'),
    ...sharedTrackNotify,
    sync_group_tracking_weight: value('syncGroupTrackingWeight', laxBare(), 'Allow members to use differing tracking weights (keepalived warns this probably will not work).'),
    global_tracking: value('syncGroupTrackingWeight', laxBare(), 'Deprecated spelling of sync_group_tracking_weight.', { deprecated: "use track_interface/track_script/track_file on the sync group (keepalived maps it to 'sync_group_tracking_weight')", aliasOf: 'sync_group_tracking_weight' }),
  },
  entries: {
    field: 'misplaced' as never,
    doc: 'Not an entry: instance names belong inside `group { }`.',
    parse: (words, kw, c) => void c.diag.error(kw.pos, 'misplaced-member', `'${kw.text}' is not a vrrp_sync_group keyword (keepalived ignores this line); member instances belong inside 'group { ${words.map((w) => w.text).join(' ')} }'`),
  },
  finalize(o, stmt, c) {
    const flat = (o.group as unknown as (string | string[])[]).flat();
    const g = Object.assign(o, { group: flat }) as VrrpSyncGroup;
    if (flat.length === 0 && !fieldPos(o, 'group') && !fieldPos(o, 'misplaced')) c.diag.error(stmt.keyword.pos, 'missing-keyword', `vrrp_sync_group ${o.name ?? ''} has no 'group { ... }' of member instances (keepalived removes it)`);
    else if (flat.length === 0 && fieldPos(o, 'group')) c.diag.error(fieldPos(o, 'group')!, 'empty-block', `vrrp_sync_group ${o.name ?? ''}: 'group' lists no instance (keepalived removes the sync group)`);
    return g;
  },
};

/** `track_file NAME { file PATH; weight W [reverse]; init_file [VALUE] [overwrite] }`. */
export interface TrackFile {
  readonly name: string;
  readonly file: string;
  /** Multiplies the number read from the file. Default 1. */
  readonly weight: number;
  readonly weightReverse: boolean;
  /** Create (or with `overwrite`, rewrite) the file with `value` at start. */
  readonly initFile?: { readonly value: number; readonly overwrite: boolean };
}

const initFile: ArgParser<{ value: number; overwrite: boolean }> = (args, kw, c) => {
  if (!arity(args, kw, c, 0, 2, "an optional initial value and optionally 'overwrite'")) return undefined;
  let v = 0;
  let overwrite = false;
  for (const w of args) {
    if (w.text === 'overwrite') overwrite = true;
    else {
      const n = readInt(w, kw, c, -INT_MAX, INT_MAX);
      if (n === undefined) return undefined;
      v = n;
    }
  }
  return { value: v, overwrite };
};

/** The `track_file` (legacy `vrrp_track_file`) block. */
export const trackFileSpec: BlockSpec<TrackFile> = {
  name: 'track_file',
  head: nameHead,
  defaults: () => ({ weight: 1, weightReverse: false }),
  keywords: {
    file: value('file', (a, k, c) => (arity(a, k, c, 1, 1, 'one file path') ? a[0]!.text : undefined), 'Path of the file whose number is tracked. Required.'),
    weight: value('weight', weightReverse(INT_MAX), 'Default weight -2147483647..2147483647, optionally `reverse`. Default 1. vrrp_instances limit the result to -254..254.'),
    init_file: value('initFile', initFile, '`[VALUE] [overwrite]`: create the file with VALUE (default 0) at start; `overwrite` rewrites an existing one.'),
  },
  finalize(o, stmt, c) {
    if (!requireField(o, 'file', 'file', stmt, c, `track_file ${o.name ?? ''}`)) return undefined;
    spreadWeight(o);
    return o as TrackFile;
  },
};

/** `vrrp_track_process NAME { ... }`: up while enough matching processes run. */
export interface TrackProcess {
  readonly name: string;
  /** Process name (or path) and the parameters to match. */
  readonly process: readonly string[];
  /** How parameters match: exact (default when parameters are given), initial or partial. */
  readonly paramMatch?: 'exact' | 'initial' | 'partial';
  /** Default 1. */
  readonly weight: number;
  readonly weightReverse: boolean;
  /** Minimum matching processes, 1-65535. Default 1. */
  readonly quorum: number;
  /** Maximum matching processes, 0-65535; absent = no maximum. */
  readonly quorumMax?: number;
  readonly forkDelayMs?: number;
  readonly terminateDelayMs?: number;
  /** Match /proc/PID/cmdline instead of the process name (implied by parameters or param_match). */
  readonly fullCommand: boolean;
}

const delay = seconds(0.000001, 3600);

/** The `vrrp_track_process` block. */
export const trackProcessSpec: BlockSpec<TrackProcess> = {
  name: 'vrrp_track_process',
  head: nameHead,
  defaults: () => ({ weight: 1, weightReverse: false, quorum: 1, fullCommand: false }),
  keywords: {
    process: value('process', (a, k, c) => (arity(a, k, c, 1, Infinity, 'a process name, optionally followed by parameters') ? a.map((w) => w.text) : undefined), 'Process name (quoted when it has blanks), then parameters to match. Required.'),
    param_match: value('paramMatch', (a, k, c) => {
      if (!arity(a, k, c, 0, 1, 'nothing, initial or partial')) return undefined;
      if (!a[0]) return 'exact';
      if (a[0].text === 'initial' || a[0].text === 'partial') return a[0].text;
      c.diag.error(a[0].pos, 'invalid-value', `'param_match' expects initial or partial, got '${a[0].raw}'`);
      return undefined;
    }, '`[initial|partial]`: how parameters match; alone it means exact (and no parameters if none are given).'),
    weight: value('weight', weightReverse(254), 'Default weight -254..254, optionally `reverse`. Default 1.'),
    quorum: value('quorum', int(1, 65535), 'Minimum number of matching processes, 1-65535. Default 1.'),
    quorum_max: value('quorumMax', int(0, 65535), 'Maximum number of matching processes, 0-65535 (0: up only when none runs). Default: no maximum.'),
    fork_delay: value('forkDelayMs', delay, 'Seconds to wait after the quorum is gained before counting as up (0.000001-3600).'),
    terminate_delay: value('terminateDelayMs', delay, 'Seconds to wait after the quorum is lost before counting as down (0.000001-3600).'),
    delay: value('delayMs' as never, delay, 'Sets both fork_delay and terminate_delay (seconds, 0.000001-3600).'),
    full_command: value('fullCommand', laxBare(), 'Match the full command line instead of the process name.'),
  },
  finalize(o, stmt, c) {
    if (!requireField(o, 'process', 'process', stmt, c, `vrrp_track_process ${o.name ?? ''}`)) return undefined;
    const out = o as { -readonly [K in keyof TrackProcess]: TrackProcess[K] };
    spreadWeight(out);
    // `delay` sets both delays; a later fork_delay/terminate_delay is not overridden by an earlier delay and vice versa (last written wins).
    const d = (o as { delayMs?: number }).delayMs;
    delete (out as { delayMs?: number }).delayMs;
    if (d !== undefined) {
      const dl = fieldPos(o, 'delayMs')!.line;
      if (out.forkDelayMs === undefined || fieldPos(o, 'forkDelayMs')!.line < dl) out.forkDelayMs = d;
      if (out.terminateDelayMs === undefined || fieldPos(o, 'terminateDelayMs')!.line < dl) out.terminateDelayMs = d;
    }
    if ((o.process?.length ?? 0) > 1 || o.paramMatch) out.fullCommand = true;
    if ((o.process?.length ?? 0) > 1 && !o.paramMatch) out.paramMatch = 'exact';
    if (out.quorumMax !== undefined) {
      if (out.quorumMax === 0 && !fieldPos(o, 'quorum')) out.quorum = 0;
      else if (out.quorumMax < out.quorum) c.diag.error(fieldPos(o, 'quorumMax')!, 'out-of-range', `vrrp_track_process ${o.name}: quorum_max ${out.quorumMax} is below quorum ${out.quorum}`);
    }
    return out;
  },
};

/** `garp_group { ... }`: pacing of GARP/NA per interface or set of interfaces. */
export interface GarpGroup {
  /** Milliseconds between gratuitous ARPs on these interfaces. */
  readonly garpIntervalMs?: number;
  /** Milliseconds between unsolicited neighbour adverts. */
  readonly gnaIntervalMs?: number;
  readonly interface?: string;
  readonly interfaces: readonly string[];
}

const ifnames: ArgParser<string[]> = (words, kw, c) => {
  const out: string[] = [];
  for (const w of words) {
    const n = readIfname(w, kw, c);
    if (n !== undefined) out.push(n);
  }
  return out;
};

/** The `garp_group` block. */
export const garpGroupSpec: BlockSpec<GarpGroup> = {
  name: 'garp_group',
  defaults: () => ({ interfaces: [] }),
  keywords: {
    garp_interval: value('garpIntervalMs', seconds(0, 2147), 'Seconds between gratuitous ARPs on these interfaces (resolution microseconds), 0-2147.'),
    gna_interval: value('gnaIntervalMs', seconds(0, 2147), 'Seconds between unsolicited neighbour adverts (resolution microseconds), 0-2147.'),
    interface: value('interface', ifname, 'The one interface the intervals apply to.'),
    interfaces: list('interfaces', ifnames, 'Interfaces (on one switch) across which the intervals are aggregated.'),
  },
  finalize(o, stmt, c) {
    const g = Object.assign(o, { interfaces: (o.interfaces as unknown as string[][]).flat() }) as GarpGroup;
    if (g.garpIntervalMs === undefined && g.gnaIntervalMs === undefined && !fieldPos(o, 'garpIntervalMs') && !fieldPos(o, 'gnaIntervalMs'))
      c.diag.error(stmt.keyword.pos, 'missing-keyword', "garp_group sets neither 'garp_interval' nor 'gna_interval' (keepalived removes it)");
    if (g.interface === undefined && g.interfaces.length === 0 && !fieldPos(o, 'interface') && !fieldPos(o, 'interfaces'))
      c.diag.warn(stmt.keyword.pos, 'no-effect', "garp_group names no 'interface' or 'interfaces'; it has no effect");
    if (g.interface !== undefined && fieldPos(o, 'interfaces'))
      c.diag.warn(fieldPos(o, 'interfaces')!, 'ambiguous', "garp_group: use only one of 'interface' and 'interfaces' (keepalived.conf(5))");
    return g;
  },
};

/** `bfd_instance NAME { ... }` (RFC 5880). */
export interface BfdInstance {
  readonly name: string;
  readonly neighborIp?: string;
  readonly sourceIp?: string;
  readonly family?: Family;
  /** Required minimum RX interval in ms (fractions to µs). Default 10. */
  readonly minRxMs: number;
  /** Desired minimum TX interval in ms. Default 10. */
  readonly minTxMs: number;
  /** Desired idle TX interval in ms. Default 1000. */
  readonly idleTxMs: number;
  /** Missed packets before down, 1-255. Default 5. */
  readonly multiplier: number;
  readonly passive: boolean;
  /** Outgoing IPv4 TTL. Default 255. */
  readonly ttl: number;
  /** Outgoing IPv6 hop limit. Default 64. */
  readonly hoplimit: number;
  /** Maximum TTL reduction accepted (255 disables the check). Default 0. */
  readonly maxHops: number;
  readonly weight: number;
  readonly weightReverse: boolean;
  /** Send events only to the VRRP process. */
  readonly vrrp: boolean;
  /** Send events only to the checker process. */
  readonly checker: boolean;
}

const BFD_MS_MAX = 4294967; // UINT32_MAX / 1000, keepalived bfd.h
const bfdIp: ArgParser<string> = (a, k, c) => (arity(a, k, c, 1, 1, 'one IP address') ? readAddr(a[0]!, k, c)?.address : undefined);

/** The `bfd_instance` block. */
export const bfdInstanceSpec: BlockSpec<BfdInstance> = {
  name: 'bfd_instance',
  head: (args, kw, c) => {
    const h = nameHead(args, kw, c);
    if (h && h.name.length > 31) {
      c.diag.error(args[0]!.pos, 'invalid-value', `bfd_instance name '${h.name}' is longer than 31 characters (keepalived BFD_INAME_MAX)`);
      return undefined;
    }
    return h;
  },
  defaults: () => ({ minRxMs: 10, minTxMs: 10, idleTxMs: 1000, multiplier: 5, passive: false, ttl: 255, hoplimit: 64, maxHops: 0, weight: 0, weightReverse: false, vrrp: false, checker: false }),
  keywords: {
    neighbor_ip: value('neighborIp', bfdIp, 'Address of the BFD neighbour. Required.'),
    neighbour_ip: alias('neighbor_ip', value('neighborIp', bfdIp, '')),
    source_ip: value('sourceIp', bfdIp, 'Source address (same family as the neighbour).'),
    min_rx: value('minRxMs', decimal(1, BFD_MS_MAX), `Required minimum RX interval in milliseconds (1-${BFD_MS_MAX}, µs resolution). Default 10.`),
    min_tx: value('minTxMs', decimal(1, BFD_MS_MAX), `Desired minimum TX interval in milliseconds (1-${BFD_MS_MAX}). Default 10.`),
    idle_tx: value('idleTxMs', decimal(1000, BFD_MS_MAX), `Desired idle TX interval in milliseconds (1000-${BFD_MS_MAX}). Default 1000.`),
    multiplier: value('multiplier', int(1, 255), 'Missed packets before the session is down, 1-255. Default 5.'),
    passive: value('passive', laxBare(), 'Passive mode: wait for the neighbour to start. Default active.'),
    ttl: value('ttl', int(1, 255), 'Outgoing IPv4 TTL, 1-255. Default 255.'),
    hoplimit: value('hoplimit', int(1, 255), 'Outgoing IPv6 hop limit, 1-255. Default 64.'),
    max_hops: value('maxHops', int(0, 255), 'Maximum TTL/hop-limit reduction accepted, 0-255 (255: no check). Default 0.'),
    weight: value('weight', weightReverse(253), 'Default tracking weight -253..253, optionally `reverse`. Default 0.'),
    vrrp: value('vrrp', laxBare(), 'Send this instance\'s events only to the VRRP process.'),
    checker: value('checker', laxBare(), 'Send this instance\'s events only to the checker process.'),
  },
  finalize(o, stmt, c) {
    if (!requireField(o, 'neighborIp', 'neighbor_ip', stmt, c, `bfd_instance ${o.name ?? ''}`)) return undefined;
    const out = o as { -readonly [K in keyof BfdInstance]: BfdInstance[K] };
    spreadWeight(out);
    out.family = o.neighborIp!.includes(':') ? 6 : 4;
    if (o.sourceIp && o.sourceIp.includes(':') !== (out.family === 6))
      c.diag.error(fieldPos(o, 'sourceIp')!, 'family-mismatch', `bfd_instance ${o.name}: source_ip ${o.sourceIp} and neighbor_ip ${o.neighborIp} are of different address families`);
    return out;
  },
};

/** Top-level VRRP helper blocks. */
export const vrrpHelperRoot = {
  vrrp_script: block('vrrpScripts', vrrpScriptSpec, 'A tracking script: `vrrp_script NAME { script ...; interval ...; weight ... }`.', { repeat: 'append' }),
  vrrp_sync_group: block('vrrpSyncGroups', vrrpSyncGroupSpec, 'Instances that change state together: `vrrp_sync_group NAME { group { VI_1 VI_2 } ... }`.', { repeat: 'append' }),
  track_file: block('trackFiles', trackFileSpec, 'A file holding a number that moves priorities: `track_file NAME { file PATH; weight W }`.', { repeat: 'append' }),
  vrrp_track_file: alias('track_file', block('trackFiles', trackFileSpec, '', { repeat: 'append', deprecated: "use 'track_file'" })),
  vrrp_track_process: block('trackProcesses', trackProcessSpec, 'Track running processes: `vrrp_track_process NAME { process haproxy; quorum 1 }`.', { repeat: 'append' }),
  garp_group: block('garpGroups', garpGroupSpec, 'GARP/NA pacing: `garp_group { garp_interval S; gna_interval S; interface IF | interfaces { ... } }`.', { repeat: 'append' }),
  bfd_instance: block('bfdInstances', bfdInstanceSpec, 'A BFD session (RFC 5880): `bfd_instance NAME { neighbor_ip ADDR; ... }`.', { repeat: 'append', inert: 'vigil has no BFD engine yet' }),
};

