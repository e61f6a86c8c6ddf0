/*
 * The overrides in force in the checker child: set, cleared, expired (`--until`), persisted and
 * counted here; the checker engine reads `view()` when it computes the desired table and is told
 * through `onChange` to recompute. Every change is logged once with its reason.
 */
import type { Logger } from 'pino';
import type { VirtualServer } from '../config/schema/lvs.js';
import { rsName, vsName } from '../health/names.js';
import type { Cancel, Clock } from '../util/clock.js';
import { type Override, type OverrideAction, type OverrideView, findTarget, overrideKey, parseUntil } from './model.js';
import { loadOverrides, saveOverrides } from './store.js';

/** A refused request: `bad-request` (names, times), `internal` (the state file cannot be written). */
export class OverrideRequestError extends Error {
  constructor(
    readonly errorCode: 'bad-request' | 'internal',
    message: string,
  ) {
    super(message);
    this.name = 'OverrideRequestError';
  }
}

/** Kinds of changes, counted for the metrics (`vigil_override_changes_total{action}`). */
export type ChangeKind = 'drain' | 'disable' | 'enable' | 'expire' | 'window-start' | 'window-end';

/** What the manager needs from its surroundings. */
export interface OverrideManagerOptions {
  /** The state file (`<state dir>/overrides.json`); undefined: in memory only (tests). */
  readonly file?: string;
  readonly clock: Clock;
  /** Wall-clock ms (Date.now in the daemon); `--until` times are wall-clock times. */
  readonly wallNow: () => number;
  readonly log: Logger;
  /** Called after every change with its reason; the engine recomputes the desired table. */
  readonly onChange: (reason: string) => void;
}

/** One change as the caller gets it back. */
export interface ChangeResult {
  readonly changed: boolean;
  readonly override?: Override;
  readonly previous?: Override;
  readonly message: string;
}

/** A timer longer than this is re-armed in steps (Node's setTimeout overflows at 2^31 ms). */
const MAX_TIMER_MS = 86_400_000;

/** The overrides of one checker child. */
export class OverrideManager {
  private readonly map = new Map<string, Override>();
  private readonly timers = new Map<string, Cancel>();
  private readonly changeCounts = new Map<ChangeKind, number>();
  private readonly loadProblems: string[] = [];
  private stopped = false;

  constructor(private readonly o: OverrideManagerOptions) {}

  /** Reads the state file (expired entries end now, logged); reports problems, never throws. */
  load(): void {
    if (!this.o.file) return;
    const r = loadOverrides(this.o.file, this.o.wallNow());
    for (const p of r.problems) {
      this.loadProblems.push(p);
      this.o.log.error({ op: 'override.load', file: this.o.file }, p);
    }
    let expired = false;
    for (const x of r.overrides) {
      if (x.until !== undefined && Date.parse(x.until) <= this.o.wallNow()) {
        expired = true;
        this.count('expire');
        this.o.log.info({ op: 'override.expire', vs: x.vs, rs: x.rs, action: x.action, until: x.until, reason: x.reason }, `${x.vs} ${x.rs}: ${x.action} ended at ${x.until} while vigil was not running; health decides`);
        continue;
      }
      this.map.set(overrideKey(x.vs, x.rs), x);
      this.arm(x);
    }
    if (r.overrides.length) this.o.log.info({ op: 'override.load', file: this.o.file, count: this.map.size }, `${this.map.size} override(s) in force from ${this.o.file}`);
    if (expired) this.persist();
  }

  /** The overrides as the desired table reads them. */
  view(): OverrideView {
    return (vs, rs) => (this.map.size === 0 ? undefined : this.map.get(overrideKey(vsName(vs), rsName(rs)))?.action);
  }

  /** Every override in force, oldest first. */
  list(): Override[] {
    return [...this.map.values()].sort((a, b) => a.since.localeCompare(b.since));
  }

  /** The override of one pair. */
  get(vs: string, rs: string): Override | undefined {
    return this.map.get(overrideKey(vs, rs));
  }

  /** Changes counted by kind since the child started. */
  counts(): Record<string, number> {
    return Object.fromEntries(this.changeCounts);
  }

  /** Problems of the state file (shown in `vigil status`). */
  problems(): readonly string[] {
    return this.loadProblems;
  }

  /**
   * `vigil drain | disable`: validates the names against the configuration and `until`, then
   * sets the override (replacing one of the pair), persists it and asks for a recompute. Bad
   * requests throw OverrideRequestError and change nothing.
   */
  request(vss: readonly VirtualServer[], p: { action: OverrideAction; vs: string; rs: string; reason?: string; until?: string; who: string }): ChangeResult {
    const target = findTarget(vss, p.vs, p.rs);
    if ('error' in target) throw new OverrideRequestError('bad-request', target.error);
    let until: string | undefined;
    if (p.until !== undefined) {
      const u = parseUntil(p.until, this.o.wallNow());
      if ('error' in u) throw new OverrideRequestError('bad-request', u.error);
      until = new Date(u.at).toISOString();
    }
    const ov: Override = {
      vs: target.vs,
      rs: target.rs,
      action: p.action,
      reason: p.reason?.trim() || 'no reason given',
      who: p.who,
      since: new Date(this.o.wallNow()).toISOString(),
      ...(until ? { until } : {}),
      source: 'cli',
    };
    return this.put(ov, p.action);
  }

