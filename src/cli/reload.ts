import { parseArgs } from 'node:util';
import { UnreachableError, call } from '../control/client.js';
import type { ReloadAnswer } from '../daemon/daemon.js';
import { loadSettings } from '../settings.js';
import { EXIT_CONFIG } from './check-config.js';
import type { Io } from './io.js';
import { STATUS_UNREACHABLE } from './status.js';

export const reloadHelp = `Usage: vigil reload [--json] [--socket PATH] [--timeout SECONDS]

Asks the running daemon to re-read its configuration (the same as SIGHUP to its main pid) and
prints what happened. The daemon compiles the file first: with any error it keeps running the
previous configuration and nothing changes. Otherwise each child applies only the difference:
unchanged VRRP instances are not touched, changed ones are updated in place without a transition
(a MASTER adds or removes just the VIPs that changed), new ones start, removed ones stop.

Exit status: 0 applied; ${EXIT_CONFIG} the new configuration has errors (printed as file:line:col, as
'vigil check-config' does); 1 a child could not apply it; ${STATUS_UNREACHABLE} the daemon cannot be reached.

Options:
      --json               the daemon's answer as JSON
      --socket PATH        control socket (default: --socket / VIGIL_SOCKET)
      --timeout SECONDS    how long to wait for the answer (default 120)
`;

/** One child's reload result as the VRRP child reports it (other children print their own keys). */
interface VrrpReport {
  kept?: string[];
  added?: string[];
  removed?: string[];
  updated?: { name: string; details: string[] }[];
  restarted?: { name: string; why: string }[];
  scripts?: { started: string[]; stopped: string[] };
}

/** The lines `vigil reload` prints for an answer. */
export function renderReload(a: ReloadAnswer): string {
  const out: string[] = [...a.diagnostics];
  if (a.errors > 0) {
    out.push(`vigil reload: ${a.file}: ${a.errors} error(s), ${a.warnings} warning(s); the daemon keeps running the previous configuration`);
    return `${out.join('\n')}\n`;
  }
  out.push(`${a.ok ? 'reloaded' : 'reload failed:'} ${a.file} in ${a.ms} ms`);
  for (const c of a.children ?? []) {
    if (!c.ok) {
      out.push(`  ${c.kind}: FAILED, still running the previous configuration: ${c.error ?? ''}`);
      continue;
    }
    if (c.note) {
      out.push(`  ${c.kind}: ${c.note}`);
      continue;
    }
    if (c.kind === 'checker') {
      const k = (c.result ?? {}) as { distinctChecksBefore?: number; distinctChecksAfter?: number; ipvsWrites?: number };
      out.push(`  checker: ${k.distinctChecksBefore ?? '?'} -> ${k.distinctChecksAfter ?? '?'} distinct checks (unchanged ones keep their state), ${k.ipvsWrites ?? '?'} IPVS write(s)`);
      continue;
    }
    const r = (c.result ?? {}) as VrrpReport;
    const parts: string[] = [];
    if (r.kept?.length) parts.push(`unchanged ${r.kept.join(', ')}`);
    if (r.added?.length) parts.push(`added ${r.added.join(', ')}`);
    if (r.removed?.length) parts.push(`removed ${r.removed.join(', ')}`);
    if (r.updated?.length) parts.push(`updated ${r.updated.map((u) => u.name).join(', ')}`);
    if (r.restarted?.length) parts.push(`restarted ${r.restarted.map((u) => u.name).join(', ')}`);
    out.push(`  ${c.kind}: ${parts.length ? parts.join('; ') : 'no instances'}`);
    for (const u of r.updated ?? []) out.push(`    ${u.name} updated in place: ${u.details.join('; ')}`);
    for (const u of r.restarted ?? []) out.push(`    ${u.name} restarted: ${u.why}`);
    if (r.scripts?.started.length) out.push(`    vrrp_script (re)started: ${r.scripts.started.join(', ')}`);
    if (r.scripts?.stopped.length) out.push(`    vrrp_script stopped: ${r.scripts.stopped.join(', ')}`);
  }
  return `${out.join('\n')}\n`;
}

/** `vigil reload`: resolves to the exit code (0 applied, 5 config errors, 1 not applied, 3 unreachable). */
export async function reloadCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: { json: { type: 'boolean' }, socket: { type: 'string' }, timeout: { type: 'string' } },
  });
  const settings = loadSettings(values.socket ? ['--socket', values.socket] : []);
  const timeoutS = values.timeout === undefined ? 120 : Number(values.timeout);
  if (!(timeoutS > 0)) {
    io.err(`vigil reload: --timeout takes a positive number of seconds, got '${values.timeout}'\n`);
    return 2;
  }
  let res;
  try {
    res = await call(settings.socket, 'reload', {}, timeoutS * 1000);
  } catch (e) {
    if (e instanceof UnreachableError) {
      io.err(`vigil reload: ${e.message}\n`);
      return STATUS_UNREACHABLE;
    }
    throw e;
  }
  if ('error' in res) {
    io.err(`vigil reload: ${res.error.code}: ${res.error.message}\n`);
    return STATUS_UNREACHABLE;
  }
  const a = res.result as ReloadAnswer;
  if (values.json) io.out(`${JSON.stringify(a, null, 2)}\n`);
  else {
    const text = renderReload(a);
    if (a.ok) io.out(text);
    else io.err(text);
  }
  return a.errors > 0 ? EXIT_CONFIG : a.ok ? 0 : 1;
}
