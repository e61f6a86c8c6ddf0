/*
 * The entry of every child process: `node dist/daemon/child.js <kind>`, forked by the supervisor
 * with an IPC channel. It waits for `start` (the compiled configuration), starts the kind's
 * engine, answers requests, and stops gracefully on `stop`, SIGTERM or SIGINT. When the channel
 * closes without a `stop` the supervisor is gone: the child exits at once, as in a crash of the
 * whole daemon (VIPs stay in the kernel; the next start sorts them out), so a child never
 * outlives its supervisor.
 */
import type { Logger } from 'pino';
import { createLogger } from '../log.js';
import { RateLimiter } from '../util/rate-limit.js';
import { realClock } from '../util/clock.js';
import { CHILD_ENGINES, type ChildEngine } from './child-engine.js';
import { ProcessTuner, tuningFor } from './process-tuning.js';
import { CHILD_KINDS, type ChildKind, type ChildMessage, type ParentMessage, isReject, parseParentMessage } from './ipc.js';

/** Exit codes of a child, read by the supervisor's log. */
export const CHILD_EXIT = { ok: 0, startFailed: 1, usage: 64, orphaned: 70 } as const;

function send(m: ChildMessage): void {
  try {
    process.send?.(m);
  } catch {
    /* the channel is gone; 'disconnect' handles it */
  }
}

function main(): void {
  const kind = process.argv[2] as ChildKind;
  if (!process.send || !CHILD_KINDS.includes(kind) || !CHILD_ENGINES[kind]) {
    process.stderr.write(`vigil child: started by the supervisor only, as 'child.js <${Object.keys(CHILD_ENGINES).join('|')}>'\n`);
    process.exit(CHILD_EXIT.usage);
  }
  const limiter = new RateLimiter(realClock, 10_000);
  let log: Logger | undefined;
  let engine: ChildEngine | undefined;
  let tuner: ProcessTuner | undefined;
  let stopping: Promise<void> | undefined;
  let starting = false;
  let stopAfterStart: string | undefined;

  const stop = (why: string): void => {
    if (stopping) return;
    if (starting) {
      stopAfterStart ??= why;
      return;
    }
    log?.info({ op: 'child.stop', child: kind, reason: why }, `${kind} child stopping: ${why}`);
    stopping = (engine ? engine.stop() : Promise.resolve()).then(
      () => process.exit(CHILD_EXIT.ok),
      (err: unknown) => {
        log?.error({ op: 'child.stop', child: kind, err }, 'error while stopping');
        process.exit(CHILD_EXIT.startFailed);
      },
    );
  };

  const onMessage = async (raw: unknown): Promise<void> => {
    const m = parseParentMessage(raw);
    if (isReject(m)) {
      const suppressed = limiter.allow('ipc-reject');
      if (suppressed >= 0) (log ?? createLogger({ logLevel: 'info', logFormat: 'json' })).warn({ op: 'ipc.reject', child: kind, reason: m.reject, suppressed }, `ignored a malformed message from the supervisor: ${m.reject}`);
      return;
    }
    await handle(m);
  };

  const handle = async (m: ParentMessage): Promise<void> => {
    switch (m.t) {
      case 'start': {
        if (log) return; // started already
        log = createLogger(m.options).child({ child: kind });
        starting = true;
        try {
          const start = await CHILD_ENGINES[kind]!();
          engine = await start(m.config, { log, ...(m.holds ? { holds: m.holds } : {}), ...(m.options.stateDir !== undefined ? { stateDir: m.options.stateDir } : {}), ...(m.options.ipvsResyncMs !== undefined ? { ipvsResyncMs: m.options.ipvsResyncMs } : {}) });
        } catch (err) {
          log.fatal({ op: 'child.start', child: kind, err }, (err as Error).message);
          send({ t: 'fatal', message: (err as Error).message });
          process.exit(CHILD_EXIT.startFailed);
        } finally {
          starting = false;
        }
        // A SIGTERM that arrived while starting stops the engine now that it exists.
        if (stopAfterStart !== undefined) return stop(stopAfterStart);
        // keepalived's <kind>_priority / _rt_priority / _rlimit_rttime / _no_swap, once the engine runs
        if (kind === 'vrrp' || kind === 'checker') {
          tuner = new ProcessTuner(kind, log);
          tuner.apply(tuningFor(kind, m.config.globalDefs));
        }
        send({ t: 'ready' });
        return;
      }
      case 'stop':
        stop('asked by the supervisor');
        return;
      case 'request': {
        if (!engine || stopping) {
          send({ t: 'reply', id: m.id, ok: false, error: stopping ? `${kind} child is stopping` : `${kind} child is not started` });
          return;
        }
        try {
          if (m.op === 'override' && !engine.override) throw new Error(`the ${kind} child has no overrides`);
          const result =
            m.op === 'status'
              ? engine.status()
              : m.op === 'dump'
                ? engine.dump(m.kind)
                : m.op === 'override'
                  ? engine.override!(m.holds)
                  : m.op === 'control'
                    ? await (engine.control ? engine.control(m.method, m.params) : Promise.reject(new Error(`the ${kind} child has no method '${m.method}'`)))
                    : await engine.reload(m.config);
          // keepalived re-applies the process priorities on reload (start_vrrp / start_check)
          if (m.op === 'reload') tuner?.apply(tuningFor(kind as 'vrrp' | 'checker', m.config.globalDefs));
          send({ t: 'reply', id: m.id, ok: true, result });
        } catch (err) {
          send({ t: 'reply', id: m.id, ok: false, error: (err as Error).message });
        }
        return;
      }
    }
  };

  process.on('message', (raw) => void onMessage(raw));
  // Messages sent before a listener exists may be lost: the supervisor sends `start` on this.
  send({ t: 'hello' });
  process.on('disconnect', () => {
    if (stopping) return;
    log?.error({ op: 'child.orphaned', child: kind }, `${kind} child: the supervisor is gone; exiting at once (VIPs stay in the kernel until the next start)`);
    process.exit(CHILD_EXIT.orphaned);
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Reload and dumps go through the supervisor; a signal sent to the whole group must not kill
  // the child (SIGHUP, SIGUSR2) or open node's inspector (SIGUSR1).
  for (const sig of ['SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const) process.on(sig, () => log?.debug({ op: 'child.signal', child: kind, signal: sig }, `${sig} ignored by the ${kind} child (the supervisor handles it)`));
}

main();
