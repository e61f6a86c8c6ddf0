/*
 * `vigil run` once the configuration compiled: the supervisor process. It owns the control
 * socket, the metrics endpoint, the pid file and the signals, and runs the engines as children
 * (supervisor.ts): SIGTERM/SIGINT stop them gracefully, SIGHUP reloads, SIGUSR1/SIGUSR2 write
 * keepalived's data and stats dumps.
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { type CompileResult, type Config, compile } from '../config/compile.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import { ControlServer } from '../control/server.js';
import { socketPeer } from '../control/peer.js';
import { overrideHandlers } from '../overrides/handlers.js';
import { overrideMetrics } from '../overrides/metrics.js';
import { asCheckerReport, checkerMetrics, daemonMetrics, serveMetrics, vrrpRegistry, type VrrpMetricsInstance } from '../metrics/server.js';
import type { Settings } from '../settings.js';
import { version } from '../version.js';
import type { RunFlags } from './flags.js';
import type { ChildKind, DumpKind } from './ipc.js';
import { type EngineHost, InProcessEngines } from './in-process.js';
import { type ChildStatus, type ReloadOutcome, Supervisor, removePidFile, writePidFile } from './supervisor.js';
import { FailoverControl, failoverMetrics } from './failover.js';
import { childHasWork } from './child-engine.js';
import { MANAGED_FILE, hasManaged } from '../director/managed-store.js';

/** Compiles keepalived.conf as `vigil run` and every reload do: with this host's interface checks. */
export function compileConfig(file: string, configId: string | undefined): CompileResult {
  return compile(file, { ...(configId !== undefined ? { configId } : {}), interfaceExists: (n) => existsSync(`/sys/class/net/${n}`) });
}

/** The answer to a reload (SIGHUP or `vigil reload`). */
export interface ReloadAnswer {
  /** True when the configuration compiled and every running child applied it. */
  readonly ok: boolean;
  readonly file: string;
  /** Errors in the new configuration; when > 0 nothing changed. */
  readonly errors: number;
  readonly warnings: number;
  /** Every problem as `file:line:col: error|warning: message`. */
  readonly diagnostics: readonly string[];
  /** What each child made of it (absent when the configuration did not compile). */
  readonly children?: readonly ReloadOutcome[];
  readonly ms: number;
}

/** Reload counters for status and metrics. */
export interface ReloadStats {
  ok: number;
  failed: number;
  last?: { readonly at: string; readonly ok: boolean; readonly summary: string };
}

/** The `status` answer of the supervisor: what `vigil status` shows. */
export interface DaemonStatus {
  readonly version: string;
  readonly pid: number;
  readonly config: string;
  readonly startedAt: string;
  /** The VRRP child's instances; empty when it is not running or not answering (see `children`). */
  readonly vrrp: readonly unknown[];
  readonly children: readonly ChildStatus[];
  readonly reloads: ReloadStats;
  /** Other children's snapshots under their kind (`checker`). */
  readonly [kind: string]: unknown;
}

/** Everything `vigil run` decided before starting the daemon. */
export interface DaemonOptions {
  readonly file: string;
  readonly configId: string | undefined;
  readonly config: Config;
  readonly settings: Settings;
  readonly flags: RunFlags;
  readonly kinds: readonly ChildKind[];
  /** Children run only while the configuration gives them work, started and stopped by reloads (no --vrrp/--check). */
  readonly onDemand?: boolean;
  readonly log: Logger;
  /** Reports a start failure to the operator (stderr); the log has it too. */
  readonly report: (line: string) => void;
  /** The child entry (tests); default dist/daemon/child.js. */
  readonly entry?: string;
}

