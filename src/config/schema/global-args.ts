import { type Family, arity, readInt, readIfname, readIp, readPort, suggest } from './args.js';
import type { ArgParser } from './dsl.js';
import { isMulticast, readAddr } from './vrrp-args.js';

/*
 * Argument parsers of global_defs keywords with their own small syntax (keepalived 2.2.7
 * global_parser.c): lvs_sync_daemon, lvs_timeouts, smtp_server, umask, rx buffer policy...
 */

/** `lvs_sync_daemon IF [[inst] VRRP_INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group ADDR]`. */
export interface LvsSyncDaemon {
  /** Interface the IPVS sync daemon binds to. */
  readonly interface: string;
  /** The vrrp_instance whose state selects master or backup sync daemon; absent: run both. */
  readonly instance?: string;
  /** Sync id 0-255; default the instance's VRID (0 without instance). */
  readonly syncId?: number;
  /** Maximum sync packet length 1-65507. Kernel default when absent. */
  readonly maxlen?: number;
  /** UDP port 1-65535; default 8848. */
  readonly port?: number;
  /** Multicast TTL 1-255; kernel default 1. */
  readonly ttl?: number;
  /** Multicast group; default 224.0.0.81. */
  readonly group?: string;
}

/** Parses `lvs_sync_daemon`, including the legacy positional `IF INSTANCE [SYNCID]`. */
export const lvsSyncDaemon: ArgParser<LvsSyncDaemon> = (args, kw, c) => {
  if (!arity(args, kw, c, 1, 14, 'an interface, then [inst] VRRP_INSTANCE, id N, maxlen N, port N, ttl N, group ADDR')) return undefined;
  const iface = readIfname(args[0]!, kw, c);
  if (iface === undefined) return undefined;
  const out: { interface: string; instance?: string; syncId?: number | undefined; maxlen?: number | undefined; port?: number | undefined; ttl?: number | undefined; group?: string } = { interface: iface };
  const OPTS = ['inst', 'id', 'maxlen', 'port', 'ttl', 'group'];
  for (let k = 1; k < args.length; k++) {
    const w = args[k]!;
    const v = args[k + 1];
    if (!OPTS.includes(w.text)) {
      // Backward compatibility: `lvs_sync_daemon IF INSTANCE [SYNCID]`.
      if (k === 1 && out.instance === undefined) {
        out.instance = w.text;
        continue;
      }
      if (k === 2 && /^\d+$/.test(w.text)) {
        c.diag.warn(w.pos, 'deprecated', `'lvs_sync_daemon': write 'id ${w.text}' (keepalived asks for the 'id' keyword too)`);
        if ((out.syncId = readInt(w, kw, c, 0, 255)) === undefined) return undefined;
        continue;
      }
      c.diag.error(w.pos, 'invalid-option', `'lvs_sync_daemon': unexpected '${w.raw}'; expected one of ${OPTS.join(', ')}${suggest(w.text, OPTS)}`);
      return undefined;
    }
    if (!v) {
      c.diag.error(w.pos, 'missing-argument', `'lvs_sync_daemon': '${w.text}' needs a value`);
      return undefined;
    }
    k++;
    switch (w.text) {
      case 'inst':
        if (out.instance !== undefined) {
          c.diag.error(w.pos, 'extra-argument', `'lvs_sync_daemon': the vrrp instance is already given ('${out.instance}')`);
          return undefined;
        }
        out.instance = v.text;
        break;
      case 'id':
        if ((out.syncId = readInt(v, w, c, 0, 255)) === undefined) return undefined;
        break;
      case 'maxlen':
        if ((out.maxlen = readInt(v, w, c, 1, 65535 - 20 - 8)) === undefined) return undefined;
        break;
      case 'port':
        if ((out.port = readPort(v, w, c, 1)) === undefined) return undefined;
        break;
      case 'ttl':
        if ((out.ttl = readInt(v, w, c, 1, 255)) === undefined) return undefined;
        break;
      case 'group': {
        const a = readAddr(v, w, c);
        if (!a) return undefined;
        if (!isMulticast(a.address, a.family)) {
          c.diag.error(v.pos, 'invalid-address', `'lvs_sync_daemon': group ${v.raw} is not a multicast address`);
          return undefined;
        }
        out.group = a.address;
        break;
      }
    }
  }
  return out as LvsSyncDaemon;
};

/** keepalived LVS_MAX_TIMEOUT: 31 days in seconds. */
const LVS_MAX_TIMEOUT = 86400 * 31;

