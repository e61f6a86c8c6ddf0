import type { Pos } from '../diagnostics.js';
import { type Family, flag } from './args.js';
import { blockPos } from './build.js';
import type { CheckConn, Checker } from './checkers.js';
import { type ArgParser, type BuildCtx, fieldPos, setFieldPos, value, written } from './dsl.js';
import type { LvsMethod, RealServer, VirtualServer, VirtualServerGroup } from './lvs.js';
import { vsName } from './lvs-resolve.js';

/*
 * vigil extension (not in keepalived; Seesaw's "DSR healthchecks"): `tunnel_check` in a
 * TCP_CHECK, HTTP_GET or SSL_GET of a tunnelled real server checks it the way clients reach it.
 * The probe goes to the virtual address (connect_ip, default the virtual server's address) with a
 * firewall mark of that real server's own; the director programs one IPVS fwmark service per such
 * mark with that real server alone in it (src/director/tunnel-check.ts). IPVS takes locally sent
 * packets at LOCAL_OUT, so the probe leaves encapsulated to that one real server: one that answers
 * on its own address but does not decapsulate, or lacks the VIP on tunl0, fails the check.
 *
 * The compiler gives each distinct tunnel (real server address and encapsulation) a mark in
 * [base, base + 0xffffff] (global_defs `tunnel_check_fwmark_base`, default 0x7f000000): base plus
 * the low 24 bits of the address, the next free one on a collision, so that a real server keeps
 * its mark across reloads that add or remove others. The checker's effective `connectIp`,
 * `fwmark` and `tunnel` are set here, once the whole configuration is read.
 */

/** Default first mark of the range reserved for tunnel checks. */
export const DEFAULT_TUNNEL_FWMARK_BASE = 0x7f000000;
/** Number of marks in the reserved range (2^24). */
export const TUNNEL_FWMARK_SPAN = 0x1000000;
/** Checker types that take `tunnel_check` (the TCP-based ones vigil opens the socket of). */
export const TUNNEL_CHECK_TYPES: ReadonlySet<string> = new Set(['TCP_CHECK', 'HTTP_GET', 'SSL_GET']);

/** Where a tunnel check goes, as the compiler resolved it. */
export interface TunnelPath {
  /** The mark of the probe's packets (SO_MARK), selecting the IPVS fwmark service of this real server. */
  readonly fwmark: number;
  /** Family of the probe (the virtual address): the family of the fwmark service. */
  readonly family: Family;
  /** The real server the probe is tunnelled to. */
  readonly realServer: string;
  readonly realServerFamily: Family;
  /** Its encapsulation (lvs_method TUN ...). */
  readonly method: Extract<LvsMethod, { method: 'TUN' }>;
}

/** The keyword, for TCP_CHECK, HTTP_GET and SSL_GET. */
export const tunnelKeywords = {
  tunnel_check: value(
    'tunnelCheck',
    flag,
    'vigil extension: check through the tunnel. The probe goes to the virtual address (connect_ip, default the virtual server address; connect_port, default its port) marked for this real server, and the director steers it there over ipip/gue/gre with an IPVS fwmark service of its own (marks from global_defs tunnel_check_fwmark_base). A real server that answers on its own address but does not decapsulate, or lacks the VIP on tunl0, fails. Only for lvs_method TUN; not with fwmark. Default off. The probe is sent from the address the director uses toward the real server unless bindto is set; the director needs a route to the VIP (it has one when it holds it or shares its subnet) and CAP_NET_ADMIN (SO_MARK). While the director holds the VIP, the replies come from one of its own addresses: set net.ipv4.conf.IF.accept_local=1 on the interface they arrive on, or they are dropped as martians. Tested over ipip with IPv4 and IPv6 (ip6tnl0).',
  ),
};

