import net from 'node:net';
import type { Word } from '../parser.js';
import { type Cidr, type Family, type ScriptSpec, arity, readBool, readCidr, readIfname, readInt, script, suggest } from './args.js';
import type { Pos } from '../diagnostics.js';
import { type ArgParser, type BuildCtx, fieldPos, setFieldPos } from './dsl.js';

/*
 * Argument parsers of the VRRP side (and of the global keywords that share their syntax):
 * tracked objects, addresses, routes and rules, VMAC/ipvlan heads, switches with keepalived's quirks.
 */

/** A tracked object with an optional weight (`track_script`, `track_interface`, ...). */
export interface Tracked {
  readonly name: string;
  /** Absent: the tracked object's own weight (scripts, files, processes, BFD) or 0 = FAULT on failure (interfaces). */
  readonly weight?: number;
  readonly reverse?: boolean;
}

/**
 * Tracked entry: `NAME [weight W] [reverse|noreverse]` with W in ±`max`. keepalived 2.2.7 accepts
 * `reverse`/`noreverse` only after a weight on track_interface, anywhere after the name elsewhere.
 */
export function tracked(max: number, reverseNeedsWeight = false): ArgParser<Tracked> {
  return positioned((args, kw, c) => {
    const [first, ...rest] = args;
    if (!first) return undefined;
    const out: { name: string; weight?: number; reverse?: boolean } = { name: first.text };
    for (let k = 0; k < rest.length; k++) {
      const w = rest[k]!;
      if (w.text === 'weight') {
        const v = rest[k + 1];
        if (!v) {
          c.diag.error(w.pos, 'missing-argument', `${kw.text} '${first.text}': 'weight' needs a number (-${max}..${max})`);
          return undefined;
        }
        const n = readInt(v, w, c, -max, max);
        if (n === undefined) return undefined;
        out.weight = n;
        k++;
      } else if ((w.text === 'reverse' || w.text === 'noreverse') && (!reverseNeedsWeight || out.weight !== undefined)) {
        out.reverse = w.text === 'reverse';
      } else {
        const expect = reverseNeedsWeight && out.weight === undefined ? "'weight N'" : "'weight N', 'reverse' or 'noreverse'";
        c.diag.error(w.pos, 'invalid-option', `${kw.text} '${first.text}': expected ${expect}, got '${w.raw}'${suggest(w.text, ['weight', 'reverse', 'noreverse'])}`);
        return undefined;
      }
    }
    return out;
  });
}

/** One entry of `virtual_ipaddress`, `virtual_ipaddress_excluded` or `static_ipaddress`. */
export interface VirtualIp extends Cidr {
  readonly brd?: string;
  readonly dev?: string;
  readonly scope?: string;
  readonly label?: string;
  readonly peer?: string;
  readonly home?: boolean;
  readonly noDad?: boolean;
  readonly mngtmpaddr?: boolean;
  readonly noPrefixRoute?: boolean;
  readonly autojoin?: boolean;
  /** Put this address on a VMAC (optionally named) of its `dev`. */
  readonly useVmac?: string | true;
  /** Static addresses only: the track_group whose instances go FAULT if it is removed. */
  readonly trackGroup?: string;
  readonly noTrack?: boolean;
  /** Seconds, or 'forever'; keepalived default 0 for IPv6 /128 (deprecated address), else forever. */
  readonly preferredLft?: number | 'forever';
}

const VIP_OPTIONS: Record<string, 'value' | 'flag' | 'opt'> = {
  brd: 'value',
  broadcast: 'value',
  dev: 'value',
  scope: 'value',
  label: 'value',
  peer: 'value',
  home: 'flag',
  '-nodad': 'flag',
  nodad: 'flag',
  mngtmpaddr: 'flag',
  noprefixroute: 'flag',
  autojoin: 'flag',
  use_vmac: 'opt',
  track_group: 'value',
  no_track: 'flag',
  preferred_lft: 'value',
};
const FLAG_FIELD: Record<string, string> = { '-nodad': 'noDad', nodad: 'noDad', noprefixroute: 'noPrefixRoute', home: 'home', autojoin: 'autojoin', no_track: 'noTrack', mngtmpaddr: 'mngtmpaddr' };
/** Address scopes `ip address` names. */
export const SCOPES = ['site', 'link', 'host', 'nowhere', 'global'] as const;

