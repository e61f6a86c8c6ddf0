/*
 * The VRRP state machine of one instance (RFC 5798 §6.4, RFC 3768 §6.4), pure:
 * `step(config, state, event, now) → { state, actions, reason }`. The caller owns the clock,
 * the sockets and the addresses; it performs the actions in order and feeds timer expiries back
 * as events. Where the RFC leaves room, keepalived's choices are followed (cited inline).
 */

/** The four states of an instance. */
export type Phase = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';

/** What the machine needs to know about its instance. */
export interface FsmConfig {
  readonly version: 2 | 3;
  /** Configured advertisement interval, ms. */
  readonly advertIntMs: number;
  /** Preempt a lower-priority master (false with `nopreempt`). */
  readonly preempt: boolean;
  /** After start, wait this long before preempting a lower-priority master (`preempt_delay`). */
  readonly preemptDelayMs: number;
  /** This node's primary address on the interface, for equal-priority tie-breaks (§6.4.3). */
  readonly primaryAddress: string;
  /** Adverts missed before Master_Down (`down_timer_adverts`; RFC: 3). */
  readonly downTimerAdverts?: number;
  /** `lower_prio_no_advert`: a master ignores lower-priority adverts (RFC behaviour). */
  readonly lowerPrioNoAdvert?: boolean;
  /** `higher_prio_send_advert`: a master sends one advert before yielding to a higher priority. */
  readonly higherPrioSendAdvert?: boolean;
}

/** Timer deadlines held in the state (absolute ms on the caller's monotonic clock). */
export interface Timers {
  readonly advert?: number;
  readonly masterDown?: number;
}

/** The state of one instance. */
export interface FsmState {
  readonly phase: Phase;
  /** Effective priority (base ± tracking weights), 1..255; 255 = address owner. */
  readonly priority: number;
  /** The master's advert interval as learned from its adverts (v3 adopts it, RFC 5798 §6.4.2). */
  readonly masterAdvertIntMs: number;
  readonly timers: Timers;
  /** Address of the current master as seen from here (ours when MASTER). */
  readonly masterAddress?: string;
  /** Until this time, a lower-priority master is not preempted (`preempt_delay`). */
  readonly preemptHoldUntil?: number;
  /** When the current phase began. */
  readonly since: number;
  /** Why the Master_Down timer was last set short (a priority-0 advert), for the transition reason. */
  readonly downCause?: string;
  /**
   * Adopting start: BACKUP that still holds the VIPs a previous run of this node left in the
   * kernel, listening for a master for up to Master_Down_Interval before keeping or releasing
   * them. No advert and no announcement while it lasts.
   */
  readonly adopting?: true;
}

/** Inputs to the machine. Adverts arrive already validated (RFC 5798 §7.1). */
export type FsmEvent =
  /** `leftoverVips`: this instance's VIPs are already on the interface (an earlier run was killed): adopting start. */
  | { readonly type: 'startup'; readonly leftoverVips?: boolean }
  | { readonly type: 'shutdown' }
  | { readonly type: 'advertTimer' }
  | { readonly type: 'masterDownTimer' }
  | { readonly type: 'advert'; readonly from: string; readonly priority: number; readonly advertIntMs: number }
  | { readonly type: 'priority'; readonly priority: number }
  | { readonly type: 'fault'; readonly reason: string }
  | { readonly type: 'faultCleared' }
  /** vrrp_sync_group: another member became MASTER / BACKUP; follow it (keepalived vrrp_sync). */
  | { readonly type: 'syncMaster'; readonly reason: string }
  | { readonly type: 'syncBackup'; readonly reason: string }
  /** Operator failover (`vigil failover`): a MASTER hands over cleanly, as on a graceful stop but staying BACKUP. */
  | { readonly type: 'yield'; readonly reason: string };

/** Side effects for the caller, in order. */
export type FsmAction =
  | { readonly type: 'sendAdvert'; readonly priority: number }
  | { readonly type: 'addVips' }
  | { readonly type: 'removeVips' }
  /** Start gratuitous ARP / unsolicited NA bursts (first burst now, then the configured delays). */
  | { readonly type: 'announce' }
  | { readonly type: 'notify'; readonly phase: Phase }
  /** A master heard a lower priority (keepalived's notify_master_rx_lower_pri). */
  | { readonly type: 'lowerPriority'; readonly from: string; readonly priority: number };

