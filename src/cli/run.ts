import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { compile } from '../config/compile.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import { createLogger } from '../log.js';
import { poller } from '../net/poller.js';
import { loadSettings, settingsFlags } from '../settings.js';
import { VrrpEngine } from '../vrrp/engine.js';
import { EXIT_CONFIG } from './check-config.js';
import type { Io } from './io.js';
import { ControlServer } from '../control/server.js';
import { performance } from 'node:perf_hooks';
import { version } from '../version.js';
import { serveMetrics, vrrpRegistry } from '../metrics/server.js';

export const runHelp = `Usage: vigil run [-f FILE] [-i CONFIG_ID] [options]

Runs the directors' engines for keepalived.conf. Today: the VRRP engine (every vrrp_instance:
adverts, elections, VIPs, gratuitous ARP / NA, notify scripts). The configuration is checked
first; nothing starts on a configuration with errors (exit ${EXIT_CONFIG}).

SIGTERM or SIGINT stops gracefully: masters send a priority-0 advert and release their VIPs.

Options:
  -f, --use-file FILE    configuration file (default: --config / VIGIL_CONFIG)
  -i, --config-id ID     select '@ID' conditional lines (default: short host name)
  -P, --vrrp             run the VRRP engine only (keepalived's -P; the default today)
      --log-level LEVEL  trace|debug|info|warn|error (VIGIL_LOG_LEVEL)
      --log-format FMT   auto|json|pretty (VIGIL_LOG_FORMAT)
      --socket PATH      control socket for 'vigil status' (VIGIL_SOCKET)
      --metrics-listen HOST:PORT  serve Prometheus metrics at /metrics (VIGIL_METRICS_LISTEN)
`;

/** `vigil run`: compiles the configuration and runs the VRRP engine until SIGTERM/SIGINT. */
export async function runCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      'use-file': { type: 'string', short: 'f' },
      'config-id': { type: 'string', short: 'i' },
      vrrp: { type: 'boolean', short: 'P' },
      ...Object.fromEntries(settingsFlags.filter((f) => f !== 'config-id').map((f) => [f, { type: 'string' as const }])),
    },
  });
  const flags = values as Record<string, string | boolean | undefined>;
  const settings = loadSettings(settingsFlags.flatMap((f) => (typeof flags[f] === 'string' ? [`--${f}`, flags[f] as string] : [])));
  const file = values['use-file'] ?? settings.config;
  const configId = values['config-id'] ?? (settings.configId || undefined);
  const result = compile(file, { ...(configId !== undefined ? { configId } : {}), interfaceExists: (n) => existsSync(`/sys/class/net/${n}`) });
  for (const d of result.diagnostics) io.err(`${formatDiagnostic(d)}\n`);
  if (!result.config) {
    io.err(`${file}: ${result.errors} error(s); not starting\n`);
    return EXIT_CONFIG;
  }
  const log = createLogger(settings);
  let engine: VrrpEngine;
  try {
    engine = await VrrpEngine.create(result.config, { log });
  } catch (e) {
    log.fatal({ op: 'vrrp.start', err: e }, (e as Error).message);
    io.err(`vigil: ${(e as Error).message}\n`);
    poller().stop();
    return 1;
  }
  const startedAt = new Date().toISOString();
  const wall = (mono: number) => new Date(Date.now() - (performance.now() - mono)).toISOString();
  const control = new ControlServer(
    settings.socket,
    {
      status: () => ({
        version: version(),
        pid: process.pid,
        config: file,
        startedAt,
        vrrp: engine.snapshot().map((v) => ({
          ...v,
          since: wall(v.since),
          inStateMs: Math.round(performance.now() - v.since),
          ...(v.lastTransition ? { lastTransition: { from: v.lastTransition.from, to: v.lastTransition.to, reason: v.lastTransition.reason, at: wall(v.lastTransition.at) } } : {}),
        })),
      }),
    },
    log,
  );
  try {
    await control.listen();
  } catch (e) {
    log.fatal({ op: 'control', err: e }, (e as Error).message);
    io.err(`vigil: ${(e as Error).message}\n`);
    await engine.stop();
    poller().stop();
    return 1;
  }
  let closeMetrics: () => Promise<void> = async () => {};
  if (settings.metricsListen) {
    try {
      closeMetrics = await serveMetrics(settings.metricsListen, vrrpRegistry(() => engine.snapshot()), log);
    } catch (e) {
      log.fatal({ op: 'metrics', err: e }, `cannot listen on ${settings.metricsListen}: ${(e as Error).message}`);
      io.err(`vigil: metrics: cannot listen on ${settings.metricsListen}: ${(e as Error).message}\n`);
      await Promise.all([engine.stop(), control.close()]);
      poller().stop();
      return 1;
    }
  }
  log.info({ op: 'start', config: file, instances: result.config.vrrpInstances.length, socket: settings.socket }, `vigil started with ${file}`);
  await engine.start();
  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ op: 'stop', signal: sig }, `received ${sig}: stopping`);
      Promise.all([engine.stop(), control.close(), closeMetrics()])
        .then(() => {
          poller().stop();
          log.info({ op: 'stop' }, 'stopped');
          resolve(0);
        })
        .catch((e: unknown) => {
          log.error({ op: 'stop', err: e }, 'error while stopping');
          poller().stop();
          resolve(1);
        });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => log.warn({ op: 'reload' }, 'reload (SIGHUP) is not implemented yet; restart to apply a new configuration'));
  });
}
