import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { compile } from '../config/compile.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import { loadSettings, settingsFlags } from '../settings.js';
import type { Io } from './io.js';

/** keepalived's exit code for configuration errors (KEEPALIVED_EXIT_CONFIG), kept for drop-in scripts. */
export const EXIT_CONFIG = 5;

export const checkConfigHelp = `Usage: vigil check-config [-f FILE] [options]
       vigil -t [-f FILE] [options]

Reads keepalived.conf (with its includes), validates every block and keyword, and prints each
problem as 'file:line:col: error|warning: message'. Exits 0 when there is no error, ${EXIT_CONFIG} when there
is any (as keepalived -t does), 2 on a usage error.

Options:
  -f, --use-file FILE    configuration file (default: --config / VIGIL_CONFIG, else
                         /etc/keepalived/keepalived.conf)
  -i, --config-id ID     select '@ID' conditional lines (default: short host name)
      --lenient          unknown keywords are warnings, not errors (for migrations)
      --no-host-checks   do not check this host's interfaces (validate for another machine)
      --dump             print the validated configuration as JSON on stdout
  -q, --quiet            print errors only, no warnings and no summary
`;

/** `vigil check-config`: compiles the configuration and reports; resolves to the exit code. */
export async function checkConfigCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      'use-file': { type: 'string', short: 'f' },
      'config-id': { type: 'string', short: 'i' },
      lenient: { type: 'boolean' },
      'no-host-checks': { type: 'boolean' },
      dump: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      ...Object.fromEntries(settingsFlags.filter((f) => f !== 'config-id').map((f) => [f, { type: 'string' as const }])),
    },
  });
  const flags = values as Record<string, string | boolean | undefined>;
  const settingArgs = settingsFlags.flatMap((f) => {
    const v = flags[f];
    return typeof v === 'string' ? [`--${f}`, v] : [];
  });
  const settings = loadSettings(settingArgs);
  const file = values['use-file'] ?? settings.config;
  const configId = values['config-id'] ?? (settings.configId || undefined);
  const result = compile(file, {
    ...(configId !== undefined ? { configId } : {}),
    ...(values.lenient ? { lenient: true } : {}),
    ...(values['no-host-checks'] ? {} : { interfaceExists: (name: string) => existsSync(`/sys/class/net/${name}`) }),
  });
  const paint = (sev: string, s: string) => (io.color ? `\x1b[${sev === 'error' ? '31' : '33'}m${s}\x1b[0m` : s);
  for (const d of result.diagnostics) {
    if (values.quiet && d.severity !== 'error') continue;
    const line = formatDiagnostic(d);
    const i = line.indexOf(`: ${d.severity}: `);
    io.err(`${line.slice(0, i + 2)}${paint(d.severity, d.severity)}${line.slice(i + 2 + d.severity.length)}\n`);
  }
  if (values.dump && result.config) io.out(`${JSON.stringify(result.config, null, 2)}\n`);
  if (result.errors > 0) {
    if (!values.quiet) io.err(`${file}: ${result.errors} error(s), ${result.warnings} warning(s)\n`);
    return EXIT_CONFIG;
  }
  if (!values.quiet && !values.dump && result.config) {
    const c = result.config;
    const rs = c.virtualServers.reduce((n, vs) => n + ((vs as unknown as { realServers?: readonly unknown[] }).realServers?.length ?? 0), 0);
    io.out(
      `${file}: OK — ${c.vrrpInstances.length} vrrp_instance(s), ${c.virtualServers.length} virtual_server(s), ${rs} real_server(s), ` +
        `${c.files.length} file(s)${result.warnings ? `, ${result.warnings} warning(s)` : ''}\n`,
    );
  }
  return 0;
}
