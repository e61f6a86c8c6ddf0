import type { Word } from '../parser.js';
import { type Cidr, type Family, readCidr, readIfname, suggest } from './args.js';
import type { ArgParser, BuildCtx } from './dsl.js';
import { positioned, readAddr } from './vrrp-args.js';

/*
 * `static_routes` / `virtual_routes` and `static_rules` / `virtual_rules` entries. keepalived reads
 * them with `ip route` / `ip rule` syntax (long option names only). vigil checks every keyword
 * against keepalived 2.2.7's list, validates addresses and families, keeps the fields it may act
 * on, and keeps all the words so nothing of the line is lost.
 */

/** One route: `[src ADDR] [TYPE] [to] DEST [via ADDR] [dev IF] [table T] ... [no_track] [track_group G]`. */
export interface RouteSpec {
  /** The whole line as written (words), for the netlink layer and `--dump`. */
  readonly words: readonly string[];
  readonly family: Family;
  /** `default` is 0.0.0.0/0 or ::/0. */
  readonly dest: Cidr;
  /** Route type when written (blackhole, unreachable, prohibit, throw, local, broadcast, anycast, multicast, nat). */
  readonly type?: string;
  readonly src?: string;
  readonly via?: string;
  readonly dev?: string;
  readonly table?: string;
  readonly metric?: number;
  readonly noTrack: boolean;
  readonly trackGroup?: string;
}

/** One rule: `[not] [from P] [to P] [table T] [preference N] ... [no_track] [track_group G]`. */
export interface RuleSpec {
  readonly words: readonly string[];
  readonly family?: Family;
  readonly from?: Cidr | 'all';
  readonly to?: Cidr | 'all';
  readonly table?: string;
  readonly preference?: number;
  readonly noTrack: boolean;
  readonly trackGroup?: string;
}