/** Result of one step. `reason` is set whenever the phase changed or something notable happened. */
export interface StepResult {
  readonly state: FsmState;
  readonly actions: readonly FsmAction[];
  readonly reason?: string;
}

/** Skew_Time: v2 (256 − prio)/256 s; v3 (256 − prio) × Master_Adver_Interval / 256. */
export function skewMs(version: 2 | 3, priority: number, masterAdvertIntMs: number): number {
  return version === 2 ? ((256 - priority) * 1000) / 256 : ((256 - priority) * masterAdvertIntMs) / 256;
}

/** Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time (RFC 5798 §6.1); keepalived's down_timer_adverts replaces the 3. */
export function masterDownMs(version: 2 | 3, priority: number, masterAdvertIntMs: number, adverts = 3): number {
  return adverts * masterAdvertIntMs + skewMs(version, priority, masterAdvertIntMs);
}

/**
 * When the advert after the one sent now is due: on a grid of `advertIntMs` from the one that was
 * due (`scheduled`), not from `now`, so a timer that fires late never pushes the later adverts
 * back (keepalived re-arms from the time it sent, time_now + adver_int, and drifts). After a stall
 * longer than an interval the missed slots are skipped, never sent as a burst: the result is the
 * first slot after `now`. Without a schedule (first advert of a new master) the grid starts at `now`.
 */
export function nextAdvertDue(scheduled: number | undefined, now: number, advertIntMs: number): number {
  if (scheduled === undefined || !(advertIntMs > 0)) return now + advertIntMs;
  const next = scheduled + advertIntMs;
  if (next > now) return next;
  return scheduled + (Math.floor((now - scheduled) / advertIntMs) + 1) * advertIntMs;
}

/** The state before `startup`. */
export function initialState(cfg: FsmConfig, priority: number, now: number): FsmState {
  return { phase: 'INIT', priority, masterAdvertIntMs: cfg.advertIntMs, timers: {}, since: now };
}

/** Compares IP address text numerically (IPv4 dotted or IPv6); >0 when a > b. */
export function compareAddresses(a: string, b: string): number {
  const key = (s: string): bigint => {
    if (s.includes('.') && !s.includes(':')) return s.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
    const [h, t] = s.split('::') as [string, string | undefined];
    const hs = h ? h.split(':') : [];
    const ts = t !== undefined && t ? t.split(':') : [];
    const groups = t !== undefined ? [...hs, ...Array<string>(8 - hs.length - ts.length).fill('0'), ...ts] : hs;
    return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
  };
  const ka = key(a);
  const kb = key(b);
  return ka === kb ? 0 : ka > kb ? 1 : -1;
}

/** Applies one event. Pure: the same inputs always give the same result. */
export function step(cfg: FsmConfig, s: FsmState, ev: FsmEvent, now: number): StepResult {
  switch (ev.type) {
    case 'startup':
      return startup(cfg, s, now, ev.leftoverVips === true);
    case 'shutdown':
      return shutdown(s, now);
    case 'advertTimer':
      if (s.phase !== 'MASTER') return { state: s, actions: [] };
      return { state: { ...s, timers: { advert: nextAdvertDue(s.timers.advert, now, cfg.advertIntMs) } }, actions: [{ type: 'sendAdvert', priority: s.priority }] };
    case 'masterDownTimer':
      if (s.phase !== 'BACKUP') return { state: s, actions: [] };
      if (s.adopting && s.downCause === undefined) return becomeMaster(cfg, s, now, `adopted VIPs left by a previous run; no higher-priority master heard in ${fmt(masterDownMs(cfg.version, s.priority, s.masterAdvertIntMs, cfg.downTimerAdverts))} (master_down_interval)`);
      return becomeMaster(cfg, s, now, s.downCause ?? `no advert from the master for ${fmt(masterDownMs(cfg.version, s.priority, s.masterAdvertIntMs, cfg.downTimerAdverts))} (master_down_interval)`);
    case 'advert':
      return advert(cfg, s, ev, now);
    case 'priority':
      return priorityChange(cfg, s, ev.priority, now);
    case 'fault':
      return fault(s, ev.reason, now);
    case 'faultCleared':
      if (s.phase !== 'FAULT') return { state: s, actions: [] };
      return becomeBackup(cfg, s, now, 'fault cleared', undefined);
    case 'syncMaster':
      if (s.phase !== 'BACKUP') return { state: s, actions: [] };
      return becomeMaster(cfg, s, now, ev.reason);
    case 'syncBackup':
      if (s.adopting) return release(cfg, s, now, `${ev.reason}: removed VIPs left by a previous run`, undefined);
      if (s.phase !== 'MASTER') return { state: s, actions: [] };
      return becomeBackup(cfg, s, now, ev.reason, undefined);
    case 'yield': {
      if (s.adopting) return release(cfg, s, now, `${ev.reason}: removed VIPs left by a previous run`, undefined);
      if (s.phase !== 'MASTER') return { state: s, actions: [] };
      // RFC 5798 §6.4.3's shutdown advert (priority 0) without shutting down: the backup takes
      // over after its Skew_Time instead of Master_Down_Interval, and we stay BACKUP.
      const r = becomeBackup(cfg, s, now, ev.reason, undefined);
      return { ...r, actions: [{ type: 'sendAdvert', priority: 0 }, ...r.actions] };
    }
  }
}

