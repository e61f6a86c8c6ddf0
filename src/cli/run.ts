import { formatDiagnostic } from '../config/diagnostics.js';
import { availableKinds } from '../daemon/child-engine.js';
import { compileConfig, runDaemon } from '../daemon/daemon.js';
import { KEEPALIVED_DATA_FILE, KEEPALIVED_STATS_FILE, SIGNUMS, parseRunFlags } from '../daemon/flags.js';
import { createLogger } from '../log.js';
import { loadSettings } from '../settings.js';
import { version } from '../version.js';
import { EXIT_CONFIG } from './check-config.js';
import { type Io, UsageError } from './io.js';

export const runHelp = `Usage: vigil run [-f FILE] [-i CONFIG_ID] [options]
       vigil [keepalived options]          (no command: the same as 'vigil run')

Runs the director for keepalived.conf: a small supervisor process with the engines in child
processes — today the VRRP child (every vrrp_instance: adverts, elections, VIPs, gratuitous ARP /
NA, notify scripts). The configuration is checked first; nothing starts on a configuration with
errors (exit ${EXIT_CONFIG}). A child that dies is restarted after 1 s, 2 s, 4 s ... 30 s (back to 1 s
after a healthy minute); 'vigil status' shows the restarts.

Signals (to the supervisor, the main pid):
  SIGTERM, SIGINT  stop: masters send a priority-0 advert and release their VIPs
  SIGHUP           reload the configuration (as 'vigil reload'): only the difference changes;
                   a configuration with errors is refused and the old one keeps running
  SIGUSR1          write the data dump (keepalived.data layout) to --data-file
  SIGUSR2          write the stats dump (keepalived.stats layout) to --stats-file

keepalived's options (so a unit file's ExecStart can be swapped):
  -f, --use-file FILE       configuration file (default: --config / VIGIL_CONFIG)
  -i, --config-id ID        select '@ID' conditional lines (default: short host name)
  -P, --vrrp                run the VRRP child only
  -C, --check               run the checker child only (health checks and IPVS)
  -D, --log-detail          log at debug level (unless --log-level says otherwise)
  -l, --log-console         accepted: vigil always logs to stderr (the journal under systemd)
  -n, --dont-fork           accepted: vigil never forks into the background
  -S, --log-facility F      accepted and ignored: vigil does not log to syslog
  -G, --no-syslog           accepted: vigil does not log to syslog
  -B, --no_bfd, --all       accepted: no BFD child; every child vigil has always runs
  -p, --pid FILE            write the supervisor's pid to FILE
  -r, --vrrp_pid FILE       write the VRRP child's pid to FILE (updated on restarts)
  -c, --checkers_pid FILE   write the checker child's pid to FILE
  -R, --dont-respawn        a child that dies stops the daemon (exit 1) instead of restarting
  -u, --umask MASK          umask for files vigil creates (e.g. 0177)
      --signum=SIGFUNC      print the signal number for STOP, RELOAD, DATA or STATS and exit
  -t, --config-test         check the configuration and exit (as 'vigil check-config')
  Not supported (an error says what to use instead): -X -V -I -d -a -x -A -s -m -M -e -T.

vigil's options:
      --data-file PATH      SIGUSR1 dump (VIGIL_DATA_FILE; default ${KEEPALIVED_DATA_FILE})
      --stats-file PATH     SIGUSR2 dump (VIGIL_STATS_FILE; default ${KEEPALIVED_STATS_FILE})
      --log-level LEVEL     trace|debug|info|warn|error (VIGIL_LOG_LEVEL)
      --log-format FMT      auto|json|pretty (VIGIL_LOG_FORMAT)
      --socket PATH         control socket for 'vigil status' and 'vigil reload' (VIGIL_SOCKET)
      --metrics-listen HOST:PORT  serve Prometheus metrics at /metrics (VIGIL_METRICS_LISTEN)
      --single-process      benchmarking/debugging only: run the engines in the supervisor's
                            process, not in children (VIGIL_SINGLE_PROCESS=1)
`;

/** `vigil run`: compiles the configuration and runs the supervisor and its children until SIGTERM/SIGINT. */
export async function runCommand(args: string[], io: Io): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    io.out(runHelp);
    return 0;
  }
  if (args.includes('-v') || args.includes('--version')) {
    io.out(`vigil ${version()}\n`);
    return 0;
  }
  const flags = parseRunFlags(args);
  if (flags.signum !== undefined) {
    io.out(`${SIGNUMS[flags.signum]}\n`);
    return 0;
  }
  const kinds = flags.kinds ?? availableKinds();
  const missing = kinds.filter((k) => !availableKinds().includes(k));
  if (missing.length > 0) throw new UsageError(`the ${missing.join(', ')} child is not part of this build yet (available: ${availableKinds().join(', ')})`);
  const settings = loadSettings(flags.settingsArgs);
  if (flags.umask !== undefined) process.umask(flags.umask);
  const file = flags.file ?? settings.config;
  const configId = flags.configId ?? (settings.configId || undefined);
  const result = compileConfig(file, configId);
  for (const d of result.diagnostics) io.err(`${formatDiagnostic(d)}\n`);
  if (!result.config) {
    io.err(`${file}: ${result.errors} error(s); not starting\n`);
    return EXIT_CONFIG;
  }
  const log = createLogger(settings);
  // without --vrrp/--check a child runs only while the configuration gives it work (childHasWork)
  return runDaemon({ file, configId, config: result.config, settings, flags, kinds, onDemand: flags.kinds === undefined, log, report: (line) => io.err(`${line}\n`) });
}
