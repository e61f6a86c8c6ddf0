import { parseArgs } from 'node:util';
import { UnreachableError, call } from '../control/client.js';
import type { CheckerReport, RsReport } from '../daemon/checker-child.js';
import { loadSettings } from '../settings.js';
import type { Io } from './io.js';
import { renderOverrides } from './override.js';
import { UsageError } from './io.js';

/** Exit codes of `vigil status`, as monitoring plugins read them. */
export const STATUS_OK = 0;
export const STATUS_DEGRADED = 1;
export const STATUS_UNREACHABLE = 3;

export const statusHelp = `Usage: vigil status [--json] [--watch [SECONDS]] [--instance NAME] [--service VS] [--socket PATH]

Asks the running daemon over its control socket and prints, for each VRRP instance: state,
effective and configured priority, interface and VRID, the current master, time in state, the
last transition and its reason, adverts sent/received and dropped packets by reason. Then, for
each virtual server, its real servers: health, weight in IPVS / effective weight, the last check
(result, latency), consecutive failures, time since the last transition and its reason; a lost
quorum or an active sorry server; and the IPVS reconciler (writes, converged or retrying).
Last, the overrides in force (vigil drain / disable: who, why, since, until) and the maintenance
windows with their next run.

Exit status: 0 when every instance is MASTER or BACKUP, every real server is up and IPVS is as
desired; ${STATUS_DEGRADED} when an instance is in FAULT or stopped, a child process is not running, a real
server is down, a quorum is lost or IPVS writes are failing; ${STATUS_UNREACHABLE} when the daemon cannot be
reached (like a monitoring plugin's UNKNOWN).

Options:
      --json            the daemon's answer as JSON, for scripts
      --watch [SECONDS] refresh every SECONDS (default 2) until interrupted
      --instance NAME   only this VRRP instance (repeatable)
      --service VS      only virtual servers whose name contains VS, e.g. '192.0.2.100:80 TCP' (repeatable)
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
  /** `vigil failover` holds it in BACKUP. */
  override?: { by: string; reason: string; since: string; until?: string };
  /** The IPVS sync daemon following this instance (lvs_sync_daemon). */
  syncDaemon?: { wanted: string[]; running: string[]; error?: string };
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
  /** The checker child's report (absent when it is not configured or not answering). */
  checker?: CheckerReport;
}

/** The checker report of an answer when it has the report's shape (a newer or broken daemon may send otherwise). */
function checkerOf(st: StatusResult): CheckerReport | undefined {
  const c = st.checker as Partial<CheckerReport> | undefined;
  return c && Array.isArray(c.virtualServers) && typeof c.ipvs === 'object' && c.ipvs !== null && typeof c.checks === 'object' && c.checks !== null ? (c as CheckerReport) : undefined;
}

/** Keeps the virtual servers whose name contains one of `services` (all when none given). */
export function filterServices(st: StatusResult, services: readonly string[] | undefined): StatusResult {
  const ck = checkerOf(st);
  if (!services?.length || !ck) return st;
  return { ...st, checker: { ...ck, virtualServers: ck.virtualServers.filter((v) => services.some((s) => v.vs.includes(s))) } };
}

/** Problems that make `vigil status` exit degraded, one line each; empty when all is well. */
export function degradedReasons(st: StatusResult): string[] {
  const out: string[] = [];
  for (const c of st.children ?? []) if (c.state !== 'running') out.push(`${c.kind} child ${c.state}`);
  for (const v of st.vrrp) if (v.state !== 'MASTER' && v.state !== 'BACKUP') out.push(`instance ${v.name} ${v.state}`);
  const ck = checkerOf(st);
  if (ck) {
    for (const v of ck.virtualServers) {
      if (!v.quorumUp) out.push(`${v.vs}: quorum lost`);
      for (const r of v.realServers) if (!r.up) out.push(`${v.vs}: ${r.rs} down`);
    }
    if (!ck.ipvs.converged && ck.ipvs.lastError !== undefined) out.push(`IPVS not converged: ${ck.ipvs.lastError}`);
  }
  return out;
}

/** The exit code of `vigil status` for an answer: STATUS_OK or STATUS_DEGRADED. */
export function statusExitCode(st: StatusResult): number {
  return degradedReasons(st).length > 0 ? STATUS_DEGRADED : STATUS_OK;
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
      service: { type: 'string', multiple: true },
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
    let st = res.result as StatusResult;
    if (values.instance) st.vrrp = st.vrrp.filter((v) => values.instance!.includes(v.name));
    st = filterServices(st, values.service);
    io.out(values.json ? `${JSON.stringify(st, null, 2)}\n` : renderStatus(st, io.color));
    return statusExitCode(st);
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

/** `installed/effective` weight: `10/10`, `0/10 inhibited`, `-/10` (not in IPVS), `5/8 (configured 10)`. */
export function weightCell(r: RsReport): string {
  const w = `${r.installed ?? '-'}/${r.weight}`;
  const note = [r.weight !== r.configuredWeight ? `(configured ${r.configuredWeight})` : undefined, r.installed === 0 && !r.up ? 'inhibited' : undefined, r.override ? `${r.override === 'drain' ? 'DRAINED' : 'DISABLED'} (override)` : undefined].filter(Boolean);
  return note.length ? `${w} ${note.join(' ')}` : w;
}

/** Aligns rows of cells into columns (the last column is not padded); `paint` styles a padded cell. */
function table(rows: string[][], paint: (row: number, col: number, s: string) => string = (_r, _c, s) => s): string[] {
  const width = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((cells, ri) =>
    cells
      .map((c, i) => paint(ri, i, i === cells.length - 1 ? c : c.padEnd(width[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** The checker part of the on-call screen: real servers per virtual server, IPVS, check load. */
export function renderChecker(ck: CheckerReport, color: boolean, now: number = Date.now()): string[] {
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const out = ['', 'VIRTUAL SERVERS'];
  if (ck.virtualServers.length === 0) out.push('  (no virtual_server configured or matching)');
  for (const v of ck.virtualServers) {
    const up = v.realServers.filter((r) => r.up).length;
    const flags = [!v.quorumUp ? paint('31;1', 'QUORUM LOST') : undefined, v.sorryActive ? paint('33;1', 'SORRY SERVER ACTIVE') : undefined].filter(Boolean);
    out.push(`  ${v.vs}: ${up}/${v.realServers.length} up, weight sum ${v.weightSum}${flags.length ? `  ${flags.join('  ')}` : ''}`);
    if (v.realServers.length === 0) continue;
    const rows = [['REAL SERVER', 'HEALTH', 'WEIGHT', 'LAST CHECK', 'FAILS', 'SINCE', 'REASON']];
    for (const r of v.realServers) {
      const l = r.lastResult;
      const last = l ? `${l.reason} ${l.latencyMs}ms` : 'not yet';
      const since = Date.parse(r.since);
      const reason = l && !l.ok && l.detail && !r.reason.includes(l.detail) ? `${r.reason || '-'}; last: ${l.detail}` : r.reason || '-';
      rows.push([r.rs, r.up ? 'UP' : 'DOWN', weightCell(r), last, String(r.failures), Number.isFinite(since) ? duration(Math.max(0, now - since)) : '-', reason]);
    }
    for (const line of table(rows, (ri, ci, s) => (ri > 0 && ci === 1 ? paint(s.startsWith('UP') ? '32' : '31;1', s) : s))) out.push(`    ${line}`);
  }
  const i = ck.ipvs;
  const state = i.converged
    ? 'converged'
    : i.lastError !== undefined
      ? paint('31;1', `NOT CONVERGED, retry ${i.retryAttempt}${i.retryInMs !== undefined ? ` in ${duration(i.retryInMs)}` : ''}: ${i.lastError}`)
      : 'reconciling';
  out.push(`  IPVS: ${state}; ${i.managed} service(s) managed, ${i.writes} write(s), ${i.failedWrites} failed, ${i.outsideChanges} outside change(s)${i.lastReason ? `; last run: ${i.lastReason}` : ''}`);
  const lt = ck.checks.lateness;
  out.push(`  checks: ${ck.checks.distinct} distinct for ${ck.checks.pairs} real server(s)${lt.count ? `; start lateness p50 ${lt.p50Ms}ms p99 ${lt.p99Ms}ms max ${lt.maxMs}ms` : ''}`);
  for (const p of ck.problems) out.push(`  problem: ${p}`);
  return out;
}

/** The on-call screen: one line per instance, then what went wrong, if anything. */
export function renderStatus(st: StatusResult, color: boolean, now: number = Date.now()): string {
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
    if (v.override) out.push(`  ${v.name}: ${paint('33;1', 'HELD IN BACKUP')} by ${v.override.by} since ${v.override.since}${v.override.until ? ` until ${v.override.until}` : ' until released'}: ${v.override.reason}`);
    if (v.syncDaemon) out.push(`  ${v.name}: sync daemon ${v.syncDaemon.running.join(', ') || 'none running'}${v.syncDaemon.error ? paint('31;1', ` (wanted ${v.syncDaemon.wanted.join(', ')}: ${v.syncDaemon.error})`) : ''}`);
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
  const ck = checkerOf(st);
  const checkerChild = st.children?.find((c) => c.kind === 'checker');
  if (ck) out.push(...renderChecker(ck, color, now), ...renderOverrides(ck.overrides, now));
  else if (checkerChild && checkerChild.state !== 'running') out.push('', 'VIRTUAL SERVERS', `  (checker child ${checkerChild.state}: no real-server data)`);
  return `${out.join('\n')}\n`;
}
