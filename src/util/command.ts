import { spawn } from 'node:child_process';

/**
 * Splits a keepalived script line into argv: blanks separate words; single or double quotes
 * group them (keepalived: "use single quotes for a parameter containing a space").
 */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let has = false;
  for (const c of line) {
    if (quote) {
      if (c === quote) quote = undefined;
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (c === ' ' || c === '\t') {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else cur += c;
  }
  if (has || cur) out.push(cur);
  return out;
}

/** The outcome of one script run. */
export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly error?: string;
}

/**
 * Runs argv without a shell; on timeout sends SIGTERM to its process group, then SIGKILL after
 * `killGraceMs`, so a hanging script and its children never pile up.
 */
export function runScript(argv: readonly string[], opts: { timeoutMs: number; killGraceMs?: number; env?: NodeJS.ProcessEnv; uid?: number; gid?: number }): Promise<RunResult> {
  return new Promise((resolve) => {
    const [cmd, ...args] = argv;
    if (!cmd) return resolve({ code: null, signal: null, timedOut: false, error: 'empty command' });
    let timedOut = false;
    let done = false;
    const child = spawn(cmd, args, {
      stdio: 'ignore',
      detached: true,
      env: opts.env ?? process.env,
      ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
      ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
    });
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        /* already gone */
      }
    };
    let grace: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      grace = setTimeout(() => killGroup('SIGKILL'), opts.killGraceMs ?? 1000);
    }, opts.timeoutMs);
    const finish = (r: RunResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // Children the script left behind in its group go too.
      killGroup('SIGKILL');
      if (grace) clearTimeout(grace);
      resolve(r);
    };
    child.on('error', (e) => finish({ code: null, signal: null, timedOut, error: e.message }));
    child.on('exit', (code, signal) => finish({ code, signal, timedOut }));
  });
}

/** Runs scripts one after another, in the order they were queued (notify ordering). */
export class ScriptQueue {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly onDone: (argv: readonly string[], r: RunResult) => void, private readonly timeoutMs = 30_000) {}

  /** Queues argv; it starts when every earlier one has finished or timed out. */
  push(argv: readonly string[]): void {
    this.chain = this.chain.then(async () => this.onDone(argv, await runScript(argv, { timeoutMs: this.timeoutMs })));
  }

  /** Resolves when everything queued so far has run. */
  idle(): Promise<void> {
    return this.chain.then(() => undefined);
  }
}
