import { type Family, flag, ifname, int, ip, seconds, str, suggest } from './args.js';
import { type ArgParser, type BlockSpec, alias, block, fieldPos, requireField, value, written } from './dsl.js';
import { MAX_TIMER_S, type StatusRange, UINT_MAX, digest, statusCodes } from './lvs-args.js';
import type { ScriptSpec } from './args.js';
import type { HexBytes } from './lvs-args.js';
import { type TunnelPath, tunnelKeywords } from './tunnel-check.js';

/*
 * Health checkers of a real_server: the keywords all checkers share, and HTTP_GET/SSL_GET with
 * their `url` blocks. The other checker types are in checkers-more.ts. Built checkers hold only
 * what was written; lvs-resolve.ts fills in keepalived's inheritance (checker ← real_server ←
 * virtual_server ← defaults) once the whole virtual_server is read.
 */

/** Every checker type keepalived 2.2.7 knows. */
export const CHECKER_TYPES = ['HTTP_GET', 'SSL_GET', 'TCP_CHECK', 'MISC_CHECK', 'SMTP_CHECK', 'DNS_CHECK', 'UDP_CHECK', 'PING_CHECK', 'FILE_CHECK', 'BFD_CHECK'] as const;
/** A checker type name. */
export type CheckerType = (typeof CHECKER_TYPES)[number];

/** Scheduling and failure handling shared by all checkers but FILE_CHECK and BFD_CHECK (effective values). */
export interface CheckTiming {
  /** Retries after a failure before the checker is down. Default 1; DNS_CHECK 3; MISC_CHECK 0. Inherited from real_server/virtual_server. */
  readonly retry: number;
  /** Delay between retries. Default 3 s for HTTP_GET/SSL_GET, delay_loop for DNS_CHECK, else 1 s; inherited. */
  readonly delayBeforeRetryMs: number;
  /** Upper bound of the random delay before the first check. Default: delay_loop; 0 disables. Inherited. */
  readonly warmupMs: number;
  /** Interval between checks. Default 60 s, inherited from real_server then virtual_server. */
  readonly delayLoopMs: number;
  /** Start in the failed state (alpha mode). Default off; inherited. */
  readonly alpha: boolean;
  /** Log every failure, also while the checker is up. Default off. */
  readonly logAllFailures: boolean;
}

/** Where and how a network checker connects (effective values). */
export interface CheckConn {
  /** Destination address: `connect_ip`, default the real server's address. */
  readonly connectIp: string;
  readonly family: Family;
  /** Destination port: `connect_port`, default the real server's port (0 when it has none). */
  readonly connectPort: number;
  /** Source address (`bindto`). */
  readonly bindto?: string;
  /** Source port (`bind_port`). */
  readonly bindPort?: number;
  /** Interface to bind to; required for an IPv6 link-local destination. */
  readonly bindIf?: string;
  /** Connection (and per-read) timeout. Default 5 s, inherited from real_server/virtual_server. */
  readonly connectTimeoutMs: number;
  /** SO_MARK for the checker's packets (with tunnel_check: the tunnel's mark). */
  readonly fwmark?: number;
  /** vigil extension `tunnel_check` as written (TCP_CHECK, HTTP_GET, SSL_GET). */
  readonly tunnelCheck?: boolean;
  /** Where a tunnel check goes, set by the compiler (tunnel-check.ts) together with connectIp and fwmark. */
  readonly tunnel?: TunnelPath;
}

/** One `url { ... }` of HTTP_GET / SSL_GET. */
export interface Url {
  readonly path: string;
  /** MD5 of the body, 32 lower-case hex digits. */
  readonly digest?: string;
  /** Accepted status codes; default 200-299. */
  readonly statusCodes: readonly StatusRange[];
  /** Host header for this URL; default the checker's, real server's or virtual server's virtualhost. */
  readonly virtualhost?: string;
  /** PCRE2 pattern the body must match (keepalived built with regex support). */
  readonly regex?: string;
  /** Fail when the regex matches instead of when it does not. */
  readonly regexNoMatch: boolean;
  readonly regexOptions: readonly string[];
  readonly regexMinOffset?: number;
  readonly regexMaxOffset?: number;
  readonly regexStack?: { readonly start: number; readonly max: number };
}

