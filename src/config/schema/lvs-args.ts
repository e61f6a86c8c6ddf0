import net from 'node:net';
import type { Word } from '../parser.js';
import { type Family, arity, readInt, readIp, readPort, suggest } from './args.js';
import type { ArgParser, BuildCtx } from './dsl.js';

/*
 * Argument parsers specific to the LVS side: forwarding methods, server addresses, status codes,
 * digests, hex strings, virtual_server_group entries. Ranges cite keepalived 2.2.7's check_parser.c.
 */

/** keepalived's largest timer in seconds (its timers are unsigned long microseconds); we cap at what a double holds exactly. */
export const MAX_TIMER_S = 9007199254;
/** UINT_MAX, keepalived's limit for counters such as retry, quorum, thresholds. */
export const UINT_MAX = 4294967295;
/** IPVS_WEIGHT_LIMIT in keepalived (INT_MAX): real server weights are 0..this. */
export const WEIGHT_MAX = 2147483647;
/** IPVS_SVC_PERSISTENT_TIMEOUT: 6 minutes, used when `persistence_timeout` has no value. */
export const DEFAULT_PERSISTENCE_S = 360;
/** LVS_MAX_TIMEOUT: 31 days, the largest persistence_timeout keepalived accepts. */
export const MAX_PERSISTENCE_S = 86400 * 31;

/** The IPVS forwarding method of a real or sorry server (`lvs_method`, legacy `lb_kind`). */
export type LvsMethod =
  | { readonly method: 'NAT' }
  | { readonly method: 'DR' }
  | {
      readonly method: 'TUN';
      /** Encapsulation; default ipip. gue needs Linux 5.2, gre 5.3. */
      readonly type: 'ipip' | 'gue' | 'gre';
      /** UDP destination port of gue encapsulation; required for gue, forbidden otherwise. */
      readonly port?: number;
      /** Checksum mode; default nocsum. ipip allows only nocsum, gre no remcsum. */
      readonly csum: 'nocsum' | 'csum' | 'remcsum';
    };

/** `NAT | DR | TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`, checked as keepalived's svr_forwarding_handler does. */
export const lvsMethod: ArgParser<LvsMethod> = (args, kw, c) => {
  if (!arity(args, kw, c, 1, 6, 'NAT, DR or TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]')) return undefined;
  const m = args[0]!;
  if (m.text === 'NAT' || m.text === 'DR') {
    if (args[1]) {
      c.diag.error(args[1].pos, 'extra-argument', `'${kw.text} ${m.text}' takes no options; tunnel options only apply to TUN, unexpected '${args[1].raw}'`);
      return undefined;
    }
    return { method: m.text };
  }
  if (m.text !== 'TUN') {
    c.diag.error(m.pos, 'invalid-value', `'${kw.text}' expects NAT, DR or TUN, got '${m.raw}'${suggest(m.text.toUpperCase(), ['NAT', 'DR', 'TUN'])}`);
    return undefined;
  }
  let type: 'ipip' | 'gue' | 'gre' = 'ipip';
  let port: number | undefined;
  let csum: 'nocsum' | 'csum' | 'remcsum' = 'nocsum';
  let csumWord: Word | undefined;
  let typeWord: Word | undefined;
  let portWord: Word | undefined;
  for (let i = 1; i < args.length; i++) {
    const w = args[i]!;
    if (w.text === 'type' || w.text === 'port') {
      const v = args[i + 1];
      if (!v) {
        c.diag.error(w.pos, 'missing-argument', `'${kw.text} TUN': '${w.text}' needs a value`);
        return undefined;
      }
      i++;
      if (w.text === 'type') {
        if (v.text !== 'ipip' && v.text !== 'gue' && v.text !== 'gre') {
          c.diag.error(v.pos, 'invalid-value', `'${kw.text} TUN': tunnel type must be ipip, gue or gre, got '${v.raw}'`);
          return undefined;
        }
        type = v.text;
        typeWord = v;
      } else {
        port = readInt(v, w, c, 1, 65535);
        if (port === undefined) return undefined;
        portWord = w;
      }
    } else if (w.text === 'nocsum' || w.text === 'csum' || w.text === 'remcsum') {
      csum = w.text;
      csumWord = w;
    } else {
      c.diag.error(w.pos, 'invalid-option', `'${kw.text} TUN': unexpected '${w.raw}'; expected 'type ipip|gue|gre', 'port N' or nocsum|csum|remcsum`);
      return undefined;
    }
  }
  if (type === 'gue' && port === undefined) {
    c.diag.error((typeWord ?? m).pos, 'missing-argument', `'${kw.text} TUN type gue' needs 'port N' (the GUE UDP port)`);
    return undefined;
  }
  if (type !== 'gue' && portWord) {
    c.diag.error(portWord.pos, 'invalid-option', `'${kw.text} TUN': 'port' only applies to 'type gue'`);
    return undefined;
  }
  if (type === 'ipip' && csum !== 'nocsum') {
    c.diag.error(csumWord!.pos, 'invalid-option', `'${kw.text} TUN': ipip tunnels have no checksum option ('${csum}' needs type gue or gre)`);
    return undefined;
  }
  if (type === 'gre' && csum === 'remcsum') {
    c.diag.error(csumWord!.pos, 'invalid-option', `'${kw.text} TUN': gre tunnels do not support remcsum (use csum or nocsum)`);
    return undefined;
  }
  return port === undefined ? { method: 'TUN', type, csum } : { method: 'TUN', type, port, csum };
};

