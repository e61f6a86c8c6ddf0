import { spawn as cpSpawn } from 'node:child_process';
import { LabError } from './errors.js';
import { guardExit } from './exit-guard.js';
import { killGroup } from './pids.js';

/** Result of a finished command. */
export interface ExecResult {
  argv: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

/** Options for a short command. */
export interface ExecOptions {
  /** Deadline for the whole command (default 10 s); on expiry its process group gets SIGKILL. */
  timeoutMs?: number;
  /** Text written to stdin (stdin is closed either way). */
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** The argv that runs `argv` inside network namespace `ns` (or on the host when ns is null). */
export function nsArgv(ns: string | null, argv: readonly string[]): string[] {
  return ns === null ? [...argv] : ['ip', 'netns', 'exec', ns, ...argv];
}

/** One-line description of a result for error messages. */
export function describeResult(r: ExecResult): string {
  const how = r.timedOut ? `timed out after ${r.durationMs} ms` : r.signal ? `died of ${r.signal}` : `exited ${r.code}`;
  const err = r.stderr.trim().split('\n').slice(-5).join(' | ');
  return `${r.argv.join(' ')}: ${how}${err ? `: ${err}` : ''}`;
}

/** Runs a command on the host (in its own process group) and collects its output; never rejects on exit status. */
export function run(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return Promise.reject(new LabError('ESPAWN', 'lab.run: empty argv'));
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = cpSpawn(cmd, args, {
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
    const pid = child.pid;
    const unguard = pid === undefined ? () => {} : guardExit(() => killGroup(pid, 'SIGKILL'));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (pid !== undefined) killGroup(pid, 'SIGKILL');
    }, timeoutMs);
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let done = false;
    const finish = (): void => {
      if (done || exit === undefined) return;
      done = true;
      clearTimeout(timer);
      unguard();
      resolve({
        argv: [...argv],
        code: exit.code,
        signal: exit.signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
        durationMs: Math.round(performance.now() - started),
      });
    };
    child.on('error', (e) => {
      clearTimeout(timer);
      unguard();
      done = true;
      reject(new LabError('ESPAWN', `lab.run ${argv.join(' ')}: ${e.message}`, { cause: e }));
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // A daemon that inherited our pipes must not hold us: give the streams a moment, then finish.
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, 200).unref();
    });
    child.on('close', finish);
  });
}

/** Runs `argv` inside namespace `ns` via `ip netns exec`; resolves with code/stdout/stderr (never rejects on status). */
export function exec(ns: string | null, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return run(nsArgv(ns, argv), opts);
}

/** Like `exec` but rejects with EEXIT/ETIMEDOUT unless the command exits 0; resolves with stdout. */
export async function execOk(ns: string | null, argv: readonly string[], opts: ExecOptions = {}): Promise<string> {
  const r = await exec(ns, argv, opts);
  if (r.timedOut) throw new LabError('ETIMEDOUT', `lab.exec ${ns ?? 'host'}: ${describeResult(r)}`);
  if (r.code !== 0) throw new LabError('EEXIT', `lab.exec ${ns ?? 'host'}: ${describeResult(r)}`);
  return r.stdout;
}