/** `ADDR[/PREFIX] [brd ADDR|+|-] [dev IF] [scope S] [label L] [peer ADDR] [home] [-nodad] ...` */
export const virtualIp: ArgParser<VirtualIp> = positioned((words, kw, c) => {
  const [first, ...args] = words;
  if (!first) return undefined;
  const cidr = readCidr(first, kw, c);
  if (!cidr) return undefined;
  const out: Record<string, unknown> = { ...cidr };
  const what = `address ${first.text}`;
  for (let k = 0; k < args.length; k++) {
    const w = args[k]!;
    const kind = VIP_OPTIONS[w.text];
    if (!kind) {
      c.diag.error(w.pos, 'invalid-option', `${what}: unexpected '${w.raw}'; expected one of ${Object.keys(VIP_OPTIONS).join(', ')}${suggest(w.text, Object.keys(VIP_OPTIONS))}`);
      return undefined;
    }
    if (w.text === 'nodad') c.diag.warn(w.pos, 'compat', `${what}: keepalived 2.2.7 ignores 'nodad' (it only knows '-nodad'); vigil reads it as '-nodad'`);
    if (kind === 'flag') {
      out[FLAG_FIELD[w.text]!] = true;
      continue;
    }
    if (kind === 'opt') {
      const v = args[k + 1];
      if (v && !VIP_OPTIONS[v.text]) {
        const name = readIfname(v, w, c);
        if (name === undefined) return undefined;
        out.useVmac = name;
        k++;
      } else out.useVmac = true;
      continue;
    }
    const v = args[++k];
    if (!v) {
      c.diag.error(w.pos, 'missing-argument', `${what}: '${w.text}' needs a value`);
      return undefined;
    }
    switch (w.text) {
      case 'brd':
      case 'broadcast':
        if (v.text === '+' || v.text === '-') out.brd = v.text;
        else {
          const a = readCidr(v, w, c);
          if (!a) return undefined;
          out.brd = a.address;
        }
        break;
      case 'peer': {
        const a = readCidr(v, w, c);
        if (!a) return undefined;
        out.peer = a.address;
        break;
      }
      case 'scope':
        if (!(SCOPES as readonly string[]).includes(v.text) && !/^\d+$/.test(v.text)) {
          c.diag.error(v.pos, 'invalid-value', `${what}: scope '${v.raw}' is not one of ${SCOPES.join('|')} or a number`);
          return undefined;
        }
        out.scope = v.text;
        break;
      case 'dev': {
        const d = readIfname(v, w, c);
        if (d === undefined) return undefined;
        out.dev = d;
        break;
      }
      case 'label':
        if (v.text.length > 15) {
          c.diag.error(v.pos, 'invalid-value', `${what}: label '${v.raw}' is longer than 15 characters (IFNAMSIZ)`);
          return undefined;
        }
        out.label = v.text;
        break;
      case 'track_group':
        out.trackGroup = v.text;
        break;
      case 'preferred_lft':
        if (v.text === 'forever') out.preferredLft = 'forever';
        else {
          const n = readInt(v, w, c, 0, 4294967295);
          if (n === undefined) return undefined;
          out.preferredLft = n;
        }
        break;
    }
  }
  return out as unknown as VirtualIp;
});

/** One `unicast_peer` entry: `ADDR [min_ttl N] [max_ttl N]`. */
export interface UnicastPeer {
  readonly address: string;
  readonly family: Family;
  readonly minTtl?: number;
  readonly maxTtl?: number;
}

