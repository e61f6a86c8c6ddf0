import type { Cancel, Clock } from '../util/clock.js';
import type { RunResult } from '../util/command.js';

/** How one vrrp_script is run and judged. */
export interface ScriptTiming {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly rise: number;
  readonly fall: number;
  readonly initFail: boolean;
}

/** Runs the script once with a hard timeout (the engine passes runScript; tests a fake). */
export type ScriptRun = (timeoutMs: number) => Promise<RunResult>;

/** Pure rise/fall bookkeeping of a tracked check. */
export interface RiseFall {
  readonly up: boolean;
  readonly successes: number;
  readonly failures: number;
}

/** Applies one result; returns the new counts and whether the up/down state flipped. */
export function riseFall(s: RiseFall, ok: boolean, rise: number, fall: number): { state: RiseFall; flipped: boolean } {
  const successes = ok ? s.successes + 1 : 0;
  const failures = ok ? 0 : s.failures + 1;
  let up = s.up;
  if (!up && ok && successes >= rise) up = true;
  else if (up && !ok && failures >= fall) up = false;
  return { state: { up, successes, failures }, flipped: up !== s.up };
}

/**
 * Runs a vrrp_script every interval (never two runs at once: a run still going at the next
 * tick makes that tick skip), kills it at its timeout (a failure), and reports up/down changes
 * after `rise` / `fall` consecutive results.
 */
export class ScriptTracker {
  private s: RiseFall;
  private cancel: Cancel | undefined;
  private running = false;
  private stopped = false;
  /** The last result, for status. */
  last: { ok: boolean; detail: string; at: number } | undefined;

  constructor(
    readonly name: string,
    private readonly timing: ScriptTiming,
    private readonly clock: Clock,
    private readonly run: ScriptRun,
    private readonly onChange: (up: boolean, reason: string) => void,
  ) {
    this.s = { up: !timing.initFail, successes: 0, failures: 0 };
  }

  get up(): boolean {
    return this.s.up;
  }

  start(): void {
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    this.cancel?.();
  }

  private tick(): void {
    if (this.stopped) return;
    this.cancel = this.clock.setTimeout(() => this.tick(), this.timing.intervalMs);
    if (this.running) return;
    this.running = true;
    this.run(this.timing.timeoutMs).then(
      (r) => this.result(r),
      (e: unknown) => this.result({ code: null, signal: null, timedOut: false, error: String(e) }),
    );
  }

  private result(r: RunResult): void {
    this.running = false;
    if (this.stopped) return;
    const ok = r.code === 0 && !r.timedOut;
    const detail = r.timedOut ? `timed out after ${this.timing.timeoutMs} ms` : r.error ? r.error : r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
    this.last = { ok, detail, at: this.clock.now() };
    const { state, flipped } = riseFall(this.s, ok, this.timing.rise, this.timing.fall);
    this.s = state;
    if (flipped)
      this.onChange(state.up, `vrrp_script ${this.name} ${state.up ? `succeeded ${this.timing.rise} time(s)` : `failed ${this.timing.fall} time(s) (${detail})`}`);
  }
}