/** `tunnel_check_fwmark_base N` (decimal or 0x hex), 1-0xff000000. */
export const fwmarkBase: ArgParser<number> = (args, kw, c) => {
  const w = args[0];
  if (args.length !== 1 || !w) {
    c.diag.error(args[1]?.pos ?? kw.pos, args.length > 1 ? 'extra-argument' : 'missing-argument', `'${kw.text}' needs one mark (decimal or 0x hex)`);
    return undefined;
  }
  const n = /^0x[0-9a-f]+$/i.test(w.text) ? parseInt(w.text.slice(2), 16) : /^\d+$/.test(w.text) ? Number(w.text) : NaN;
  const max = 0x100000000 - TUNNEL_FWMARK_SPAN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) {
    c.diag.error(w.pos, Number.isNaN(n) ? 'invalid-number' : 'out-of-range', `'${kw.text}' expects a mark in 1-0x${max.toString(16)} (the ${TUNNEL_FWMARK_SPAN} marks from it are reserved), got '${w.raw}'`);
    return undefined;
  }
  return n;
};

/** Documentation of the global_defs keyword. */
export const FWMARK_BASE_DOC = `vigil extension: first of the ${TUNNEL_FWMARK_SPAN} firewall marks (0x${TUNNEL_FWMARK_SPAN.toString(16)}) reserved for tunnel_check, decimal or 0x hex. Default 0x${DEFAULT_TUNNEL_FWMARK_BASE.toString(16)}. fwmark virtual servers and checker fwmarks may not fall in the range while a tunnel_check is configured.`;

type Mut = Record<string, any>;
type ConnChecker = Checker & CheckConn & { tunnelCheck?: boolean; tunnel?: TunnelPath };

/** What the root pass needs of the compiled top level. */
export interface TunnelRoot {
  readonly globalDefs?: { readonly tunnelCheckFwmarkBase?: number };
  readonly virtualServers?: readonly VirtualServer[];
  readonly virtualServerGroups?: readonly VirtualServerGroup[];
}

/** The 24 low bits of an address: the preferred offset of its mark. */
export function addressOffset(address: string): number {
  if (!address.includes(':')) {
    const p = address.split('.').map(Number);
    return (((p[1] ?? 0) << 16) | ((p[2] ?? 0) << 8) | (p[3] ?? 0)) >>> 0;
  }
  // IPv6: the last 24 bits of the expanded address
  const [head = '', tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = address.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t].map((g) => parseInt(g || '0', 16));
  return (((groups[6] ?? 0) & 0xff) << 16) | (groups[7] ?? 0);
}

/** Identity of a tunnel: the real server and its encapsulation (one mark each). */
export function tunnelKey(rs: Pick<RealServer, 'family' | 'address'>, m: Extract<LvsMethod, { method: 'TUN' }>): string {
  return `${rs.family}|${rs.address}|${m.type}|${m.port ?? 0}|${m.csum}`;
}

/**
 * Marks for a set of tunnel keys: base + the low 24 bits of the address, or the next free one
 * (keys taken in sorted order, so the result depends only on the set). Pure.
 */
export function allocateTunnelMarks(keys: Iterable<string>, base: number): Map<string, number> {
  const out = new Map<string, number>();
  const used = new Set<number>();
  for (const k of [...new Set(keys)].sort()) {
    let off = addressOffset(k.split('|')[1] ?? '') % TUNNEL_FWMARK_SPAN;
    while (used.has(off)) off = (off + 1) % TUNNEL_FWMARK_SPAN;
    used.add(off);
    out.set(k, base + off);
  }
  return out;
}

/** True when `mark` is in the reserved range of `base`. */
export function inTunnelRange(mark: number, base: number): boolean {
  return mark >= base && mark < base + TUNNEL_FWMARK_SPAN;
}

/**
 * The root pass: checks every `tunnel_check`, sets its effective target and mark, and reports
 * marks of the configuration that fall in the reserved range. Errors carry file:line:col.
 */
export function resolveTunnelChecks(root: TunnelRoot, c: BuildCtx): void {
  const base = root.globalDefs?.tunnelCheckFwmarkBase ?? DEFAULT_TUNNEL_FWMARK_BASE;
  const uses: { ck: Mut; rs: RealServer; m: Extract<LvsMethod, { method: 'TUN' }> }[] = [];
  for (const vs of root.virtualServers ?? [])
    for (const rs of vs.realServers)
      for (const ck of rs.checkers as ConnChecker[]) {
        if (!ck.tunnelCheck) continue;
        const m = resolveOne(vs, rs, ck as Mut, c);
        if (m) uses.push({ ck: ck as Mut, rs, m });
      }
  if (uses.length === 0) return;
  const marks = allocateTunnelMarks(
    uses.map((u) => tunnelKey(u.rs, u.m)),
    base,
  );
  for (const { ck, rs, m } of uses) {
    const fwmark = marks.get(tunnelKey(rs, m))!;
    const tunnel: TunnelPath = { fwmark, family: ck.family as Family, realServer: rs.address, realServerFamily: rs.family, method: m };
    ck.tunnel = tunnel;
    ck.fwmark = fwmark;
  }
  checkReserved(root, base, c);
}