/** `ADDR [min_ttl N] [max_ttl N]`. */
export const unicastPeer: ArgParser<UnicastPeer> = positioned((words, kw, c) => {
  const [first, ...args] = words;
  if (!first) return undefined;
  if (first.text.includes('/')) {
    c.diag.error(first.pos, 'invalid-address', `unicast_peer '${first.raw}' must be a plain address, without a prefix`);
    return undefined;
  }
  const a = readCidr(first, kw, c);
  if (!a) return undefined;
  const out: { address: string; family: Family; minTtl?: number; maxTtl?: number } = { address: a.address, family: a.family };
  for (let k = 0; k < args.length; k += 2) {
    const w = args[k]!;
    const v = args[k + 1];
    if (w.text !== 'min_ttl' && w.text !== 'max_ttl') {
      c.diag.error(w.pos, 'invalid-option', `unicast_peer ${first.text}: expected 'min_ttl N' or 'max_ttl N', got '${w.raw}'`);
      return undefined;
    }
    if (!v) {
      c.diag.error(w.pos, 'missing-argument', `unicast_peer ${first.text}: '${w.text}' needs a TTL (0-255)`);
      return undefined;
    }
    const n = readInt(v, w, c, 0, 255);
    if (n === undefined) return undefined;
    if (w.text === 'min_ttl') out.minTtl = n;
    else out.maxTtl = n;
  }
  if (out.minTtl !== undefined && out.maxTtl !== undefined && out.minTtl > out.maxTtl) {
    c.diag.error(first.pos, 'invalid-value', `unicast_peer ${first.text}: min_ttl ${out.minTtl} is above max_ttl ${out.maxTtl}`);
    return undefined;
  }
  return out;
});

/** `NAME` of a block head. */
export const nameHead: ArgParser<{ name: string }> = (args, kw, c) =>
  arity(args, kw, c, 1, 1, 'a name before its "{"') ? { name: args[0]!.text } : undefined;

/** `USER [GROUP]`. */
export function userGroup(args: readonly Word[], kw: Word, c: BuildCtx): { user: string; group?: string } | undefined {
  if (!arity(args, kw, c, 1, 2, 'a user name and optionally a group name')) return undefined;
  return args[1] ? { user: args[0]!.text, group: args[1].text } : { user: args[0]!.text };
}

/** `W [reverse]` with W in ±`max`. */
/**
 * `weightReverse` stores `{weight, reverse}` in the `weight` field while a block is read; a
 * block's finalize spreads it into `weight` and `weightReverse` with this.
 */
export function spreadWeight(o: object): void {
  const r = o as { weight?: unknown; weightReverse?: boolean };
  if (typeof r.weight !== 'object' || r.weight === null) return;
  const w = r.weight as { weight: number; reverse: boolean };
  r.weight = w.weight;
  r.weightReverse = w.reverse;
}

export function weightReverse(max: number): ArgParser<{ weight: number; reverse: boolean }> {
  return (args, kw, c) => {
    if (!arity(args, kw, c, 1, 2, `a weight (-${max}..${max}), optionally followed by 'reverse'`)) return undefined;
    const weight = readInt(args[0]!, kw, c, -max, max);
    if (weight === undefined) return undefined;
    if (args[1] && args[1].text !== 'reverse') {
      c.diag.error(args[1].pos, 'invalid-option', `'${kw.text}': expected 'reverse' after the weight, got '${args[1].raw}'`);
      return undefined;
    }
    return { weight, reverse: args[1] !== undefined };
  };
}

/**
 * A switch keepalived reads without looking at its arguments (`vrrp_strict`, `nopreempt`...): the
 * keyword alone sets it. keepalived silently ignores a following word, so `vrrp_strict off` turns it
 * ON there; vigil does the same (a drop-in must behave alike) but warns.
 */
export function laxBare(result = true): ArgParser<boolean> {
  return (args, kw, c) => {
    if (args.length > 0) c.diag.warn(args[0]!.pos, 'ignored-argument', `'${kw.text}' takes no argument; keepalived ignores '${args.map((a) => a.raw).join(' ')}' and the keyword still applies`);
    return result;
  };
}

/**
 * An integer in [min, max] where keepalived accepts 0 for compatibility and treats it as 1, with a
 * warning (`vrrp_garp_master_repeat 0`).
 */
export function intZeroIsOne(max: number): ArgParser<number> {
  return (args, kw, c) => {
    if (!arity(args, kw, c, 1, 1, `one integer (1-${max})`)) return undefined;
    const n = readInt(args[0]!, kw, c, 0, max);
    if (n === 0) c.diag.warn(args[0]!.pos, 'adjusted', `'${kw.text}' must be at least 1; 0 is read as 1 (as keepalived does)`);
    return n === 0 ? 1 : n;
  };
}

