import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import type { Cancel, Clock } from '../util/clock.js';
import { MinHeap } from './heap.js';
import type { Timing } from './state.js';

/*
 * When checks run. Pure part: where in its first window a check starts (an even, low-discrepancy
 * spread, so that thousands of checks never start in one burst, at start or after a reload).
 * Edge part: CheckScheduler, one clock timer for the earliest deadline of a heap, a limit of probes
 * in flight with a FIFO of due checks behind it, and a histogram of lateness (actual start -
 * scheduled time) of every check.
 *
 * The limit adapts (nextWindow, AIMD on the event loop's lag): a probe waiting on the network costs
 * nothing, so thousands may be in flight when real servers are slow or silent; but when the process
 * itself is the bottleneck (CPU-bound, as bench:checks is with 10,000 real servers on one CPU),
 * every probe in flight lengthens every other's turn, until healthy servers miss their own
 * connect_timeout (65 % of the checks timed out at 2,048 in flight in user-mode Linux). The window
 * shrinks while the loop lags and grows back, up to maxConcurrent, while it does not.
 */

/** First-check window when warmup is 0 (keepalived: check at once): spread over at most this. */
export const NO_WARMUP_SPREAD_MS = 1000;

/** Node timers have 1 ms resolution: a timer may fire up to this early against performance.now(). */
export const TIMER_SLACK_MS = 1;

/** 1/φ: successive multiples modulo 1 are as evenly spread as any sequence can be (Weyl/golden ratio). */
const GOLDEN = (Math.sqrt(5) - 1) / 2;

/**
 * The window in which a check's first run falls: [0, warmup) as keepalived (warmup defaults to
 * delay_loop), or [0, min(delay_loop, 1 s)) when warmup is 0 (keepalived would start all at once).
 */
export function firstWindowMs(t: Pick<Timing, 'warmupMs' | 'delayLoopMs'>): number {
  return t.warmupMs > 0 ? t.warmupMs : Math.min(t.delayLoopMs, NO_WARMUP_SPREAD_MS);
}

/** The n-th point of the spread, in [0, 1): frac(phase + n/φ). */
export function spreadFraction(n: number, phase: number): number {
  const x = phase + n * GOLDEN;
  return x - Math.floor(x);
}

/** Offset of the n-th check's first run from start, in [0, window). */
export function firstOffsetMs(t: Pick<Timing, 'warmupMs' | 'delayLoopMs'>, n: number, phase: number): number {
  return spreadFraction(n, phase) * firstWindowMs(t);
}

/** Bounds and steps of the adaptive window of probes in flight. */
export interface WindowTuning {
  /** Never fewer probes in flight than this (or maxConcurrent, when smaller). */
  readonly min: number;
  /** The window at start. */
  readonly initial: number;
  /** Lag of the loop (ms) above which the window shrinks. */
  readonly highLagMs: number;
  /** Lag of the loop (ms) under which a full window grows. */
  readonly lowLagMs: number;
  /** How often the lag is sampled while probes run (ms). */
  readonly periodMs: number;
}

/**
 * Default tuning: a window of 64 to start (on the host, 50 in flight ran 9,600 checks/s), never
 * under 16; shrink when a 100 ms sample lands 50 ms late (a turn of the loop that long delays each
 * probe by several times that, and connect_timeout is 1 s at least in practice), grow under 20 ms.
 */
export const DEFAULT_WINDOW: WindowTuning = { min: 16, initial: 64, highLagMs: 50, lowLagMs: 20, periodMs: 100 };

/**
 * The next window from the last one and a lag sample (pure AIMD): x0.75 when the loop lags more
 * than highLagMs, +1/8 (at least 1) when it lags less than lowLagMs and the window held due checks
 * back during the period, else unchanged; always within [min(min, max), max].
 */
export function nextWindow(window: number, lagMs: number, limited: boolean, max: number, t: WindowTuning = DEFAULT_WINDOW): number {
  const lo = Math.min(t.min, max);
  let w = window;
  if (lagMs > t.highLagMs) w = Math.floor(w * 0.75);
  else if (lagMs < t.lowLagMs && limited) w = w + Math.max(1, Math.ceil(w / 8));
  return Math.max(lo, Math.min(max, w));
}