/** Validates one tunnel_check and points it at the virtual address; returns the tunnel, or undefined on error. */
function resolveOne(vs: VirtualServer, rs: RealServer, ck: Mut, c: BuildCtx): Extract<LvsMethod, { method: 'TUN' }> | undefined {
  const pos: Pos = fieldPos(ck, 'tunnelCheck') ?? blockPos(ck) ?? blockPos(rs)!;
  const where = `${vsName(vs)}, real_server ${rs.address}${rs.port ? ` ${rs.port}` : ''}: ${ck.type}`;
  let ok = true;
  if (rs.lvsMethod.method !== 'TUN') {
    c.diag.error(pos, 'requires-tun', `${where}: 'tunnel_check' needs 'lvs_method TUN' (this real server is ${rs.lvsMethod.method}): the check goes through the real server's tunnel`);
    ok = false;
  }
  if (written(ck, 'fwmark')) {
    c.diag.error(fieldPos(ck, 'fwmark')!, 'conflict', `${where}: 'fwmark' cannot be used with 'tunnel_check', which marks its probes itself (global_defs tunnel_check_fwmark_base)`);
    ok = false;
  }
  if (!written(ck, 'connectIp')) {
    if (vs.kind === 'ip') {
      ck.connectIp = vs.address;
      ck.family = vs.family;
      setFieldPos(ck, 'connectIp', pos);
    } else {
      c.diag.error(pos, 'missing-keyword', `${where}: 'tunnel_check' on a ${vs.kind} virtual server needs 'connect_ip' (a virtual address the real server holds on its tunnel)`);
      ok = false;
    }
  }
  if (ck.bindto !== undefined && ((ck.bindto as string).includes(':') ? 6 : 4) !== ck.family && (ck.family as Family) !== rs.family) {
    c.diag.error(fieldPos(ck, 'bindto') ?? pos, 'family-mismatch', `${where}: bindto ${ck.bindto} is not of the family of the virtual address checked (${ck.connectIp})`);
    ok = false;
  }
  return ok && rs.lvsMethod.method === 'TUN' ? rs.lvsMethod : undefined;
}

/** fwmark services and checker marks that collide with the reserved range. */
function checkReserved(root: TunnelRoot, base: number, c: BuildCtx): void {
  const range = `0x${base.toString(16)}-0x${(base + TUNNEL_FWMARK_SPAN - 1).toString(16)}`;
  const why = `is in the range reserved for tunnel_check (${range}); move it or set global_defs tunnel_check_fwmark_base`;
  for (const vs of root.virtualServers ?? []) {
    if (vs.kind === 'fwmark' && inTunnelRange(vs.fwmark, base)) c.diag.error(blockPos(vs)!, 'reserved-fwmark', `${vsName(vs)}: fwmark ${vs.fwmark} ${why}`);
    for (const rs of vs.realServers)
      for (const ck of rs.checkers as ConnChecker[])
        if (!ck.tunnelCheck && ck.fwmark !== undefined && inTunnelRange(ck.fwmark, base))
          c.diag.error(fieldPos(ck, 'fwmark') ?? blockPos(ck)!, 'reserved-fwmark', `${vsName(vs)}, real_server ${rs.address}: ${ck.type} fwmark ${ck.fwmark} ${why}`);
  }
  for (const g of root.virtualServerGroups ?? [])
    for (const e of g.entries)
      if (e.kind === 'fwmark' && inTunnelRange(e.fwmark, base)) c.diag.error(fieldPos(g, 'entries') ?? blockPos(g)!, 'reserved-fwmark', `virtual_server_group ${g.name}: fwmark ${e.fwmark} ${why}`);
}