/** `lvs_timeouts [tcp S] [tcpfin S] [udp S]` in milliseconds; absent ones stay as the kernel has them. */
export interface LvsTimeouts {
  readonly tcpMs?: number;
  readonly tcpfinMs?: number;
  readonly udpMs?: number;
}

/** Parses `lvs_timeouts`. */
export const lvsTimeouts: ArgParser<LvsTimeouts> = (args, kw, c) => {
  if (!arity(args, kw, c, 2, 6, `at least one of tcp|tcpfin|udp SECONDS (0-${LVS_MAX_TIMEOUT})`)) return undefined;
  const out: Record<string, number> = {};
  const key = { tcp: 'tcpMs', tcpfin: 'tcpfinMs', udp: 'udpMs' } as const;
  for (let k = 0; k < args.length; k += 2) {
    const w = args[k]!;
    const f = key[w.text as keyof typeof key];
    if (!f) {
      c.diag.error(w.pos, 'invalid-option', `'lvs_timeouts': unexpected '${w.raw}'; expected tcp, tcpfin or udp${suggest(w.text, Object.keys(key))}`);
      return undefined;
    }
    const v = args[k + 1];
    if (!v) {
      c.diag.error(w.pos, 'missing-argument', `'lvs_timeouts': '${w.text}' needs a number of seconds (0-${LVS_MAX_TIMEOUT})`);
      return undefined;
    }
    const n = readInt(v, w, c, 0, LVS_MAX_TIMEOUT);
    if (n === undefined) return undefined;
    out[f] = n * 1000;
  }
  return out;
};

