import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { RealServerError } from '../realserver/errors.js';
import { KernelHost, type RealServerHost } from '../realserver/host.js';
import { type Finding, type Vip, VipError, parseVips } from '../realserver/model.js';
import { check, setup, undo } from '../realserver/realserver.js';
import { DEFAULT_STATE_FILE } from '../realserver/state.js';
import type { Io } from './io.js';
import { UsageError } from './io.js';

export const realserverHelp = `Usage: vigil realserver --vip ADDR [--vip ADDR...] [--check | --undo] [--json] [--state-file PATH]

Sets up this machine as a real server behind an LVS director in tunnel mode (ipip), idempotently:
  - the tunnel module is loaded and its device up: ipip / tunl0 for IPv4 VIPs, ip6_tunnel /
    ip6tnl0 for IPv6 ones (through the kernel's module loader, as \`ip link add\` does);
  - each VIP is on that device as /32 (/128), so decapsulated packets for it are accepted;
  - net.ipv4.conf.{all,tunl0}.arp_ignore=1 and arp_announce=2: this server never answers ARP
    for the VIP nor uses it as an ARP source (the director owns the VIP on the LAN);
  - net.ipv4.conf.{all,tunl0}.rp_filter=0: requests arrive on tunl0 but the route back to the
    client leaves by another interface, so the reverse-path filter would drop them. The kernel
    uses the larger of conf.all and conf.tunl0, so both must be 0 (interfaces that have their
    own rp_filter keep it).
A second run changes nothing. A VIP found on another interface (e.g. eth0 or lo) is reported and
nothing is changed until it is removed by hand. The 20 bytes ipip adds to each packet (40 for
IPv6) are explained with what to do (TCP MSS / MTU) in a warning.

  --vip ADDR         a virtual IP (repeatable, or comma-separated)
  --check            report every problem, one line each with its fix; change nothing
                     (exit 0 when none, 1 when any)
  --undo             remove the VIPs from the tunnel devices and restore the sysctls saved at
                     setup (when nobody changed them since); the module stays loaded. --vip is
                     optional: the VIPs setup recorded are removed too.
  --json             the result as JSON, for scripts
  --state-file PATH  where setup saves the values it changed (default ${DEFAULT_STATE_FILE})

Exit status: 0 done (or nothing to do), 1 a problem found or left, 2 a usage error.
`;

/** Options of realserverCommand (tests inject the host). */
export interface RealserverDeps {
  host?: () => RealServerHost;
}

const line = (f: Finding): string => `${f.item}: ${f.problem} — fix: ${f.fix}${f.action ? '' : ' (by hand)'}`;

/** `vigil realserver`: resolves to the exit code. */
export async function realserverCommand(args: string[], io: Io, deps: RealserverDeps = {}): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      vip: { type: 'string', multiple: true },
      check: { type: 'boolean' },
      undo: { type: 'boolean' },
      json: { type: 'boolean' },
      'state-file': { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`realserver takes no arguments; got '${positionals[0]}' (use --vip ${positionals[0]})`);
  if (values.check && values.undo) throw new UsageError('--check and --undo cannot be combined');
  const stateFile = values['state-file'] ?? DEFAULT_STATE_FILE;
  if (!stateFile.startsWith('/')) throw new UsageError(`--state-file must be an absolute path, got '${stateFile}'`);
  let vips: Vip[] = [];
  try {
    if (!values.undo || (values.vip ?? []).length > 0) vips = parseVips(values.vip ?? []);
  } catch (e) {
    if (e instanceof VipError) throw new UsageError(e.message);
    throw e;
  }
  const mode = values.check ? 'check' : values.undo ? 'undo' : 'setup';
  const json = values.json === true;
  const emit = (o: object): void => io.out(`${JSON.stringify({ command: mode, vips: vips.map((v) => v.address), ...o }, null, 2)}\n`);
  const warn = (ws: readonly string[]): void => {
    if (!json) for (const w of ws) io.err(`warning: ${w}\n`);
  };

  if (mode === 'undo' && vips.length === 0 && !existsSync(stateFile)) throw new UsageError(`nothing to undo: no --vip given and no state file at ${stateFile}`);
  let host: RealServerHost | undefined;
  try {
    host = (deps.host ?? (() => new KernelHost()))();
    if (mode === 'check') {
      const r = await check(host, vips);
      if (json) emit({ ok: r.problems.length === 0, problems: r.problems.map(({ item, problem, fix }) => ({ item, problem, fix })), warnings: r.warnings });
      else {
        for (const p of r.problems) io.out(`problem: ${line(p)}\n`);
        warn(r.warnings);
        const byHand = r.problems.filter((p) => !p.action).length;
        io.out(
          r.problems.length === 0
            ? `vigil realserver: ok: ${vips.map((v) => v.address).join(', ')} set up for tunnel mode\n`
            : `vigil realserver: ${r.problems.length} problem(s)${byHand ? `, ${byHand} to fix by hand` : ''}; \`vigil realserver --vip ${vips.map((v) => v.address).join(',')}\` fixes the others\n`,
        );
      }
      return r.problems.length === 0 ? 0 : 1;
    }
    if (mode === 'setup') {
      const r = await setup(host, vips, stateFile);
      const ok = r.blockers.length === 0;
      if (json)
        emit({ ok, changes: r.changes, problems: r.blockers.map(({ item, problem, fix }) => ({ item, problem, fix })), warnings: r.warnings, ...(r.stateFile ? { stateFile: r.stateFile } : {}) });
      else {
        for (const b of r.blockers) io.err(`vigil realserver: ${line(b)}\n`);
        for (const c of r.changes) io.out(`changed: ${c.item}: ${c.what}\n`);
        warn(r.warnings);
        if (!ok) io.err(`vigil realserver: changed nothing: fix the problem(s) above by hand first\n`);
        else if (r.changes.length === 0) io.out(`vigil realserver: nothing changed: already set up for ${vips.map((v) => v.address).join(', ')}\n`);
        else
          io.out(
            `vigil realserver: ${r.changes.length} change(s)${r.stateFile ? `; the values before are saved in ${r.stateFile} (\`vigil realserver --undo\` restores them)` : ''}\n`,
          );
      }
      return ok ? 0 : 1;
    }
    const r = await undo(host, vips, stateFile);
    if (json) emit({ ok: true, changes: r.changes, kept: r.kept, stateFile: r.hadState ? stateFile : null });
    else {
      for (const c of r.changes) io.out(`changed: ${c.item}: ${c.what}\n`);
      for (const k of r.kept) io.out(`kept: ${k}\n`);
      if (!r.hadState) io.out(`vigil realserver: no state file at ${stateFile}: sysctls left as they are\n`);
      io.out(`vigil realserver: undone (${r.changes.length} change(s)); the tunnel module stays loaded\n`);
    }
    return 0;
  } catch (e) {
    if (!(e instanceof RealServerError)) throw e;
    if (json) emit({ ok: false, error: { code: e.code, op: e.op, message: e.message } });
    else io.err(`vigil realserver: ${e.message}\n`);
    return 1;
  } finally {
    host?.close();
  }
}
