import cron from 'node-cron';
import type { Pos } from '../diagnostics.js';
import type { Word } from '../parser.js';
import { arity, str } from './args.js';
import { type ArgParser, type BlockSpec, type BuildCtx, block, many, value, written } from './dsl.js';
import type { VirtualServer } from './lvs.js';
import { rsName, vsName } from '../../health/names.js';
import { findTarget, findVirtualServer } from '../../overrides/model.js';

/*
 * vigil extension: `vigil_maintenance_window NAME { ... }` at the top level of keepalived.conf, a
 * scheduled drain. At each start of its cron schedule (node-cron: six fields with seconds, or
 * five; in `timezone`, default the host's) the named real servers — or every real server of a
 * named virtual server — are drained as `vigil drain` does, and released `duration` later.
 *
 * Why this name and place: keepalived does not skip an unknown block, it reads the lines inside
 * as keywords of the enclosing block and its `}` closes that block early. Inside a
 * virtual_server, a window would end the virtual_server for keepalived and turn the following
 * real servers into errors. At the top level, keepalived 2.2.7 reports `Unknown keyword
 * 'vigil_maintenance_window'`, `Unexpected '{' - ignoring` and each inner line as an unknown
 * keyword, and changes nothing else, because no inner keyword (schedule, timezone, duration,
 * target, reason) is one of its top-level keywords. The `vigil_` prefix keeps it clear of any
 * keyword a later keepalived may add.
 */

/** One target of a window: a virtual server as written, and one of its real servers (absent: all). */
export interface WindowTarget {
  readonly vs: string;
  readonly rs?: string;
  readonly pos: Pos;
}

/** A maintenance window as written. */
export interface MaintenanceWindow {
  readonly name: string;
  /** Cron expression (node-cron), e.g. `0 30 3 * * *` = 03:30:00 every day. */
  readonly schedule: string;
  /** IANA time zone of the schedule (`Europe/Paris`); absent: the host's. */
  readonly timezone?: string;
  readonly durationMs: number;
  readonly targets: readonly WindowTarget[];
  readonly reason?: string;
}

/** A resolved target: names as the health engine and the overrides use them. */
export interface ResolvedTarget {
  readonly vs: string;
  readonly rs: string;
}

const cronExpr: ArgParser<string> = (args, kw, c) => {
  if (!arity(args, kw, c, 1, 1, 'one cron expression in quotes, e.g. "0 30 3 * * *"')) return undefined;
  const w = args[0]!;
  const fields = w.text.trim().split(/\s+/).length;
  if ((fields !== 5 && fields !== 6) || !cron.validate(w.text)) {
    c.diag.error(w.pos, 'invalid-value', `'${kw.text}' expects a cron expression (second minute hour day month weekday, or without the seconds), got '${w.raw}'`);
    return undefined;
  }
  return w.text.trim();
};

const timeZone: ArgParser<string> = (args, kw, c) => {
  const z = str(args, kw, c);
  if (z === undefined) return undefined;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: z });
    return z;
  } catch {
    c.diag.error(args[0]!.pos, 'invalid-value', `'${kw.text}': unknown time zone '${args[0]!.raw}' (an IANA name such as Europe/Paris or UTC)`);
    return undefined;
  }
};

const DUR: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `duration 30m` (s, m, h, d; a bare number is seconds), 1 s to 7 days. */
const durationArg: ArgParser<number> = (args, kw, c) => {
  if (!arity(args, kw, c, 1, 1, 'one duration (90, 30m, 2h)')) return undefined;
  const w = args[0]!;
  const m = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(w.text);
  const ms = m ? Math.round(Number(m[1]) * DUR[m[2] || 's']!) : NaN;
  if (!Number.isFinite(ms) || ms < 1000 || ms > 7 * 86_400_000) {
    c.diag.error(w.pos, m ? 'out-of-range' : 'invalid-value', `'${kw.text}' expects a duration from 1s to 7d (90, 90s, 30m, 2h), got '${w.raw}'`);
    return undefined;
  }
  return ms;
};

/** `target VS [RS]`: names as `vigil drain` takes them (`192.0.2.100:80`, `fwmark 7`, `group web`). */
const targetArg: ArgParser<WindowTarget> = (args: readonly Word[], kw, c) => {
  if (!arity(args, kw, c, 1, 3, 'a virtual server and optionally one of its real servers: target 192.0.2.100:80 [198.51.100.12:80]')) return undefined;
  const words = args.map((a) => a.text);
  const two = /^(fwmark|group)$/i.test(words[0]!) ? [`${words[0]} ${words[1] ?? ''}`.trim(), ...words.slice(2)] : words;
  if (two.length > 2) {
    c.diag.error(args[2]!.pos, 'extra-argument', `'${kw.text}' takes a virtual server and one real server; give each real server its own line`);
    return undefined;
  }
  return { vs: two[0]!, ...(two[1] !== undefined ? { rs: two[1] } : {}), pos: args[0]!.pos };
};