function startup(cfg: FsmConfig, s: FsmState, now: number, leftover: boolean): StepResult {
  if (s.phase !== 'INIT') return { state: s, actions: [] };
  const hold = cfg.preemptDelayMs > 0 ? { preemptHoldUntil: now + cfg.preemptDelayMs } : {};
  // RFC 5798 §6.4.1: the address owner (priority 255) becomes MASTER at once.
  if (s.priority === 255) return becomeMaster(cfg, { ...s, ...hold }, now, 'address owner (priority 255) starts as MASTER');
  if (leftover) {
    // DESIGN: a restart never drops a VIP the node should hold. Keep the VIPs an earlier run left
    // and listen for Master_Down_Interval; an advert decides earlier (see adoptingAdvert).
    const r = becomeBackup(cfg, { ...s, ...hold }, now, '', undefined);
    const wait = fmt(masterDownMs(cfg.version, s.priority, s.masterAdvertIntMs, cfg.downTimerAdverts));
    return { ...r, state: { ...r.state, adopting: true }, reason: `startup, adopting VIPs left by a previous run: keeping them while listening ${wait} for a higher-priority master` };
  }
  return becomeBackup(cfg, { ...s, ...hold }, now, 'startup', undefined);
}

function shutdown(s: FsmState, now: number): StepResult {
  const actions: FsmAction[] = [];
  // RFC 5798 §6.4.3 "If a Shutdown event is received": send an advert with priority 0.
  if (s.phase === 'MASTER') actions.push({ type: 'sendAdvert', priority: 0 }, { type: 'removeVips' });
  // Never advertised, so no priority-0 advert; the adopted VIPs go with us.
  if (s.adopting) actions.push({ type: 'removeVips' });
  if (s.phase === 'INIT') return { state: s, actions: [] };
  actions.push({ type: 'notify', phase: 'INIT' });
  return { state: { ...plain(s), phase: 'INIT', timers: {}, since: now }, actions, reason: 'shutdown' };
}

