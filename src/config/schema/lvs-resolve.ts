import type { Pos } from '../diagnostics.js';
import type { Stmt } from '../parser.js';
import type { Family } from './args.js';
import { blockPos } from './build.js';
import type { Checker, CheckerType } from './checkers.js';
import type { SmtpCheckerBuilt } from './checkers-more.js';
import { type BuildCtx, fieldPos, setFieldPos, written } from './dsl.js';
import { DEFAULT_PERSISTENCE_S, type AddrPort, type LvsMethod } from './lvs-args.js';
import type { RealServer, SorryServer, VirtualServer } from './lvs.js';

/*
 * The finalize step of virtual_server: keepalived's inheritance (virtual_server → real_server →
 * checker → per-type defaults), address-family and port rules, quorum sanity. Written values stay
 * discoverable with fieldPos/written; the objects are completed in place so positions survive.
 * Follows keepalived 2.2.7 check_parser.c (vs_end_handler, rs_end_handler) and check_data.c
 * (validate_check_config).
 */

type Mut = Record<string, any>;

const CONN_FIELDS = ['connectIp', 'connectPort', 'bindto', 'bindPort', 'bindIf', 'connectTimeoutMs', 'fwmark'] as const;
const TIMING_FIELDS = ['retry', 'delayBeforeRetryMs', 'warmupMs', 'delayLoopMs', 'alpha', 'logAllFailures'] as const;
/** Checkers that need a destination port. */
const NEEDS_PORT: ReadonlySet<CheckerType> = new Set(['HTTP_GET', 'SSL_GET', 'TCP_CHECK', 'SMTP_CHECK', 'DNS_CHECK', 'UDP_CHECK']);

/** keepalived's per-type default retry (queue_checker: 1; DNS_DEFAULT_RETRY 3; MISC_CHECK 0). */
function defaultRetry(t: CheckerType): number {
  return t === 'DNS_CHECK' ? 3 : t === 'MISC_CHECK' ? 0 : 1;
}

/** keepalived's per-type default delay_before_retry in ms (1 s; HTTP/SSL 3 s; DNS: delay_loop, shown as 0). */
function defaultDelayBeforeRetry(t: CheckerType, delayLoopMs: number): number {
  if (t === 'HTTP_GET' || t === 'SSL_GET') return 3000;
  return t === 'DNS_CHECK' ? delayLoopMs : 1000;
}

/** Describes a virtual server for messages: `virtual_server 10.0.0.1 80`. */
export function vsName(vs: Mut): string {
  if (vs.kind === 'fwmark') return `virtual_server fwmark ${vs.fwmark}`;
  if (vs.kind === 'group') return `virtual_server group ${vs.group}`;
  return `virtual_server ${vs.address}${vs.port !== undefined ? ` ${vs.port}` : ''}`;
}

const at = (o: object, field: string, fallback: Pos): Pos => fieldPos(o, field) ?? fallback;

