import type { Logger } from 'pino';
import type { Checker } from '../config/schema/checkers.js';
import type { LvsModel, RealServer } from '../config/schema/lvs.js';
import { WEIGHT_MAX } from '../config/schema/lvs-args.js';
import { type Clock, realClock } from '../util/clock.js';
import { LoopClock } from './loop-clock.js';
import type { MonitoredChecker } from './monitor.js';
import { checkKey, rsName, vsName } from './names.js';
import { type NotifyOptions, NotifyQueues } from './notify.js';
import { type ProbeOptions, monitoredCheckers } from './probe.js';
import type { CheckResult } from './result.js';
import { CheckScheduler, type LatenessStats, type SchedulerTask, firstOffsetMs } from './scheduler.js';
import { type CheckerState, type RsVerdict, checkerStep, initialChecker, rsVerdict } from './state.js';
import type { CheckView, HealthSnapshot, HealthTransition, LastResult, RsView, Verdicts, VsView } from './views.js';

/*
 * The health engine: every checker of every real server of every virtual server, each distinct
 * check run once however many virtual servers share it (fan-out by checkKey), first runs spread
 * over their warmup window, at most maxConcurrent probes in flight. Per (virtual server, real
 * server) pair it keeps the verdict (up, weight) and emits a transition once per change, runs
 * notify_up/notify_down in order, and answers snapshot() for `vigil status` and verdicts() for the
 * director. update() swaps in a reloaded configuration without disturbing unchanged checks.
 * Quorum, sorry_server, omega and inhibit_on_failure are the director's (it has the model).
 */

/** Builds the probe of one compiled checker; undefined when the type cannot be run. */
export type ProbeFactory = (c: Checker) => MonitoredChecker | undefined;

/** Options of the engine; every edge is injectable. */
export interface HealthEngineOptions {
  /** Default: monitoredCheckers([c], { clock, ...probeOptions }) from probe.ts. */
  readonly probeFactory?: ProbeFactory;
  readonly probeOptions?: ProbeOptions;
  readonly clock?: Clock;
  /** Uniform [0,1): the phase of the first-run spread. Default Math.random. */
  readonly random?: () => number;
  readonly log?: Logger;
  /** Probes in flight at most (the adaptive window of scheduler.ts stays under it). Default 2048. */
  readonly maxConcurrent?: number;
  /** notify_up / notify_down runner, timeout and script_user. */
  readonly notify?: NotifyOptions;
}

/**
 * Default limit of probes in flight. Sized for 10,000 real servers with delay_loop 1: healthy
 * checks hold a slot for about a millisecond, but a check of a silent server holds one for its
 * whole connect_timeout (1,000 dead servers x 3 s timeout / (1 s + 3 s) ≈ 750 slots), and those
 * must not starve the rest. Node raises RLIMIT_NOFILE to the hard limit, so descriptors suffice.
 */
export const DEFAULT_MAX_CONCURRENT = 2048;

interface Check extends SchedulerTask {
  readonly key: string;
  readonly mc: MonitoredChecker;
  readonly logAll: boolean;
  /** Index in the first-run spread. */
  readonly ordinal: number;
  state: CheckerState;
  retrying: boolean;
  failures: number;
  checks: number;
  last?: LastResult;
  since: number;
  weight?: number;
  weightDelta?: number;
  members: Member[];
  live: boolean;
}

interface Member {
  readonly vs: string;
  readonly rs: string;
  cfg: RealServer;
  checks: Check[];
  up: boolean;
  weight: number;
  reason: string;
  since: number;
  transitions: number;
}

interface VsEntry {
  readonly name: string;
  readonly members: Map<string, Member>;
}

/** Runs the health checks of an LvsModel. */
export class HealthEngine {
  private readonly clock: Clock;
  private readonly log: Logger | undefined;
  private readonly sched: CheckScheduler;
  private readonly factory: ProbeFactory;
  private readonly notify: NotifyQueues;
  private readonly phase: number;
  private readonly listeners = new Set<(t: HealthTransition) => void>();
  private checks = new Map<string, Check>();
  private vss = new Map<string, VsEntry>();
  private running = false;
  /** Bumped by stop(): results of probes started before are dropped. */
  private gen = 0;
  private ordinal = 0;
  /** verdicts() as last answered, and the virtual servers changed since. */
  private verdictCache: Verdicts | undefined;
  private readonly dirty = new Set<string>();
  /** Totals of every result applied, for metrics (see CheckResultTotals). */
  private readonly totals = new ResultTotals();

