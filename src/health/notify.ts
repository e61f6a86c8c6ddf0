import type { Logger } from 'pino';
import type { ScriptSpec } from '../config/schema/args.js';
import { type RunResult, runScript, splitCommand } from '../util/command.js';
import { defaultRunAs, resolveRunAs } from '../util/users.js';

/*
 * notify_up / notify_down of real servers: one chain per real server (per virtual server), so that
 * the scripts of one real server run in transition order while a hanging script of one server
 * never delays another's. Scripts run without a shell as their `user [group]`, else global_defs
 * script_user, else keepalived_script or root (keepalived's rule), each with a timeout and a kill.
 */

/** Runs one script (argv, no shell); resolves when it exits or was killed. */
export type ScriptRunner = (argv: readonly string[], o: { timeoutMs: number; uid?: number; gid?: number }) => Promise<RunResult>;

/** Options of NotifyQueues. */
export interface NotifyOptions {
  /** Default: runScript from util/command.ts. */
  readonly runner?: ScriptRunner;
  /** Kill a script after this long. Default 30 s. */
  readonly timeoutMs?: number;
  /** global_defs script_user. */
  readonly scriptUser?: { readonly user: string; readonly group?: string };
  readonly log?: Logger;
}

/** Per-key ordered script chains. */
export class NotifyQueues {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly runner: ScriptRunner;
  private readonly timeoutMs: number;

  constructor(private readonly o: NotifyOptions = {}) {
    this.runner = o.runner ?? runScript;
    this.timeoutMs = o.timeoutMs ?? 30_000;
  }

  /** Queues `spec` behind every script queued earlier under `key`; `ctx` is logged with failures. */
  push(key: string, spec: ScriptSpec, ctx: Record<string, unknown>): void {
    const argv = splitCommand(spec.command);
    const runAs = spec.user !== undefined ? resolveRunAs(spec.user, spec.group) : defaultRunAs(this.o.scriptUser);
    if (!runAs || argv.length === 0) {
      this.o.log?.error({ op: 'health.notify', ...ctx, script: spec.command, user: spec.user }, runAs ? 'notify script is empty' : `notify script user ${spec.user ?? ''} does not exist here; not run`);
      return;
    }
    const ids = runAs.uid === process.getuid?.() && runAs.gid === process.getgid?.() ? {} : runAs;
    const prev = this.chains.get(key) ?? Promise.resolve();
    const next = prev.then(async () => {
      const r = await this.runner(argv, { timeoutMs: this.timeoutMs, ...ids }).catch((e: unknown): RunResult => ({ code: null, signal: null, timedOut: false, error: String(e) }));
      if (r.code !== 0) this.o.log?.warn({ op: 'health.notify', ...ctx, script: spec.command, code: r.code, signal: r.signal, timedOut: r.timedOut, err: r.error }, 'notify script failed');
    });
    this.chains.set(key, next);
    void next.then(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
  }

  /** Resolves when every script queued so far has finished. */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.all([...this.chains.values()]);
  }
}