/** The `finalize` of virtual_server. */
export function finishVirtualServer(o: Partial<VirtualServer>, stmt: Stmt, c: BuildCtx): VirtualServer | undefined {
  const vs = o as Mut;
  const kw = stmt.keyword.pos;
  const name = vsName(vs);
  if (vs.kind === undefined) return undefined;

  if (vs.protocol === undefined) {
    vs.protocol = 'TCP';
    // keepalived 2.2.7 silently runs such a service as UDP (and -t exits 5): almost never what was
    // meant, so vigil asks for the protocol instead of guessing either way.
    if (vs.kind === 'ip' && !written(vs, 'protocol'))
      c.diag.error(kw, 'missing-keyword', `${name} has no 'protocol': keepalived 2.2.7 falls back to UDP here (keepalived -t flags it); write 'protocol TCP' or 'protocol UDP'`);
  } else if (vs.kind === 'fwmark') c.diag.warn(fieldPos(vs, 'protocol')!, 'ignored', `${name}: 'protocol' is ignored for fwmark services (the mark selects the packets)`);
  if (vs.lvsSched === undefined) {
    vs.lvsSched = 'wlc';
    if (!written(vs, 'lvsSched')) c.diag.warn(kw, 'default-scheduler', `${name} has no 'lvs_sched': using wlc, as keepalived does`);
  }
  for (const [f, k, s] of [['shPort', 'sh-port', 'sh'], ['shFallback', 'sh-fallback', 'sh'], ['mhPort', 'mh-port', 'mh'], ['mhFallback', 'mh-fallback', 'mh']] as const)
    if (vs[f] && vs.lvsSched !== s) c.diag.error(fieldPos(vs, f)!, 'invalid-option', `${name}: '${k}' only applies to 'lvs_sched ${s}' (scheduler is ${vs.lvsSched})`);
  if (vs.ops && vs.kind === 'ip' && vs.protocol !== 'UDP')
    c.diag.error(fieldPos(vs, 'ops')!, 'invalid-option', `${name}: 'ops' (one-packet scheduling) needs 'protocol UDP' (or a fwmark service)`);
  if (vs.haSuspend && vs.kind === 'fwmark') c.diag.error(fieldPos(vs, 'haSuspend')!, 'invalid-option', `${name}: 'ha_suspend' cannot be used with a fwmark service (there is no address to watch)`);
  if (vs.persistenceGranularity && vs.persistenceTimeoutS === undefined) vs.persistenceTimeoutS = DEFAULT_PERSISTENCE_S;
  if (vs.kind === 'ip' && vs.port === undefined && vs.persistenceTimeoutS === undefined)
    c.diag.error(kw, 'missing-port', `${name} has no port: a port may only be omitted for persistent services (add a port or 'persistence_timeout')`);
  if (vs.kind === 'ip' && vs.ipFamily !== undefined && vs.ipFamily !== vs.family)
    c.diag.error(fieldPos(vs, 'ipFamily')!, 'family-mismatch', `${name}: ip_family inet${vs.ipFamily === 6 ? '6' : ''} conflicts with the IPv${vs.family} address`);
  if (vs.persistenceGranularity && vs.kind === 'ip' && vs.persistenceGranularity.family !== vs.family)
    c.diag.error(fieldPos(vs, 'persistenceGranularity')!, 'family-mismatch', `${name}: persistence_granularity must be ${vs.family === 4 ? 'an IPv4 netmask' : 'an IPv6 prefix length (1-128)'} for this IPv${vs.family} service`);

  const rss = (vs.realServers ?? []) as Mut[];
  const sorry = buildSorry(vs, name, c);
  if (vs.lvsMethod === undefined) {
    vs.lvsMethod = { method: 'NAT' };
    if (!written(vs, 'lvsMethod') && ((sorry && !sorry.lvsMethod) || rss.some((r) => r.lvsMethod === undefined && !written(r, 'lvsMethod'))))
      c.diag.warn(kw, 'default-method', `${name} has no 'lvs_method': using NAT, as keepalived does`);
  }
  resolveFamily(vs, rss, sorry, name, c);

  let weightSum = 0;
  for (const rs of rss) {
    resolveRealServer(vs, rs, name, c);
    weightSum += rs.weight as number;
  }
  if (sorry) {
    sorry.lvsMethod ??= vs.lvsMethod;
    sorry.port = serverPort(vs, sorry as AddrPort & { lvsMethod: LvsMethod }, 'sorry_server', fieldPos(vs, 'sorry') ?? kw, c);
    const twin = rss.find((r) => r.address === sorry.address && r.port === sorry.port);
    if (twin && written(vs, 'sorryInhibit') && twin.inhibitOnFailure !== sorry.inhibit)
      c.diag.warn(fieldPos(vs, 'sorryInhibit')!, 'conflict', `${name}: the sorry server is also a real server whose inhibit_on_failure differs; the real server's setting wins (as keepalived)`);
    if (twin) sorry.inhibit = twin.inhibitOnFailure;
    vs.sorryServer = sorry;
    setFieldPos(vs, 'sorryServer', fieldPos(vs, 'sorry') ?? kw);
  }
  for (const f of ['sorry', 'sorryInhibit', 'sorryMethod', 'natMask', 'hashed']) delete vs[f];

  if (rss.length === 0) c.diag.warn(kw, 'no-real-servers', `${name} has no real_server (keepalived ignores such a virtual server)`);
  else if (vs.quorum > weightSum) {
    c.diag.warn(at(vs, 'quorum', kw), 'quorum-unreachable', `${name}: quorum ${vs.quorum} exceeds the total weight of its real servers (${weightSum}); using ${weightSum}, as keepalived does`);
    vs.quorum = weightSum;
  }
  if (vs.hysteresis >= vs.quorum && (written(vs, 'hysteresis') || vs.quorum === 0) && vs.hysteresis > 0)
    c.diag.error(fieldPos(vs, 'hysteresis')!, 'out-of-range', `${name}: hysteresis ${vs.hysteresis} must be less than quorum ${vs.quorum}`);
  return vs as VirtualServer;
}

