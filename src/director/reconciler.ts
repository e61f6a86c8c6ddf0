/*
 * The reconciler (STYLE habit 5, MetalLB's desired-state loop): one loop owns the kernel's IPVS
 * table. `reconcile(desired, reason)` replaces the desired table and applies only the difference;
 * it never flushes, and never touches a service vigil was not given (adoption after a restart,
 * even a kill -9, costs zero writes). The kernel is read at the first run, after any error and
 * on a periodic re-read (which puts right what was changed by hand, logging it); then the whole
 * table is diffed. Between those, the table the last successful run left is the baseline and
 * only the services whose desired entry changed since are diffed: a health transition costs in
 * proportion to the services it touches, not to the table (an unchanged entry is recognised by
 * identity first, else field by field). A failed write or read re-reads the kernel and retries
 * with growing delays (capped), on the injected clock.
 */
import type { Ipvs, IpvsError, IpvsOp } from '../ipvs/ipvs.js';
import { type Dest, type Service, destKey, destText, serviceKey, serviceText } from '../ipvs/types.js';
import type { Cancel, Clock } from '../util/clock.js';
import { type Plan, type ServiceEntry, allKeys, applyInPlace, diffKeys, sameEntry } from './diff.js';

/** The logger the reconciler writes to (pino's Logger fits). */
export interface ReconcilerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Options of the Reconciler. */
export interface ReconcilerOptions {
  readonly ipvs: Ipvs;
  readonly clock: Clock;
  readonly log: ReconcilerLog;
  /** Period of the kernel re-read that notices changes made by hand (default 30 s; 0: never). */
  readonly resyncMs?: number;
  /** Retry delays after an error: first, growing by `factor`, capped at `maxMs` (default 250 ms ×2 up to 30 s). */
  readonly backoff?: { readonly firstMs?: number; readonly factor?: number; readonly maxMs?: number };
  /** keepalived's `lvs_flush`: flush the whole table once in `start()`. Default false (vigil never flushes otherwise). */
  readonly flushAtStart?: boolean;
  /**
   * Services an earlier run of vigil managed (managed-store.ts): vigil's from the start, so one the
   * desired table no longer has is removed at the first run, and logged as such.
   */
  readonly managed?: { readonly keys: Iterable<string>; readonly source: string };
  /** The set of managed services changed (before a new one is created, after one is deleted): persist it. */
  readonly onManaged?: (keys: ReadonlySet<string>) => void;
}

/** What one run did. */
export interface ReconcileResult {
  /** The kernel matches the desired table (every write succeeded). */
  readonly ok: boolean;
  /** Why the run happened (the reasons of every call it served, joined). */
  readonly reason: string;
  /** Netlink writes sent in this run. */
  readonly writes: number;
  /** Writes the kernel refused. */
  readonly failed: number;
  /** Managed services already as wanted (no write). */
  readonly adopted: number;
  /** Kernel services left alone because vigil does not manage them. */
  readonly unmanaged: number;
  /** Differences found that vigil did not cause (changed by hand), put right in this run. */
  readonly outside: number;
  /** The kernel was read in this run (else the last known table was the baseline). */
  readonly read: boolean;
  /** Services compared in this run: every one after a read, else only those whose desired entry changed. */
  readonly diffed: number;
  /** The first error, when not ok. */
  readonly error?: Error;
}

/** Counters and state for `vigil status` and metrics. */
export interface ReconcilerStatus {
  readonly writes: number;
  readonly failedWrites: number;
  readonly reads: number;
  readonly runs: number;
  readonly outsideChanges: number;
  /** Services vigil manages (desired now, or desired before and not yet removed). */
  readonly managed: number;
  /** The last run converged and nothing changed since. */
  readonly converged: boolean;
  readonly lastReason?: string;
  readonly lastError?: string;
  /** Failed runs in a row (0 when the last run succeeded). */
  readonly retryAttempt: number;
  /** Delay of the retry that is scheduled, if any. */
  readonly retryInMs?: number;
}

/** How an op is named in logs: `addDest 192.0.2.100:80 → 198.51.100.11:80 weight 3`. */
export function describeOp(o: IpvsOp): string {
  const svc = serviceText(o.service);
  switch (o.op) {
    case 'addService':
    case 'editService':
      return `${o.op} ${svc} ${o.service.scheduler}${o.service.timeout ? ` persistent ${o.service.timeout}` : ''}`;
    case 'deleteService':
      return `deleteService ${svc}`;
    case 'addDest':
    case 'editDest':
      return `${o.op} ${svc} → ${destText(o.dest)} weight ${o.dest.weight} ${o.dest.forward}`;
    case 'deleteDest':
      return `deleteDest ${svc} → ${destText(o.dest)}`;
  }
}