  constructor(model: LvsModel, o: HealthEngineOptions = {}) {
    // a clock read once per loop turn and one timer per delay: see loop-clock.ts
    this.clock = o.clock ?? new LoopClock(realClock);
    this.log = o.log;
    this.sched = new CheckScheduler(this.clock, o.maxConcurrent ?? DEFAULT_MAX_CONCURRENT);
    const probeOptions: ProbeOptions = { clock: this.clock, ...o.probeOptions };
    this.factory = o.probeFactory ?? ((c) => monitoredCheckers([c], probeOptions)[0]);
    this.notify = new NotifyQueues({ ...o.notify, ...(o.log ? { log: o.log } : {}) });
    this.phase = (o.random ?? Math.random)();
    this.load(model, false);
  }

  /** Subscribes to real-server transitions; returns the unsubscribe function. */
  onTransition(fn: (t: HealthTransition) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Schedules every check's first run, spread over its first window (scheduler.ts). Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const now = this.clock.now();
    for (const c of this.checks.values()) this.scheduleFirst(c, now);
  }

  /** Cancels every timer; results of probes in flight are dropped. Idempotent; start() resumes. */
  stop(): void {
    this.running = false;
    this.gen++;
    this.sched.clear();
  }

  /**
   * Swaps in a reloaded configuration. Checks whose key is unchanged keep their state, counters
   * and next run; removed ones stop (a result in flight is dropped); new ones start spread over
   * their window. Pairs that stay keep their verdict; one that changes by the reload itself (a new
   * configured weight, other checkers) emits a transition with a `reload:` reason. New and
   * removed pairs emit nothing: read verdicts().
   */
  update(model: LvsModel): void {
    this.load(model, true);
  }

  /** Resolves when every notify script queued so far has finished. */
  idle(): Promise<void> {
    return this.notify.idle();
  }

  /**
   * Per virtual server, per real server: up and effective weight. The answer is kept between calls
   * and a virtual server's record rebuilt only after one of its pairs changed (the director asks on
   * every transition, at 10,000 pairs); records are replaced, never changed in place.
   */
  verdicts(): Verdicts {
    if (this.verdictCache && this.dirty.size === 0) return this.verdictCache;
    const out: Record<string, Record<string, RsVerdict>> = {};
    for (const v of this.vss.values()) {
      const old = this.verdictCache?.[v.name];
      if (old && !this.dirty.has(v.name)) {
        out[v.name] = old;
        continue;
      }
      const rss: Record<string, RsVerdict> = {};
      for (const m of v.members.values()) rss[m.rs] = { up: m.up, weight: m.weight };
      out[v.name] = rss;
    }
    this.dirty.clear();
    this.verdictCache = out;
    return out;
  }

  /** Lateness percentiles of check starts; `reset` starts a new window (for benchmarks). */
  lateness(reset = false): LatenessStats {
    const s = this.sched.lateness.stats();
    if (reset) this.sched.lateness.reset();
    return s;
  }

  /** Results applied since start, by reason, and their latency histogram (metrics). */
  results(): CheckResultTotals {
    return this.totals.get();
  }

  /** Everything `vigil status` shows. */
  snapshot(): HealthSnapshot {
    const virtualServers: VsView[] = [];
    let pairs = 0;
    for (const v of this.vss.values()) {
      const realServers = [...v.members.values()].map((m) => this.rsView(m));
      pairs += realServers.length;
      virtualServers.push({ vs: v.name, up: realServers.filter((r) => r.up).length, realServers });
    }
    return { at: this.clock.now(), running: this.running, virtualServers, distinctChecks: this.checks.size, pairs, scheduler: this.sched.stats() };
  }

