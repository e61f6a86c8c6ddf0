import { performance } from 'node:perf_hooks';

/** Cancels a scheduled callback; idempotent. */
export type Cancel = () => void;

/** Monotonic time and timers, injected so that logic can run on a fake clock in tests. */
export interface Clock {
  /** Monotonic milliseconds (fractional). */
  now(): number;
  /** Runs `fn` after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): Cancel;
}

/** The real clock: performance.now() and Node timers. */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(t);
  },
};

/**
 * How long before a deadline preciseClock stops sleeping and spins. Node's timers fire up to
 * about 1 ms early or late: libuv counts whole milliseconds from the time it cached at the start
 * of the loop turn, and epoll_wait sleeps whole milliseconds. A 1.5 ms margin absorbs that.
 */
export const SPIN_MARGIN_MS = 1.5;

/**
 * A clock whose timers fire at their deadline to a few microseconds: a Node timer wakes the
 * process up to SPIN_MARGIN_MS before it (sleeping again if it woke earlier than that), and the
 * rest is spent reading performance.now(). The VRRP runners use it for adverts (0.1 s adverts
 * leave ±2 ms for the whole path, and Node's timers alone take ±1 ms of it, measured by
 * bench:isolation). The cost is about one margin of busy time per timer: ~1.5 % of a core
 * at 0.1 s adverts, nothing at 1 s ones.
 */
export function preciseClock(marginMs = SPIN_MARGIN_MS): Clock {
  const now = () => performance.now();
  return {
    now,
    setTimeout: (fn, ms) => {
      const due = now() + Math.max(0, ms);
      let live = true;
      let t: NodeJS.Timeout | undefined;
      const wake = (): void => {
        t = undefined;
        if (!live) return;
        const left = due - now();
        if (left > marginMs + 0.5) {
          t = setTimeout(wake, left - marginMs);
          return;
        }
        while (now() < due) {
          /* spin: at most about marginMs + 0.5 ms */
        }
        live = false;
        fn();
      };
      if (ms > marginMs) t = setTimeout(wake, ms - marginMs);
      else t = setTimeout(wake, 0);
      return () => {
        live = false;
        if (t !== undefined) clearTimeout(t);
      };
    },
  };
}

/** A clock that moves only when told to; timers fire in order during `advance`. */
export class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers: { at: number; seq: number; fn: () => void; live: boolean }[] = [];

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): Cancel {
    const timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, live: true };
    this.timers.push(timer);
    return () => {
      timer.live = false;
    };
  }

  /** Moves time forward by `ms`, firing due timers in deadline order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers = this.timers.filter((x) => x.live);
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.t = next.at;
      next.live = false;
      next.fn();
    }
    this.t = end;
  }
}
