/*
 * The reconciler (STYLE habit 5, MetalLB's desired-state loop): one loop owns the kernel's IPVS
 * table. `reconcile(desired, reason)` replaces the desired table and applies only the difference;
 * it never flushes, and never touches a service vigil was not given (adoption after a restart,
 * even a kill -9, costs zero writes). The kernel is read at the first run, after any error and
 * on a periodic re-read (which puts right what was changed by hand, logging it); between those,
 * the table the last successful run left is the baseline. A failed write or read re-reads the
 * kernel and retries with growing delays (capped), on the injected clock.
 */
import type { Ipvs, IpvsError, IpvsOp } from '../ipvs/ipvs.js';
import { type Dest, type Service, destKey, destText, serviceKey, serviceText } from '../ipvs/types.js';
import type { Cancel, Clock } from '../util/clock.js';
import { type ServiceEntry, apply, diff } from './diff.js';

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

  private desired: readonly ServiceEntry[] | undefined;
  /** Keys of services vigil has been asked for (and not yet removed). */
  private readonly managed = new Set<string>();
  /** What the kernel holds, as far as vigil knows (managed services only); undefined: read it. */
  private known: ServiceEntry[] | undefined;
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
      this.known = undefined;
    }
    this.armResync();
  }

  /** Replaces the desired table and makes the kernel match it; resolves when the run that includes it ends. */
  reconcile(desired: readonly ServiceEntry[], reason: string): Promise<ReconcileResult> {
    this.desired = desired;
    this.generation++;
    for (const e of desired) {
      const k = serviceKey(e.service);
      // a service vigil did not manage yet: read its destinations from the kernel (it may exist already)
      if (!this.managed.has(k)) this.known = undefined;
      this.managed.add(k);
    }
    return this.kick(reason);
  }

  /** Re-reads the kernel and puts right any difference (what the periodic timer runs). */
  resync(reason = 'periodic re-read'): Promise<ReconcileResult> {
    this.known = undefined;
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

  /** Reads the managed part of the kernel's table. */
  private async readKernel(want: readonly ServiceEntry[]): Promise<ServiceEntry[]> {
    this.counters.reads++;
    const services = await this.ipvs.services();
    const wanted = new Set([...this.managed, ...want.map((e) => serviceKey(e.service))]);
    const out: ServiceEntry[] = [];
    for (const s of services) {
      // unmanaged services are listed (so the diff can count them) but their destinations are not read
      out.push({ service: s, dests: wanted.has(serviceKey(s)) ? await this.ipvs.dests(s) : [] });
    }
    return out;
  }

  private async runOnce(reason: string): Promise<ReconcileResult> {
    const base = { reason, writes: 0, failed: 0, adopted: 0, unmanaged: 0, outside: 0 };
    if (this.stopped) return { ...base, ok: false, read: false, error: new Error('reconciler stopped') };
    const desired = this.desired;
    if (desired === undefined) return { ...base, ok: true, read: false };
    const generation = this.generation;
    this.counters.runs++;
    this.lastReason = reason;
    const read = this.known === undefined;
    let current: ServiceEntry[];
    try {
      current = this.known ?? (await this.readKernel(desired));
    } catch (e) {
      return this.failed({ ...base, read }, e as Error);
    }
    const plan = diff(desired, current, this.managed);
    let outside = 0;
    let why = reason;
    if (read && this.converged === generation && plan.ops.length > 0) {
      // nothing changed on vigil's side since it last converged: these differences were made by hand
      const cur = new Map(current.map((e) => [serviceKey(e.service), e]));
      for (const o of plan.ops) this.log.warn({ ...fields(o), reason }, `changed outside vigil: ${outsideText(o, cur)}`);
      outside = plan.ops.length;
      this.counters.outsideChanges += outside;
      why = `${reason}: put right a change made outside vigil`;
    }
    if (read && this.counters.reads === 1) this.log.info({ adopted: plan.adopted, unmanaged: plan.unmanaged.length, reason }, `ipvs table read: ${plan.adopted} services as wanted, ${plan.unmanaged.length} not vigil's`);
    const done = { ...base, read, adopted: plan.adopted, unmanaged: plan.unmanaged.length, outside };
    if (plan.ops.length === 0) return this.succeeded(done, current, generation);

    for (const o of plan.ops) this.log.info({ ...fields(o), reason: why }, `ipvs ${describeOp(o)}`);
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
    const after = apply(current, okOps);
    for (const o of okOps) if (o.op === 'deleteService' && !desired.some((e) => serviceKey(e.service) === serviceKey(o.service))) this.managed.delete(serviceKey(o.service));
    if (errors.length > 0) return this.failed({ ...done, writes: plan.ops.length, failed: errors.length }, errors[0]!);
    return this.succeeded({ ...done, writes: plan.ops.length }, after, generation);
  }

  private succeeded(r: Omit<ReconcileResult, 'ok'>, table: ServiceEntry[], generation: number): ReconcileResult {
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
    this.known = undefined; // re-read the kernel next time
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
