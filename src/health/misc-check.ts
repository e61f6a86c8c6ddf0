import { type ChildProcess, spawn } from 'node:child_process';
import { type Cancel, type Clock, realClock } from '../util/clock.js';
import type { CheckResult, Reason } from './result.js';

/*
 * MISC_CHECK (keepalived check_misc.c): run a program, judge its exit status. The program leads a
 * process group of its own; at misc_timeout the check ends at once as `script-timeout`, the group
 * gets SIGTERM and, `killGraceMs` later, SIGKILL (keepalived: SIGTERM, then SIGKILL 2 s later).
 * When the program exits, whatever it left behind in its group is killed too, so no child
 * survives a check. The promise never rejects.
 */

/** keepalived check_misc.c: SIGKILL follows SIGTERM after 2 seconds. */
export const MISC_KILL_GRACE_MS = 2000;

/** One MISC_CHECK run. */
export interface MiscCheckOptions {
  /** Program and arguments (splitCommand of misc_path), run without a shell. */
  readonly argv: readonly string[];
  /** misc_timeout in ms: the hard deadline of the check. */
  readonly timeoutMs: number;
  /** misc_dynamic: exit status 2-255 is a success that sets the weight to status - 2. */
  readonly dynamic: boolean;
  readonly uid?: number;
  readonly gid?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Delay between SIGTERM and SIGKILL of the group after the deadline. Default MISC_KILL_GRACE_MS. */
  readonly killGraceMs?: number;
}

/**
 * Judges an exit as keepalived does: 0 is up; with misc_dynamic 2-255 is up with weight
 * status - 2 (0-253); anything else (1, or 2-255 without misc_dynamic, or a signal) is down.
 */
export function miscVerdict(code: number | null, signal: NodeJS.Signals | null, dynamic: boolean): { reason: Reason; detail: string; weight?: number } {
  if (code === 0) return { reason: 'ok', detail: 'exit 0' };
  if (code !== null && dynamic && code >= 2 && code <= 255) return { reason: 'ok', detail: `exit ${code}: weight ${code - 2}`, weight: code - 2 };
  if (code !== null) return { reason: 'script-exit', detail: `exit ${code}` };
  return { reason: 'script-signal', detail: `killed by ${signal ?? 'a signal'}` };
}

/** Runs the program once; resolves by the deadline with the verdict. */
export function miscCheck(o: MiscCheckOptions, clock: Clock = realClock): Promise<CheckResult> {
  const t0 = clock.now();
  return new Promise<CheckResult>((resolve) => {
    let done = false;
    let exited = false;
    let child: ChildProcess | undefined;
    let cancelGrace: Cancel | undefined;
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        if (child?.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        /* the group is gone */
      }
    };
    const finish = (reason: Reason, detail: string, weight?: number) => {
      if (done) return;
      done = true;
      cancelDeadline();
      resolve({ ok: reason === 'ok', reason, latencyMs: clock.now() - t0, detail, ...(weight !== undefined ? { weight } : {}) });
    };
    const cancelDeadline = clock.setTimeout(() => {
      finish('script-timeout', `still running after ${o.timeoutMs} ms: killed`);
      if (exited) return;
      killGroup('SIGTERM');
      cancelGrace = clock.setTimeout(() => killGroup('SIGKILL'), o.killGraceMs ?? MISC_KILL_GRACE_MS);
    }, o.timeoutMs);
    const [cmd, ...args] = o.argv;
    if (cmd === undefined || cmd === '') return finish('script-error', 'empty command');
    try {
      child = spawn(cmd, args, {
        stdio: 'ignore',
        detached: true,
        env: o.env ?? process.env,
        ...(o.uid !== undefined ? { uid: o.uid } : {}),
        ...(o.gid !== undefined ? { gid: o.gid } : {}),
      });
    } catch (e) {
      return finish('script-error', `${cmd}: ${(e as Error).message}`);
    }
    child.on('error', (e: NodeJS.ErrnoException) => finish('script-error', `${cmd}: ${e.code ?? e.message}`));
    child.on('exit', (code, signal) => {
      exited = true;
      cancelGrace?.();
      // Children the program left in its group go with it.
      killGroup('SIGKILL');
      const v = miscVerdict(code, signal, o.dynamic);
      finish(v.reason, v.detail, v.weight);
    });
  });
}