/** `smtp_server HOST|ADDR [PORT]`. */
export interface SmtpServer {
  /** An IP address or a host name. */
  readonly host: string;
  readonly family?: Family;
  /** Default 25. */
  readonly port: number;
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/** Parses `smtp_server`. */
export const smtpServer: ArgParser<SmtpServer> = (args, kw, c) => {
  if (!arity(args, kw, c, 1, 2, 'an address or host name, optionally followed by a port')) return undefined;
  const h = args[0]!;
  const port = args[1] ? readPort(args[1], kw, c, 1) : 25;
  if (port === undefined) return undefined;
  if (/^[\d.]+$/.test(h.text) || h.text.includes(':')) {
    const a = readIp(h, kw, c);
    return a ? { host: a.address, family: a.family, port } : undefined;
  }
  if (!HOSTNAME.test(h.text)) {
    c.diag.error(h.pos, 'invalid-address', `'${kw.text}': '${h.raw}' is neither an IP address nor a host name`);
    return undefined;
  }
  return { host: h.text, port };
};

const UMASK_BITS: Record<string, number> = { IRUSR: 0o400, IWUSR: 0o200, IXUSR: 0o100, IRGRP: 0o40, IWGRP: 0o20, IXGRP: 0o10, IROTH: 0o4, IWOTH: 0o2, IXOTH: 0o1 };

/** `umask NUMBER` (decimal, 0octal or 0xhex) or `umask BITS` (`IWGRP|IWOTH`, spaces allowed around '|'). */
export const umask: ArgParser<number> = (args, kw, c) => {
  if (!arity(args, kw, c, 1, 20, 'a number (0-0777) or bits like IWGRP|IWOTH')) return undefined;
  const first = args[0]!;
  if (/^\d/.test(first.text)) {
    if (!arity(args, kw, c, 1, 1, 'one number (0-0777)')) return undefined;
    const t = first.text;
    const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^0[0-7]*$/.test(t) ? parseInt(t, 8) : /^[1-9]\d*$/.test(t) ? Number(t) : NaN;
    if (!Number.isInteger(n) || n > 0o777) {
      c.diag.error(first.pos, 'invalid-number', `'umask': '${first.raw}' is not a mode in 0-0777 (decimal, 0octal or 0xhex)`);
      return undefined;
    }
    return n;
  }
  const text = args.map((a) => a.text).join('');
  let mask = 0;
  for (const part of text.split('|')) {
    const bit = UMASK_BITS[part];
    if (bit === undefined) {
      c.diag.error(first.pos, 'invalid-value', `'umask': unknown bit '${part}'; expected ${Object.keys(UMASK_BITS).join('|')}${suggest(part, Object.keys(UMASK_BITS))}`);
      return undefined;
    }
    mask |= bit;
  }
  return mask;
};

/** `vrrp_rx_bufs_policy MTU|ADVERT|SIZE`. */
export type RxBufsPolicy = { readonly kind: 'mtu' } | { readonly kind: 'advert' } | { readonly kind: 'size'; readonly bytes: number };

/** Parses `vrrp_rx_bufs_policy` (one of MTU, ADVERT, or a byte count; case-insensitive). */
export const rxBufsPolicy: ArgParser<RxBufsPolicy> = (args, kw, c) => {
  if (!arity(args, kw, c, 1, 1, 'MTU, ADVERT or a size in bytes')) return undefined;
  const w = args[0]!;
  const u = w.text.toUpperCase();
  if (u === 'MTU') return { kind: 'mtu' };
  if (u === 'ADVERT') return { kind: 'advert' };
  const n = readInt(w, kw, c, 0, 4294967295);
  return n === undefined ? undefined : { kind: 'size', bytes: n };
};

/** `*_cpu_affinity CPU...`: CPU numbers (keepalived checks them against the online CPUs at start). */
export const cpuList: ArgParser<number[]> = (args, kw, c) => {
  if (!arity(args, kw, c, 1, 4096, 'one or more CPU numbers')) return undefined;
  const out: number[] = [];
  for (const w of args) {
    const n = readInt(w, kw, c, 0, 4095);
    if (n === undefined) return undefined;
    out.push(n);
  }
  return out;
};

/** `include_check [[+|-]readable|match|wildcard_match|brace_match ...]`; none = all checks. */
export const includeCheck: ArgParser<string[]> = (args, kw, c) => {
  const OPTS = ['readable', 'match', 'wildcard_match', 'brace_match'];
  if (args.length === 0) return [...OPTS];
  const out: string[] = [];
  for (const w of args) {
    const name = w.text.replace(/^[+-]/, '');
    if (!OPTS.includes(name)) {
      c.diag.error(w.pos, 'invalid-option', `'include_check': unknown check '${w.raw}'; expected [+|-]${OPTS.join('|')}${suggest(name, OPTS)}`);
      return undefined;
    }
    out.push(w.text);
  }
  return out;
};

/** A process name: at most 15 characters (TASK_COMM_LEN - 1). */
export const processName: ArgParser<string> = (args, kw, c) => {
  if (!arity(args, kw, c, 1, 1, 'one process name')) return undefined;
  const w = args[0]!;
  if (w.text.length > 15) {
    c.diag.error(w.pos, 'invalid-value', `'${kw.text}': process name '${w.raw}' is longer than 15 characters (keepalived truncates it)`);
    return undefined;
  }
  return w.text;
};

/** `max_auto_priority [N]`: -1..99; alone means the maximum (99). */
export const maxAutoPriority: ArgParser<number> = (args, kw, c) => {
  if (!arity(args, kw, c, 0, 1, 'nothing or a priority -1..99')) return undefined;
  return args[0] ? readInt(args[0], kw, c, -1, 99) : 99;
};

/** `dynamic_interfaces [allow_if_changes]`. */
export const dynamicInterfaces: ArgParser<'on' | 'allow_if_changes'> = (args, kw, c) => {
  if (!arity(args, kw, c, 0, 1, "nothing or 'allow_if_changes'")) return undefined;
  if (!args[0]) return 'on';
  if (args[0].text === 'allow_if_changes') return 'allow_if_changes';
  c.diag.error(args[0].pos, 'invalid-value', `'dynamic_interfaces' expects nothing or 'allow_if_changes', got '${args[0].raw}'`);
  return undefined;
};

/** A multicast group of one family (`vrrp_mcast_group4/6`). */
export function mcastGroup(family: Family): ArgParser<string> {
  return (args, kw, c) => {
    if (!arity(args, kw, c, 1, 1, `one IPv${family} multicast address`)) return undefined;
    const a = readAddr(args[0]!, kw, c, family);
    if (!a) return undefined;
    if (!isMulticast(a.address, family)) {
      c.diag.error(args[0]!.pos, 'invalid-address', `'${kw.text}': ${args[0]!.raw} is not a multicast address`);
      return undefined;
    }
    return a.address;
  };
}

/** `[NAME]`: an optional single word (nftables table names, reload files...). */
export const optWord: ArgParser<string | true> = (args, kw, c) => (arity(args, kw, c, 0, 1, 'nothing or one name') ? (args[0]?.text ?? true) : undefined);

/** Microseconds (integer in [min, max]) stored in milliseconds. */
export function micros(min: number, max: number): ArgParser<number> {
  return (args, kw, c) => {
    if (!arity(args, kw, c, 1, 1, `one number of microseconds (${min}-${max})`)) return undefined;
    const n = readInt(args[0]!, kw, c, min, max);
    return n === undefined ? undefined : n / 1000;
  };
}
