import { type ScriptSpec, arity, flag, int, readInt, str, wholeSeconds } from './args.js';
import { type ArgParser, type BlockSpec, block, fieldPos, requireField, value } from './dsl.js';
import {
  type BfdChecker,
  type CheckConn,
  type CheckTiming,
  type DnsChecker,
  type FileChecker,
  type MiscChecker,
  type PingChecker,
  type SmtpChecker,
  type TcpChecker,
  type UdpChecker,
  checkConn,
  connKeywords,
  httpGetSpec,
  sslGetSpec,
  timingKeywords,
} from './checkers.js';
import { readHex } from './lvs-args.js';
import { tunnelKeywords } from './tunnel-check.js';
import { spreadWeight } from './vrrp-args.js';

/*
 * TCP_CHECK, PING_CHECK, SMTP_CHECK (with legacy host {} blocks), DNS_CHECK, UDP_CHECK,
 * MISC_CHECK, FILE_CHECK and BFD_CHECK, and the table of all checker keywords of real_server.
 */

/** keepalived's SMTP_DEFAULT_HELO. */
export const SMTP_DEFAULT_HELO = 'smtpchecker.keepalived.org';

/** TCP_CHECK. */
export const tcpCheckSpec: BlockSpec<TcpChecker> = {
  name: 'TCP_CHECK',
  defaults: () => ({ type: 'TCP_CHECK' }),
  keywords: { ...connKeywords, ...timingKeywords, ...tunnelKeywords },
  finalize: (o, _s, c) => (checkConn(o as Record<string, unknown>, 'TCP_CHECK', c) ? (o as TcpChecker) : undefined),
};

/** PING_CHECK. */
export const pingCheckSpec: BlockSpec<PingChecker> = {
  name: 'PING_CHECK',
  defaults: () => ({ type: 'PING_CHECK' }),
  keywords: { ...connKeywords, ...timingKeywords },
  finalize(o, _s, c) {
    if (o.connectPort !== undefined) c.diag.warn(fieldPos(o, 'connectPort')!, 'ignored', 'PING_CHECK: connect_port has no effect on ICMP echo');
    return checkConn(o as Record<string, unknown>, 'PING_CHECK', c) ? (o as PingChecker) : undefined;
  },
};

/** A legacy SMTP_CHECK `host { ... }`: connection options of one more SMTP check (timing keywords apply to the whole checker). */
export type SmtpHost = Partial<CheckConn & CheckTiming>;

const smtpHostSpec: BlockSpec<SmtpHost> = {
  name: 'host',
  defaults: () => ({}),
  keywords: { ...connKeywords, ...timingKeywords },
  finalize: (o, _s, c) => (checkConn(o as Record<string, unknown>, 'SMTP_CHECK host', c) ? o : undefined),
};

/** SMTP_CHECK as built, before its hosts are expanded into checkers of their own. */
export type SmtpCheckerBuilt = SmtpChecker & { readonly hosts?: readonly SmtpHost[] };

/** SMTP_CHECK. */
export const smtpCheckSpec: BlockSpec<SmtpCheckerBuilt> = {
  name: 'SMTP_CHECK',
  defaults: () => ({ type: 'SMTP_CHECK', heloName: SMTP_DEFAULT_HELO }),
  keywords: {
    ...connKeywords,
    ...timingKeywords,
    helo_name: value('heloName', str, `Name sent with HELO. Default ${SMTP_DEFAULT_HELO}.`),
    host: block('hosts', smtpHostSpec, 'Deprecated: one more server to check, `host { connect_ip ...; connect_port ... }`. Each becomes an SMTP_CHECK of its own.', {
      repeat: 'append',
      deprecated: 'define one SMTP_CHECK per address instead (each host block becomes its own checker)',
    }),
  },
  finalize: (o, _s, c) => (checkConn(o as Record<string, unknown>, 'SMTP_CHECK', c) ? (o as SmtpCheckerBuilt) : undefined),
};

const DNS_TYPES = ['A', 'NS', 'CNAME', 'SOA', 'MX', 'TXT', 'AAAA', 'RRSIG', 'DNSKEY'] as const;

const dnsType: ArgParser<DnsChecker['queryType']> = (args, kw, c) => {
  const v = str(args, kw, c);
  if (v === undefined) return undefined;
  const hit = DNS_TYPES.find((t) => t === v.toUpperCase());
  if (!hit) c.diag.error(args[0]!.pos, 'invalid-value', `'${kw.text}' expects one of ${DNS_TYPES.join('|')}, got '${args[0]!.raw}'`);
  return hit;
};