/** What a by-hand change looked like, from the kernel's entry and the op that undoes it. */
function outsideText(o: IpvsOp, current: ReadonlyMap<string, ServiceEntry>): string {
  const c = current.get(serviceKey(o.service));
  const svc = serviceText(o.service);
  switch (o.op) {
    case 'addService':
      return `service ${svc} is missing`;
    case 'editService': {
      const s = c?.service as Service | undefined;
      return `service ${svc} is ${s?.scheduler} flags ${s?.flags} timeout ${s?.timeout} netmask ${s?.netmask}, want ${o.service.scheduler} flags ${o.service.flags} timeout ${o.service.timeout} netmask ${o.service.netmask}`;
    }
    case 'deleteService':
      return `service ${svc} is no longer wanted`;
    case 'addDest':
      return `${svc} → ${destText(o.dest)} is missing`;
    case 'editDest': {
      const d: Dest | undefined = c?.dests.find((x) => destKey(x) === destKey(o.dest));
      const parts: string[] = [];
      if (d?.weight !== o.dest.weight) parts.push(`weight ${d?.weight}, want ${o.dest.weight}`);
      if (d?.forward !== o.dest.forward) parts.push(`forwarding ${d?.forward}, want ${o.dest.forward}`);
      if (parts.length === 0) parts.push('thresholds or tunnel settings differ');
      return `${svc} → ${destText(o.dest)}: ${parts.join('; ')}`;
    }
    case 'deleteDest':
      return `${svc} → ${destText(o.dest)} is not wanted (added outside vigil)`;
  }
}

const fields = (o: IpvsOp): { op: string; vs: string; rs?: string; weight?: number } => ({
  op: o.op,
  vs: serviceText(o.service),
  ...('dest' in o ? { rs: destText(o.dest) } : {}),
  ...('dest' in o && 'weight' in o.dest ? { weight: o.dest.weight } : {}),
});

interface Waiting {
  readonly reasons: Set<string>;
  readonly promise: Promise<ReconcileResult>;
  resolve(r: ReconcileResult): void;
}

/** Keeps the kernel's IPVS table equal to the desired one. */
export class Reconciler {
  private readonly ipvs: Ipvs;
  private readonly clock: Clock;
  private readonly log: ReconcilerLog;
  private readonly resyncMs: number;
  private readonly firstMs: number;
  private readonly factor: number;
  private readonly maxMs: number;
  private readonly flushAtStart: boolean;

  /** The desired table by serviceKey; replaced (never changed in place) by each `reconcile`. */
  private desired: ReadonlyMap<string, ServiceEntry> | undefined;
  /** The last desired list (a copy) and the serviceKey of each of its entries, for the identity fast path. */
  private desiredList: readonly ServiceEntry[] = [];
  private desiredKeys: readonly string[] = [];
  /** Services whose desired entry changed (or that came or went) since the last run took them. */
  private dirty = new Set<string>();
  /** Keys of services vigil has been asked for (and not yet removed). */
  private readonly managed = new Set<string>();
  /** Managed keys inherited from an earlier run and not desired since (their removal says so). */
  private readonly inherited = new Set<string>();
  private readonly inheritedFrom: string;
  private readonly onManaged: ((keys: ReadonlySet<string>) => void) | undefined;
  /**
   * What the kernel holds, as far as vigil knows, by serviceKey (unmanaged services without
   * their destinations); undefined: not known, read it.
   */
  private known: Map<string, ServiceEntry> | undefined;
  /** The next run reads the kernel (and diffs everything) even when `known` is set. */
  private needRead = true;
  /** Unmanaged kernel services the last read found (they do not change between reads). */
  private unmanagedCount = 0;
  /** Bumped whenever the desired table changes. */
  private generation = 0;
  /** The generation the last converged run achieved (-1: none). */
  private converged = -1;

  private busy = false;
  private current: Promise<unknown> = Promise.resolve();
  private waiting: Waiting | undefined;
  private retryCancel: Cancel | undefined;
  private retryInMs: number | undefined;
  private resyncCancel: Cancel | undefined;
  private stopped = false;

  private counters = { writes: 0, failedWrites: 0, reads: 0, runs: 0, outsideChanges: 0, attempt: 0 };
  private lastReason: string | undefined;
  private lastError: string | undefined;