  /** `vigil enable`: ends the pair's override (health decides again). */
  enable(vss: readonly VirtualServer[], p: { vs: string; rs: string; reason?: string; who: string }): ChangeResult {
    const target = findTarget(vss, p.vs, p.rs);
    if ('error' in target) throw new OverrideRequestError('bad-request', target.error);
    const prev = this.map.get(overrideKey(target.vs, target.rs));
    if (!prev) return { changed: false, message: `${target.vs} ${target.rs}: no override in force; health decides already` };
    return this.remove(prev, 'enable', `enabled by ${p.who}: ${p.reason?.trim() || 'no reason given'}`);
  }

  /** Sets an override made elsewhere (maintenance windows); the caller validated it. */
  put(ov: Override, kind: ChangeKind): ChangeResult {
    const key = overrideKey(ov.vs, ov.rs);
    const prev = this.map.get(key);
    this.map.set(key, ov);
    try {
      this.persist(true);
    } catch (e) {
      if (prev) this.map.set(key, prev);
      else this.map.delete(key);
      throw new OverrideRequestError('internal', `cannot save the override to ${this.o.file}: ${(e as Error).message}; nothing changed`);
    }
    this.timers.get(key)?.();
    this.timers.delete(key);
    this.arm(ov);
    this.count(kind);
    const until = ov.until ? ` until ${ov.until}` : '';
    const message = `${ov.vs} ${ov.rs}: ${ov.action}${until} by ${ov.who}: ${ov.reason}${prev ? ` (replaces ${prev.action} by ${prev.who})` : ''}`;
    this.o.log.info({ op: `override.${ov.action}`, vs: ov.vs, rs: ov.rs, action: ov.action, who: ov.who, until: ov.until, source: ov.source, reason: ov.reason }, message);
    this.o.onChange(message);
    return { changed: true, override: ov, ...(prev ? { previous: prev } : {}), message };
  }

  /** Ends an override (enable, expiry, end of a window). */
  remove(prev: Override, kind: ChangeKind, why: string): ChangeResult {
    const key = overrideKey(prev.vs, prev.rs);
    if (this.map.get(key) !== prev) return { changed: false, message: `${prev.vs} ${prev.rs}: override already changed` };
    this.map.delete(key);
    try {
      this.persist(true);
    } catch (e) {
      this.map.set(key, prev);
      throw new OverrideRequestError('internal', `cannot save the overrides to ${this.o.file}: ${(e as Error).message}; nothing changed`);
    }
    this.timers.get(key)?.();
    this.timers.delete(key);
    this.count(kind);
    const message = `${prev.vs} ${prev.rs}: ${prev.action} ended (${why}); health decides`;
    this.o.log.info({ op: `override.${kind}`, vs: prev.vs, rs: prev.rs, action: prev.action, reason: why }, message);
    this.o.onChange(message);
    return { changed: true, previous: prev, message };
  }

  /** Cancels the expiry timers (the overrides stay on disk). */
  stop(): void {
    this.stopped = true;
    for (const c of this.timers.values()) c();
    this.timers.clear();
  }

  private count(kind: ChangeKind): void {
    this.changeCounts.set(kind, (this.changeCounts.get(kind) ?? 0) + 1);
  }

  /** Arms the expiry of an override with `until`. */
  private arm(ov: Override): void {
    if (ov.until === undefined || this.stopped) return;
    const key = overrideKey(ov.vs, ov.rs);
    const left = Date.parse(ov.until) - this.o.wallNow();
    this.timers.set(
      key,
      this.o.clock.setTimeout(
        () => {
          this.timers.delete(key);
          if (this.map.get(key) !== ov) return;
          if (Date.parse(ov.until!) - this.o.wallNow() > 0) return this.arm(ov);
          try {
            const window = ov.source.startsWith('window:');
            this.remove(ov, window ? 'window-end' : 'expire', window ? `maintenance window ${ov.source.slice(7)} ended at ${ov.until}` : `--until ${ov.until} reached`);
          } catch (e) {
            this.o.log.error({ op: 'override.expire', vs: ov.vs, rs: ov.rs, err: e }, (e as Error).message);
          }
        },
        Math.min(Math.max(0, left), MAX_TIMER_MS),
      ),
    );
  }

  private persist(strict = false): void {
    if (!this.o.file) return;
    try {
      saveOverrides(this.o.file, this.list());
    } catch (e) {
      if (strict) throw e;
      this.o.log.error({ op: 'override.save', file: this.o.file, err: e }, `cannot save ${this.o.file}: ${(e as Error).message}`);
    }
  }
}
