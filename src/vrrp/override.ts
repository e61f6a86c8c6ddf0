/*
 * Operator override `vigil failover` (issue 9), pure: which VRRP instances are held in BACKUP,
 * by whom, why and until when. `stepOverride(state, event, now) → {state, actions, reason}`;
 * the caller (daemon/failover.ts) keeps the state, arms one timer for `nextExpiry`, and hands
 * the held set to the VRRP engine, which makes a held MASTER leave with a priority-0 advert
 * (the peer takes over after its skew time: the graceful-failover window) and keeps a held
 * instance at priority 1 so it never preempts; released, it preempts by the usual rules.
 * Times are wall-clock milliseconds (a hold is shown and kept as a date).
 */

/** One held instance. */
export interface Hold {
  /** Who asked (the caller's user name as the CLI reports it). */
  readonly by: string;
  readonly reason: string;
  /** When the hold began (wall ms). */
  readonly since: number;
  /** When it ends by itself (wall ms); absent: until `--release`. */
  readonly until?: number;
}

/** Instance name → its hold. */
export type OverrideState = Readonly<Record<string, Hold>>;

/** Inputs of the override machine. */
export type OverrideEvent =
  | { readonly type: 'failover'; readonly instances: readonly string[]; readonly by: string; readonly reason: string; readonly until?: number }
  | { readonly type: 'release'; readonly instances: readonly string[]; readonly by: string; readonly reason: string }
  /** Time passed: holds whose `until` is reached end. */
  | { readonly type: 'tick' }
  /** After a reload: holds of instances that no longer exist end. */
  | { readonly type: 'forget'; readonly keep: readonly string[] };

/** What changed, for the engine (and the log, once each). */
export type OverrideAction =
  | { readonly type: 'hold'; readonly instance: string; readonly hold: Hold }
  | { readonly type: 'release'; readonly instance: string; readonly why: 'release' | 'expired' | 'removed' };

/** Result of one step. */
export interface OverrideStep {
  readonly state: OverrideState;
  readonly actions: readonly OverrideAction[];
  readonly reason?: string;
}

/** Applies one event (pure). A repeated failover replaces the hold (new reason and deadline). */
export function stepOverride(s: OverrideState, ev: OverrideEvent, now: number): OverrideStep {
  switch (ev.type) {
    case 'failover': {
      const hold: Hold = { by: ev.by, reason: ev.reason, since: now, ...(ev.until !== undefined ? { until: ev.until } : {}) };
      const next = { ...s };
      for (const i of ev.instances) next[i] = s[i] ? { ...hold, since: s[i].since } : hold;
      const until = ev.until !== undefined ? ` until ${new Date(ev.until).toISOString()}` : ' until released';
      return { state: next, actions: ev.instances.map((instance) => ({ type: 'hold', instance, hold: next[instance]! })), reason: `failover by ${ev.by}: ${ev.reason}; holding BACKUP${until}` };
    }
    case 'release': {
      const gone = ev.instances.filter((i) => s[i] !== undefined);
      if (gone.length === 0) return { state: s, actions: [] };
      return { state: without(s, gone), actions: gone.map((instance) => ({ type: 'release', instance, why: 'release' })), reason: `released by ${ev.by}: ${ev.reason}` };
    }
    case 'tick': {
      const gone = Object.entries(s)
        .filter(([, h]) => h.until !== undefined && h.until <= now)
        .map(([i]) => i);
      if (gone.length === 0) return { state: s, actions: [] };
      return { state: without(s, gone), actions: gone.map((instance) => ({ type: 'release', instance, why: 'expired' })), reason: 'failover hold expired' };
    }
    case 'forget': {
      const gone = Object.keys(s).filter((i) => !ev.keep.includes(i));
      if (gone.length === 0) return { state: s, actions: [] };
      return { state: without(s, gone), actions: gone.map((instance) => ({ type: 'release', instance, why: 'removed' })), reason: 'instance removed by a reload' };
    }
  }
}