  private rsView(m: Member): RsView {
    let last: LastResult | undefined;
    for (const c of m.checks) if (c.last && (!last || c.last.at > last.at)) last = c.last;
    return {
      rs: m.rs,
      address: m.cfg.address,
      port: m.cfg.port,
      up: m.up,
      weight: m.weight,
      configuredWeight: m.cfg.weight,
      reason: m.reason,
      since: m.since,
      transitions: m.transitions,
      checks: m.checks.reduce((n, c) => n + c.checks, 0),
      failures: m.checks.reduce((n, c) => Math.max(n, c.failures), 0),
      ...(last ? { last } : {}),
      checkers: m.checks.map((c) => this.checkView(c)),
    };
  }

  private checkView(c: Check): CheckView {
    const nextAt = this.sched.dueAt(c);
    return {
      name: c.mc.name,
      up: c.state.up,
      failures: c.failures,
      retrying: c.retrying,
      checks: c.checks,
      lastReason: c.state.lastReason,
      since: c.since,
      sharedBy: c.members.length,
      ...(c.last ? { last: c.last } : {}),
      ...(nextAt !== undefined ? { nextAt } : {}),
      ...(c.weight !== undefined ? { weight: c.weight } : {}),
      ...(c.weightDelta !== undefined ? { weightDelta: c.weightDelta } : {}),
    };
  }

  private scheduleFirst(c: Check, now: number): void {
    this.sched.schedule(c, now + firstOffsetMs(c.mc.timing, c.ordinal, this.phase));
  }

  /** Builds the pairs and checks of `model`, reusing every check and pair that is unchanged. */
  private load(model: LvsModel, reload: boolean): void {
    const now = this.clock.now();
    const checks = new Map<string, Check>();
    const vss = new Map<string, VsEntry>();
    const unsupported = new Set<string>();
    const changed: [Member, RsVerdict][] = [];
    for (const vs of model.virtualServers) {
      const name = unique(vsName(vs), vss);
      const entry: VsEntry = { name, members: new Map() };
      vss.set(name, entry);
      for (const rs of vs.realServers) {
        const rname = unique(rsName(rs), entry.members);
        const mine: Check[] = [];
        for (const ck of rs.checkers) {
          const key = checkKey(ck);
          let c = checks.get(key) ?? this.checks.get(key);
          if (!c) {
            const mc = this.probeOf(ck);
            if (!mc) {
              if (!unsupported.has(ck.type)) this.log?.warn({ op: 'health.load', vs: name, rs: rname, checker: ck.type }, `${ck.type} is not supported yet: not run (the real server does not depend on it)`);
              unsupported.add(ck.type);
              continue;
            }
            c = this.newCheck(key, mc, ck, now);
          }
          checks.set(key, c);
          if (!mine.includes(c)) mine.push(c);
        }
        const old = this.vss.get(name)?.members.get(rname);
        const m: Member = old ?? { vs: name, rs: rname, cfg: rs, checks: mine, up: true, weight: rs.weight, reason: '', since: now, transitions: 0 };
        m.cfg = rs;
        m.checks = mine;
        const v = verdictOf(m);
        if (!old) {
          m.up = v.up;
          m.weight = v.weight;
          m.reason = initialReason(m);
        } else if (v.up !== m.up || v.weight !== m.weight) changed.push([m, v]);
        entry.members.set(rname, m);
      }
    }
    const fresh = [...checks.values()].filter((c) => !this.checks.has(c.key));
    let removed = 0;
    for (const [k, c] of this.checks)
      if (!checks.has(k)) {
        removed++;
        c.live = false;
        this.sched.cancel(c);
      }
    for (const c of checks.values()) c.members = [];
    for (const v of vss.values()) for (const m of v.members.values()) for (const c of m.checks) c.members.push(m);
    this.checks = checks;
    this.vss = vss;
    this.verdictCache = undefined;
    this.dirty.clear();
    if (this.running) for (const c of fresh) this.scheduleFirst(c, now);
    if (!reload) return;
    this.log?.info({ op: 'health.reload', checks: checks.size, added: fresh.length, removed }, `health checks reloaded: ${checks.size} (${fresh.length} new, ${removed} removed)`);
    for (const [m, v] of changed) {
      const down = m.checks.find((c) => !c.state.up);
      const why = v.up === m.up ? undefined : down ? `${down.mc.name} is down (${down.state.lastReason})` : 'every checker is up';
      this.emit(m, v, `reload: ${describe(m, v, why)}`, now);
    }
  }

