import { parseArgs } from 'node:util';
import { UnreachableError, call } from '../control/client.js';
import type { FailoverAnswer } from '../daemon/failover.js';
import { loadSettings } from '../settings.js';
import { parseDuration } from '../util/duration.js';
import { type Io, UsageError } from './io.js';
import { STATUS_UNREACHABLE } from './status.js';

/** Exit code when the daemon refused the request (unknown instance, bad time...): nothing changed. */
export const FAILOVER_REFUSED = 1;
/** Exit code when the caller is not root (the control socket is root-only). */
export const FAILOVER_NOT_ROOT = 4;

export const failoverHelp = `Usage: vigil failover [INSTANCE] [--reason TEXT] [--timeout DURATION | --until TIME]
       vigil failover --release [INSTANCE] [--reason TEXT]

Hands the VIPs of this director to its peer cleanly, for maintenance without stopping vigil: a
MASTER instance sends a priority-0 advert (the peer takes over after its skew time, as on a
graceful stop), releases its VIPs, and is held in BACKUP at priority 1 until 'vigil failover
--release' or the timeout; it then preempts by its own priority. Without INSTANCE every instance
moves; an instance of a vrrp_sync_group moves its whole group. While held, an instance still
takes the VIP if no master is heard at all (a dead peer): the VIP is never left nowhere. The
hold survives a reload and a restart of the daemon (kept in --state-dir) until released or
expired. It shows in 'vigil status' (who, why, until) and the metrics (vigil_failover_changes_total).

Options:
      --reason TEXT       why (logged, shown in vigil status)
      --timeout DURATION  release by itself after DURATION: 90s, 15m, 2h, 1d, 1h30m (1s to 7d)
      --until TIME        release by itself at TIME (ISO 8601, e.g. 2026-12-07T03:00:00Z)
      --release           end the hold now (all instances, or INSTANCE and its sync group)
      --json              the daemon's answer as JSON
      --socket PATH       control socket (default: --socket / VIGIL_SOCKET)

Exit status: 0 done; ${FAILOVER_REFUSED} refused by the daemon (unknown instance, bad time; nothing changed);
2 usage; ${STATUS_UNREACHABLE} the daemon cannot be reached; ${FAILOVER_NOT_ROOT} not run as root (checked here and by the daemon).
`;

/** The lines `vigil failover` prints for an answer. */
export function renderFailover(a: FailoverAnswer): string {
  const states = (a.states ?? {}) as Record<string, string>;
  const out = [`${a.action === 'release' ? 'released' : 'failover'}: ${a.instances.join(', ')}`];
  for (const i of a.instances) {
    const h = a.holds[i];
    out.push(h ? `  ${i}: held in BACKUP${h.until ? ` until ${h.until}` : ' until released'} (by ${h.by}: ${h.reason})${states[i] ? `; now ${states[i]}` : ''}` : `  ${i}: not held; it preempts by its own priority`);
  }
  if (a.note) out.push(`  note: ${a.note}`);
  return `${out.join('\n')}\n`;
}

/** `vigil failover`: resolves to the exit code. */
export async function failoverCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      release: { type: 'boolean' },
      reason: { type: 'string' },
      timeout: { type: 'string' },
      until: { type: 'string' },
      json: { type: 'boolean' },
      socket: { type: 'string' },
    },
  });
  if (positionals.length > 1) throw new UsageError(`failover takes at most one INSTANCE; got ${positionals.join(' ')}`);
  if (values.timeout !== undefined && values.until !== undefined) throw new UsageError('give --timeout or --until, not both');
  if (values.release && (values.timeout !== undefined || values.until !== undefined)) throw new UsageError('--release takes no --timeout or --until');
  let timeoutMs: number | undefined;
  if (values.timeout !== undefined) {
    timeoutMs = parseDuration(values.timeout);
    if (timeoutMs === undefined || timeoutMs <= 0) throw new UsageError(`--timeout takes a duration such as 90s, 15m, 2h, 1d or 1h30m; got '${values.timeout}'`);
  }
  if (process.getuid?.() !== 0) {
    io.err('vigil failover: must be run as root (the control socket is root-only); nothing changed\n');
    return FAILOVER_NOT_ROOT;
  }
  const settings = loadSettings(values.socket ? ['--socket', values.socket] : []);
  const params = {
    ...(values.release ? { release: true } : {}),
    ...(positionals[0] !== undefined ? { instance: positionals[0] } : {}),
    ...(values.reason !== undefined ? { reason: values.reason } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(values.until !== undefined ? { until: values.until } : {}),
  };
  let res;
  try {
    res = await call(settings.socket, 'failover', params);
  } catch (e) {
    if (e instanceof UnreachableError) {
      io.err(`vigil failover: ${e.message}\n`);
      return STATUS_UNREACHABLE;
    }
    throw e;
  }
  if ('error' in res) {
    io.err(`vigil failover: ${res.error.message}; nothing changed\n`);
    if (res.error.code === 'forbidden') return FAILOVER_NOT_ROOT;
    return res.error.code === 'bad-request' ? FAILOVER_REFUSED : STATUS_UNREACHABLE;
  }
  const a = res.result as FailoverAnswer;
  io.out(values.json ? `${JSON.stringify(a, null, 2)}\n` : renderFailover(a));
  return 0;
}
