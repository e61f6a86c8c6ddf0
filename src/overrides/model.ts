/*
 * Real-server overrides (pure): what an operator asked for with `vigil drain | disable | enable`,
 * how a virtual server and a real server are named on the command line, and how an `--until`
 * time is read. An override is an input of the desired IPVS table beside the health verdicts
 * (director/desired.ts): health keeps running underneath, so when an override ends health
 * decides again.
 *
 *   drain    the real server stays in the kernel at weight 0: no new connections, established
 *            ones finish (IPVS keeps routing them to the destination).
 *   disable  out of rotation whatever its health: treated as down (removed, or kept at weight 0
 *            with inhibit_on_failure).
 */
import type { RealServer, VirtualServer } from '../config/schema/lvs.js';
import { rsName, vsName } from '../health/names.js';
import { parseDuration } from '../util/duration.js';

/** What an override does to a real server. */
export type OverrideAction = 'drain' | 'disable';

/** One override in force. Times are wall-clock ISO strings (they survive restarts). */
export interface Override {
  /** Virtual server as the health engine names it: `192.0.2.100:80 TCP`, `fwmark 7`, `group web TCP`. */
  readonly vs: string;
  /** Real server within it: `198.51.100.12:80`. */
  readonly rs: string;
  readonly action: OverrideAction;
  readonly reason: string;
  /** Who asked: `root (uid 0, pid 1234)`, or `window NAME` for a maintenance window. */
  readonly who: string;
  readonly since: string;
  /** When it ends by itself; absent: until `vigil enable`. */
  readonly until?: string;
  /** `cli`, or `window:NAME` when a maintenance window set it. */
  readonly source: string;
}

/** The override of a (vs, rs) pair, as the desired table reads it. */
export type OverrideView = (vs: VirtualServer, rs: RealServer) => OverrideAction | undefined;

/** Map key of an override. */
export function overrideKey(vs: string, rs: string): string {
  return `${vs}|${rs}`;
}

/** A verdict with an override applied: disable → down; drain → weight 0 (kept when up). */
export function applyOverride<V extends { up: boolean; weight: number }>(v: V, a: OverrideAction | undefined): V {
  if (a === 'disable') return { ...v, up: false };
  if (a === 'drain') return { ...v, weight: 0 };
  return v;
}

/** Largest `--until` accepted: one year ahead. */
export const MAX_UNTIL_MS = 366 * 86_400_000;

/**
 * Reads `--until`: a relative duration (`90s`, `30m`, `2h`, `1d`, `1h30m`) or an absolute ISO
 * 8601 time with a date (`2026-12-07T03:30:00Z`, `2026-12-07T04:30+01:00`). Returns the wall time
 * in ms, or an error when it is unparseable, not in the future or more than a year ahead.
 */
export function parseUntil(text: string, nowWall: number): { at: number } | { error: string } {
  const t = text.trim();
  let at: number;
  const ms = /[smhd]$/.test(t) ? parseDuration(t) : undefined;
  if (ms !== undefined) {
    if (ms === 0) return { error: `--until '${text}': a duration must be more than 0` };
    at = nowWall + ms;
  } else if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) {
    at = Date.parse(t.replace(' ', 'T'));
    if (!Number.isFinite(at)) return { error: `--until '${text}': not a valid date and time` };
    if (at <= nowWall) return { error: `--until '${text}' is in the past (now ${new Date(nowWall).toISOString()})` };
  } else {
    return { error: `--until '${text}': use a duration (90s, 30m, 2h, 1d, 1h30m) or an ISO time (2026-12-07T03:30:00Z)` };
  }
  if (at - nowWall > MAX_UNTIL_MS) return { error: `--until '${text}' is more than a year ahead` };
  return { at };
}

/** A virtual server and real server found by their operator spelling. */
export interface Target {
  readonly vs: string;
  readonly rs: string;
}