  private probeOf(ck: Checker): MonitoredChecker | undefined {
    try {
      return this.factory(ck);
    } catch (err) {
      this.log?.error({ op: 'health.load', checker: ck.type, err }, `cannot build the ${ck.type} probe`);
      return undefined;
    }
  }

  private newCheck(key: string, mc: MonitoredChecker, ck: Checker, now: number): Check {
    const c: Check = {
      key,
      mc,
      logAll: (ck as { logAllFailures?: boolean }).logAllFailures === true,
      ordinal: this.ordinal++,
      state: initialChecker(mc.timing),
      retrying: false,
      failures: 0,
      checks: 0,
      since: now,
      members: [],
      live: true,
      run: (dueAt) => this.runCheck(c, dueAt),
    };
    return c;
  }

  private async runCheck(c: Check, dueAt: number): Promise<void> {
    const gen = this.gen;
    let r: CheckResult;
    try {
      r = await c.mc.probe();
    } catch (e) {
      r = { ok: false, reason: 'io-error', latencyMs: 0, detail: `probe threw: ${String(e)}` };
    }
    if (!c.live || gen !== this.gen || !this.running) return;
    this.apply(c, r, dueAt);
  }

  /**
   * One result: the checker's state, its next run, and the verdicts of every pair sharing it. After
   * a success the next run is delay_loop after this one was due (not after it ended), so neither
   * slow backends nor a full queue shift checks into clumps; after a failure, retries and the
   * down-state interval count from its end, as keepalived.
   */
  private apply(c: Check, r: CheckResult, dueAt: number): void {
    const now = this.clock.now();
    c.checks++;
    c.failures = r.ok ? 0 : c.failures + 1;
    c.last = { ok: r.ok, reason: r.reason, detail: r.detail, latencyMs: r.latencyMs, at: now };
    this.totals.add(r);
    const w = this.weightOf(c, r.weight, 0, 'weight');
    const d = this.weightOf(c, r.weightDelta, -WEIGHT_MAX, 'weight delta');
    const weightChanged = (w !== undefined && w !== c.weight) || (d !== undefined && d !== c.weightDelta);
    if (w !== undefined) c.weight = w;
    if (d !== undefined) c.weightDelta = d;
    const step = checkerStep(c.state, c.mc.timing, r.ok, r.reason, r.detail);
    c.state = step.state;
    c.retrying = step.retrying;
    this.sched.schedule(c, r.ok ? Math.max(now, dueAt + step.nextInMs) : now + step.nextInMs);
    if (step.change) {
      c.since = now;
      this.log?.info({ op: 'health.checker', check: c.mc.name, up: step.change.up, reason: step.change.reason, shared: c.members.length }, `${c.mc.name} ${step.change.up ? 'up' : 'down'}: ${step.change.reason}`);
    } else if (!r.ok) {
      const fields = { op: 'health.check', check: c.mc.name, reason: r.reason, detail: r.detail, failures: c.failures, retrying: step.retrying };
      if (c.logAll) this.log?.info(fields, `${c.mc.name} failed: ${r.reason}`);
      else this.log?.debug(fields, 'check failed');
    }
    if (!step.change && !weightChanged) return;
    for (const m of c.members) {
      const v = verdictOf(m);
      if (v.up !== m.up || v.weight !== m.weight) this.emit(m, v, `${c.mc.name}: ${describe(m, v, v.up !== m.up ? step.change?.reason : undefined)}`, now);
    }
  }

  /** A dynamic weight (or delta) of a result, validated: an integer in [min, 2147483647]. */
  private weightOf(c: Check, w: number | undefined, min: number, what: string): number | undefined {
    if (w === undefined) return undefined;
    if (Number.isInteger(w) && w >= min && w <= WEIGHT_MAX) return w;
    this.log?.warn({ op: 'health.check', check: c.mc.name, weight: w }, `ignoring an invalid dynamic ${what}`);
    return undefined;
  }