/** An address with an optional port, as in `real_server ADDR [PORT]`; port 0 or absent means none. */
export interface AddrPort {
  readonly address: string;
  readonly family: Family;
  readonly port?: number;
}

/** Reads `ADDR [PORT]` for `what`; keepalived treats a port of 0 as "no port". */
export function readAddrPort(args: readonly Word[], kw: Word, c: BuildCtx, what: string): AddrPort | undefined {
  if (!arity(args, kw, c, 1, 2, `${what}: an IP address and optionally a port`)) return undefined;
  const a = readIp(args[0]!, kw, c);
  if (!a) return undefined;
  if (!args[1]) return a;
  const port = readPort(args[1], kw, c);
  if (port === undefined) return undefined;
  return port === 0 ? a : { ...a, port };
}

/** `ADDR [PORT]` keyword value. */
export const addrPort: ArgParser<AddrPort> = (args, kw, c) => readAddrPort(args, kw, c, `'${kw.text}'`);

/** HTTP status codes accepted by `status_code` (keepalived HTTP_STATUS_CODE_MIN/MAX). */
export const STATUS_MIN = 100;
export const STATUS_MAX = 599;

/** An inclusive range of HTTP status codes. */
export interface StatusRange {
  readonly min: number;
  readonly max: number;
}

/** `status_code 200 | 200-299 ...`: one or more codes or ranges in 100-599. */
export const statusCodes: ArgParser<StatusRange[]> = (args, kw, c) => {
  if (!arity(args, kw, c, 1, Infinity, `one or more status codes or ranges (${STATUS_MIN}-${STATUS_MAX}, e.g. 200-299)`)) return undefined;
  const out: StatusRange[] = [];
  let ok = true;
  for (const w of args) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(w.text);
    const min = m ? Number(m[1]) : NaN;
    const max = m ? Number(m[2] ?? m[1]) : NaN;
    if (!m || min < STATUS_MIN || max > STATUS_MAX || min > max || max < STATUS_MIN || min > STATUS_MAX) {
      c.diag.error(
        w.pos,
        m ? 'out-of-range' : 'invalid-value',
        `'${kw.text}': '${w.raw}' is not a status code or range within ${STATUS_MIN}-${STATUS_MAX} (e.g. 200 or 200-299, low end first)`,
      );
      ok = false;
      continue;
    }
    out.push({ min, max });
  }
  return ok ? out : undefined;
};

/** `digest HEX32`: an MD5 digest as produced by genhash; stored lower-case. */
export const digest: ArgParser<string> = (args, kw, c) => {
  if (!arity(args, kw, c, 1, 1, 'an MD5 digest of 32 hex digits')) return undefined;
  const w = args[0]!;
  if (!/^[0-9a-fA-F]{32}$/.test(w.text)) {
    const why = w.text.length !== 32 ? `has ${w.text.length} characters` : 'has a character that is not a hex digit';
    c.diag.error(w.pos, 'invalid-value', `'${kw.text}' must be an MD5 digest of 32 hex digits (as printed by genhash); '${w.raw}' ${why}`);
    return undefined;
  }
  return w.text.toLowerCase();
};