function buildSorry(vs: Mut, name: string, c: BuildCtx): Mut | undefined {
  const ap = vs.sorry as AddrPort | undefined;
  if (!ap) {
    for (const [f, k] of [['sorryInhibit', 'sorry_server_inhibit'], ['sorryMethod', 'sorry_server_lvs_method']] as const)
      if (written(vs, f) && !written(vs, 'sorry')) c.diag.error(fieldPos(vs, f)!, 'requires-keyword', `${name}: '${k}' without 'sorry_server'`);
    return undefined;
  }
  const s: Mut = { address: ap.address, family: ap.family, ...(ap.port !== undefined ? { port: ap.port } : {}), inhibit: vs.sorryInhibit === true };
  if (vs.sorryMethod) s.lvsMethod = vs.sorryMethod;
  return s;
}

/** Sets vs.family for fwmark/group services and checks that untunnelled servers share the service's family. */
function resolveFamily(vs: Mut, rss: Mut[], sorry: Mut | undefined, name: string, c: BuildCtx): void {
  const method = (s: Mut): LvsMethod => s.lvsMethod ?? vs.lvsMethod;
  if (vs.kind !== 'ip') vs.family ??= vs.ipFamily ?? vs.persistenceGranularity?.family;
  const servers: [Mut, string, Pos][] = [
    ...(sorry ? [[sorry, 'sorry_server', fieldPos(vs, 'sorry')!] as [Mut, string, Pos]] : []),
    ...rss.map((r) => [r, 'real_server', blockPos(r)!] as [Mut, string, Pos]),
  ];
  for (const [s, what, pos] of servers) {
    if (method(s).method === 'TUN') continue;
    if (vs.family === undefined) vs.family = s.family;
    else if (vs.family !== s.family)
      c.diag.error(pos, 'family-mismatch', `${name}: ${what} ${s.address} is IPv${s.family} but the service is IPv${vs.family}; only tunnelled (lvs_method TUN) servers may differ`);
  }
  if (vs.family === undefined && vs.kind === 'fwmark') {
    // All servers tunnelled: keepalived takes their common family, else IPv4.
    const fams = new Set(servers.map(([s]) => s.family as Family));
    vs.family = fams.size === 1 ? [...fams][0] : 4;
  }
}

/** Effective port of a real or sorry server, with keepalived's port rules. */
function serverPort(vs: Mut, s: Mut, what: string, pos: Pos, c: BuildCtx): number {
  const m = (s.lvsMethod as LvsMethod).method;
  if (vs.kind === 'group') return s.port ?? 0;
  if (vs.kind === 'fwmark') {
    if (m !== 'NAT' && s.port !== undefined) c.diag.warn(pos, 'ignored', `${vsName(vs)}: ${what} ${s.address} port ${s.port} is ignored: ${m} servers of a fwmark service take the client's port`);
    return m === 'NAT' ? (s.port ?? 0) : 0;
  }
  if (m !== 'NAT' && s.port !== undefined && vs.port !== undefined && s.port !== vs.port)
    c.diag.error(pos, 'port-mismatch', `${vsName(vs)}: ${what} ${s.address} port ${s.port} differs from the service port ${vs.port}; only NAT can change the port (${m} cannot)`);
  return s.port ?? vs.port ?? 0;
}

function resolveRealServer(vs: Mut, rs: Mut, name: string, c: BuildCtx): void {
  const pos = blockPos(rs)!;
  rs.lvsMethod ??= vs.lvsMethod;
  rs.port = serverPort(vs, rs, 'real_server', pos, c);
  rs.weight ??= vs.weight;
  rs.alpha ??= vs.alpha;
  rs.inhibitOnFailure ??= vs.inhibitOnFailure;
  rs.delayLoopMs ??= vs.delayLoopMs;
  rs.connectTimeoutMs ??= vs.connectTimeoutMs;
  for (const f of ['retry', 'delayBeforeRetryMs', 'warmupMs'] as const) if (rs[f] === undefined && vs[f] !== undefined) rs[f] = vs[f];
  const out: Checker[] = [];
  for (const ck of rs.checkers as Mut[]) for (const one of expandSmtp(ck)) if (resolveChecker(vs, rs, one, name, c)) out.push(one as Checker);
  rs.checkers = out;
}