  /** Records and announces a pair's new verdict: log, notify script, listeners. */
  private emit(m: Member, v: RsVerdict, reason: string, at: number): void {
    const change = v.up !== m.up ? (v.up ? 'up' : 'down') : 'weight';
    const t: HealthTransition = { vs: m.vs, rs: m.rs, up: v.up, weight: v.weight, change, reason, at };
    m.up = v.up;
    m.weight = v.weight;
    m.reason = reason;
    m.since = at;
    m.transitions++;
    this.dirty.add(m.vs);
    this.log?.info({ op: 'health.rs', vs: m.vs, rs: m.rs, up: t.up, weight: t.weight, reason }, `real server ${m.rs} of ${m.vs} ${change === 'weight' ? `weight ${t.weight}` : change}: ${reason}`);
    if (change !== 'weight') {
      const script = change === 'up' ? m.cfg.notifyUp : m.cfg.notifyDown;
      if (script) this.notify.push(`${m.vs}|${m.rs}`, script, { vs: m.vs, rs: m.rs, change });
    }
    for (const fn of this.listeners)
      try {
        fn(t);
      } catch (err) {
        this.log?.error({ op: 'health.rs', vs: m.vs, rs: m.rs, err }, 'transition listener failed');
      }
  }
}

// ---- result totals for metrics (counters only; nothing else reads them) ----

/** Upper bounds (ms) of the check latency histogram's buckets; a last, implicit one is +Inf. */
export const CHECK_LATENCY_BUCKETS_MS: readonly number[] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** Check results since the engine started: counts by reason and a latency histogram (plain data, so it crosses IPC). */
export interface CheckResultTotals {
  /** Results by reason (`ok`, `connect-refused`, ...), each distinct check counted once per run. */
  readonly byReason: Readonly<Record<string, number>>;
  readonly latency: {
    /** Bucket upper bounds in ms (CHECK_LATENCY_BUCKETS_MS). */
    readonly bucketsMs: readonly number[];
    /** Results per bucket, not cumulative; one more entry than bucketsMs (the +Inf bucket). */
    readonly counts: readonly number[];
    readonly sumMs: number;
    readonly count: number;
  };
}

/** The counters behind HealthEngine.results(). */
class ResultTotals {
  private readonly byReason: Record<string, number> = {};
  private readonly counts = new Array<number>(CHECK_LATENCY_BUCKETS_MS.length + 1).fill(0);
  private sumMs = 0;
  private count = 0;

  add(r: CheckResult): void {
    this.byReason[r.reason] = (this.byReason[r.reason] ?? 0) + 1;
    const ms = Number.isFinite(r.latencyMs) && r.latencyMs > 0 ? r.latencyMs : 0;
    let i = 0;
    while (i < CHECK_LATENCY_BUCKETS_MS.length && ms > CHECK_LATENCY_BUCKETS_MS[i]!) i++;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.sumMs += ms;
    this.count++;
  }

  get(): CheckResultTotals {
    return { byReason: { ...this.byReason }, latency: { bucketsMs: CHECK_LATENCY_BUCKETS_MS, counts: [...this.counts], sumMs: this.sumMs, count: this.count } };
  }
}

// ---- end of result totals ----

/** The verdict of a pair from its checks. */
function verdictOf(m: Member): RsVerdict {
  return rsVerdict(m.cfg.weight, m.checks.map((c) => ({ up: c.state.up, weight: c.weight, weightDelta: c.weightDelta })));
}

/** `WHY`, `WHY, weight A -> B` or `weight A -> B`. */
function describe(m: Member, v: RsVerdict, why: string | undefined): string {
  const w = v.weight !== m.weight ? `weight ${m.weight} -> ${v.weight}` : undefined;
  return [why, w].filter((x) => x !== undefined).join(', ');
}

/** Why a pair is in its initial state. */
function initialReason(m: Member): string {
  if (m.checks.length === 0) return 'no checkers';
  const down = m.checks.find((c) => !c.state.up);
  return down ? `${down.mc.name}: ${down.state.lastReason}` : 'start';
}

/** `name`, or `name #2`... when already taken (the validator rejects duplicates; this is a guard). */
function unique(name: string, taken: ReadonlyMap<string, unknown>): string {
  if (!taken.has(name)) return name;
  for (let i = 2; ; i++) if (!taken.has(`${name} #${i}`)) return `${name} #${i}`;
}

export type { CheckView, HealthSnapshot, HealthTransition, LastResult, RsVerdict, RsView, Verdicts, VsView };
