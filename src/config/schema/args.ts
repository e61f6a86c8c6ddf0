import net from 'node:net';
import type { Word } from '../parser.js';
import type { ArgParser, BuildCtx } from './dsl.js';

/*
 * Argument parsers shared by every block. Each one checks the number of words, reports a precise
 * error at the offending word, and returns undefined when the value cannot be used.
 */

/** Reports "expects N argument(s)" problems; true when the count is acceptable. */
export function arity(args: readonly Word[], kw: Word, c: BuildCtx, min: number, max: number, what: string): boolean {
  if (args.length < min) {
    c.diag.error(kw.pos, 'missing-argument', `'${kw.text}' needs ${what}`);
    return false;
  }
  if (args.length > max) {
    const extra = args[max]!;
    c.diag.error(extra.pos, 'extra-argument', `'${kw.text}' takes ${what}; unexpected '${extra.raw}'`);
    return false;
  }
  return true;
}

const INT_RE = /^[+-]?\d+$/;

/** Reads an integer word in [min, max]. */
export function readInt(w: Word, kw: Word, c: BuildCtx, min: number, max: number): number | undefined {
  if (!INT_RE.test(w.text)) {
    c.diag.error(w.pos, 'invalid-number', `'${kw.text}' expects an integer in ${min}-${max}, got '${w.raw}'`);
    return undefined;
  }
  const n = Number(w.text);
  if (n < min || n > max) {
    c.diag.error(w.pos, 'out-of-range', `'${kw.text}' ${w.text} is out of range: expected ${min}-${max}`);
    return undefined;
  }
  return n;
}

/** Reads a decimal number (fractions allowed) in [min, max]. */
export function readNumber(w: Word, kw: Word, c: BuildCtx, min: number, max: number, unit = ''): number | undefined {
  const n = /^[+-]?(\d+\.?\d*|\.\d+)$/.test(w.text) ? Number(w.text) : NaN;
  if (!Number.isFinite(n)) {
    c.diag.error(w.pos, 'invalid-number', `'${kw.text}' expects a number in ${min}-${max}${unit}, got '${w.raw}'`);
    return undefined;
  }
  if (n < min || n > max) {
    c.diag.error(w.pos, 'out-of-range', `'${kw.text}' ${w.text} is out of range: expected ${min}-${max}${unit}`);
    return undefined;
  }
  return n;
}

/** One integer argument in [min, max]. */
export function int(min: number, max: number): ArgParser<number> {
  return (args, kw, c) => (arity(args, kw, c, 1, 1, `one integer (${min}-${max})`) ? readInt(args[0]!, kw, c, min, max) : undefined);
}

/** One time value in seconds (fractions allowed, microsecond resolution), stored in milliseconds. */
export function seconds(min: number, max: number): ArgParser<number> {
  return (args, kw, c) => {
    if (!arity(args, kw, c, 1, 1, `one time in seconds (${min}-${max})`)) return undefined;
    const s = readNumber(args[0]!, kw, c, min, max, ' (seconds)');
    return s === undefined ? undefined : Math.round(s * 1e6) / 1e3;
  };
}

/** One integer number of seconds (no fraction), stored in milliseconds. */
export function wholeSeconds(min: number, max: number): ArgParser<number> {
  return (args, kw, c) => {
    if (!arity(args, kw, c, 1, 1, `one whole number of seconds (${min}-${max})`)) return undefined;
    const s = readInt(args[0]!, kw, c, min, max);
    return s === undefined ? undefined : s * 1000;
  };
}

/** One decimal number in [min, max]. */
export function decimal(min: number, max: number): ArgParser<number> {
  return (args, kw, c) => (arity(args, kw, c, 1, 1, `one number (${min}-${max})`) ? readNumber(args[0]!, kw, c, min, max) : undefined);
}

const TRUE = new Set(['on', 'true', 'yes']);
const FALSE = new Set(['off', 'false', 'no']);

/** keepalived's `<BOOL>`: on|off|true|false|yes|no. */
export function readBool(w: Word, kw: Word, c: BuildCtx): boolean | undefined {
  const v = w.text.toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  c.diag.error(w.pos, 'invalid-bool', `'${kw.text}' expects on|off|true|false|yes|no, got '${w.raw}'`);
  return undefined;
}

