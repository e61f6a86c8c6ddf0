import type { Cancel, Clock } from '../util/clock.js';
import { type FsmConfig, type FsmEvent, type FsmState, type Phase, initialState, step } from './fsm.js';

/**
 * The state an instance keeps across a reload, fitted to its new configuration (pure): same
 * phase, master and deadlines, so no transition and no VIP change follow from the reload itself.
 * A MASTER sends its next advert no later than the new interval; VRRPv2 (and a MASTER) use the
 * configured interval, a VRRPv3 BACKUP keeps the one it learned from its master.
 */
export function carryOver(cfg: FsmConfig, s: FsmState, now: number): FsmState {
  if (s.phase === 'MASTER') {
    const advert = Math.min(s.timers.advert ?? now, now + cfg.advertIntMs);
    return { ...s, masterAddress: cfg.primaryAddress, masterAdvertIntMs: cfg.advertIntMs, timers: { advert } };
  }
  if (cfg.version === 2) return { ...s, masterAdvertIntMs: cfg.advertIntMs };
  return s;
}

/** Sends one advert with the given priority. */
export type SendAdvert = (priority: number) => void;

/** Adds or removes the instance's VIPs; failures are the implementation's to log. */
export interface VipControl {
  add(): Promise<void>;
  remove(): Promise<void>;
}

/** Starts or stops the gratuitous ARP / NA bursts that announce the VIPs. */
export interface Announcer {
  /** `takeover`: the burst, then the delayed burst and refreshes; `reassert`: one burst. */
  start(kind: 'takeover' | 'reassert'): void;
  stop(): void;
}

/** What the runner reports on every phase change (logged once, notify scripts, metrics). */
export interface Transition {
  readonly instance: string;
  readonly from: Phase;
  readonly to: Phase;
  readonly reason: string;
  readonly priority: number;
  readonly at: number;
}

/** Everything a runner needs besides its config. */
export interface RunnerDeps {
  readonly clock: Clock;
  readonly send: SendAdvert;
  readonly vips: VipControl;
  readonly announcer: Announcer;
  readonly onTransition: (t: Transition) => void;
  /** Notable events that are not transitions (interval adopted, re-assert). */
  readonly onEvent?: (reason: string) => void;
  /** A master heard a lower priority advert. */
  readonly onLowerPriority?: (from: string, priority: number) => void;
}

/**
 * Runs one VRRP instance: feeds events to the pure state machine, performs its actions in
 * order, and keeps one timer armed for the earliest deadline. All timing goes through the
 * injected clock.
 */
export class InstanceRunner {
  private s: FsmState;
  private cancelTimer: Cancel | undefined;
  private vipOps: Promise<void> = Promise.resolve();
  /** Last transition, for status. */
  last: Transition | undefined;

  constructor(
    readonly name: string,
    private readonly cfg: FsmConfig,
    basePriority: number,
    private readonly deps: RunnerDeps,
  ) {
    this.s = initialState(cfg, basePriority, deps.clock.now());
  }

  /** The current state (read-only snapshot). */
  get state(): FsmState {
    return this.s;
  }

  /**
   * Starts the instance. `leftoverVips`: its VIPs are already in the kernel (an earlier run was
   * killed): keep them while listening for a master (the adopting start, see fsm.ts).
   */
  start(leftoverVips = false): void {
    this.apply(leftoverVips ? { type: 'startup', leftoverVips: true } : { type: 'startup' });
  }

  /** Graceful stop: priority-0 advert and VIP removal when MASTER; resolves when VIPs are gone. */
  async stop(): Promise<void> {
    this.apply({ type: 'shutdown' });
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.deps.announcer.stop();
    await this.vipOps;
  }

  /** A validated advert for this instance. */
  advert(from: string, priority: number, advertIntMs: number): void {
    this.apply({ type: 'advert', from, priority, advertIntMs });
  }

  setPriority(priority: number): void {
    this.apply({ type: 'priority', priority: Math.max(1, Math.min(255, priority)) });
  }

  fault(reason: string): void {
    this.apply({ type: 'fault', reason });
  }

  faultCleared(): void {
    this.apply({ type: 'faultCleared' });
  }

  /** Follow a sync-group member into MASTER (only from BACKUP). */
  syncMaster(reason: string): void {
    this.apply({ type: 'syncMaster', reason });
  }

  /** Follow a sync-group member into BACKUP (only from MASTER). */
  syncBackup(reason: string): void {
    this.apply({ type: 'syncBackup', reason });
  }

  /** Operator failover: a MASTER sends a priority-0 advert, releases its VIPs and stays BACKUP. */
  yieldMaster(reason: string): void {
    this.apply({ type: 'yield', reason });
  }

  /** Resolves when queued VIP changes are done (tests, shutdown). */
  settled(): Promise<void> {
    return this.vipOps;
  }

  /**
   * Takes over `prev`'s running instance after a reload: its state (see carryOver), last
   * transition and queued VIP changes. `prev` is detached. No action and no transition.
   */
  adopt(prev: InstanceRunner): void {
    prev.detach();
    this.s = carryOver(this.cfg, prev.state, this.deps.clock.now());
    this.last = prev.last;
    this.vipOps = prev.vipOps;
    this.arm();
  }

  /** Stops the timer and the announcements without any VRRP action (the state moves to another runner). */
  detach(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.deps.announcer.stop();
  }

  /** Queues a kernel change after the VIP changes already queued (reload: VIP list deltas). */
  enqueue(op: () => Promise<void>): void {
    this.queueVip(op);
  }

  private apply(ev: FsmEvent): void {
    const now = this.deps.clock.now();
    const before = this.s.phase;
    const r = step(this.cfg, this.s, ev, now);
    this.s = r.state;
    for (const a of r.actions) {
      switch (a.type) {
        case 'sendAdvert':
          this.deps.send(a.priority);
          break;
        case 'addVips':
          this.queueVip(() => this.deps.vips.add());
          break;
        case 'removeVips':
          this.deps.announcer.stop();
          this.queueVip(() => this.deps.vips.remove());
          break;
        case 'announce':
          this.deps.announcer.start(before === 'MASTER' && this.s.phase === 'MASTER' ? 'reassert' : 'takeover');
          break;
        case 'notify':
          break;
        case 'lowerPriority':
          this.deps.onLowerPriority?.(a.from, a.priority);
          break;
      }
    }
    if (this.s.phase !== before) {
      this.last = { instance: this.name, from: before, to: this.s.phase, reason: r.reason ?? ev.type, priority: this.s.priority, at: now };
      this.deps.onTransition(this.last);
    } else if (r.reason) this.deps.onEvent?.(r.reason);
    this.arm();
  }

  /** VIP changes run one after another, in transition order. */
  private queueVip(op: () => Promise<void>): void {
    this.vipOps = this.vipOps.then(op, op);
  }

  private arm(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    const t = this.s.timers;
    const candidates: [number, FsmEvent][] = [];
    if (t.advert !== undefined) candidates.push([t.advert, { type: 'advertTimer' }]);
    if (t.masterDown !== undefined) candidates.push([t.masterDown, { type: 'masterDownTimer' }]);
    if (candidates.length === 0) return;
    candidates.sort((a, b) => a[0] - b[0]);
    const [at, ev] = candidates[0]!;
    this.cancelTimer = this.deps.clock.setTimeout(() => {
      this.cancelTimer = undefined;
      this.apply(ev);
    }, at - this.deps.clock.now());
  }
}