function advert(cfg: FsmConfig, s: FsmState, ev: Extract<FsmEvent, { type: 'advert' }>, now: number): StepResult {
  if (s.adopting && ev.priority !== 0) return adoptingAdvert(cfg, s, ev, now);
  if (s.phase === 'BACKUP') {
    if (ev.priority === 0) {
      // §6.4.2: the master is leaving; take over after Skew_Time only.
      const skew = skewMs(cfg.version, s.priority, s.masterAdvertIntMs);
      const cause = `master ${ev.from} sent priority 0 (shutting down); took over after skew ${fmt(skew)}`;
      return { state: { ...s, masterAddress: ev.from, timers: { masterDown: now + skew }, downCause: cause }, actions: [], reason: `master ${ev.from} sent priority 0 (shutting down)` };
    }
    const holding = s.preemptHoldUntil !== undefined && now < s.preemptHoldUntil;
    if (!cfg.preempt || holding || ev.priority >= s.priority) {
      // §6.4.2: accept the master; v3 adopts its advert interval (keepalived does the same).
      const masterAdv = cfg.version === 3 ? ev.advertIntMs || s.masterAdvertIntMs : s.masterAdvertIntMs;
      const at = now + masterDownMs(cfg.version, s.priority, masterAdv, cfg.downTimerAdverts);
      const changed = masterAdv !== s.masterAdvertIntMs;
      const { downCause: _d, ...rest } = s;
      void _d;
      return {
        state: { ...rest, masterAddress: ev.from, masterAdvertIntMs: masterAdv, timers: { masterDown: at } },
        actions: [],
        ...(changed ? { reason: `advert interval updated from ${fmt(s.masterAdvertIntMs)} to ${fmt(masterAdv)} by master ${ev.from}` } : {}),
      };
    }
    // Lower priority and we preempt: discard; the Master_Down timer will expire. Remember who we
    // are preempting, so the transition says so rather than "no advert from the master".
    if (s.downCause !== undefined) return { state: s, actions: [] };
    const down = masterDownMs(cfg.version, s.priority, s.masterAdvertIntMs, cfg.downTimerAdverts);
    // The hold just ended: the running Master_Down timer was set by an advert accepted under it.
    const held = s.preemptHoldUntil !== undefined && now - s.preemptHoldUntil < down;
    const cause = `preempting a lower-priority master ${ev.from} (priority ${ev.priority} < ${s.priority}) after ${held ? `preempt_delay ${fmt(cfg.preemptDelayMs)} and ` : ''}master_down_interval ${fmt(down)}`;
    return { state: { ...s, downCause: cause }, actions: [] };
  }
  if (s.phase === 'MASTER') {
    if (ev.priority === 0) {
      // §6.4.3: another node is shutting down; send an advert at once.
      return { state: { ...s, timers: { advert: now + cfg.advertIntMs } }, actions: [{ type: 'sendAdvert', priority: s.priority }] };
    }
    const higher = ev.priority > s.priority || (ev.priority === s.priority && compareAddresses(ev.from, cfg.primaryAddress) > 0);
    if (higher) {
      const masterAdv = cfg.version === 3 ? ev.advertIntMs || cfg.advertIntMs : cfg.advertIntMs;
      const r = becomeBackup(
        cfg,
        { ...s, masterAdvertIntMs: masterAdv },
        now,
        `master received advert from ${ev.from} with ${ev.priority === s.priority ? 'equal priority and a higher address' : 'higher priority'} ${ev.priority}, ours ${s.priority}`,
        ev.from,
      );
      // keepalived's higher_prio_send_advert: one last advert, so the new master re-sends GARPs.
      return cfg.higherPrioSendAdvert ? { ...r, actions: [{ type: 'sendAdvert', priority: s.priority }, ...r.actions] } : r;
    }
    if (cfg.lowerPrioNoAdvert) return { state: s, actions: [{ type: 'lowerPriority', from: ev.from, priority: ev.priority }] };
    // keepalived: a master hearing a lower priority re-asserts at once (advert + GARPs).
    return {
      state: { ...s, timers: { advert: now + cfg.advertIntMs } },
      actions: [{ type: 'sendAdvert', priority: s.priority }, { type: 'announce' }, { type: 'lowerPriority', from: ev.from, priority: ev.priority }],
      reason: `received lower priority ${ev.priority} from ${ev.from}: re-asserting`,
    };
  }
  return { state: s, actions: [] };
}

function priorityChange(cfg: FsmConfig, s: FsmState, priority: number, now: number): StepResult {
  if (priority === s.priority) return { state: s, actions: [] };
  const reason = `effective priority ${s.priority} → ${priority}`;
  const next = { ...s, priority };
  if (s.phase === 'MASTER')
    return { state: { ...next, timers: { advert: now + cfg.advertIntMs } }, actions: [{ type: 'sendAdvert', priority }], reason };
  if (s.phase === 'BACKUP' && s.timers.masterDown !== undefined) {
    // The skew follows the effective priority (keepalived recomputes it on tracking changes).
    const at = now + masterDownMs(cfg.version, priority, s.masterAdvertIntMs, cfg.downTimerAdverts);
    return { state: { ...next, timers: { masterDown: Math.min(at, s.timers.masterDown) } }, actions: [], reason };
  }
  return { state: next, actions: [], reason };
}

function fault(s: FsmState, why: string, now: number): StepResult {
  if (s.phase === 'FAULT' || s.phase === 'INIT') return { state: s, actions: [] };
  const actions: FsmAction[] = [];
  // keepalived leaves MASTER for FAULT with a priority-0 advert so the backup takes over fast.
  if (s.phase === 'MASTER') actions.push({ type: 'sendAdvert', priority: 0 }, { type: 'removeVips' });
  if (s.adopting) actions.push({ type: 'removeVips' });
  actions.push({ type: 'notify', phase: 'FAULT' });
  const { masterAddress: _m, ...rest } = plain(s);
  void _m;
  return { state: { ...rest, phase: 'FAULT', timers: {}, since: now }, actions, reason: `fault: ${why}` };
}