const dnsName: ArgParser<string> = (args, kw, c) => {
  const v = str(args, kw, c);
  if (v === undefined) return undefined;
  if ((v.startsWith('.') && v !== '.') || v.includes('..') || v === '') {
    c.diag.error(args[0]!.pos, 'invalid-value', `'${kw.text}': '${args[0]!.raw}' has an empty label`);
    return undefined;
  }
  return v;
};

/** DNS_CHECK. */
export const dnsCheckSpec: BlockSpec<DnsChecker> = {
  name: 'DNS_CHECK',
  defaults: () => ({ type: 'DNS_CHECK', queryType: 'SOA', name: '.' }),
  keywords: {
    ...connKeywords,
    ...timingKeywords,
    type: value('queryType', dnsType, `Query type: ${DNS_TYPES.join('|')} (any case). Default SOA.`),
    name: value('name', dnsName, "Name to query. Default '.'."),
  },
  finalize: (o, _s, c) => (checkConn(o as Record<string, unknown>, 'DNS_CHECK', c) ? (o as DnsChecker) : undefined),
};

/** UDP_CHECK. */
export const udpCheckSpec: BlockSpec<UdpChecker> = {
  name: 'UDP_CHECK',
  defaults: () => ({ type: 'UDP_CHECK', requireReply: false, minReplyLength: 0, maxReplyLength: 255 }),
  keywords: {
    ...connKeywords,
    ...timingKeywords,
    payload: value('payload', (a, k, c) => (arity(a, k, c, 1, Infinity, 'a hex string') ? readHex(a, k, c, false) : undefined), 'Data to send, free-format hex (`Ab12f 3` = AB 12 0F 03). Default: random.'),
    require_reply: value('replyData', (a, k, c) => (a.length === 0 ? null : readHex(a, k, c, true)), 'Require a reply; with a hex string (X = any nibble) the reply must start with it.'),
    min_reply_length: value('minReplyLength', int(0, 65535), 'Shortest acceptable reply, 0-65535. Default 0.'),
    max_reply_length: value('maxReplyLength', int(0, 65535), 'Longest acceptable reply, 0-65535. Default 255.'),
  },
  finalize(o, _s, c) {
    const raw = o as Record<string, unknown>;
    if (fieldPos(o, 'replyData')) raw.requireReply = true;
    if (raw.replyData === null) delete raw.replyData;
    if (o.minReplyLength! > o.maxReplyLength!)
      c.diag.error(fieldPos(o, 'minReplyLength') ?? fieldPos(o, 'maxReplyLength')!, 'out-of-range', `UDP_CHECK: min_reply_length ${o.minReplyLength} exceeds max_reply_length ${o.maxReplyLength}; the check would always fail`);
    return checkConn(raw, 'UDP_CHECK', c) ? (o as UdpChecker) : undefined;
  },
};

/** `misc_path`: the whole rest of the line is the command (quoted or not); user is a separate keyword. */
const miscPath: ArgParser<ScriptSpec> = (args, kw, c) => {
  if (!arity(args, kw, c, 1, Infinity, 'a program path, optionally with arguments (quote them together or not)')) return undefined;
  const command = args.map((a) => a.text).join(' ');
  if (command.trim() === '') {
    c.diag.error(args[0]!.pos, 'invalid-value', `'${kw.text}': empty command`);
    return undefined;
  }
  return { command };
};

const userGroup: ArgParser<{ user: string; group?: string }> = (args, kw, c) => {
  if (!arity(args, kw, c, 1, 2, 'a user name and optionally a group name')) return undefined;
  return args[1] ? { user: args[0]!.text, group: args[1].text } : { user: args[0]!.text };
};

/** MISC_CHECK as built (`user` still apart from `misc_path`). */
type MiscBuilt = MiscChecker & { user?: { user: string; group?: string } };