/** A switch: the bare keyword means true; an optional `<BOOL>` may follow. */
export const flag: ArgParser<boolean> = (args, kw, c) => {
  if (!arity(args, kw, c, 0, 1, 'no argument or one of on|off|true|false|yes|no')) return undefined;
  return args[0] ? readBool(args[0], kw, c) : true;
};

/** A bare keyword that takes no argument at all; value true. */
export const bare: ArgParser<boolean> = (args, kw, c) => (arity(args, kw, c, 0, 0, 'no argument') ? true : undefined);

/** Exactly one word (a name, a path, a string). */
export const str: ArgParser<string> = (args, kw, c) => (arity(args, kw, c, 1, 1, 'one argument') ? args[0]!.text : undefined);

/** One or more words, kept as a list. */
export const words: ArgParser<string[]> = (args, kw, c) => (arity(args, kw, c, 1, Infinity, 'at least one argument') ? args.map((a) => a.text) : undefined);

/** Any number of words (including none), kept as a list; for keywords whose syntax vigil does not interpret. */
export const anyWords: ArgParser<string[]> = (args) => args.map((a) => a.text);

/** The rest of the line as one string (words joined by single spaces). */
export const text: ArgParser<string> = (args, kw, c) => (arity(args, kw, c, 1, Infinity, 'a value') ? args.map((a) => a.text).join(' ') : undefined);

/** One word from a fixed set; `caseless` accepts any case and returns the canonical spelling. */
export function oneOf<T extends string>(values: readonly T[], caseless = false): ArgParser<T> {
  return (args, kw, c) => {
    if (!arity(args, kw, c, 1, 1, `one of ${values.join('|')}`)) return undefined;
    const w = args[0]!;
    const hit = values.find((v) => (caseless ? v.toLowerCase() === w.text.toLowerCase() : v === w.text));
    if (hit === undefined) {
      c.diag.error(w.pos, 'invalid-value', `'${kw.text}' expects one of ${values.join('|')}, got '${w.raw}'${suggest(w.text, values)}`);
      return undefined;
    }
    return hit;
  };
}

/** " (did you mean 'x'?)" when a candidate is close enough to `word`, else "". */
export function suggest(word: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const cand of candidates) {
    const d = editDistance(word.toLowerCase(), cand.toLowerCase());
    if (d < bestD) [best, bestD] = [cand, d];
  }
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  return best !== undefined && bestD <= limit ? ` (did you mean '${best}'?)` : '';
}

/** Damerau-Levenshtein (optimal string alignment) distance. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  return d[a.length]![b.length]!;
}

/** An IPv4 or IPv6 address family. */
export type Family = 4 | 6;

/** An address with an optional prefix length, as written in `virtual_ipaddress` and friends. */
export interface Cidr {
  readonly address: string;
  readonly family: Family;
  /** Prefix length; when not written, 32 (IPv4) or 128 (IPv6), as keepalived assumes. */
  readonly prefix: number;
}

/** Reads a bare IPv4/IPv6 address. */
export function readIp(w: Word, kw: Word, c: BuildCtx, family?: Family): { address: string; family: Family } | undefined {
  const fam = net.isIP(w.text);
  if (fam === 0) {
    c.diag.error(w.pos, 'invalid-address', `'${kw.text}': '${w.raw}' is not a valid IP address`);
    return undefined;
  }
  if (family && fam !== family) {
    c.diag.error(w.pos, 'invalid-address', `'${kw.text}': '${w.raw}' is not an IPv${family} address`);
    return undefined;
  }
  return { address: fam === 6 ? w.text.toLowerCase() : w.text, family: fam as Family };
}

