import { setTimeout as delay } from 'node:timers/promises';
import { LabError } from './errors.js';

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return delay(ms);
}

/** Options for `waitFor`. */
export interface WaitOptions {
  /** What is awaited, for the error message. */
  desc: string;
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Polls `cond` until it returns a truthy value (which is returned) or the deadline passes.
 * A throwing condition counts as "not yet"; its last error is quoted in the ETIMEDOUT error.
 */
export async function waitFor<T>(
  cond: () => T | Promise<T>,
  { desc, timeoutMs = 5000, intervalMs = 50 }: WaitOptions,
): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  let lastErr: unknown;
  let tries = 0;
  for (;;) {
    tries++;
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      lastErr = err;
    }
    if (performance.now() >= deadline) {
      const why = lastErr instanceof Error ? `; last error: ${lastErr.message}` : '';
      throw new LabError('ETIMEDOUT', `waitFor ${desc}: not true after ${timeoutMs} ms (${tries} tries)${why}`, {
        cause: lastErr,
      });
    }
    await sleep(Math.min(intervalMs, Math.max(1, deadline - performance.now())));
  }
}