/** Bytes read from keepalived's free-format hex string, with a mask of the nibbles written as X. */
export interface HexBytes {
  /** Lower-case hex, two digits per byte; an X nibble reads as 0 here. */
  readonly hex: string;
  /** Present when some nibble was X/x: per byte, the bits to ignore (lower-case hex). */
  readonly ignoreMask?: string;
}

/**
 * keepalived's read_hex_str: each word is read as hex pairs from the left, a trailing odd digit is a
 * byte of its own (`Ab12f 3` = AB 12 0F 03). With `allowX`, X or x stands for a nibble to ignore.
 */
export function readHex(args: readonly Word[], kw: Word, c: BuildCtx, allowX: boolean): HexBytes | undefined {
  let hex = '';
  let mask = '';
  for (const w of args) {
    const re = allowX ? /^[0-9a-fA-FxX]+$/ : /^[0-9a-fA-F]+$/;
    if (!re.test(w.text)) {
      c.diag.error(w.pos, 'invalid-value', `'${kw.text}': '${w.raw}' is not a hex string (digits 0-9a-f${allowX ? ', or X for a nibble to ignore' : ''})`);
      return undefined;
    }
    for (let i = 0; i < w.text.length; i += 2) {
      const pair = w.text.length - i === 1 ? `0${w.text[i]}` : w.text.slice(i, i + 2);
      for (const ch of pair.toLowerCase()) {
        hex += ch === 'x' ? '0' : ch;
        mask += ch === 'x' ? 'f' : '0';
      }
    }
  }
  if (hex.length === 0) {
    c.diag.error(kw.pos, 'missing-argument', `'${kw.text}' needs a hex string`);
    return undefined;
  }
  return /[^0]/.test(mask) ? { hex, ignoreMask: mask } : { hex };
}

/** One `virtual_server_group` entry: an address or range with a port, or a fwmark. */
export type VsgEntry =
  | {
      readonly kind: 'range';
      readonly family: Family;
      /** First address of the range (the address itself when not a range). */
      readonly first: string;
      /** Last address (inclusive); equal to `first` for a single address. */
      readonly last: string;
      /** Port; absent (or written as 0) means the service is persistent with no port. */
      readonly port?: number;
    }
  | { readonly kind: 'fwmark'; readonly fwmark: number; readonly family?: Family };

/** Reads `ADDR [PORT]`, `A.B.C.D-E [PORT]`, `ADDR1-ADDR2 [PORT]`, `ADDR/LEN [PORT]` or `fwmark N [inet|inet6]`. */
export const vsgEntry: ArgParser<VsgEntry> = (words, kw, c) => {
  const [first, ...args] = words;
  if (!first) return undefined;
  if (first.text === 'fwmark') {
    if (!arity(args, first, c, 1, 2, 'a mark (0-4294967295) and optionally inet|inet6')) return undefined;
    const fwmark = readInt(args[0]!, first, c, 0, UINT_MAX);
    if (fwmark === undefined) return undefined;
    if (!args[1]) return { kind: 'fwmark', fwmark };
    const f = args[1];
    if (f.text !== 'inet' && f.text !== 'inet6') {
      c.diag.error(f.pos, 'invalid-value', `virtual_server_group fwmark ${fwmark}: family must be inet or inet6, got '${f.raw}'`);
      return undefined;
    }
    return { kind: 'fwmark', fwmark, family: f.text === 'inet' ? 4 : 6 };
  }
  if (args.length > 1) {
    c.diag.error(args[1]!.pos, 'extra-argument', `virtual_server_group entry takes an address (or range) and a port; unexpected '${args[1]!.raw}'`);
    return undefined;
  }
  let port: number | undefined;
  if (args[0]) {
    port = readPort(args[0], first, c);
    if (port === undefined) return undefined;
    if (port === 0) port = undefined;
  }
  const range = readRange(first, c);
  if (!range) return undefined;
  return port === undefined ? { kind: 'range', ...range } : { kind: 'range', ...range, port };
};