  constructor(opts: ReconcilerOptions) {
    this.ipvs = opts.ipvs;
    this.clock = opts.clock;
    this.log = opts.log;
    this.resyncMs = opts.resyncMs ?? 30_000;
    this.firstMs = opts.backoff?.firstMs ?? 250;
    this.factor = opts.backoff?.factor ?? 2;
    this.maxMs = opts.backoff?.maxMs ?? 30_000;
    this.flushAtStart = opts.flushAtStart ?? false;
    for (const k of opts.managed?.keys ?? []) {
      this.managed.add(k);
      this.inherited.add(k);
    }
    this.inheritedFrom = opts.managed?.source ?? '';
    this.onManaged = opts.onManaged;
    if (!(this.resyncMs >= 0) || !(this.firstMs > 0) || !(this.factor >= 1) || !(this.maxMs >= this.firstMs))
      throw new RangeError('Reconciler: resyncMs ≥ 0, backoff firstMs > 0, factor ≥ 1 and maxMs ≥ firstMs');
  }

  /** Netlink writes sent so far (every add/edit/delete, refused ones included; a flush counts one). */
  get writes(): number {
    return this.counters.writes;
  }

  /**
   * Flushes the table once when `lvs_flush` is configured, then starts the periodic re-read.
   * Rejects when that flush fails.
   */
  async start(): Promise<void> {
    if (this.flushAtStart) {
      this.counters.writes++;
      this.log.warn({ op: 'flush', reason: 'lvs_flush is configured' }, 'ipvs flush: the whole IPVS table is cleared at start');
      await this.ipvs.flush();
      this.needRead = true;
    }
    this.armResync();
  }

  /**
   * Replaces the desired table and makes the kernel match it; resolves when the run that includes
   * it ends. Entries are treated as immutable: reusing the previous call's object for a service
   * that did not change (see memo.ts `shareEntries`) makes that service cost one reference
   * check; a new but equal object costs a field-by-field comparison; only changed services are
   * diffed against the kernel's last known table.
   */
  reconcile(desired: readonly ServiceEntry[], reason: string): Promise<ReconcileResult> {
    const prevList = this.desiredList;
    const prevKeys = this.desiredKeys;
    const prev = this.desired ?? new Map<string, ServiceEntry>();
    const next = new Map<string, ServiceEntry>();
    const keys: string[] = new Array<string>(desired.length);
    let sameKeys = true;
    let added = false;
    for (let i = 0; i < desired.length; i++) {
      const e = desired[i]!;
      const p = prevList[i];
      // the same entry as last time at this position (the object, or equal to it): same key, and
      // unchanged unless that key repeats with another entry
      if (p !== undefined && (p === e || sameEntry(p, e))) {
        const k = prevKeys[i]!;
        keys[i] = k;
        const old = prev.get(k)!; // prevKeys are prev's keys
        if (old !== p && !sameEntry(old, e)) this.dirty.add(k);
        next.set(k, e);
        continue;
      }
      const k = serviceKey(e.service);
      keys[i] = k;
      const old = prev.get(k);
      if (old === undefined) {
        sameKeys = false;
        this.dirty.add(k);
        // a service vigil did not manage yet: read its destinations from the kernel (it may exist already)
        if (!this.managed.has(k)) {
          this.needRead = true;
          this.managed.add(k);
          added = true;
        }
        this.inherited.delete(k);
      } else if (old !== e && !sameEntry(old, e)) this.dirty.add(k);
      next.set(k, e);
    }
    // every key of `next` is in `prev`: with as many keys, none went away (no walk over `prev`)
    if (!sameKeys || next.size !== prev.size) for (const k of prev.keys()) if (!next.has(k)) this.dirty.add(k);
    this.desired = next;
    this.desiredList = desired.slice();
    this.desiredKeys = keys;
    this.generation++;
    // persisted before the run creates anything: a crash right after leaves no service unrecorded
    if (added) this.onManaged?.(this.managed);
    return this.kick(reason);
  }

  /** Re-reads the kernel and puts right any difference (what the periodic timer runs). */
  resync(reason = 'periodic re-read'): Promise<ReconcileResult> {
    this.needRead = true;
    return this.kick(reason);
  }

  /** Deletes every service vigil manages (for an explicit `lvs_flush_on_stop VS`-like choice); others stay. */
  removeManaged(reason = 'removing vigil\'s services'): Promise<ReconcileResult> {
    return this.reconcile([], reason);
  }