/** HTTP_GET or SSL_GET. */
export interface HttpChecker extends CheckTiming, CheckConn {
  readonly type: 'HTTP_GET' | 'SSL_GET';
  readonly urls: readonly Url[];
  /** 1.0 (default), 1.0C (1.0 with Connection: close) or 1.1. */
  readonly httpProtocol: '1.0' | '1.0C' | '1.1';
  /** Effective Host header default: checker, else real server, else virtual server virtualhost. */
  readonly virtualhost?: string;
  /** SSL_GET: send SNI (the virtualhost). Default off. */
  readonly enableSni: boolean;
  /** Check all URLs back to back while down, without delay_loop between them. Default off. */
  readonly fastRecovery: boolean;
}

/** TCP_CHECK: a connect succeeds. */
export interface TcpChecker extends CheckTiming, CheckConn {
  readonly type: 'TCP_CHECK';
}

/** PING_CHECK: an ICMP/ICMPv6 echo is answered. */
export interface PingChecker extends CheckTiming, CheckConn {
  readonly type: 'PING_CHECK';
}

/** SMTP_CHECK: banner 220, HELO 250, QUIT 221. Each legacy `host {}` becomes a checker of its own. */
export interface SmtpChecker extends CheckTiming, CheckConn {
  readonly type: 'SMTP_CHECK';
  /** Name sent with HELO. Default smtpchecker.keepalived.org. */
  readonly heloName: string;
}

/** DNS_CHECK: a query over UDP gets an answer. */
export interface DnsChecker extends CheckTiming, CheckConn {
  readonly type: 'DNS_CHECK';
  /** Query type; default SOA. */
  readonly queryType: 'A' | 'NS' | 'CNAME' | 'SOA' | 'MX' | 'TXT' | 'AAAA' | 'RRSIG' | 'DNSKEY';
  /** Name queried; default '.'. */
  readonly name: string;
}

/** UDP_CHECK: a datagram is not refused (and, optionally, answered as expected). */
export interface UdpChecker extends CheckTiming, CheckConn {
  readonly type: 'UDP_CHECK';
  /** Data sent; random when absent. */
  readonly payload?: HexBytes;
  /** A reply is required. */
  readonly requireReply: boolean;
  /** The reply must start with these bytes (up to the shorter length). */
  readonly replyData?: HexBytes;
  /** Default 0. */
  readonly minReplyLength: number;
  /** Default 255. */
  readonly maxReplyLength: number;
}

/** MISC_CHECK: a program's exit status. */
export interface MiscChecker extends CheckTiming {
  readonly type: 'MISC_CHECK';
  /** Command line; `user` (if written) is folded in. */
  readonly miscPath: ScriptSpec;
  /** Kill after this long. Default (0 written or absent): the virtual server's delay_loop, as keepalived. */
  readonly miscTimeoutMs: number;
  /** Exit status 2-255 sets the weight to status - 2. */
  readonly miscDynamic: boolean;
}

/** FILE_CHECK: a number read from a track_file adjusts or fails the real server. */
export interface FileChecker {
  readonly type: 'FILE_CHECK';
  /** Name of a top-level `track_file` block. */
  readonly trackFile: string;
  /** Multiplier of the file's value; absent: the track_file's own weight. */
  readonly weight?: number;
  readonly weightReverse: boolean;
  /** Documented by keepalived.conf(5) 2.2.7 (but not parsed by that release). */
  readonly dynamic: boolean;
}

/** BFD_CHECK: the state of a `bfd_instance`. */
export interface BfdChecker {
  readonly type: 'BFD_CHECK';
  readonly name: string;
  readonly alpha: boolean;
}

/** A health checker with its effective settings. */
export type Checker = HttpChecker | TcpChecker | PingChecker | SmtpChecker | DnsChecker | UdpChecker | MiscChecker | FileChecker | BfdChecker;

const TIMER = `0.000001-${MAX_TIMER_S}`;

/** Keywords every network checker has: where to connect from and to. */
export const connKeywords = {
  connect_ip: value('connectIp', ip(), 'Address to check. Default: the real server address.'),
  connect_port: value('connectPort', int(1, 65535), 'Port to check, 1-65535. Default: the real server port.'),
  bindto: value('bindto', ip(), 'Source address of the check. Must be the family of the destination.'),
  bind_port: value('bindPort', int(1, 65535), 'Source port of the check, 1-65535.'),
  bind_if: value('bindIf', ifname, 'Interface to send from; needed when the destination is IPv6 link-local.'),
  connect_timeout: value('connectTimeoutMs', seconds(0.000001, 4294.967295), 'Connect/read timeout in seconds (0.000001-4294.967295). Default 5, inherited from real_server/virtual_server.'),
  fwmark: value('fwmark', int(0, UINT_MAX), 'Firewall mark (SO_MARK) of the checker packets, 0-4294967295.'),
};