/** Like `intZeroIsOne`, for whole seconds stored in milliseconds. */
export function secondsZeroIsOne(max: number): ArgParser<number> {
  const p = intZeroIsOne(max);
  return (args, kw, c) => {
    const n = p(args, kw, c);
    return n === undefined ? undefined : n * 1000;
  };
}

/** `[<BOOL>]` switch that may be written without a value (meaning on). */
export const optBool: ArgParser<boolean> = (args, kw, c) => {
  if (!arity(args, kw, c, 0, 1, 'no argument or one of on|off|true|false|yes|no')) return undefined;
  return args[0] ? readBool(args[0], kw, c) : true;
};

/** `[SCRIPT [USER [GROUP]]]`: `notify_deleted` may name a script or stand alone. */
export const optionalScript: ArgParser<{ script?: ScriptSpec }> = (args, kw, c) => {
  if (args.length === 0) return {};
  const s = script(args, kw, c);
  return s ? { script: s } : undefined;
};

/** A FIFO path with an optional owner: `notify_fifo PATH [USER [GROUP]]`. */
export interface FifoSpec {
  readonly path: string;
  readonly user?: string;
  readonly group?: string;
}

/** `PATH [USER [GROUP]]`. */
export const fifo: ArgParser<FifoSpec> = (args, kw, c) => {
  if (!arity(args, kw, c, 1, 3, 'a FIFO path, optionally followed by user and group')) return undefined;
  const [p, u, g] = args;
  return { path: p!.text, ...(u ? { user: u.text } : {}), ...(g ? { group: g.text } : {}) };
};

/** `[all] SECONDS`: periodic GARP/NA on extra interfaces (`garp_extra_if`, `vrrp_garp_extra_if`). */
export interface GarpExtraIf {
  readonly all: boolean;
  /** Milliseconds between refreshes; 0 disables (instance keyword only). */
  readonly intervalMs: number;
}

/** `[all] N` with N in [min, 86400] seconds. */
export function garpExtraIf(min: number): ArgParser<GarpExtraIf> {
  return (args, kw, c) => {
    if (!arity(args, kw, c, 1, 2, `an interval in seconds (${min}-86400), optionally preceded by 'all'`)) return undefined;
    let all = false;
    let secs: number | undefined;
    for (const w of args) {
      if (w.text === 'all') all = true;
      else if ((secs = readInt(w, kw, c, min, 86400)) === undefined) return undefined;
    }
    if (secs === undefined) {
      c.diag.error(kw.pos, 'missing-argument', `'${kw.text}' needs an interval in seconds (${min}-86400)`);
      return undefined;
    }
    return { all, intervalMs: secs * 1000 };
  };
}

/** Reads an IP address word of the given family (when known); reports a family mismatch. */
export function readAddr(w: Word, kw: Word, c: BuildCtx, family?: Family): { address: string; family: Family } | undefined {
  const fam = net.isIP(w.text);
  if (fam === 0) {
    c.diag.error(w.pos, 'invalid-address', `'${kw.text}': '${w.raw}' is not a valid IP address`);
    return undefined;
  }
  if (family && fam !== family) {
    c.diag.error(w.pos, 'family-mismatch', `'${kw.text}': '${w.raw}' is IPv${fam}, but this entry is IPv${family}`);
    return undefined;
  }
  return { address: fam === 6 ? w.text.toLowerCase() : w.text, family: fam as Family };
}

/** True for an IPv4 multicast (224/4) or IPv6 multicast (ff00::/8) address. */
export function isMulticast(address: string, family: Family): boolean {
  if (family === 4) {
    const first = Number(address.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  return address.toLowerCase().startsWith('ff');
}

/** True for an IPv6 link-local multicast address (ffX2::/16), the only kind keepalived allows for VRRP. */
export function isLinkLocalMulticast6(address: string): boolean {
  return /^ff[0-9a-f]2:/i.test(address);
}

/** Where a list entry (VIP, peer, tracked name, route...) was written: its first word. */
export function entryPos(o: object): Pos | undefined {
  return fieldPos(o, '$block');
}

/** Wraps an entry parser so each entry remembers the position of its first word (see `entryPos`). */
export function positioned<T extends object>(p: ArgParser<T>): ArgParser<T> {
  return (args, kw, c) => {
    const v = p(args, kw, c);
    if (v && args[0]) setFieldPos(v, '$block', args[0].pos);
    return v;
  };
}
