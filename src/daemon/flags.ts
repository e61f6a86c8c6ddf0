/*
 * The options of `vigil run`, which are keepalived's (keepalived 2.2.7 --help) plus vigil's
 * settings, so that a unit file's `ExecStart=/usr/sbin/keepalived -D -f FILE ...` works with
 * `vigil` in its place. Pure: argv in, a typed result or a UsageError out.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../cli/io.js';
import { settingsFlags } from '../settings.js';
import type { ChildKind } from './ipc.js';

/** keepalived's default data and stats dump files (SIGUSR1, SIGUSR2). */
export const KEEPALIVED_DATA_FILE = '/tmp/keepalived.data';
export const KEEPALIVED_STATS_FILE = '/tmp/keepalived.stats';

/** keepalived's signal numbers for `--signum` (SIGRTMIN-based ones are not handled by vigil). */
export const SIGNUMS: Readonly<Record<string, number>> = { STOP: 15, RELOAD: 1, DATA: 10, STATS: 12 };

/** What the options of `vigil run` ask for. */
export interface RunFlags {
  /** -f/--use-file. */
  readonly file?: string;
  /** -i/--config-id. */
  readonly configId?: string;
  /** -P/--vrrp and -C/--check select children; undefined = every child. */
  readonly kinds?: readonly ChildKind[];
  /** -p/--pid: the supervisor's pid file. */
  readonly pidFile?: string;
  /** -r/--vrrp_pid and -c/--checkers_pid: the children's pid files. */
  readonly childPidFiles: Partial<Record<ChildKind, string>>;
  /** -R/--dont-respawn: a child that dies stops the daemon instead of being restarted. */
  readonly respawn: boolean;
  /** -u/--umask, parsed. */
  readonly umask?: number;
  /** --signum=SIGFUNC: print the signal number and exit. */
  readonly signum?: string;
  readonly dataFile: string;
  readonly statsFile: string;
  /** Arguments for loadSettings (`--socket PATH`, `--log-level debug` for -D, ...). */
  readonly settingsArgs: readonly string[];
  /**
   * --single-process (or VIGIL_SINGLE_PROCESS=1): run every engine in the supervisor's process
   * instead of child processes. For benchmarking and debugging only (in-process.ts).
   */
  readonly singleProcess: boolean;
  /** Options accepted for compatibility that change nothing, each with why (logged at start). */
  readonly notes: readonly string[];
}