  /** Resolves once no run is in progress or waiting (a scheduled retry does not count). */
  async idle(): Promise<void> {
    while (this.busy) await (this.waiting?.promise ?? this.current);
  }

  /** Stops the timers. IPVS is left as it is. Idempotent. */
  stop(): void {
    this.stopped = true;
    this.retryCancel?.();
    this.retryCancel = undefined;
    this.retryInMs = undefined;
    this.resyncCancel?.();
    this.resyncCancel = undefined;
  }

  /** Counters and state. */
  status(): ReconcilerStatus {
    const c = this.counters;
    return {
      writes: c.writes,
      failedWrites: c.failedWrites,
      reads: c.reads,
      runs: c.runs,
      outsideChanges: c.outsideChanges,
      managed: this.managed.size,
      converged: this.converged === this.generation,
      retryAttempt: c.attempt,
      ...(this.lastReason !== undefined ? { lastReason: this.lastReason } : {}),
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      ...(this.retryInMs !== undefined ? { retryInMs: this.retryInMs } : {}),
    };
  }

  private armResync(): void {
    if (this.resyncMs === 0 || this.stopped) return;
    this.resyncCancel?.();
    this.resyncCancel = this.clock.setTimeout(() => {
      this.resyncCancel = undefined;
      if (this.desired !== undefined) void this.resync();
      this.armResync();
    }, this.resyncMs);
  }

  /** Runs now, or once after the run in progress (calls made meanwhile share that run). */
  private kick(reason: string): Promise<ReconcileResult> {
    if (!this.busy) {
      this.busy = true;
      const p = this.runOnce(reason);
      this.current = p.then(() => this.next());
      return p;
    }
    if (!this.waiting) {
      let resolve!: (r: ReconcileResult) => void;
      const promise = new Promise<ReconcileResult>((r) => (resolve = r));
      this.waiting = { reasons: new Set(), promise, resolve };
    }
    this.waiting.reasons.add(reason);
    return this.waiting.promise;
  }

  private next(): void {
    const w = this.waiting;
    this.waiting = undefined;
    if (!w) {
      this.busy = false;
      return;
    }
    const p = this.runOnce([...w.reasons].join('; '));
    this.current = p.then((r) => {
      w.resolve(r);
      this.next();
    });
  }

  /** Reads the kernel's table: every service, and the destinations of the managed ones. */
  private async readKernel(want: ReadonlyMap<string, ServiceEntry>): Promise<Map<string, ServiceEntry>> {
    this.counters.reads++;
    const services = await this.ipvs.services();
    const out = new Map<string, ServiceEntry>();
    for (const s of services) {
      const k = serviceKey(s);
      // unmanaged services are listed (so the diff can count them) but their destinations are not read
      out.set(k, { service: s, dests: this.managed.has(k) || want.has(k) ? await this.ipvs.dests(s) : [] });
    }
    return out;
  }