/** Keywords of every checker but FILE_CHECK and BFD_CHECK: scheduling and retries. */
export const timingKeywords = {
  retry: value('retry', int(0, UINT_MAX), 'Retries before the checker is down. Default 1 (DNS_CHECK 3, MISC_CHECK 0), inherited from real_server/virtual_server.'),
  delay_before_retry: value('delayBeforeRetryMs', seconds(0, MAX_TIMER_S), 'Seconds between retries. Default 3 (HTTP/SSL), delay_loop (DNS), else 1.'),
  warmup: value('warmupMs', seconds(0, MAX_TIMER_S), 'Maximum random delay before the first check, seconds. Default delay_loop; 0 disables.'),
  delay_loop: value('delayLoopMs', seconds(0.000001, MAX_TIMER_S), `Seconds between checks (${TIMER}). Default: the real server's, else the virtual server's (60).`),
  alpha: value('alpha', flag, 'Start this checker as failed. Default: the real server/virtual server setting (off).'),
  log_all_failures: value('logAllFailures', flag, 'Log every failure, not only state changes. Default off.'),
};

/** Checks of the connection options that keepalived also makes (connect_ip/bindto family). */
export function checkConn(o: Record<string, unknown>, what: string, c: { diag: import('../diagnostics.js').Diagnostics }): boolean {
  if (typeof o.connectIp === 'string' && typeof o.bindto === 'string' && o.connectIp.includes(':') !== o.bindto.includes(':')) {
    c.diag.error(fieldPos(o, 'bindto')!, 'family-mismatch', `${what}: bindto ${o.bindto} and connect_ip ${o.connectIp} are of different address families`);
    return false;
  }
  return true;
}

const REGEX_OPTIONS = [
  'allow_empty_class', 'alt_bsux', 'auto_callout', 'caseless', 'dollar_endonly', 'dotall', 'dupnames', 'extended', 'firstline',
  'match_unset_backref', 'multiline', 'never_ucp', 'never_utf', 'no_auto_capture', 'no_auto_possess', 'no_dotstar_anchor',
  'no_start_optimize', 'ucp', 'ungreedy', 'utf', 'never_backslash_c', 'alt_circumflex', 'alt_verbnames', 'use_offset_limit',
];

const regexOptions: ArgParser<string[]> = (args, kw, c) => {
  let ok = true;
  for (const w of args)
    if (!REGEX_OPTIONS.includes(w.text)) {
      c.diag.error(w.pos, 'invalid-option', `'${kw.text}': unknown PCRE2 option '${w.raw}'${suggest(w.text, REGEX_OPTIONS) || `; expected some of ${REGEX_OPTIONS.join(' ')}`}`);
      ok = false;
    }
  return ok ? args.map((a) => a.text) : undefined;
};

const regexStack: ArgParser<{ start: number; max: number }> = (args, kw, c) => {
  if (args.length !== 2) {
    c.diag.error(args[2]?.pos ?? kw.pos, args.length > 2 ? 'extra-argument' : 'missing-argument', `'${kw.text}' needs START and MAX stack sizes in bytes`);
    return undefined;
  }
  const start = int(0, Number.MAX_SAFE_INTEGER)([args[0]!], kw, c);
  const max = int(0, Number.MAX_SAFE_INTEGER)([args[1]!], kw, c);
  if (start === undefined || max === undefined) return undefined;
  if (start > max) {
    c.diag.error(args[0]!.pos, 'out-of-range', `'${kw.text}': start ${start} exceeds max ${max}`);
    return undefined;
  }
  return { start, max };
};