function readRange(w: Word, c: BuildCtx): { family: Family; first: string; last: string } | undefined {
  const t = w.text;
  const bad = (msg: string) => {
    c.diag.error(w.pos, 'invalid-address', `virtual_server_group: '${w.raw}' ${msg}`);
    return undefined;
  };
  const slash = t.indexOf('/');
  if (slash >= 0) {
    const base = t.slice(0, slash);
    const fam = net.isIP(base) as 0 | Family;
    if (!fam) return bad('is not ADDRESS/PREFIX: bad address');
    const bits = fam === 4 ? 32 : 128;
    const len = /^\d+$/.test(t.slice(slash + 1)) ? Number(t.slice(slash + 1)) : NaN;
    if (!(len >= 1 && len <= bits)) return bad(`has a prefix length out of range (1-${bits})`);
    const n = toBig(base, fam);
    const hostMask = (1n << BigInt(bits - len)) - 1n;
    if ((n & hostMask) !== 0n) return bad(`has host bits set: the range must start on a /${len} boundary (${fromBig(n & ~hostMask, fam)}/${len})`);
    return { family: fam, first: fromBig(n, fam), last: fromBig(n | hostMask, fam) };
  }
  const dash = t.indexOf('-');
  if (dash < 0) {
    const fam = net.isIP(t) as 0 | Family;
    if (!fam) return bad('is not an IP address or range');
    const a = fromBig(toBig(t, fam), fam);
    return { family: fam, first: a, last: a };
  }
  const base = t.slice(0, dash);
  const end = t.slice(dash + 1);
  const fam = net.isIP(base) as 0 | Family;
  if (!fam) return bad('is not a range: the start is not an IP address');
  const start = toBig(base, fam);
  let last: bigint;
  if (net.isIP(end)) {
    if (net.isIP(end) !== fam) return bad('mixes IPv4 and IPv6 in one range');
    last = toBig(end, fam);
    if (last < start) return bad('ends before it starts');
  } else {
    // Short form: the end replaces the last byte (IPv4, decimal) or the last 16-bit group (IPv6, hex).
    const ok = fam === 4 ? /^\d{1,3}$/.test(end) : /^[0-9a-fA-F]{1,4}$/.test(end);
    const v = ok ? parseInt(end, fam === 4 ? 10 : 16) : NaN;
    if (!ok || (fam === 4 && v > 255)) return bad(`has a bad range end '${end}' (expected ${fam === 4 ? 'a last byte 0-255, e.g. 10.0.0.1-10' : 'a last hex group, e.g. 2001:db8::1-ff'})`);
    const width = fam === 4 ? 8n : 16n;
    const low = start & ((1n << width) - 1n);
    if (BigInt(v) <= low) return bad('ends at or before its start (the end must be greater than the last part of the start)');
    last = (start & ~((1n << width) - 1n)) | BigInt(v);
  }
  return { family: fam, first: fromBig(start, fam), last: fromBig(last, fam) };
}

/** An address as a number (for ranges). */
export function toBig(addr: string, fam: Family): bigint {
  if (fam === 4) return addr.split('.').reduce((n, o) => (n << 8n) | BigInt(Number(o)), 0n);
  const [head = '', tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const parse = (s: string): string[] => (s === '' ? [] : s.split(':'));
  let h = parse(head);
  let tl = tail === undefined ? [] : parse(tail);
  const expand = (groups: string[]): string[] =>
    groups.flatMap((g) => {
      if (!g.includes('.')) return [g];
      const v = Number(toBig(g, 4));
      return [(v >>> 16).toString(16), (v & 0xffff).toString(16)];
    });
  h = expand(h);
  tl = expand(tl);
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** The canonical text of an address number. */
export function fromBig(n: bigint, fam: Family): string {
  if (fam === 4) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt((7 - i) * 16)) & 0xffffn));
  // Longest run of two or more zero groups becomes '::' (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Persistence granularity: an IPv4 netmask or an IPv6 prefix length. */
export type Granularity = { readonly family: 4; readonly netmask: string } | { readonly family: 6; readonly prefix: number };

/** `persistence_granularity NETMASK` (IPv4, dotted) or `PREFIXLEN` (IPv6, 1-128), as keepalived's pgr_handler. */
export const granularity: ArgParser<Granularity> = (args, kw, c) => {
  if (!arity(args, kw, c, 1, 1, 'an IPv4 netmask (e.g. 255.255.255.0) or an IPv6 prefix length (1-128)')) return undefined;
  const w = args[0]!;
  if (w.text.includes('.')) {
    if (net.isIPv4(w.text)) return { family: 4, netmask: w.text };
    c.diag.error(w.pos, 'invalid-value', `'${kw.text}': '${w.raw}' is not an IPv4 netmask`);
    return undefined;
  }
  const prefix = readInt(w, kw, c, 1, 128);
  return prefix === undefined ? undefined : { family: 6, prefix };
};
