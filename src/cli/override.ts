import { parseArgs } from 'node:util';
import { UnreachableError, call } from '../control/client.js';
import type { ConnsAnswer, OverridesReport } from '../overrides/control.js';
import type { Override } from '../overrides/model.js';
import { loadSettings } from '../settings.js';
import { type Io, UsageError } from './io.js';
import { duration } from './status.js';

/** Exit codes of drain / disable / enable. */
export const OVERRIDE_EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3, timeout: 4 } as const;

const common = `VS is the virtual server as written in keepalived.conf: 192.0.2.100:80 (or '192.0.2.100 80',
'192.0.2.100:80 UDP' when both protocols exist), '[2001:db8::1]:443', 'fwmark 7', 'group web'.
RS is one of its real servers: 198.51.100.12:80 (or the bare address when it is unique).

Options:
      --reason TEXT      why (logged, shown in vigil status)
      --until TIME       end by itself: a duration (90s, 30m, 2h, 1d, 1h30m) or an ISO time
                         (2026-12-07T03:30:00Z); then health decides again
      --json             the daemon's answer as JSON
      --socket PATH      control socket (default: --socket / VIGIL_SOCKET)

Root only. The override is kept under the state directory: it survives a reload and a restart.
Exit status: 0 done; ${OVERRIDE_EXIT.refused} refused (unknown VS or RS, bad time, not root); ${OVERRIDE_EXIT.unreachable} daemon unreachable`;

export const drainHelp = `Usage: vigil drain VS RS [--reason TEXT] [--until TIME] [--timeout DURATION] [--interval SECONDS]

Takes a real server out gently: weight 0 in IPVS, so new connections go elsewhere while the
established ones finish. Then reports its active connections (from IPVS) until they reach zero
or the timeout; the drain stays in force either way, until 'vigil enable' or --until.

${common}; ${OVERRIDE_EXIT.timeout} connections still active at the timeout.
      --timeout DURATION how long to wait for zero active connections (default 15m; 0: do not wait)
      --interval SECONDS between two reports (default 1)
`;

export const disableHelp = `Usage: vigil disable VS RS [--reason TEXT] [--until TIME]

Takes a real server out of rotation whatever its health says (as if down: removed from IPVS, or
kept at weight 0 with inhibit_on_failure). Health checks keep running underneath.

${common}
`;

export const enableHelp = `Usage: vigil enable VS RS [--reason TEXT]

Ends a drain or a disable: the real server is health-driven again (back at its weight when its
checks pass).

${common}
`;

type Answer = { ok: true; message: string; changed: boolean; override?: Override } & Record<string, unknown>;

/** Joins `fwmark 7` / `group web` given as two words back into one virtual-server name. */
export function positionals(p: readonly string[]): [string, string] {
  const a = p.length === 3 && /^(fwmark|group)$/i.test(p[0]!) ? [`${p[0]} ${p[1]}`, p[2]!] : [...p];
  if (a.length !== 2) throw new UsageError(`expected VS and RS (e.g. 192.0.2.100:80 198.51.100.12:80), got ${p.length} argument(s)`);
  return [a[0]!, a[1]!];
}

/** Reads `--timeout`: seconds, or a duration (90s, 15m, 1h). */
export function parseTimeout(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`--timeout '${text}': use seconds or a duration (90s, 15m, 1h)`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
}

class Refused extends Error {}

