import { type Cancel, type Clock, realClock } from '../util/clock.js';

/*
 * The health engine's clock on Node's event loop, for thousands of checks a second. Two costs of
 * the plain clock (util/clock.ts) add up at that rate, and more where a system call is dear (user-
 * mode Linux has no vDSO: every clock read is a trip through the host kernel, measured at 5-6 % of
 * the checker's CPU in bench:checks):
 *
 * - now() reads the monotonic clock on every call, five times per check; here it is read once per
 *   turn of the loop and cached until the turn's check phase (libuv's own "loop time" works the
 *   same way). A pending setImmediate keeps the poll phase from blocking, so a cached value is never
 *   older than the callbacks of one turn.
 * - setTimeout() of Node reads the clock again (getLibuvNow updates the loop time); here timers of
 *   one delay (every check's connect_timeout is one) go into one FIFO list behind a single Node
 *   timer, in order of expiry because `now()` never goes back. Cancel marks the entry dead.
 */

/** Placeholder for the base timer of a list whose callbacks are running. */
const running: Cancel = () => undefined;

interface Entry {
  readonly at: number;
  fn: (() => void) | undefined;
}

/** Timers of one delay, in expiry order, behind one base timer. */
interface TimerList {
  readonly q: (Entry | undefined)[];
  head: number;
  cancel: Cancel | undefined;
}

/** A Clock whose now() is read once per loop turn and whose timers share one base timer per delay. */
export class LoopClock implements Clock {
  private cached: number | undefined;
  private readonly lists = new Map<number, TimerList>();
  private readonly expire = (): void => {
    this.cached = undefined;
  };

  constructor(private readonly base: Clock = realClock) {}

  /** The time at the start of this turn of the loop (monotonic ms). */
  now(): number {
    if (this.cached === undefined) {
      this.cached = this.base.now();
      setImmediate(this.expire);
    }
    return this.cached;
  }

  /** Runs `fn` `ms` (rounded up to whole ms, as Node) after this turn's time. */
  setTimeout(fn: () => void, ms: number): Cancel {
    const delay = Math.max(0, Math.ceil(ms));
    const e: Entry = { at: this.now() + delay, fn };
    let list = this.lists.get(delay);
    if (!list) this.lists.set(delay, (list = { q: [], head: 0, cancel: undefined }));
    list.q.push(e);
    if (!list.cancel) this.arm(delay, list);
    return () => {
      e.fn = undefined;
    };
  }

  /** Timer lists alive (tests). */
  get listCount(): number {
    return this.lists.size;
  }

  private arm(delay: number, list: TimerList): void {
    const first = list.q[list.head]!;
    // this turn's time: the base timer may fire up to one turn late, never early
    list.cancel = this.base.setTimeout(() => this.run(delay, list), first.at - this.now());
  }

  private run(delay: number, list: TimerList): void {
    list.cancel = running; // a callback adding a timer of this delay must not arm a second one
    const now = this.base.now();
    this.cached = now;
    setImmediate(this.expire);
    const q = list.q;
    // Node timers may fire up to 1 ms early against performance.now() (scheduler.ts TIMER_SLACK_MS).
    while (list.head < q.length && q[list.head]!.at <= now + 1) {
      const e = q[list.head]!;
      q[list.head++] = undefined;
      const fn = e.fn;
      e.fn = undefined;
      fn?.();
    }
    // skip dead entries at the head, so a list of cancelled timers sleeps
    while (list.head < q.length && q[list.head]!.fn === undefined) list.head++;
    if (list.head === q.length) {
      list.cancel = undefined;
      this.lists.delete(delay);
      return;
    }
    if (list.head > 1024 && list.head * 2 > q.length) {
      q.splice(0, list.head);
      list.head = 0;
    }
    this.arm(delay, list);
  }
}
