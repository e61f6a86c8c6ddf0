import { parseArgs } from 'node:util';
import { UnreachableError, call } from '../control/client.js';
import { loadSettings } from '../settings.js';
import type { Io } from './io.js';
import { UsageError } from './io.js';

/** Exit codes of `vigil status`, as monitoring plugins read them. */
export const STATUS_OK = 0;
export const STATUS_DEGRADED = 1;
export const STATUS_UNREACHABLE = 3;

export const statusHelp = `Usage: vigil status [--json] [--watch [SECONDS]] [--instance NAME] [--socket PATH]

Asks the running daemon over its control socket and prints, for each VRRP instance: state,
effective and configured priority, interface and VRID, the current master, time in state, the
last transition and its reason, adverts sent/received and dropped packets by reason.

Exit status: 0 when every instance is MASTER or BACKUP, ${STATUS_DEGRADED} when any is in FAULT or
stopped, ${STATUS_UNREACHABLE} when the daemon cannot be reached (like a monitoring plugin's UNKNOWN).

Options:
      --json            the daemon's answer as JSON, for scripts
      --watch [SECONDS] refresh every SECONDS (default 2) until interrupted
      --instance NAME   only this instance (repeatable)
      --socket PATH     control socket (default: --socket / VIGIL_SOCKET)
`;

/** One VRRP instance as the daemon reports it. */
export interface VrrpStatus {
  name: string;
  interface: string;
  vrid: number;
  state: string;
  priority: number;
  basePriority: number;
  master?: string;
  since: string;
  inStateMs: number;
  lastTransition?: { from: string; to: string; reason: string; at: string };
  advertsSent: number;
  advertsReceived: number;
  drops: Record<string, number>;
}

/** One child process of the daemon (supervisor.ts ChildStatus). */
export interface ChildProcessStatus {
  kind: string;
  state: string;
  pid?: number;
  restarts: number;
  lastExit?: { reason: string; at: string };
  nextStartInMs?: number;
  error?: string;
}

/** The `status` answer. */
export interface StatusResult {
  version: string;
  pid: number;
  config: string;
  startedAt: string;
  vrrp: VrrpStatus[];
  /** The child processes (absent from a daemon older than the supervisor). */
  children?: ChildProcessStatus[];
  reloads?: { ok: number; failed: number; last?: { at: string; ok: boolean; summary: string } };
}

/** `vigil status`: resolves to the exit code (0 healthy, 1 degraded, 3 unreachable). */
export async function statusCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      json: { type: 'boolean' },
      watch: { type: 'string' },
      instance: { type: 'string', multiple: true },
      socket: { type: 'string' },
    },
  });
  const settings = loadSettings(values.socket ? ['--socket', values.socket] : []);
  const watchS = values.watch === undefined ? undefined : values.watch === '' ? 2 : Number(values.watch);
  if (watchS !== undefined && !(watchS > 0)) throw new UsageError(`--watch takes a positive number of seconds, got '${values.watch}'`);
  const once = async (): Promise<number> => {
    let res;
    try {
      res = await call(settings.socket, 'status');
    } catch (e) {
      if (e instanceof UnreachableError) {
        io.err(`vigil status: ${e.message}\n`);
        return STATUS_UNREACHABLE;
      }
      throw e;
    }
    if ('error' in res) {
      io.err(`vigil status: ${res.error.code}: ${res.error.message}\n`);
      return STATUS_UNREACHABLE;
    }
    const st = res.result as StatusResult;
    if (values.instance) st.vrrp = st.vrrp.filter((v) => values.instance!.includes(v.name));
    io.out(values.json ? `${JSON.stringify(st, null, 2)}\n` : renderStatus(st, io.color));
    const childDown = (st.children ?? []).some((c) => c.state !== 'running');
    return childDown || st.vrrp.some((v) => v.state !== 'MASTER' && v.state !== 'BACKUP') ? STATUS_DEGRADED : STATUS_OK;
  };
  if (watchS === undefined) return once();
  for (;;) {
    if (!values.json && io.color) io.out('\x1b[2J\x1b[H');
    await once();
    await new Promise((r) => setTimeout(r, watchS * 1000));
  }
}

/** Human duration: 45s, 3m12s, 2h05m, 3d4h. */
export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

/** The on-call screen: one line per instance, then what went wrong, if anything. */
export function renderStatus(st: StatusResult, color: boolean): string {
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const stateColor: Record<string, string> = { MASTER: '32', BACKUP: '0', FAULT: '31;1', INIT: '33' };
  const rows = st.vrrp.map((v) => [
    v.name,
    v.state,
    v.priority === v.basePriority ? String(v.priority) : `${v.priority} (${v.basePriority})`,
    `${v.interface}/${v.vrid}`,
    v.master ?? '-',
    duration(v.inStateMs),
    v.lastTransition ? `${v.lastTransition.from}→${v.lastTransition.to}: ${v.lastTransition.reason}` : '-',
  ]);
  const head = ['INSTANCE', 'STATE', 'PRIORITY', 'IF/VRID', 'MASTER', 'IN STATE', 'LAST TRANSITION'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[], paintState = false) =>
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : c.padEnd(width[i]!);
        return paintState && i === 1 ? paint(stateColor[c] ?? '0', padded) : padded;
      })
      .join('  ');
  const out = [`vigil ${st.version} pid ${st.pid}, up since ${st.startedAt}, config ${st.config}`, '', 'VRRP', `  ${line(head)}`];
  for (const r of rows) out.push(`  ${line(r, true)}`);
  for (const v of st.vrrp) {
    const drops = Object.entries(v.drops).filter(([, n]) => n > 0);
    const extra = [`adverts sent ${v.advertsSent}, received ${v.advertsReceived}`];
    if (drops.length) extra.push(`dropped: ${drops.map(([k, n]) => `${k}=${n}`).join(' ')}`);
    out.push(`  ${v.name}: ${extra.join('; ')}`);
  }
  const vrrpChild = st.children?.find((c) => c.kind === 'vrrp');
  if (st.vrrp.length === 0) out.push(vrrpChild && vrrpChild.state !== 'running' ? `  (VRRP child ${vrrpChild.state}: no instance data)` : '  (no vrrp_instance configured)');
  if (st.children) {
    out.push('', 'PROCESSES');
    for (const c of st.children) {
      const state = c.state === 'running' ? c.state : paint('31;1', c.state);
      const extra = [
        c.pid !== undefined ? `pid ${c.pid}` : undefined,
        `restarts ${c.restarts}`,
        c.lastExit ? `last exit ${c.lastExit.at}: ${c.lastExit.reason}` : undefined,
        c.nextStartInMs !== undefined ? `next start in ${duration(c.nextStartInMs)}` : undefined,
        c.error,
      ].filter(Boolean);
      out.push(`  ${c.kind.padEnd(8)} ${state}  ${extra.join(', ')}`);
    }
  }
  if (st.reloads) {
    const last = st.reloads.last ? `; last ${st.reloads.last.at} ${st.reloads.last.ok ? 'ok' : 'FAILED'}: ${st.reloads.last.summary}` : '';
    out.push(`  reloads: ${st.reloads.ok} ok, ${st.reloads.failed} failed${last}`);
  }
  return `${out.join('\n')}\n`;
}