/** MISC_CHECK. */
export const miscCheckSpec: BlockSpec<MiscBuilt> = {
  name: 'MISC_CHECK',
  defaults: () => ({ type: 'MISC_CHECK', miscDynamic: false }),
  keywords: {
    ...timingKeywords,
    misc_path: value('miscPath', miscPath, 'Program to run and its arguments. Required. Exit 0 = up, 1 = down (2-255 with misc_dynamic: weight = status - 2).'),
    misc_timeout: value('miscTimeoutMs', wholeSeconds(0, 4294), 'Whole seconds before the program is killed (SIGTERM, then SIGKILL). Default / 0: the virtual server delay_loop.'),
    misc_dynamic: value('miscDynamic', flag, 'Use exit status 2-255 to set the weight to status - 2.'),
    user: value('user', userGroup, 'USER [GROUP] to run the program as. Default: global script_user.'),
  },
  finalize(o, stmt, c) {
    if (!requireField(o, 'miscPath', 'misc_path', stmt, c, 'MISC_CHECK')) return undefined;
    const raw = o as Record<string, unknown>;
    if (o.user) {
      raw.miscPath = { ...o.miscPath!, user: o.user.user, ...(o.user.group ? { group: o.user.group } : {}) };
      delete raw.user;
    }
    return o as MiscBuilt;
  },
};

const fileWeight: ArgParser<{ weight: number; reverse: boolean }> = (args, kw, c) => {
  if (!arity(args, kw, c, 1, 2, 'a weight (-2147483647..2147483647), optionally followed by reverse|noreverse')) return undefined;
  const weight = readInt(args[0]!, kw, c, -2147483647, 2147483647);
  if (weight === undefined) return undefined;
  const r = args[1];
  if (r && r.text !== 'reverse' && r.text !== 'noreverse') {
    c.diag.error(r.pos, 'invalid-option', `'${kw.text}': expected reverse or noreverse after the weight, got '${r.raw}'`);
    return undefined;
  }
  return { weight, reverse: r?.text === 'reverse' };
};

/** FILE_CHECK. */
export const fileCheckSpec: BlockSpec<FileChecker> = {
  name: 'FILE_CHECK',
  defaults: () => ({ type: 'FILE_CHECK', weightReverse: false, dynamic: false }),
  keywords: {
    track_file: value('trackFile', str, 'Name of the track_file block to follow. Required.'),
    weight: value('weight', fileWeight, 'Multiplier of the file value, optionally `reverse`. Default: the track_file weight.'),
    dynamic: value('dynamic', flag, 'Add the weighted value to the real server weight and quorum (keepalived.conf(5); keepalived 2.2.7 does not parse it).'),
  },
  finalize(o, stmt, c) {
    if (!requireField(o, 'trackFile', 'track_file', stmt, c, 'FILE_CHECK')) return undefined;
    spreadWeight(o);
    return o as FileChecker;
  },
};

/** BFD_CHECK. */
export const bfdCheckSpec: BlockSpec<BfdChecker> = {
  name: 'BFD_CHECK',
  defaults: () => ({ type: 'BFD_CHECK' }),
  keywords: {
    name: value('name', str, 'Name of the bfd_instance to follow. Required.'),
    alpha: value('alpha', flag, 'Start as failed. Default: the real server setting.'),
  },
  finalize: (o, stmt, c) => (requireField(o, 'name', 'name', stmt, c, 'BFD_CHECK') ? (o as BfdChecker) : undefined),
};

const each = { repeat: 'append' as const };

/** The checker blocks of real_server; all append to `checkers`, in file order. */
export const checkerKeywords = {
  HTTP_GET: block('checkers', httpGetSpec, 'HTTP health check: GET each url and compare status code/digest/regex.', each),
  SSL_GET: block('checkers', sslGetSpec, 'As HTTP_GET over TLS (uses the top-level SSL block, if any).', each),
  TCP_CHECK: block('checkers', tcpCheckSpec, 'TCP connect check.', each),
  PING_CHECK: block('checkers', pingCheckSpec, 'ICMP echo check.', each),
  SMTP_CHECK: block('checkers', smtpCheckSpec, 'SMTP banner/HELO/QUIT check.', each),
  DNS_CHECK: block('checkers', dnsCheckSpec, 'DNS query check (UDP).', each),
  UDP_CHECK: block('checkers', udpCheckSpec, 'UDP probe check (ICMP unreachable = down; optional reply match).', each),
  MISC_CHECK: block('checkers', miscCheckSpec, 'Run a program; its exit status decides.', each),
  FILE_CHECK: block('checkers', fileCheckSpec, 'Follow a track_file value.', each),
  BFD_CHECK: block('checkers', bfdCheckSpec, 'Follow a bfd_instance state.', each),
};