/** Reads `ADDR[/PREFIX]`; the prefix must fit the family. */
export function readCidr(w: Word, kw: Word, c: BuildCtx, requirePrefix = false): Cidr | undefined {
  const slash = w.text.indexOf('/');
  const addr = slash >= 0 ? w.text.slice(0, slash) : w.text;
  const fam = net.isIP(addr);
  if (fam === 0) {
    c.diag.error(w.pos, 'invalid-address', `'${kw.text}': '${addr}' is not a valid IP address`);
    return undefined;
  }
  const max = fam === 4 ? 32 : 128;
  if (slash < 0) {
    if (requirePrefix) {
      c.diag.error(w.pos, 'invalid-address', `'${kw.text}': '${w.raw}' needs a prefix length (/0-${max})`);
      return undefined;
    }
    return { address: fam === 6 ? addr.toLowerCase() : addr, family: fam as Family, prefix: max };
  }
  const p = w.text.slice(slash + 1);
  if (!/^\d+$/.test(p) || Number(p) > max) {
    const at = { ...w.pos, col: w.pos.col + (w.raw.length - w.text.length) + slash + 1 };
    c.diag.error(at, 'invalid-prefix', `'${kw.text}': prefix length '/${p}' is out of range for IPv${fam}: expected 0-${max}`);
    return undefined;
  }
  return { address: fam === 6 ? addr.toLowerCase() : addr, family: fam as Family, prefix: Number(p) };
}

/** One IP address argument. */
export function ip(family?: Family): ArgParser<string> {
  return (args, kw, c) => (arity(args, kw, c, 1, 1, 'one IP address') ? readIp(args[0]!, kw, c, family)?.address : undefined);
}

/** Reads a TCP/UDP port number 0-65535 (keepalived also accepts service names only in a few places). */
export function readPort(w: Word, kw: Word, c: BuildCtx, min = 0): number | undefined {
  return readInt(w, kw, c, min, 65535);
}

/** One port argument. */
export const port: ArgParser<number> = (args, kw, c) => (arity(args, kw, c, 1, 1, 'one port (0-65535)') ? readPort(args[0]!, kw, c) : undefined);

/** A command line for a script, with the optional user and group keepalived allows after it. */
export interface ScriptSpec {
  /** The command as keepalived would pass it to the shell-less exec: first word the program. */
  readonly command: string;
  readonly user?: string;
  readonly group?: string;
}

/**
 * `keyword "/path/prog arg1 'arg 2'" [USER [GROUP]]` or `keyword /path/prog [USER [GROUP]]`. A quoted
 * first argument is the whole command; unquoted, it is the program alone.
 */
export const script: ArgParser<ScriptSpec> = (args, kw, c) => {
  if (!arity(args, kw, c, 1, 3, 'a script path or quoted command line, optionally followed by user and group')) return undefined;
  const [cmd, user, group] = args;
  if (cmd!.text.trim() === '') {
    c.diag.error(cmd!.pos, 'invalid-value', `'${kw.text}': empty command`);
    return undefined;
  }
  return { command: cmd!.text, ...(user ? { user: user.text } : {}), ...(group ? { group: group.text } : {}) };
};

/** An interface name: 1-15 characters, no '/', no blanks (Linux IFNAMSIZ). */
export function readIfname(w: Word, kw: Word, c: BuildCtx): string | undefined {
  if (w.text.length === 0 || w.text.length > 15 || /[/\s:]/.test(w.text) || w.text === '.' || w.text === '..') {
    c.diag.error(w.pos, 'invalid-interface', `'${kw.text}': '${w.raw}' is not a valid interface name (1-15 characters, no '/', ':' or blanks)`);
    return undefined;
  }
  return w.text;
}

/** One interface name argument. */
export const ifname: ArgParser<string> = (args, kw, c) => (arity(args, kw, c, 1, 1, 'one interface name') ? readIfname(args[0]!, kw, c) : undefined);

/** Parses `key value` option pairs after leading words: returns a map or undefined on a bad key. */
export function readOptions(
  args: readonly Word[],
  kw: Word,
  c: BuildCtx,
  spec: Readonly<Record<string, 'value' | 'flag'>>,
): Map<string, Word | true> | undefined {
  const out = new Map<string, Word | true>();
  for (let k = 0; k < args.length; k++) {
    const w = args[k]!;
    const kind = spec[w.text];
    if (!kind) {
      c.diag.error(w.pos, 'invalid-option', `'${kw.text}': unexpected '${w.raw}'; expected one of ${Object.keys(spec).join(', ')}${suggest(w.text, Object.keys(spec))}`);
      return undefined;
    }
    if (kind === 'flag') out.set(w.text, true);
    else {
      const v = args[k + 1];
      if (!v) {
        c.diag.error(w.pos, 'missing-argument', `'${kw.text}': '${w.text}' needs a value`);
        return undefined;
      }
      out.set(w.text, v);
      k++;
    }
  }
  return out;
}
