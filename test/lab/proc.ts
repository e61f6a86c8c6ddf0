import { spawn as cpSpawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from './errors.js';
import { guardExit } from './exit-guard.js';
import { nsArgv } from './exec.js';
import { groupAlive, killGroup } from './pids.js';
import { sleep } from './wait.js';

/** How a spawned process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Options for a long-running process. */
export interface SpawnOptions {
  /** Folder for `<name>.out` / `<name>.err`. */
  logDir: string;
  /** Log file base name (default: the program name and pid). */
  name?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Time between SIGTERM and SIGKILL in stop() (default 2 s). */
  graceMs?: number;
}

/** A long-running process in its own process group, output captured to files. */
export class Proc {
  /** Pid of the leader (also the process group id). */
  readonly pid: number;
  readonly name: string;
  readonly argv: readonly string[];
  readonly stdoutPath: string;
  readonly stderrPath: string;
  /** Settles when the leader exits. */
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;
  private readonly graceMs: number;
  private readonly unguard: () => void;

  /** Use `spawn()`. */
  constructor(pid: number, name: string, argv: readonly string[], paths: [string, string], exited: Promise<ExitInfo>, graceMs: number) {
    this.pid = pid;
    this.name = name;
    this.argv = argv;
    [this.stdoutPath, this.stderrPath] = paths;
    this.graceMs = graceMs;
    this.unguard = guardExit(() => this.killSync());
    this.exited = exited.then((info) => {
      this.exitInfo = info;
      // nothing of ours left: forget the pgid so that the exit net never signals a reused one
      if (!groupAlive(pid)) this.unguard();
      return info;
    });
  }

  /** True until the leader has exited. */
  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** Sends a signal to the leader only, or to the whole process group. */
  signal(sig: NodeJS.Signals, group = false): boolean {
    if (group) return killGroup(this.pid, sig);
    if (!this.running) return false;
    try {
      process.kill(this.pid, sig);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGTERM to the group, SIGKILL after the grace time; resolves once the whole group is gone. Idempotent. */
  async stop(graceMs = this.graceMs): Promise<ExitInfo> {
    if (killGroup(this.pid, 'SIGTERM')) {
      const deadline = performance.now() + graceMs;
      while (performance.now() < deadline && groupAlive(this.pid)) {
        if (this.running) await Promise.race([this.exited, sleep(25)]);
        else await sleep(25);
      }
      if (groupAlive(this.pid)) killGroup(this.pid, 'SIGKILL');
    }
    const info = await this.exited;
    for (let i = 0; i < 100 && groupAlive(this.pid); i++) await sleep(10);
    this.unguard();
    return info;
  }

  /** Immediate SIGKILL of the whole group (for exit paths). */
  killSync(): void {
    if (groupAlive(this.pid)) killGroup(this.pid, 'SIGKILL');
  }

  /** Captured stdout so far. */
  stdout(): string {
    return readText(this.stdoutPath);
  }

  /** Captured stderr so far. */
  stderr(): string {
    return readText(this.stderrPath);
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Starts a long-running process in namespace `ns` (or on the host when null), detached into its own process group. */
export function spawn(ns: string | null, argv: readonly string[], opts: SpawnOptions): Proc {
  const full = nsArgv(ns, argv);
  const [cmd, ...args] = full;
  if (cmd === undefined || argv.length === 0) throw new LabError('ESPAWN', 'lab.spawn: empty argv');
  const base = opts.name ?? `${(argv[0] ?? 'proc').split('/').pop()}-${Date.now().toString(36)}`;
  const paths: [string, string] = [join(opts.logDir, `${base}.out`), join(opts.logDir, `${base}.err`)];
  const fdOut = openSync(paths[0], 'a');
  const fdErr = openSync(paths[1], 'a');
  try {
    const child = cpSpawn(cmd, args, {
      detached: true,
      stdio: ['ignore', fdOut, fdErr],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    if (child.pid === undefined) {
      throw new LabError('ESPAWN', `lab.spawn ${ns ?? 'host'}: ${full.join(' ')}: no pid (command not found?)`);
    }
    const exited = new Promise<ExitInfo>((resolve) => {
      child.on('exit', (code, signal) => resolve({ code, signal }));
      child.on('error', () => resolve({ code: null, signal: null }));
    });
    return new Proc(child.pid, base, full, paths, exited, opts.graceMs ?? 2000);
  } finally {
    closeSync(fdOut);
    closeSync(fdErr);
  }
}