function becomeMaster(cfg: FsmConfig, s: FsmState, now: number, reason: string): StepResult {
  const rest = plain(s);
  return {
    state: { ...rest, phase: 'MASTER', masterAddress: cfg.primaryAddress, masterAdvertIntMs: cfg.advertIntMs, timers: { advert: now + cfg.advertIntMs }, since: now },
    // §6.4.1/§6.4.2: send an advert, then announce the VIPs (keepalived: same millisecond).
    actions: [{ type: 'sendAdvert', priority: s.priority }, { type: 'addVips' }, { type: 'announce' }, { type: 'notify', phase: 'MASTER' }],
    reason,
  };
}

function becomeBackup(cfg: FsmConfig, s: FsmState, now: number, reason: string, master: string | undefined): StepResult {
  const wasMaster = s.phase === 'MASTER';
  const { masterAddress: _m, ...rest } = plain(s);
  void _m;
  const at = now + masterDownMs(cfg.version, s.priority, s.masterAdvertIntMs, cfg.downTimerAdverts);
  return {
    state: { ...rest, ...(master ? { masterAddress: master } : {}), phase: 'BACKUP', timers: { masterDown: at }, since: now },
    actions: [...(wasMaster ? [{ type: 'removeVips' } as const] : []), { type: 'notify', phase: 'BACKUP' }],
    reason,
  };
}

/**
 * An advert (priority > 0) during the adopting start. A higher priority, or an equal one from a
 * higher address (RFC 5798 §6.4.3), wins: release the VIPs and follow it. A lower priority is
 * preempted at once when preempt allows it now (we send adverts and announce; it yields on our
 * first advert); with nopreempt or inside preempt_delay we release the VIPs and follow it as a
 * plain BACKUP, which preempts later by the usual rules.
 */
function adoptingAdvert(cfg: FsmConfig, s: FsmState, ev: Extract<FsmEvent, { type: 'advert' }>, now: number): StepResult {
  const masterAdv = cfg.version === 3 ? ev.advertIntMs || s.masterAdvertIntMs : s.masterAdvertIntMs;
  if (ev.priority > s.priority || (ev.priority === s.priority && compareAddresses(ev.from, cfg.primaryAddress) > 0)) {
    const why = ev.priority === s.priority ? `equal priority ${ev.priority} and a higher address` : `higher priority ${ev.priority} (ours ${s.priority})`;
    return release(cfg, { ...s, masterAdvertIntMs: masterAdv }, now, `heard master ${ev.from} with ${why}: removed VIPs left by a previous run`, ev.from);
  }
  const holding = s.preemptHoldUntil !== undefined && now < s.preemptHoldUntil;
  const lower = ev.priority === s.priority ? `equal priority ${ev.priority} and a lower address` : `lower priority ${ev.priority} (ours ${s.priority})`;
  if (cfg.preempt && !holding) return becomeMaster(cfg, s, now, `adopted VIPs left by a previous run; preempting master ${ev.from} with ${lower}`);
  const rule = !cfg.preempt ? 'nopreempt' : `preempt_delay holds ${fmt(s.preemptHoldUntil! - now)} more`;
  return release(cfg, { ...s, masterAdvertIntMs: masterAdv }, now, `heard master ${ev.from} with ${lower} and ${rule}: removed VIPs left by a previous run`, ev.from);
}

/** Ends the adopting start without taking over: the VIPs go, a plain BACKUP stays (same phase, so the reason is an event). */
function release(cfg: FsmConfig, s: FsmState, now: number, reason: string, master: string | undefined): StepResult {
  const at = now + masterDownMs(cfg.version, s.priority, s.masterAdvertIntMs, cfg.downTimerAdverts);
  const { masterAddress: _m, ...rest } = plain(s);
  void _m;
  return { state: { ...rest, ...(master ? { masterAddress: master } : {}), timers: { masterDown: at } }, actions: [{ type: 'removeVips' }], reason };
}

/** The state without the per-phase markers (downCause, adopting). */
function plain(s: FsmState): FsmState {
  const { downCause: _d, adopting: _a, ...rest } = s;
  void _d;
  void _a;
  return rest;
}

function fmt(ms: number): string {
  return ms >= 1000 ? `${+(ms / 1000).toFixed(3)}s` : `${+ms.toFixed(3)}ms`;
}
