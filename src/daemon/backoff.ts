/** How long the supervisor waits before restarting a crashed child. */
export interface BackoffPolicy {
  /** First delay (default 1 s). */
  readonly initialMs: number;
  /** Largest delay (default 30 s). */
  readonly maxMs: number;
  /** Growth per consecutive crash (default 2). */
  readonly factor: number;
  /** A child that ran this long before it exited counts as healthy: the delays start over (default 60 s). */
  readonly resetAfterMs: number;
}

/** 1 s, 2 s, 4 s ... 30 s; back to 1 s after a healthy minute. */
export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1000, maxMs: 30_000, factor: 2, resetAfterMs: 60_000 };

/**
 * The restart schedule of one child. Pure bookkeeping: the caller passes monotonic times and
 * arms the timer itself.
 */
export class RestartBackoff {
  private attempt = 0;

  constructor(private readonly policy: BackoffPolicy = DEFAULT_BACKOFF) {}

  /** The child started at `startedAt` and exited at `now`: the delay before starting it again. */
  next(startedAt: number, now: number): number {
    if (now - startedAt >= this.policy.resetAfterMs) this.attempt = 0;
    const delay = Math.min(this.policy.maxMs, this.policy.initialMs * this.policy.factor ** this.attempt);
    if (delay < this.policy.maxMs) this.attempt++;
    return delay;
  }
}