/** keepalived options vigil does not take, and what to do instead. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  X: 'release-vips',
  V: 'dont-release-vrrp',
  I: 'dont-release-ipvs',
  d: 'dump-conf',
  a: 'address-monitoring',
  x: 'snmp',
  A: 'snmp-agent-socket',
  s: 'namespace',
  m: 'core-dump',
  M: 'core-dump-pattern',
  e: 'all-config',
  T: 'genhash',
};
const INSTEAD: Readonly<Record<string, string>> = {
  'dump-conf': "use 'vigil check-config --dump'",
  genhash: "use 'vigil genhash'",
  namespace: "run vigil inside the namespace ('ip netns exec NAME vigil ...')",
  snmp: 'vigil has no SNMP; use --metrics-listen (Prometheus)',
  'snmp-agent-socket': 'vigil has no SNMP; use --metrics-listen (Prometheus)',
};

/** Parses the options of `vigil run` (and of `vigil` with leading options and no command). */
export function parseRunFlags(args: readonly string[], env: NodeJS.ProcessEnv = process.env): RunFlags {
  for (const a of args) {
    const long = /^--([^=]+)/.exec(a)?.[1];
    const short = /^-([A-Za-z])/.exec(a)?.[1];
    const name = long ?? (short !== undefined ? UNSUPPORTED[short] : undefined);
    if (name !== undefined && Object.values(UNSUPPORTED).includes(name))
      throw new UsageError(`keepalived's --${name}${short ? ` (-${short})` : ''} is not supported by vigil${INSTEAD[name] ? `: ${INSTEAD[name]}` : ''}`);
  }
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: {
      'use-file': { type: 'string', short: 'f' },
      'config-id': { type: 'string', short: 'i' },
      vrrp: { type: 'boolean', short: 'P' },
      check: { type: 'boolean', short: 'C' },
      'no_bfd': { type: 'boolean', short: 'B' },
      all: { type: 'boolean' },
      'log-console': { type: 'boolean', short: 'l' },
      'log-detail': { type: 'boolean', short: 'D' },
      'log-facility': { type: 'string', short: 'S' },
      'no-syslog': { type: 'boolean', short: 'G' },
      umask: { type: 'string', short: 'u' },
      'dont-respawn': { type: 'boolean', short: 'R' },
      'dont-fork': { type: 'boolean', short: 'n' },
      pid: { type: 'string', short: 'p' },
      'vrrp_pid': { type: 'string', short: 'r' },
      'checkers_pid': { type: 'string', short: 'c' },
      'bfd_pid': { type: 'string', short: 'b' },
      signum: { type: 'string' },
      'data-file': { type: 'string' },
      'stats-file': { type: 'string' },
      'single-process': { type: 'boolean' },
      ...Object.fromEntries(settingsFlags.filter((f) => f !== 'config-id').map((f) => [f, { type: 'string' as const }])),
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (options only; see 'vigil run --help')`);
  const v = values as Record<string, string | boolean | undefined>;
  const str = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const notes: string[] = [];
  if (v['dont-fork']) notes.push('-n/--dont-fork: vigil never forks into the background');
  if (v['log-console']) notes.push('-l/--log-console: vigil always logs to stderr (the journal under systemd)');
  if (str('log-facility') !== undefined) {
    const f = str('log-facility')!;
    if (!/^([0-7]|local[0-7]|user|daemon)$/.test(f)) throw new UsageError(`-S/--log-facility: '${f}' is not 0-7, local0-local7, user or daemon`);
    notes.push(`-S ${f}: ignored; vigil logs to stderr (the journal under systemd), not syslog`);
  }
  if (v['no-syslog']) notes.push('-G/--no-syslog: vigil does not use syslog anyway');
  if (v['no_bfd'] || str('bfd_pid') !== undefined) notes.push('-B/-b: vigil has no BFD child');
  if (v.all) notes.push('--all: vigil always starts every child it has');
  let umask: number | undefined;
  if (str('umask') !== undefined) {
    const u = str('umask')!;
    // keepalived reads the mask with strtol base 0: 0177 octal, 0x7f hex, 127 decimal.
    const n = /^0[0-7]+$/.test(u) ? parseInt(u, 8) : /^0x[0-9a-f]+$/i.test(u) ? parseInt(u, 16) : /^\d+$/.test(u) ? Number(u) : NaN;
    if (!(n >= 0 && n <= 0o777)) throw new UsageError(`-u/--umask: '${u}' is not a file mode mask (e.g. 0177)`);
    umask = n;
  }
  const signum = str('signum');
  if (signum !== undefined && SIGNUMS[signum] === undefined)
    throw new UsageError(`--signum: '${signum}' is not one of ${Object.keys(SIGNUMS).join(', ')} (keepalived's STATS_CLEAR and JSON use real-time signals, which vigil does not handle)`);
  const kinds: ChildKind[] = [...(v.vrrp ? (['vrrp'] as const) : []), ...(v.check ? (['checker'] as const) : [])];
  const settingsArgs = settingsFlags.flatMap((f) => (str(f) !== undefined ? [`--${f}`, str(f)!] : []));
  if (v['log-detail'] && str('log-level') === undefined) settingsArgs.push('--log-level', 'debug');
  if (str('use-file') !== undefined && str('config') !== undefined) throw new UsageError('give the configuration file once: -f/--use-file or --config');
  const childPidFiles: Partial<Record<ChildKind, string>> = {
    ...(str('vrrp_pid') !== undefined ? { vrrp: str('vrrp_pid')! } : {}),
    ...(str('checkers_pid') !== undefined ? { checker: str('checkers_pid')! } : {}),
  };
  return {
    ...(str('use-file') !== undefined ? { file: str('use-file')! } : {}),
    ...(str('config-id') !== undefined ? { configId: str('config-id')! } : {}),
    ...(kinds.length > 0 ? { kinds } : {}),
    ...(str('pid') !== undefined ? { pidFile: str('pid')! } : {}),
    childPidFiles,
    respawn: !v['dont-respawn'],
    ...(umask !== undefined ? { umask } : {}),
    ...(signum !== undefined ? { signum } : {}),
    dataFile: str('data-file') ?? (env.VIGIL_DATA_FILE || KEEPALIVED_DATA_FILE),
    statsFile: str('stats-file') ?? (env.VIGIL_STATS_FILE || KEEPALIVED_STATS_FILE),
    settingsArgs,
    singleProcess: v['single-process'] === true || singleProcessEnv(env),
    notes,
  };
}

/** VIGIL_SINGLE_PROCESS: 1/true/yes turns single-process mode on; 0/false/no/empty leaves it off; anything else is an error. */
export function singleProcessEnv(env: NodeJS.ProcessEnv): boolean {
  const v = (env['VIGIL_SINGLE_PROCESS'] ?? '').trim().toLowerCase();
  if (v === '' || v === '0' || v === 'false' || v === 'no') return false;
  if (v === '1' || v === 'true' || v === 'yes') return true;
  throw new UsageError(`VIGIL_SINGLE_PROCESS: '${env['VIGIL_SINGLE_PROCESS']}' is not 1/true/yes or 0/false/no`);
}