  private async runOnce(reason: string): Promise<ReconcileResult> {
    const base = { reason, writes: 0, failed: 0, adopted: 0, unmanaged: 0, outside: 0, diffed: 0 };
    if (this.stopped) return { ...base, ok: false, read: false, error: new Error('reconciler stopped') };
    const desired = this.desired;
    if (desired === undefined) return { ...base, ok: true, read: false };
    const generation = this.generation;
    // the services changed since the last run; a read diffs them all anyway
    const dirty = this.dirty;
    this.dirty = new Set();
    this.counters.runs++;
    this.lastReason = reason;
    const read = this.needRead || this.known === undefined;
    this.needRead = false;
    let current: Map<string, ServiceEntry>;
    try {
      current = read ? await this.readKernel(desired) : this.known!;
    } catch (e) {
      return this.failed({ ...base, read }, e as Error);
    }
    let plan: Plan;
    let adopted: number;
    let diffed: number;
    if (read) this.forgetGone(desired, current);
    if (read) {
      plan = diffKeys(desired, current, allKeys(desired, current), this.managed);
      this.unmanagedCount = plan.unmanaged.length;
      adopted = plan.adopted;
      diffed = current.size;
      for (const k of desired.keys()) if (!current.has(k)) diffed++;
    } else {
      // services outside `dirty` are as the last (converged) run left them
      plan = diffKeys(desired, current, dirty, this.managed);
      let changed = 0;
      for (const k of dirty) if (desired.has(k)) changed++;
      adopted = desired.size - (changed - plan.adopted);
      diffed = dirty.size;
    }
    let outside = 0;
    let why = reason;
    if (read && this.converged === generation && plan.ops.length > 0) {
      // nothing changed on vigil's side since it last converged: these differences were made by hand
      for (const o of plan.ops) this.log.warn({ ...fields(o), reason }, `changed outside vigil: ${outsideText(o, current)}`);
      outside = plan.ops.length;
      this.counters.outsideChanges += outside;
      why = `${reason}: put right a change made outside vigil`;
    }
    if (read && this.counters.reads === 1) this.log.info({ adopted, unmanaged: this.unmanagedCount, reason }, `ipvs table read: ${adopted} services as wanted, ${this.unmanagedCount} not vigil's`);
    const done = { ...base, read, adopted, unmanaged: this.unmanagedCount, outside, diffed };
    if (plan.ops.length === 0) return this.succeeded(done, current, generation);

    for (const o of plan.ops) {
      const old = o.op === 'deleteService' && this.inherited.has(serviceKey(o.service));
      const r = old ? `${why}: no longer configured; vigil created it before this start (${this.inheritedFrom})` : why;
      this.log.info({ ...fields(o), reason: r }, `ipvs ${describeOp(o)}${old ? ` (${r})` : ''}`);
    }
    this.counters.writes += plan.ops.length;
    let results: (IpvsError | undefined)[];
    try {
      results = await this.ipvs.apply(plan.ops);
    } catch (e) {
      return this.failed({ ...done, writes: plan.ops.length, failed: plan.ops.length }, e as Error);
    }
    const okOps = plan.ops.filter((_, i) => results[i] === undefined);
    const errors = results.filter((r): r is IpvsError => r !== undefined);
    for (const e of errors) this.log.warn({ op: e.op, err: e.message, code: e.code, reason: why }, `ipvs write refused: ${e.message}`);
    this.counters.failedWrites += errors.length;
    // a deleted service is no longer vigil's, unless the desired table (the latest one) wants it again
    let removed = false;
    for (const o of okOps) {
      const k = serviceKey(o.service);
      if (o.op !== 'deleteService' || this.desired?.has(k)) continue;
      this.managed.delete(k);
      this.inherited.delete(k);
      removed = true;
    }
    if (removed) this.onManaged?.(this.managed);
    if (errors.length > 0) return this.failed({ ...done, writes: plan.ops.length, failed: errors.length }, errors[0]!);
    applyInPlace(current, okOps);
    return this.succeeded({ ...done, writes: plan.ops.length }, current, generation);
  }

  /** After a read: managed services neither desired nor in the kernel are vigil's no more (removed by hand, or before a crash). */
  private forgetGone(desired: ReadonlyMap<string, ServiceEntry>, current: ReadonlyMap<string, ServiceEntry>): void {
    let gone = false;
    for (const k of this.managed) {
      if (desired.has(k) || current.has(k)) continue;
      this.managed.delete(k);
      this.inherited.delete(k);
      gone = true;
    }
    if (gone) this.onManaged?.(this.managed);
  }

  private succeeded(r: Omit<ReconcileResult, 'ok'>, table: Map<string, ServiceEntry>, generation: number): ReconcileResult {
    this.known = table;
    this.converged = generation;
    if (this.counters.attempt > 0) this.log.info({ attempts: this.counters.attempt, reason: r.reason }, 'ipvs table converged after retries');
    this.counters.attempt = 0;
    this.lastError = undefined;
    this.retryCancel?.();
    this.retryCancel = undefined;
    this.retryInMs = undefined;
    return { ...r, ok: true };
  }

  private failed(r: Omit<ReconcileResult, 'ok' | 'error'>, error: Error): ReconcileResult {
    this.needRead = true; // re-read the kernel (and diff it all) next time: `known` may be stale and the changes this run took are lost
    this.converged = -1; // what the re-read finds may be vigil's own half-done work, not a change by hand
    this.counters.attempt++;
    this.lastError = error.message;
    const delay = Math.min(this.maxMs, this.firstMs * this.factor ** (this.counters.attempt - 1));
    if (!this.stopped) {
      this.retryCancel?.();
      this.retryInMs = delay;
      this.retryCancel = this.clock.setTimeout(() => {
        this.retryCancel = undefined;
        this.retryInMs = undefined;
        void this.resync(`retry ${this.counters.attempt} after error`);
      }, delay);
    }
    this.log.error({ err: error.message, attempt: this.counters.attempt, retryInMs: delay, reason: r.reason }, `ipvs reconcile failed: ${error.message}; retrying in ${delay} ms`);
    return { ...r, ok: false, error };
  }
}