/** Percentiles of check lateness, in milliseconds. */
export interface LatenessStats {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

/** A histogram of lateness (HDR, 3 significant digits, microsecond resolution). */
export class LatenessHistogram {
  private readonly h: RecordableHistogram = createHistogram();

  /** Records one lateness in ms; negative values (a timer firing early) count as 0. */
  record(ms: number): void {
    // Stored as µs + 1: the histogram only takes values >= 1.
    this.h.record(Math.max(0, Math.round(ms * 1000)) + 1);
  }

  /** Percentiles since start or the last reset. */
  stats(): LatenessStats {
    const h = this.h;
    const ms = (us: number): number => (h.count === 0 ? 0 : Math.max(0, Math.round(us) - 1) / 1000);
    return {
      count: h.count,
      meanMs: ms(h.mean),
      p50Ms: ms(h.percentile(50)),
      p90Ms: ms(h.percentile(90)),
      p99Ms: ms(h.percentile(99)),
      p999Ms: ms(h.percentile(99.9)),
      maxMs: ms(h.max),
    };
  }

  /** Starts a new measuring window. */
  reset(): void {
    this.h.reset();
  }
}

/** Something the scheduler runs: one probe and the handling of its result. */
export interface SchedulerTask {
  /** Called with the clock time it was due; resolves when done (a rejection is ignored: the slot is freed either way). */
  run(dueAt: number): Promise<void>;
}

/** Counters of a CheckScheduler. */
export interface SchedulerStats {
  readonly maxConcurrent: number;
  /** The adaptive limit now (at most maxConcurrent). */
  readonly window: number;
  /** Lag of the event loop at the last sample, ms. */
  readonly loopLagMs: number;
  /** Probes running now. */
  readonly inFlight: number;
  /** Most probes ever running at once. */
  readonly maxInFlight: number;
  /** Checks due but waiting for a free slot. */
  readonly queued: number;
  /** Checks waiting for their time. */
  readonly pending: number;
  readonly started: number;
  readonly completed: number;
  readonly lateness: LatenessStats;
}

interface Entry {
  readonly task: SchedulerTask;
  readonly at: number;
  readonly seq: number;
  live: boolean;
  queued: boolean;
}

/**
 * Runs tasks at clock times with at most `maxConcurrent` in flight; due tasks wait in deadline
 * order. Each task has at most one pending run: scheduling it again replaces the earlier time.
 */
export class CheckScheduler {
  private readonly heap = new MinHeap<Entry>();
  private readonly entries = new Map<SchedulerTask, Entry>();
  private ready: Entry[] = [];
  private readyHead = 0;
  private queuedCount = 0;
  private timer: { at: number; cancel: Cancel } | undefined;
  private seq = 0;
  private inFlight = 0;
  private maxInFlight = 0;
  private started = 0;
  private completed = 0;
  /** The adaptive limit of probes in flight (nextWindow). */
  private window: number;
  /** The window held a due check back since the last sample. */
  private limited = false;
  private sampler: Cancel | undefined;
  private pumpPending = false;
  private lagMs = 0;
  /** Lateness of every start: actual start - scheduled time. */
  readonly lateness = new LatenessHistogram();

  constructor(
    private readonly clock: Clock,
    readonly maxConcurrent: number,
    private readonly tuning: WindowTuning = DEFAULT_WINDOW,
  ) {
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) throw new RangeError(`maxConcurrent must be a positive integer, got ${maxConcurrent}`);
    this.window = Math.min(maxConcurrent, Math.max(tuning.min, tuning.initial));
  }

  /** Runs `task` at clock time `at` (or as soon as a slot is free after it), replacing an earlier schedule. */
  schedule(task: SchedulerTask, at: number): void {
    this.cancel(task);
    const e: Entry = { task, at, seq: this.seq++, live: true, queued: false };
    this.entries.set(task, e);
    if (at <= this.clock.now()) {
      // Due already (a saturated engine reschedules checks at `now`): straight behind the due
      // ones, without a trip through the heap and a timer armed for it.
      e.queued = true;
      this.queuedCount++;
      this.ready.push(e);
      this.pumpSoon();
      return;
    }
    this.heap.push(e);
    this.arm();
  }