const ROUTE_TYPES = new Set(['unicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'local', 'broadcast', 'anycast', 'multicast', 'nat']);
/** Route keywords with one argument (metrics may be preceded by `lock`). */
const ROUTE_ONE = new Set(['via', 'gw', 'or', 'dev', 'oif', 'table', 'tos', 'dsfield', 'protocol', 'scope', 'metric', 'priority', 'preference', 'src', 'realms', 'vrf', 'track_group', 'expires', 'pref', 'ttl-propagate', 'features']);
const ROUTE_METRICS = new Set(['mtu', 'window', 'rtt', 'rttvar', 'ssthresh', 'cwnd', 'initcwnd', 'initrwnd', 'advmss', 'hoplimit', 'reordering', 'rto_min', 'quickack', 'congctl', 'fastopen_no_cookie']);
const ROUTE_ZERO = new Set(['onlink', 'append', 'no_track', 'inet6', 'pervasive']);
const ROUTE_NEXTHOP = new Set(['via', 'dev', 'weight', 'onlink', 'inet', 'inet6']);
const ROUTE_WORDS = [...ROUTE_ONE, ...ROUTE_METRICS, ...ROUTE_ZERO, 'nexthop', 'encap', 'lock'];

function readDest(w: Word, kw: Word, c: BuildCtx, family?: Family): Cidr | undefined {
  if (w.text === 'default') return family === 6 ? { address: '::', family: 6, prefix: 0 } : { address: '0.0.0.0', family: family ?? 4, prefix: 0 };
  const d = readCidr(w, kw, c);
  if (d && family && d.family !== family) {
    c.diag.error(w.pos, 'family-mismatch', `'${kw.text}': '${w.raw}' is IPv${d.family}, but this route is IPv${family}`);
    return undefined;
  }
  return d;
}

/** Parses a route line (all its words). */
export const routeEntry: ArgParser<RouteSpec> = positioned((words, kw, c) => {
  const out: { family?: Family; dest?: Cidr; type?: string; src?: string | undefined; via?: string | undefined; dev?: string | undefined; table?: string; metric?: number; noTrack: boolean; trackGroup?: string } = { noTrack: false };
  let forced: Family | undefined;
  if (words.some((w) => w.text === 'inet6')) forced = 6;
  const fam = () => out.family ?? forced;
  let k = 0;
  const need = (w: Word): Word | undefined => {
    const v = words[k + 1];
    if (!v) c.diag.error(w.pos, 'missing-argument', `route: '${w.text}' needs a value`);
    return v;
  };
  const addr = (w: Word, v: Word): string | undefined => {
    const a = readAddr(v, w, c, fam());
    if (a) out.family ??= a.family;
    return a?.address;
  };
  for (; k < words.length; k++) {
    const w = words[k]!;
    const t = w.text;
    if (out.dest === undefined && (t === 'to' || ROUTE_TYPES.has(t))) {
      if (t !== 'to') out.type = t;
      const v = need(w);
      if (!v) return undefined;
      if (v.text === 'to') continue; // "blackhole to X"
      const d = readDest(v, w, c, fam());
      if (!d) return undefined;
      out.dest = d;
      out.family ??= d.family;
      k++;
      continue;
    }
    if (t === 'src') {
      const v = need(w);
      if (!v || !(out.src = addr(w, v))) return undefined;
      k++;
      continue;
    }
    if (out.dest === undefined && !ROUTE_ONE.has(t) && !ROUTE_METRICS.has(t) && !ROUTE_ZERO.has(t)) {
      const d = readDest(w, kw, c, fam());
      if (!d) return undefined;
      out.dest = d;
      out.family ??= d.family;
      continue;
    }
    if (ROUTE_ZERO.has(t)) {
      if (t === 'no_track') out.noTrack = true;
      continue;
    }
    if (t === 'nexthop') {
      // nexthop [via [inet|inet6] ADDR] [dev IF] [weight N] [onlink] ...
      while (k + 1 < words.length && ROUTE_NEXTHOP.has(words[k + 1]!.text)) {
        const o = words[++k]!;
        if (o.text === 'onlink' || o.text === 'inet' || o.text === 'inet6') continue;
        const v = need(o);
        if (!v) return undefined;
        if (o.text === 'via' && !addr(o, v)) return undefined;
        if (o.text === 'dev' && readIfname(v, o, c) === undefined) return undefined;
        if (o.text === 'weight' && !/^\d+$/.test(v.text)) {
          c.diag.error(v.pos, 'invalid-number', `route nexthop: weight '${v.raw}' is not a number (1-256)`);
          return undefined;
        }
        k++;
      }
      continue;
    }
    if (t === 'encap') {
      // encap TYPE ARGS...: kept as written, up to the next route keyword.
      k++;
      while (k + 1 < words.length && !ROUTE_ONE.has(words[k + 1]!.text) && !ROUTE_ZERO.has(words[k + 1]!.text) && !ROUTE_METRICS.has(words[k + 1]!.text)) k++;
      continue;
    }
    if (ROUTE_METRICS.has(t)) {
      if (words[k + 1]?.text === 'lock') k++;
      if (!need(words[k]!)) return undefined;
      k++;
      continue;
    }
    if (ROUTE_ONE.has(t)) {
      let v = need(w);
      if (!v) return undefined;
      switch (t) {
        case 'via':
        case 'gw':
        case 'or':
          if ((v.text === 'inet' || v.text === 'inet6') && words[k + 2]) v = words[++k + 1]!;
          if (t !== 'or') {
            if (t === 'gw') c.diag.warn(w.pos, 'deprecated', "route: 'gw' is deprecated (keepalived says so too); use 'via'");
            if (!(out.via = addr(w, v))) return undefined;
          } else {
            c.diag.warn(w.pos, 'deprecated', "route: 'or' is deprecated (keepalived says so too); use 'nexthop'");
            if (!addr(w, v)) return undefined;
          }
          break;
        case 'dev':
        case 'oif':
          if ((out.dev = readIfname(v, w, c)) === undefined) return undefined;
          break;
        case 'table':
          out.table = v.text;
          break;
        case 'metric':
        case 'priority':
        case 'preference':
          if (!/^\d+$/.test(v.text)) {
            c.diag.error(v.pos, 'invalid-number', `route: '${t}' expects a number, got '${v.raw}'`);
            return undefined;
          }
          out.metric = Number(v.text);
          break;
        case 'track_group':
          out.trackGroup = v.text;
          break;
        case 'expires':
        case 'pref':
          if (fam() === 4) {
            c.diag.error(w.pos, 'invalid-option', `route: '${t}' is only valid for IPv6 routes`);
            return undefined;
          }
          break;
      }
      k++;
      continue;
    }
    c.diag.error(w.pos, 'invalid-option', `route: unknown keyword '${w.raw}'${suggest(t, ROUTE_WORDS)}`);
    return undefined;
  }
  if (!out.dest) {
    c.diag.error(words[0]?.pos ?? kw.pos, 'missing-argument', `route: no destination (ADDR[/PREFIX] or 'default')`);
    return undefined;
  }
  if (forced === 6 && out.dest.family === 4 && words.some((w) => w.text === 'inet6')) {
    c.diag.error(words.find((w) => w.text === 'inet6')!.pos, 'family-mismatch', "route: 'inet6' given for an IPv4 route");
    return undefined;
  }
  return { words: words.map((w) => w.text), ...out, family: out.dest.family } as RouteSpec;
});

const RULE_ZERO = new Set(['not', 'l3mdev', 'no_track', 'inet6', 'blackhole', 'prohibit', 'unreachable']);
const RULE_ONE = new Set(['from', 'to', 'table', 'lookup', 'preference', 'priority', 'order', 'fwmark', 'iif', 'oif', 'tos', 'dsfield', 'suppress_prefixlength', 'suppress_ifgroup', 'goto', 'uidrange', 'sport', 'dport', 'ipproto', 'protocol', 'realms', 'nat', 'tunnel_id', 'track_group']);

/** Parses a rule line (all its words). */
export const ruleEntry: ArgParser<RuleSpec> = positioned((words, _kw, c) => {
  const out: { family?: Family; from?: Cidr | 'all'; to?: Cidr | 'all'; table?: string; preference?: number; noTrack: boolean; trackGroup?: string } = { noTrack: false };
  if (words.some((w) => w.text === 'inet6')) out.family = 6;
  for (let k = 0; k < words.length; k++) {
    const w = words[k]!;
    const t = w.text;
    if (RULE_ZERO.has(t)) {
      if (t === 'no_track') out.noTrack = true;
      continue;
    }
    if (!RULE_ONE.has(t)) {
      c.diag.error(w.pos, 'invalid-option', `rule: unknown option '${w.raw}'${suggest(t, [...RULE_ONE, ...RULE_ZERO])}`);
      return undefined;
    }
    const v = words[++k];
    if (!v) {
      c.diag.error(w.pos, 'missing-argument', `rule: '${t}' needs a value`);
      return undefined;
    }
    switch (t) {
      case 'from':
      case 'to': {
        if (v.text === 'all') {
          out[t] = 'all';
          break;
        }
        const p = readCidr(v, w, c);
        if (!p) return undefined;
        if (out.family && p.family !== out.family) {
          c.diag.error(v.pos, 'family-mismatch', `rule: '${v.raw}' is IPv${p.family}, but this rule is IPv${out.family}`);
          return undefined;
        }
        out.family = p.family;
        out[t] = p;
        break;
      }
      case 'table':
      case 'lookup':
        out.table = v.text;
        break;
      case 'preference':
      case 'priority':
      case 'order':
        if (!/^\d+$/.test(v.text) || Number(v.text) > 4294967295) {
          c.diag.error(v.pos, 'invalid-number', `rule: '${t}' expects a number (0-4294967295), got '${v.raw}'`);
          return undefined;
        }
        out.preference = Number(v.text);
        break;
      case 'iif':
      case 'oif':
        if (readIfname(v, w, c) === undefined) return undefined;
        break;
      case 'track_group':
        out.trackGroup = v.text;
        break;
    }
  }
  return { words: words.map((w) => w.text), ...out };
});