/** The block. */
export const maintenanceWindowSpec: BlockSpec<MaintenanceWindow> = {
  name: 'vigil_maintenance_window',
  head: (args, kw, c) => (arity(args, kw, c, 1, 1, 'a name before its "{"') ? { name: args[0]!.text } : undefined),
  defaults: () => ({ targets: [] }),
  keywords: {
    schedule: value('schedule', cronExpr, 'When each run starts: a cron expression in quotes, as node-cron reads it — second (optional) minute hour day-of-month month day-of-week, e.g. "0 30 3 * * 1-5" (03:30:00 on weekdays). Required.'),
    timezone: value('timezone', timeZone, "IANA time zone of the schedule (Europe/Paris, UTC). Default: the host's."),
    duration: value('durationMs', durationArg, 'How long each run lasts: a number of seconds or 90s, 30m, 2h, 1d (1s-7d). Required.'),
    target: many('targets', targetArg, "What to drain: `target VS RS` (one real server; repeat the line for more) or `target VS` (every real server of the virtual server). VS and RS as `vigil drain` takes them: 192.0.2.100:80, '192.0.2.100:80 UDP', fwmark 7, group web; 198.51.100.12:80. At least one."),
    reason: value('reason', str, 'Why, shown in vigil status and the log. Default: "maintenance window NAME".'),
  },
  finalize(o, stmt, c) {
    let ok = true;
    for (const [field, kw] of [
      ['schedule', 'schedule'],
      ['durationMs', 'duration'],
    ] as const)
      if (o[field] === undefined && !written(o, field)) {
        c.diag.error(stmt.keyword.pos, 'missing-keyword', `vigil_maintenance_window ${o.name ?? ''} needs '${kw}'`);
        ok = false;
      }
    if (o.schedule === undefined || o.durationMs === undefined) ok = false;
    if (!o.targets?.length && !written(o, 'targets')) {
      c.diag.error(stmt.keyword.pos, 'missing-keyword', `vigil_maintenance_window ${o.name ?? ''} needs at least one 'target VS [RS]'`);
      ok = false;
    }
    return ok ? (o as MaintenanceWindow) : undefined;
  },
};

/** The top-level keyword. */
export const maintenanceRoot = {
  vigil_maintenance_window: block(
    'maintenanceWindows',
    maintenanceWindowSpec,
    "vigil extension: a scheduled drain, `vigil_maintenance_window NAME { schedule \"0 30 3 * * *\"; timezone Europe/Paris; duration 30m; target 192.0.2.100:80 198.51.100.12:80 }`. At each start of the schedule the targets are drained (weight 0, as `vigil drain`), and released `duration` later; health decides again then. A real server with an override of its own (vigil drain/disable) keeps it. Listed with the next run in `vigil status`. keepalived 2.2.7 reports the block's lines as unknown keywords and ignores them; it is a top-level block because keepalived would read a block inside virtual_server as part of the virtual_server.",
    { repeat: 'append' },
  ),
};

/** The real servers a window drains, by name; errors for targets the configuration does not have. */
export function resolveWindow(w: MaintenanceWindow, vss: readonly VirtualServer[]): { targets: ResolvedTarget[]; errors: { pos: Pos; message: string }[] } {
  const targets: ResolvedTarget[] = [];
  const errors: { pos: Pos; message: string }[] = [];
  for (const t of w.targets) {
    if (t.rs !== undefined) {
      const r = findTarget(vss, t.vs, t.rs);
      if ('error' in r) errors.push({ pos: t.pos, message: `vigil_maintenance_window ${w.name}: ${r.error}` });
      else targets.push(r);
      continue;
    }
    const v = findVirtualServer(vss, t.vs);
    if ('error' in v) errors.push({ pos: t.pos, message: `vigil_maintenance_window ${w.name}: ${v.error}` });
    else for (const rs of v.vs.realServers) targets.push({ vs: vsName(v.vs), rs: rsName(rs) });
  }
  const seen = new Set<string>();
  return { targets: targets.filter((x) => (seen.has(`${x.vs}|${x.rs}`) ? false : (seen.add(`${x.vs}|${x.rs}`), true))), errors };
}

/** Root pass: every window's targets exist (file:line:col of the target otherwise); names are unique. */
export function checkMaintenanceWindows(o: { maintenanceWindows?: readonly MaintenanceWindow[]; virtualServers?: readonly VirtualServer[] }, c: BuildCtx): void {
  const names = new Map<string, Pos>();
  for (const w of o.maintenanceWindows ?? []) {
    const first = names.get(w.name);
    if (first) c.diag.error(w.targets[0]?.pos ?? first, 'duplicate', `vigil_maintenance_window ${w.name} is defined twice (first at line ${first.line})`);
    else if (w.targets[0]) names.set(w.name, w.targets[0].pos);
    for (const e of resolveWindow(w, o.virtualServers ?? []).errors) c.diag.error(e.pos, 'unknown-reference', e.message);
  }
}