/** SMTP_CHECK host{} blocks become checkers of their own (as keepalived does); timing keywords in them apply to all. */
function expandSmtp(ck: Mut): Mut[] {
  const hosts = ck.hosts as Mut[] | undefined;
  delete ck.hosts;
  if (ck.type !== 'SMTP_CHECK' || !hosts || hosts.length === 0) return [ck];
  for (const h of hosts) for (const f of TIMING_FIELDS) if (h[f] !== undefined) copyField(h, ck, f);
  // connect_timeout in the main block is only a default for its hosts (keepalived's sample: with host
  // blocks, the real server's own address is checked only if a host names it).
  const mainHasConn = CONN_FIELDS.some((f) => f !== 'connectTimeoutMs' && written(ck, f));
  const out = mainHasConn ? [ck] : [];
  for (const h of hosts) {
    for (const f of CONN_FIELDS) if (h[f] === undefined && ck[f] !== undefined) copyField(ck, h, f);
    for (const f of TIMING_FIELDS) if (ck[f] !== undefined) copyField(ck, h, f);
    h.type = 'SMTP_CHECK';
    h.heloName = ck.heloName;
    out.push(h);
  }
  return out;
}

/** Copies a field and where it was written. */
function copyField(from: Mut, to: Mut, f: string): void {
  to[f] = from[f];
  const p = fieldPos(from, f);
  if (p) setFieldPos(to, f, p);
}

function resolveChecker(vs: Mut, rs: Mut, ck: Mut, name: string, c: BuildCtx): boolean {
  const t = ck.type as CheckerType;
  const pos = blockPos(ck)!;
  const where = `${name}, real_server ${rs.address}${rs.port ? ` ${rs.port}` : ''}: ${t}`;
  ck.alpha ??= rs.alpha;
  if (t === 'FILE_CHECK' || t === 'BFD_CHECK') return true;
  ck.logAllFailures ??= false;
  ck.retry ??= rs.retry ?? defaultRetry(t);
  ck.delayLoopMs ??= rs.delayLoopMs;
  ck.warmupMs ??= rs.warmupMs ?? ck.delayLoopMs;
  ck.delayBeforeRetryMs ??= rs.delayBeforeRetryMs ?? defaultDelayBeforeRetry(t, ck.delayLoopMs);
  if (t === 'MISC_CHECK') {
    // keepalived kills the program after misc_timeout, or after the virtual server's delay_loop when 0/unset.
    if (!ck.miscTimeoutMs) ck.miscTimeoutMs = vs.delayLoopMs;
    return true;
  }
  ck.connectTimeoutMs ??= rs.connectTimeoutMs;
  if (ck.connectIp === undefined) {
    ck.connectIp = rs.address;
    ck.family = rs.family;
  } else ck.family = (ck.connectIp as string).includes(':') ? 6 : 4;
  ck.connectPort ??= rs.port;
  if (t === 'HTTP_GET' || t === 'SSL_GET') ck.virtualhost ??= rs.virtualhost ?? vs.virtualhost;
  let ok = true;
  if (ck.bindto !== undefined && ((ck.bindto as string).includes(':') ? 6 : 4) !== ck.family) {
    c.diag.error(fieldPos(ck, 'bindto')!, 'family-mismatch', `${where}: bindto ${ck.bindto} is not of the family of the address checked (${ck.connectIp})`);
    ok = false;
  }
  if (ck.family === 6 && /^fe[89ab]/i.test(ck.connectIp) && ck.bindIf === undefined) {
    c.diag.error(fieldPos(ck, 'connectIp') ?? pos, 'missing-keyword', `${where}: link-local address ${ck.connectIp} needs 'bind_if' to say which interface to use`);
    ok = false;
  }
  if (NEEDS_PORT.has(t) && !ck.connectPort) {
    c.diag.error(pos, 'missing-port', `${where} has no port to connect to: the real server has none (fwmark service?); add 'connect_port'`);
    ok = false;
  }
  return ok;
}