/** `10.0.0.100 80` → `10.0.0.100:80` (keepalived's spelling); bracketless IPv6 with a space too. */
function hostPortText(s: string): string {
  const m = /^(\S+)\s+(\d+)$/.exec(s);
  if (!m) return s;
  return m[1]!.includes(':') && !m[1]!.startsWith('[') ? `[${m[1]}]:${m[2]}` : `${m[1]}:${m[2]}`;
}

/**
 * Finds a virtual server as operators write it: `192.0.2.100:80` (or with its protocol,
 * `192.0.2.100:80 TCP`, or keepalived's `192.0.2.100 80`), `[2001:db8::1]:443`, `fwmark 7`,
 * `group web`. A name that fits both a TCP and a UDP service must say which.
 */
export function findVirtualServer(vss: readonly VirtualServer[], text: string): { vs: VirtualServer; name: string } | { error: string } {
  const t = text.trim().replace(/\s+/g, ' ');
  const proto = /^(.*) (tcp|udp|sctp)$/i.exec(t);
  const head = proto ? proto[1]! : t;
  const base = /^(fwmark|group) /i.test(head) ? head.replace(/^(fwmark|group) /i, (m) => m.toLowerCase()) : hostPortText(head);
  const want = proto ? proto[2]!.toUpperCase() : undefined;
  const hits = vss.filter((vs) => {
    const n = vsName(vs);
    if (want) return n === `${base} ${want}`;
    return n === base || n === `${base} ${vs.protocol}` || (vs.kind === 'fwmark' && n === `${base} IPv6`);
  });
  const names = [...new Set(hits.map(vsName))];
  if (names.length === 1) return { vs: hits[0]!, name: names[0]! };
  if (names.length > 1) return { error: `virtual server '${text}' is ambiguous: ${names.join(', ')}; say which` };
  const known = vss.map(vsName);
  return { error: `no virtual server '${text}' in the configuration${known.length ? `; known: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', ...' : ''}` : ''}` };
}

/** Finds a real server of `vs` as written: `198.51.100.12:80`, `198.51.100.12 80`, or the bare address when it is unique. */
export function findRealServer(vs: VirtualServer, vsText: string, text: string): { rs: RealServer; name: string } | { error: string } {
  const t = hostPortText(text.trim().replace(/\s+/g, ' '));
  const hits = vs.realServers.filter((rs) => rsName(rs) === t || rs.address === t || rs.address === t.replace(/^\[(.*)\]$/, '$1'));
  const exact = hits.filter((rs) => rsName(rs) === t);
  const pick = exact.length > 0 ? exact : hits;
  if (pick.length === 1) return { rs: pick[0]!, name: rsName(pick[0]!) };
  if (pick.length > 1) return { error: `real server '${text}' of ${vsText} is ambiguous: ${pick.map(rsName).join(', ')}; give the port` };
  return { error: `no real server '${text}' in virtual server ${vsText}; known: ${vs.realServers.map(rsName).join(', ') || 'none'}` };
}

/** Finds both, with an error naming what is missing. */
export function findTarget(vss: readonly VirtualServer[], vsText: string, rsText: string): Target | { error: string } {
  const v = findVirtualServer(vss, vsText);
  if ('error' in v) return v;
  const r = findRealServer(v.vs, v.name, rsText);
  if ('error' in r) return r;
  return { vs: v.name, rs: r.name };
}

/** Validates an override read back from the state file; undefined when it is not one. */
export function asOverride(v: unknown): Override | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const str = (k: string) => typeof o[k] === 'string' && (o[k] as string).length <= 4096;
  if (!str('vs') || !str('rs') || (o.action !== 'drain' && o.action !== 'disable') || !str('reason') || !str('who') || !str('since') || !str('source')) return undefined;
  if (!Number.isFinite(Date.parse(o.since as string))) return undefined;
  if (o.until !== undefined && (!str('until') || !Number.isFinite(Date.parse(o.until as string)))) return undefined;
  return {
    vs: o.vs as string,
    rs: o.rs as string,
    action: o.action,
    reason: o.reason as string,
    who: o.who as string,
    since: o.since as string,
    ...(o.until !== undefined ? { until: o.until as string } : {}),
    source: o.source as string,
  };
}