/** The `url` block. */
export const urlSpec: BlockSpec<Url> = {
  name: 'url',
  defaults: () => ({ regexNoMatch: false, regexOptions: [] }),
  keywords: {
    path: value('path', str, 'Path (and query) to GET, e.g. `/health`. Required.'),
    digest: value('digest', digest, 'MD5 of the expected body (genhash output), 32 hex digits.'),
    status_code: value('statusCodes', statusCodes, 'Accepted status codes or ranges, e.g. `200-299 401`. Default 200-299; 100-599.', { repeat: 'append' }),
    virtualhost: value('virtualhost', str, 'Host header for this URL.'),
    regex: value('regex', str, 'PCRE2 pattern the body must match (quote it).'),
    regex_no_match: value('regexNoMatch', flag, 'Fail when the regex matches.'),
    regex_options: value('regexOptions', regexOptions, 'PCRE2 options, e.g. `caseless multiline`.', { repeat: 'append' }),
    regex_min_offset: value('regexMinOffset', int(0, Number.MAX_SAFE_INTEGER), 'Body offset where matching may start.'),
    regex_max_offset: value('regexMaxOffset', int(0, Number.MAX_SAFE_INTEGER), 'Last body offset where a match may start.'),
    regex_stack: value('regexStack', regexStack, 'PCRE2 JIT stack START MAX in bytes.'),
  },
  finalize(o, stmt, c) {
    const raw = o as Record<string, unknown>;
    // status_code and regex_options may repeat: their entries accumulate.
    raw.statusCodes = ((raw.statusCodes as StatusRange[][] | undefined) ?? [[{ min: 200, max: 299 }]]).flat();
    raw.regexOptions = ((raw.regexOptions as string[][] | undefined) ?? []).flat();
    if (!requireField(o, 'path', 'path', stmt, c, 'url')) return undefined;
    if (o.regex === undefined)
      for (const [f, k] of [['regexNoMatch', 'regex_no_match'], ['regexOptions', 'regex_options'], ['regexMinOffset', 'regex_min_offset'], ['regexMaxOffset', 'regex_max_offset'], ['regexStack', 'regex_stack']] as const)
        if (written(o, f)) c.diag.error(fieldPos(o, f)!, 'requires-keyword', `url ${o.path}: '${k}' has no effect without 'regex'`);
    if (o.regexMinOffset !== undefined && o.regexMaxOffset !== undefined && o.regexMinOffset > o.regexMaxOffset)
      c.diag.error(fieldPos(o, 'regexMinOffset')!, 'out-of-range', `url ${o.path}: regex_min_offset ${o.regexMinOffset} is beyond regex_max_offset ${o.regexMaxOffset}`);
    return o as Url;
  },
};

const httpProtocol: ArgParser<'1.0' | '1.0C' | '1.1'> = (args, kw, c) => {
  const v = str(args, kw, c);
  if (v === undefined) return undefined;
  if (v === '1.0' || v === '1.1' || v === '1.0C') return v;
  if (v === '1.0c') return '1.0C';
  c.diag.error(args[0]!.pos, 'invalid-value', `'${kw.text}' expects 1.0, 1.0C or 1.1, got '${args[0]!.raw}'`);
  return undefined;
};

function httpSpec(type: 'HTTP_GET' | 'SSL_GET'): BlockSpec<HttpChecker> {
  return {
    name: type,
    defaults: () => ({ type, urls: [], httpProtocol: '1.0', enableSni: false, fastRecovery: false }),
    keywords: {
      ...connKeywords,
      ...timingKeywords,
      nb_get_retry: { ...alias('retry', timingKeywords.retry), deprecated: "use 'retry'" },
      virtualhost: value('virtualhost', str, 'Host header for all URLs. Default: the real server, else virtual server virtualhost.'),
      http_protocol: value('httpProtocol', httpProtocol, 'HTTP version sent: 1.0 (default), 1.0C (adds Connection: close) or 1.1.'),
      enable_sni: value('enableSni', flag, 'Send the virtualhost as TLS SNI (SSL_GET). Default off.'),
      fast_recovery: value('fastRecovery', flag, 'While down, check the URLs back to back instead of one per delay_loop. Default off.'),
      ...tunnelKeywords,
      url: block('urls', urlSpec, 'A URL to GET: `url { path ...; digest ...; status_code ... }`. At least one.', { repeat: 'append' }),
    },
    finalize(o, stmt, c) {
      if (o.urls?.length === 0 && !written(o, 'urls')) {
        c.diag.error(stmt.keyword.pos, 'missing-keyword', `${type} has no 'url' block: it needs at least one 'url { path ... }'`);
        return undefined;
      }
      if (!checkConn(o as Record<string, unknown>, type, c)) return undefined;
      if (type === 'HTTP_GET' && o.enableSni) c.diag.warn(fieldPos(o, 'enableSni')!, 'ignored', 'enable_sni only applies to SSL_GET');
      return o as HttpChecker;
    },
  };
}

/** `HTTP_GET { ... }`. */
export const httpGetSpec = httpSpec('HTTP_GET');
/** `SSL_GET { ... }`. */
export const sslGetSpec = httpSpec('SSL_GET');