  /** One pump after the current callback (never a task started from inside schedule()). */
  private pumpSoon(): void {
    if (this.pumpPending) return;
    this.pumpPending = true;
    queueMicrotask(() => {
      this.pumpPending = false;
      this.pump();
    });
  }

  /** Forgets the pending or queued run of `task`; a run in flight is not interrupted. */
  cancel(task: SchedulerTask): void {
    const e = this.entries.get(task);
    if (!e) return;
    e.live = false;
    if (e.queued) this.queuedCount--;
    this.entries.delete(task);
  }

  /** When `task` is due to run (pending or queued), else undefined. */
  dueAt(task: SchedulerTask): number | undefined {
    return this.entries.get(task)?.at;
  }

  /** Drops every pending and queued run and the timer; runs in flight finish and free their slots. */
  clear(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.sampler?.();
    this.sampler = undefined;
    for (const e of this.entries.values()) e.live = false;
    this.entries.clear();
    this.heap.clear();
    this.ready = [];
    this.readyHead = 0;
    this.queuedCount = 0;
  }

  /** Counters and lateness percentiles. */
  stats(): SchedulerStats {
    return {
      maxConcurrent: this.maxConcurrent,
      window: this.window,
      loopLagMs: this.lagMs,
      inFlight: this.inFlight,
      maxInFlight: this.maxInFlight,
      queued: this.queuedCount,
      pending: this.entries.size - this.queuedCount,
      started: this.started,
      completed: this.completed,
      lateness: this.lateness.stats(),
    };
  }

  /** Top of the heap, dropping dead entries. */
  private top(): Entry | undefined {
    for (;;) {
      const e = this.heap.peek();
      if (!e || e.live) return e;
      this.heap.pop();
    }
  }

  /** Keeps one timer armed for the earliest pending deadline. */
  private arm(): void {
    const top = this.top();
    if (!top) {
      this.timer?.cancel();
      this.timer = undefined;
      return;
    }
    if (this.timer && this.timer.at <= top.at) return;
    this.timer?.cancel();
    const at = top.at;
    this.timer = { at, cancel: this.clock.setTimeout(() => this.fire(), at - this.clock.now()) };
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.clock.now();
    for (let e = this.top(); e && e.at <= now + TIMER_SLACK_MS; e = this.top()) {
      this.heap.pop();
      e.queued = true;
      this.queuedCount++;
      this.ready.push(e);
    }
    this.pump();
    this.arm();
  }

  /** Starts due tasks while slots are free. */
  private pump(): void {
    while (this.readyHead < this.ready.length) {
      if (this.inFlight >= this.window) {
        this.limited = true;
        break;
      }
      const e = this.ready[this.readyHead++]!;
      if (!e.live) continue;
      e.live = false;
      this.queuedCount--;
      this.entries.delete(e.task);
      this.start(e);
    }
    if (this.readyHead === this.ready.length) {
      this.ready = [];
      this.readyHead = 0;
    } else if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyHead = 0;
    }
  }

  /** Samples the loop's lag every periodMs while probes run, and moves the window. */
  private sample(): void {
    if (this.sampler) return;
    const due = this.clock.now() + this.tuning.periodMs;
    this.sampler = this.clock.setTimeout(() => {
      this.sampler = undefined;
      this.lagMs = Math.max(0, this.clock.now() - due);
      this.window = nextWindow(this.window, this.lagMs, this.limited, this.maxConcurrent, this.tuning);
      this.limited = false;
      if (this.inFlight > 0 || this.queuedCount > 0) this.sample();
      this.pump();
    }, this.tuning.periodMs);
  }

  /** A run ended (either way): its slot is free. */
  private readonly done = (): void => {
    this.inFlight--;
    this.completed++;
    this.pump();
  };

  private start(e: Entry): void {
    this.sample();
    this.lateness.record(this.clock.now() - e.at);
    this.inFlight++;
    this.started++;
    if (this.inFlight > this.maxInFlight) this.maxInFlight = this.inFlight;
    let p: Promise<void>;
    try {
      p = e.task.run(e.at);
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(this.done, this.done);
  }
}
