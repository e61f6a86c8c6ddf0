import type { Cancel, Clock } from '../util/clock.js';
import type { Announcer } from './runner.js';

/** keepalived's gratuitous ARP / NA timing for one instance. */
export interface AnnounceTiming {
  /** Packets per burst (`garp_master_repeat`, default 5). */
  readonly repeat: number;
  /** Delay before the second burst after a takeover (`garp_master_delay`, default 5 s; 0 = none). */
  readonly delayMs: number;
  /** Period of refresh bursts while MASTER (`garp_master_refresh`, 0 = none). */
  readonly refreshMs: number;
  /** Packets per refresh burst (`garp_master_refresh_repeat`, default 1). */
  readonly refreshRepeat: number;
  /** Packets per burst when re-asserting against a lower priority (`garp_lower_prio_repeat`). */
  readonly lowerPrioRepeat: number;
  /** Delay of the second re-assert burst (`garp_lower_prio_delay`; 0 = none). */
  readonly lowerPrioDelayMs?: number;
}

/** Sends the frames of one announcement round (every VIP once). */
export type SendRound = () => void;

/**
 * Schedules announcement bursts as keepalived does: on takeover a burst at once (the first
 * frame goes out in the same turn of the event loop as the transition), a second burst after
 * `delayMs`, then refresh bursts every `refreshMs` until stopped.
 */
export class BurstAnnouncer implements Announcer {
  private timers: Cancel[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly timing: AnnounceTiming,
    private readonly sendRound: SendRound,
    private readonly onError: (e: unknown) => void = () => {},
  ) {}

  start(kind: 'takeover' | 'reassert'): void {
    if (kind === 'reassert') {
      this.burst(this.timing.lowerPrioRepeat);
      const d = this.timing.lowerPrioDelayMs ?? 0;
      if (d > 0) this.timers.push(this.clock.setTimeout(() => this.burst(this.timing.lowerPrioRepeat), d));
      return;
    }
    this.stop();
    this.burst(this.timing.repeat);
    if (this.timing.delayMs > 0) this.timers.push(this.clock.setTimeout(() => this.burst(this.timing.repeat), this.timing.delayMs));
    if (this.timing.refreshMs > 0) this.scheduleRefresh();
  }

  stop(): void {
    for (const c of this.timers) c();
    this.timers = [];
  }

  private scheduleRefresh(): void {
    this.timers.push(
      this.clock.setTimeout(() => {
        this.burst(this.timing.refreshRepeat);
        this.scheduleRefresh();
      }, this.timing.refreshMs),
    );
  }

  private burst(n: number): void {
    for (let i = 0; i < n; i++) {
      try {
        this.sendRound();
      } catch (e) {
        this.onError(e);
        return;
      }
    }
  }
}
