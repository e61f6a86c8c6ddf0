import convict from 'convict';
import net from 'node:net';

/** vigil's own runtime settings (not keepalived.conf): where it keeps things and how it logs. */
export interface Settings {
  /** keepalived.conf to read. */
  readonly config: string;
  /** keepalived's config-id (`-i`): selects `@id` lines. Empty = first label of the host name. */
  readonly configId: string;
  /** Unix socket of the control API. */
  readonly socket: string;
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** json, pretty, or auto (pretty on a terminal, JSON otherwise). */
  readonly logFormat: 'auto' | 'json' | 'pretty';
  /** host:port of the Prometheus endpoint; empty disables it. */
  readonly metricsListen: string;
  /** Directory for persistent state (overrides, last known state). */
  readonly stateDir: string;
  /** Period (ms) of the IPVS re-read that puts right entries changed by hand: 100 ms to 1 h. */
  readonly ipvsResyncMs: number;
}

/** Thrown for bad settings; the message names the setting, its flag and its variable. */
export class SettingsError extends Error {
  readonly code = 'VIGIL_SETTINGS';
}

function listenAddress(v: unknown): void {
  if (v === '') return;
  const s = String(v);
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(s);
  if (!m) throw new Error(`must be HOST:PORT (e.g. 127.0.0.1:9650 or [::1]:9650), or empty to disable; got '${s}'`);
  const host = m[1] ?? m[2] ?? '';
  if (host !== 'localhost' && net.isIP(host) === 0) throw new Error(`'${host}' is not an IP address or localhost`);
  if (Number(m[3]) < 1 || Number(m[3]) > 65535) throw new Error(`port ${m[3]} is out of range 1-65535`);
}

function absolutePath(v: unknown): void {
  if (typeof v !== 'string' || !v.startsWith('/')) throw new Error(`must be an absolute path, got '${String(v)}'`);
}

/** The IPVS re-read period when none is set (an empty VIGIL_IPVS_RESYNC_MS too, as before it was a setting). */
const RESYNC_DEFAULT_MS = 30_000;

// an integer number of milliseconds from 100 ms to 1 h; the variable arrives as a string
convict.addFormat({
  name: 'resync-ms',
  coerce: (v: unknown) => (v === '' ? RESYNC_DEFAULT_MS : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v),
  validate: (v: unknown) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 100 || v > 3_600_000) throw new Error(`must be an integer from 100 to 3600000 (ms); got '${String(v)}'`);
  },
});

const schema = {
  config: { doc: 'keepalived.conf to read', format: String, default: '/etc/keepalived/keepalived.conf', env: 'VIGIL_CONFIG', arg: 'config' },
  configId: { doc: "config-id selecting '@id' lines (keepalived -i)", format: String, default: '', env: 'VIGIL_CONFIG_ID', arg: 'config-id' },
  socket: { doc: 'control socket path', format: absolutePath, default: '/run/vigil/vigil.sock', env: 'VIGIL_SOCKET', arg: 'socket' },
  logLevel: {
    doc: 'log level',
    format: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    default: 'info',
    env: 'VIGIL_LOG_LEVEL',
    arg: 'log-level',
  },
  logFormat: { doc: 'log format', format: ['auto', 'json', 'pretty'], default: 'auto', env: 'VIGIL_LOG_FORMAT', arg: 'log-format' },
  metricsListen: { doc: 'Prometheus endpoint HOST:PORT, empty = off', format: listenAddress, default: '', env: 'VIGIL_METRICS_LISTEN', arg: 'metrics-listen' },
  stateDir: { doc: 'state directory', format: absolutePath, default: '/var/lib/vigil', env: 'VIGIL_STATE_DIR', arg: 'state-dir' },
  ipvsResyncMs: { doc: 'IPVS re-read period (ms) that puts hand changes right', format: 'resync-ms', default: RESYNC_DEFAULT_MS, env: 'VIGIL_IPVS_RESYNC_MS', arg: 'ipvs-resync-ms' },
} as const;

/** The settings with their flags, variables and defaults, for `--help`. */
export const settingsHelp: readonly { flag: string; env: string; doc: string; default: string }[] = Object.values(schema).map((s) => ({
  flag: `--${s.arg}`,
  env: s.env,
  doc: s.doc,
  default: String(s.default),
}));

/** The flags that settings own (each takes a value). */
export const settingsFlags: readonly string[] = Object.values(schema).map((s) => s.arg);

/**
 * Loads settings from defaults, `VIGIL_*` variables and `--flag value` arguments (flags win), and
 * validates them; throws SettingsError naming every bad one.
 */
export function loadSettings(args: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): Settings {
  const c = convict(schema as unknown as convict.Schema<Settings>, { args: [...args], env: { ...env } });
  try {
    c.validate({ allowed: 'warn', output: () => {} });
  } catch (e) {
    const lines = String((e as Error).message)
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const key = /^([A-Za-z]+):/.exec(l)?.[1] as keyof typeof schema | undefined;
        const s = key ? schema[key] : undefined;
        return s ? `${l.replace(/^[A-Za-z]+: /, `--${s.arg} / ${s.env}: `)}` : l;
      });
    throw new SettingsError(`invalid settings:\n  ${lines.join('\n  ')}`);
  }
  return c.getProperties();
}