/** The earliest `until` of the holds, when any has one. */
export function nextExpiry(s: OverrideState): number | undefined {
  const t = Object.values(s)
    .map((h) => h.until)
    .filter((u): u is number => u !== undefined);
  return t.length > 0 ? Math.min(...t) : undefined;
}

function without(s: OverrideState, names: readonly string[]): OverrideState {
  return Object.fromEntries(Object.entries(s).filter(([i]) => !names.includes(i)));
}

/** Longest hold a timeout may ask for (7 days): a forgotten override must end. */
export const MAX_HOLD_MS = 7 * 24 * 3600 * 1000;
/** Longest reason kept (a log line, a status column). */
export const MAX_REASON = 200;

/** A failover or release request as the control socket receives it. */
export interface FailoverRequest {
  readonly release: boolean;
  /** Instances named by the caller (none: all). */
  readonly instances: readonly string[];
  readonly by: string;
  readonly reason: string;
  readonly until?: number;
}

/** What the daemon knows to check a request against. */
export interface FailoverScope {
  readonly instances: readonly string[];
  /** Sync group → its members: a member named moves its whole group. */
  readonly groups: ReadonlyMap<string, readonly string[]>;
}

/**
 * Validates a request (pure): unknown instance, bad time, bad reason → an error message and
 * nothing changes. `timeoutMs` (a duration) or `until` (an ISO date) bound the hold; a named
 * sync-group member brings its whole group. Resolves the instances to act on. `by` is who asks,
 * as the daemon read it from the socket's peer credentials; a `by` in the params is ignored.
 */
export function parseFailoverParams(p: Record<string, unknown>, scope: FailoverScope, now: number, by: string): { ok: true; req: FailoverRequest } | { ok: false; error: string } {
  const release = p.release === true;
  if (p.release !== undefined && typeof p.release !== 'boolean') return { ok: false, error: "'release' must be true or false" };
  const named = p.instance === undefined ? [] : typeof p.instance === 'string' ? [p.instance] : undefined;
  if (!named || named.some((n) => n === '')) return { ok: false, error: "'instance' must be an instance name" };
  for (const n of named) if (!scope.instances.includes(n)) return { ok: false, error: `unknown instance '${n}'; known: ${scope.instances.join(', ') || '(none)'}` };
  if (scope.instances.length === 0) return { ok: false, error: 'no vrrp_instance is configured' };
  const reason = p.reason === undefined ? '' : p.reason;
  if (typeof reason !== 'string' || reason.length > MAX_REASON || /[\u0000-\u001f]/.test(reason)) return { ok: false, error: `'reason' must be one line of at most ${MAX_REASON} characters` };
  let until: number | undefined;
  if (p.timeoutMs !== undefined && p.until !== undefined) return { ok: false, error: 'give a timeout or an until time, not both' };
  if (p.timeoutMs !== undefined) {
    if (release) return { ok: false, error: 'a release takes no timeout' };
    const ms = p.timeoutMs;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 1000 || ms > MAX_HOLD_MS) return { ok: false, error: `the timeout must be from 1s to 7d; got ${JSON.stringify(ms)}` };
    until = now + ms;
  }
  if (p.until !== undefined) {
    if (release) return { ok: false, error: 'a release takes no until time' };
    const t = typeof p.until === 'string' ? Date.parse(p.until) : Number.NaN;
    if (!Number.isFinite(t)) return { ok: false, error: `'until' must be a date and time (ISO 8601, e.g. 2026-12-07T03:00:00Z); got ${JSON.stringify(p.until)}` };
    if (t <= now) return { ok: false, error: `'until' ${p.until} is in the past` };
    if (t - now > MAX_HOLD_MS) return { ok: false, error: `'until' ${p.until} is more than 7 days away` };
    until = t;
  }
  const base = named.length > 0 ? named : scope.instances;
  const instances = new Set<string>();
  for (const n of base) {
    instances.add(n);
    for (const members of scope.groups.values()) if (members.includes(n)) for (const m of members) if (scope.instances.includes(m)) instances.add(m);
  }
  return { ok: true, req: { release, instances: [...instances], by, reason: reason || (release ? 'released' : 'operator failover'), ...(until !== undefined ? { until } : {}) } };
}

