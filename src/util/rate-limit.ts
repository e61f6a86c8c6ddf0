import type { Clock } from './clock.js';

/**
 * Allows one event per key per `periodMs`; what is suppressed in between is counted and
 * reported with the next allowed one ("... (12 more since last)").
 */
export class RateLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly clock: Clock, private readonly periodMs = 10_000, private readonly maxKeys = 10_000) {}

  /** Returns the number suppressed since the last allowed event when allowed, or -1 when not. */
  allow(key: string): number {
    const now = this.clock.now();
    const e = this.last.get(key);
    if (e && now - e.at < this.periodMs) {
      e.suppressed++;
      return -1;
    }
    if (!e && this.last.size >= this.maxKeys) this.last.clear();
    const suppressed = e?.suppressed ?? 0;
    this.last.set(key, { at: now, suppressed: 0 });
    return suppressed;
  }
}