async function ask(socket: string, method: string, params: Record<string, unknown>): Promise<Answer & Partial<ConnsAnswer>> {
  let r;
  try {
    r = await call(socket, method, params, 15_000);
  } catch (e) {
    if (e instanceof UnreachableError && /EACCES|EPERM/.test(e.message)) throw new Refused(`permission denied on ${socket}: overrides need root (the control socket is root-only)`);
    throw e;
  }
  if ('error' in r) throw new Refused(`${r.error.code}: ${r.error.message}`);
  return r.result as Answer & Partial<ConnsAnswer>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `vigil drain | disable | enable`. */
export function overrideCommand(action: 'drain' | 'disable' | 'enable') {
  return async (args: string[], io: Io): Promise<number> => {
    const { values, positionals: pos } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        reason: { type: 'string' },
        until: { type: 'string' },
        json: { type: 'boolean' },
        socket: { type: 'string' },
        ...(action === 'drain' ? { timeout: { type: 'string' as const }, interval: { type: 'string' as const } } : {}),
      },
    });
    const [vs, rs] = positionals(pos);
    if (action === 'enable' && values.until !== undefined) throw new UsageError('enable takes no --until (it ends the override now)');
    const v = values as { timeout?: string; interval?: string };
    const timeoutMs = v.timeout !== undefined ? parseTimeout(v.timeout) : 15 * 60_000;
    const intervalMs = v.interval !== undefined ? parseTimeout(v.interval) : 1000;
    if (intervalMs < 100) throw new UsageError('--interval must be at least 0.1 s');
    const socket = values.socket ?? loadSettings([]).socket;
    try {
      const base = { vs, rs, ...(values.reason !== undefined ? { reason: values.reason } : {}) };
      const a =
        action === 'enable'
          ? await ask(socket, 'override.enable', base)
          : await ask(socket, 'override.set', { ...base, action, ...(values.until !== undefined ? { until: values.until } : {}) });
      if (values.json && action !== 'drain') io.out(`${JSON.stringify(a)}\n`);
      else if (!values.json) io.out(`${a.message}\n`);
      if (action !== 'drain' || timeoutMs === 0) {
        if (values.json && action === 'drain') io.out(`${JSON.stringify(a)}\n`);
        return OVERRIDE_EXIT.ok;
      }
      const name = a.override ? { vs: a.override.vs, rs: a.override.rs } : { vs, rs };
      const start = Date.now();
      let last = '';
      for (;;) {
        const c = await ask(socket, 'override.conns', name);
        const line = c.inKernel ? `${name.rs}: ${c.active} active, ${c.inactive} inactive connection(s), weight ${c.weight}` : `${name.rs}: not in the IPVS table (no connections to wait for)`;
        if (values.json) io.out(`${JSON.stringify({ at: new Date().toISOString(), ...c })}\n`);
        else if (line !== last) io.out(`  ${duration(Date.now() - start).padStart(5)}  ${line}\n`);
        last = line;
        if (!c.inKernel || c.active === 0) {
          if (!values.json) io.out(`drained: no active connection to ${name.rs} after ${duration(Date.now() - start)}\n`);
          return OVERRIDE_EXIT.ok;
        }
        if (c.override?.action !== 'drain') {
          io.err(`vigil drain: ${name.rs} is no longer drained (${c.override ? c.override.action : 'enabled'}); stopped waiting\n`);
          return OVERRIDE_EXIT.refused;
        }
        if (Date.now() - start >= timeoutMs) {
          io.err(`vigil drain: ${c.active} connection(s) still active after ${duration(timeoutMs)}; the drain stays in force\n`);
          return OVERRIDE_EXIT.timeout;
        }
        await sleep(Math.min(intervalMs, Math.max(0, timeoutMs - (Date.now() - start))));
      }
    } catch (e) {
      if (e instanceof Refused) {
        io.err(`vigil ${action}: ${e.message}\n`);
        return OVERRIDE_EXIT.refused;
      }
      if (e instanceof UnreachableError) {
        io.err(`vigil ${action}: ${e.message}\n`);
        return OVERRIDE_EXIT.unreachable;
      }
      throw e;
    }
  };
}

/** The overrides and windows part of `vigil status`. */
export function renderOverrides(o: OverridesReport | undefined, now: number = Date.now()): string[] {
  if (!o || (o.active.length === 0 && o.windows.length === 0 && o.problems.length === 0)) return [];
  const out = ['', 'OVERRIDES'];
  if (o.active.length === 0) out.push('  (none: health decides everywhere)');
  for (const x of o.active) {
    const until = x.until ? `until ${x.until} (in ${duration(Math.max(0, Date.parse(x.until) - now))})` : 'until enabled';
    out.push(`  ${x.vs} ${x.rs}: ${x.action.toUpperCase()} by ${x.who} since ${x.since}, ${until}: ${x.reason}${x.inConfig ? '' : ' [not in the configuration]'}`);
  }
  for (const w of o.windows) {
    const state = w.active ? `ACTIVE until ${w.endsAt ?? '?'}` : `next ${w.nextRun ?? 'never'}`;
    out.push(`  window ${w.name}: '${w.schedule}'${w.timezone ? ` ${w.timezone}` : ''} for ${duration(w.durationMs)}, ${w.targets.join(', ')}: ${state}`);
  }
  for (const p of o.problems) out.push(`  problem: ${p}`);
  return out;
}