/** Writes a dump file as keepalived does (mode 0600), through a new file renamed into place so a planted symlink is never followed. */
export function writeDumpFile(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Runs the supervisor until SIGTERM/SIGINT (or a child gives up with respawn off); resolves to the exit code. */
export async function runDaemon(o: DaemonOptions): Promise<number> {
  const { log, settings, file } = o;
  const startedAt = new Date().toISOString();
  const reloads: ReloadStats = { ok: 0, failed: 0 };
  let giveUp: (why: string) => void = () => {};
  let failover: FailoverControl | undefined;
  if (o.flags.singleProcess)
    log.warn(
      { op: 'start', singleProcess: true, pid: process.pid },
      `SINGLE-PROCESS MODE (--single-process / VIGIL_SINGLE_PROCESS): the ${o.kinds.join(' and ')} engine(s) run in the supervisor's process (pid ${process.pid}), so checker load can delay VRRP adverts and a crash is not restarted; for benchmarking and debugging only`,
    );
  const childOptions = { logLevel: settings.logLevel, logFormat: settings.logFormat, stateDir: settings.stateDir, ipvsResyncMs: settings.ipvsResyncMs };
  const sup: EngineHost = o.flags.singleProcess
    ? new InProcessEngines({ kinds: o.kinds, config: o.config, log, pidFiles: o.flags.childPidFiles, childOptions, holds: () => failover?.holds() ?? {} })
    : new Supervisor({
        kinds: o.kinds,
        ...(o.onDemand ? { hasWork: (k: ChildKind, c: Config) => childHasWork(k, c, k === 'checker' && hasManaged(path.join(settings.stateDir, MANAGED_FILE))) } : {}),
        config: o.config,
        childOptions,
        log,
        pidFiles: o.flags.childPidFiles,
        respawn: o.flags.respawn,
        ...(o.entry !== undefined ? { entry: o.entry } : {}),
        onGiveUp: (kind, why) => giveUp(`${kind} child ${why} and respawn is off (-R)`),
        holds: () => failover?.holds() ?? {},
        onReady: (kind) => (kind === 'vrrp' ? failover?.resend() : undefined),
      });
  failover = new FailoverControl({ sup, log, file: path.join(settings.stateDir, 'failover.json') });

  const status = async (): Promise<DaemonStatus> => {
    const st = await sup.status();
    return { version: version(), pid: process.pid, config: file, startedAt, ...st.sections, vrrp: (st.sections.vrrp as unknown[] | undefined) ?? [], children: st.children, reloads: { ...reloads } };
  };

  let reloadChain: Promise<unknown> = Promise.resolve();
  const reload = (via: string): Promise<ReloadAnswer> => {
    const run = reloadChain.then(async (): Promise<ReloadAnswer> => {
      const t0 = performance.now();
      log.info({ op: 'reload', via, config: file }, `reload (${via}): reading ${file}`);
      const r = compileConfig(file, o.configId);
      const diagnostics = r.diagnostics.map(formatDiagnostic);
      const ms = () => Math.round(performance.now() - t0);
      if (!r.config) {
        reloads.failed++;
        const summary = `${file}: ${r.errors} error(s); still running the previous configuration`;
        reloads.last = { at: new Date().toISOString(), ok: false, summary };
        log.error({ op: 'reload', via, ok: false, errors: r.errors, diagnostics }, `reload failed: ${summary}:\n${diagnostics.join('\n')}`);
        return { ok: false, file, errors: r.errors, warnings: r.warnings, diagnostics, ms: ms() };
      }
      for (const d of diagnostics) log.warn({ op: 'reload', via, diagnostic: d }, d);
      const children = await sup.reload(r.config);
      const ok = children.every((c) => c.ok);
      if (ok) await failover?.reloaded(r.config);
      if (ok) reloads.ok++;
      else reloads.failed++;
      const summary = children.map((c) => `${c.kind}: ${c.ok ? (c.note ?? 'applied') : `failed: ${c.error}`}`).join('; ');
      reloads.last = { at: new Date().toISOString(), ok, summary };
      log[ok ? 'info' : 'error']({ op: 'reload', via, ok, children, ms: ms() }, `reload ${ok ? 'done' : 'failed'} in ${ms()} ms: ${summary}`);
      return { ok, file, errors: 0, warnings: r.warnings, diagnostics, children, ms: ms() };
    });
    reloadChain = run.catch(() => {});
    return run;
  };

  const dump = async (kind: DumpKind): Promise<void> => {
    const target = kind === 'data' ? o.flags.dataFile : o.flags.statsFile;
    try {
      const body = await sup.dump(kind);
      const head = `------< vigil ${version()} ${kind} dump, pid ${process.pid}, ${new Date().toISOString()} (keepalived.${kind} layout; fields vigil does not track are left out) >------\n`;
      writeDumpFile(target, head + body);
      log.info({ op: 'dump', kind, file: target }, `wrote the ${kind} dump to ${target}`);
    } catch (err) {
      log.error({ op: 'dump', kind, file: target, err }, `cannot write the ${kind} dump to ${target}: ${(err as Error).message}`);
    }
  };

  // Signals from the start on: a SIGHUP during start-up must not kill the daemon (node's default).
  let started = false;
  let stopping = false;
  let stopNow: ((why: string, code: number) => void) | undefined;
  let stopWanted: { why: string; code: number } | undefined;
  const requestStop = (why: string, code: number) => (stopNow ? stopNow(why, code) : (stopWanted ??= { why, code }));
  giveUp = (why) => requestStop(why, 1);
  const handlers: [NodeJS.Signals, () => void][] = [
    ['SIGTERM', () => requestStop('received SIGTERM', 0)],
    ['SIGINT', () => requestStop('received SIGINT', 0)],
    [
      'SIGHUP',
      () => {
        if (started && !stopping) void reload('SIGHUP');
        else log.warn({ op: 'reload', via: 'SIGHUP' }, `SIGHUP while ${stopping ? 'stopping' : 'starting'}: ignored`);
      },
    ],
    ['SIGUSR1', () => void (started ? dump('data') : undefined)],
    ['SIGUSR2', () => void (started ? dump('stats') : undefined)],
  ];
  for (const [sig, h] of handlers) process.on(sig, h);
  const unhook = () => {
    for (const [sig, h] of handlers) process.off(sig, h);
  };

  // The control socket first: a second vigil must refuse before it touches any VIP.
  const control = new ControlServer(settings.socket, { status: () => status(), reload: () => reload('vigil reload'), failover: (p, caller) => failover!.handle(p, caller), ...overrideHandlers(sup) }, log, socketPeer);
  try {
    await control.listen();
  } catch (e) {
    log.fatal({ op: 'control', err: e }, (e as Error).message);
    o.report(`vigil: ${(e as Error).message}`);
    unhook();
    return 1;
  }
  if (o.flags.pidFile) writePidFile(o.flags.pidFile, process.pid, log);
  const cleanup = async () => {
    failover?.close();
    await control.close();
    if (o.flags.pidFile) removePidFile(o.flags.pidFile, process.pid);
  };
  for (const n of o.flags.notes) log.info({ op: 'start', note: n }, n);
  log.debug({ op: 'settings', settings, flags: o.flags }, 'effective settings');
  try {
    await sup.start();
  } catch (e) {
    log.fatal({ op: 'start', err: e }, (e as Error).message);
    o.report(`vigil: ${(e as Error).message}`);
    await cleanup();
    unhook();
    return 1;
  }
  let closeMetrics: () => Promise<void> = async () => {};
  if (settings.metricsListen) {
    let last: DaemonStatus | undefined;
    const reg = vrrpRegistry(() => (last?.vrrp ?? []) as VrrpMetricsInstance[]);
    daemonMetrics(reg, { children: () => last?.children ?? [], reloads: () => reloads });
    checkerMetrics(reg, () => asCheckerReport(last?.['checker']));
    failoverMetrics(reg, failover);
    overrideMetrics(reg, () => (last?.['checker'] as { overrides?: unknown } | undefined)?.overrides);
    try {
      closeMetrics = await serveMetrics(settings.metricsListen, reg, log, async () => {
        last = await status();
      });
    } catch (e) {
      log.fatal({ op: 'metrics', err: e }, `cannot listen on ${settings.metricsListen}: ${(e as Error).message}`);
      o.report(`vigil: metrics: cannot listen on ${settings.metricsListen}: ${(e as Error).message}`);
      await sup.stop();
      await cleanup();
      unhook();
      return 1;
    }
  }
  started = true;
  const running = Object.keys(sup.pids());
  log.info({ op: 'start', config: file, children: running, pids: sup.pids(), socket: settings.socket }, `vigil started with ${file} (children: ${running.join(', ')})`);
  const code = await new Promise<number>((resolve) => {
    stopNow = (why, code) => {
      if (stopping) return;
      stopping = true;
      log.info({ op: 'stop', reason: why }, `${why}: stopping`);
      sup
        .stop('SIGTERM')
        .then(() => Promise.all([cleanup(), closeMetrics()]))
        .then(
          () => {
            log.info({ op: 'stop' }, 'stopped');
            resolve(code);
          },
          (e: unknown) => {
            log.error({ op: 'stop', err: e }, 'error while stopping');
            resolve(1);
          },
        );
    };
    if (stopWanted) stopNow(stopWanted.why, stopWanted.code);
  });
  unhook();
  return code;
}
