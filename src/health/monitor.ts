import type { Logger } from 'pino';
import { type Cancel, type Clock, realClock } from '../util/clock.js';
import type { CheckResult } from './result.js';
import { type CheckerState, type Timing, checkerStep, firstDelayMs, initialChecker, rsUp } from './state.js';

/*
 * Runs the checkers of one real server on the injected clock: first check after a random warmup,
 * then delay_loop or delay_before_retry as state.ts decides; emits a transition of the real server
 * (up when all checkers are up) once per change. The probes do the I/O; this file only schedules.
 * It runs one real server alone; engine.ts runs a whole configuration (fan-out, spread, limit).
 */

/** Runs one check; must resolve (never reject) within its own deadline. */
export type Probe = () => Promise<CheckResult>;

/** A checker to run: a name for logs, its timing and its probe. */
export interface MonitoredChecker {
  readonly name: string;
  readonly timing: Timing;
  readonly probe: Probe;
}

/** A real server went up or down. */
export interface RsTransition {
  readonly rs: string;
  readonly up: boolean;
  readonly reason: string;
  /** Clock time of the change. */
  readonly at: number;
}

/** One checker as `vigil status` shows it. */
export interface CheckerSnapshot {
  readonly name: string;
  readonly up: boolean;
  readonly failures: number;
  readonly lastReason: string;
  readonly lastDetail: string;
  readonly lastLatencyMs?: number;
  readonly checks: number;
}

/** A real server as `vigil status` shows it. */
export interface RsSnapshot {
  readonly rs: string;
  readonly up: boolean;
  /** Clock time of the last transition (or of start). */
  readonly since: number;
  readonly reason: string;
  readonly checkers: readonly CheckerSnapshot[];
}

/** Options of a RealServerMonitor. */
export interface MonitorOptions {
  /** Name of the real server in transitions and logs, e.g. `192.168.3.2:80`. */
  readonly rs: string;
  readonly checkers: readonly MonitoredChecker[];
  readonly onTransition: (t: RsTransition) => void;
  readonly clock?: Clock;
  /** Uniform [0,1) source for warmup; injectable for tests. */
  readonly random?: () => number;
  readonly log?: Logger;
}

interface Slot {
  readonly c: MonitoredChecker;
  state: CheckerState;
  cancel?: Cancel;
  lastDetail: string;
  lastLatencyMs?: number;
  checks: number;
}

/** The checkers of one real server and its up/down state. */
export class RealServerMonitor {
  private readonly clock: Clock;
  private readonly slots: Slot[];
  private running = false;
  private up: boolean;
  private since: number;
  private reason: string;

  constructor(private readonly o: MonitorOptions) {
    this.clock = o.clock ?? realClock;
    this.slots = o.checkers.map((c) => ({ c, state: initialChecker(c.timing), lastDetail: '', checks: 0 }));
    this.up = rsUp(this.slots.map((s) => s.state));
    this.since = this.clock.now();
    this.reason = this.up ? 'start' : 'alpha';
  }

  /** Current state of the real server. */
  get isUp(): boolean {
    return this.up;
  }

  /** Schedules every checker's first check after its warmup. Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const random = this.o.random ?? Math.random;
    for (const s of this.slots) this.schedule(s, firstDelayMs(s.c.timing, random));
  }

  /** Cancels all timers; results of checks in flight are dropped. Idempotent. */
  stop(): void {
    this.running = false;
    for (const s of this.slots) s.cancel?.();
  }

  /** State for `vigil status`. */
  snapshot(): RsSnapshot {
    return {
      rs: this.o.rs,
      up: this.up,
      since: this.since,
      reason: this.reason,
      checkers: this.slots.map((s) => ({
        name: s.c.name,
        up: s.state.up,
        failures: s.state.failures,
        lastReason: s.state.lastReason,
        lastDetail: s.lastDetail,
        checks: s.checks,
        ...(s.lastLatencyMs !== undefined ? { lastLatencyMs: s.lastLatencyMs } : {}),
      })),
    };
  }

  private schedule(s: Slot, ms: number): void {
    s.cancel = this.clock.setTimeout(() => this.run(s), ms);
  }

  private run(s: Slot): void {
    if (!this.running) return;
    s.c
      .probe()
      .catch((e: unknown): CheckResult => ({ ok: false, reason: 'io-error', latencyMs: 0, detail: `probe threw: ${String(e)}` }))
      .then((r) => {
        if (!this.running) return;
        this.apply(s, r);
      });
  }

  private apply(s: Slot, r: CheckResult): void {
    s.checks++;
    s.lastDetail = r.detail;
    s.lastLatencyMs = r.latencyMs;
    const step = checkerStep(s.state, s.c.timing, r.ok, r.reason, r.detail);
    s.state = step.state;
    if (!r.ok) this.o.log?.debug({ op: 'check', rs: this.o.rs, checker: s.c.name, reason: r.reason, detail: r.detail, retrying: step.retrying }, 'check failed');
    if (step.change) {
      this.o.log?.info({ op: 'checker', rs: this.o.rs, checker: s.c.name, up: step.change.up, reason: step.change.reason }, `checker ${step.change.up ? 'up' : 'down'}`);
      const up = rsUp(this.slots.map((x) => x.state));
      if (up !== this.up) {
        this.up = up;
        this.since = this.clock.now();
        this.reason = `${s.c.name}: ${step.change.reason}`;
        this.o.onTransition({ rs: this.o.rs, up, reason: this.reason, at: this.since });
      }
    }
    this.schedule(s, step.nextInMs);
  }
}
