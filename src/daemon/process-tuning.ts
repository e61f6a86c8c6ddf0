/*
 * keepalived's process-priority keywords for the VRRP and checker children: `<kind>_priority`
 * (nice), `<kind>_rt_priority` (SCHED_RR), `<kind>_rlimit_rttime` (RLIMIT_RTTIME),
 * `<kind>_cpu_affinity` (sched_setaffinity) and `<kind>_no_swap` (refused: see lockAll below).
 * As keepalived's set_process_priorities (core/process.c, 2.2.7):
 * a realtime priority wins over nice (nice is then not applied); SCHED_RR carries
 * SCHED_RESET_ON_FORK so the scripts a child runs are never realtime; RLIMIT_RTTIME is set only
 * with a realtime priority, soft = half the limit (SIGXCPU, logged, as a warning) and hard = the
 * limit (the kernel kills a thread that runs that long without blocking); defaults: nothing
 * changed. One deliberate difference: without `<kind>_rlimit_rttime` vigil uses 200000 µs, not
 * keepalived's 10000 µs. The kernel counts that limit in scheduler ticks (4 ms at HZ=250) and
 * sends SIGKILL at the third; a C daemon never runs that long, but a Node main thread does (a
 * garbage collection, a burst of work): with 10 ms the VRRP child was killed within seconds of
 * start, over and over (measured, bench:isolation split-rt, 2026-12-07). Applied at child start and again on every reload (keepalived
 * calls it from start_vrrp / start_check, which run on reload too). Unlike keepalived, a reload
 * that drops a keyword puts the default back (SCHED_OTHER, the original nice, munlockall).
 * A failure (EPERM without CAP_SYS_NICE / CAP_IPC_LOCK ...) is logged and the child runs on.
 *
 * Thread scope: Linux applies these per thread; vigil applies them to the child's main thread
 * (tid = pid), the one that runs the timers and sends adverts. V8's helper threads and libuv's
 * pool keep the normal class, so a long concurrent GC phase never trips RLIMIT_RTTIME. The CPU
 * affinity too is set on the main thread only (the one that sends adverts, or makes the checks'
 * connections): V8's helper threads pinned to the CPU of a realtime main thread could not run
 * while it waits for one of them (a parallel GC phase). Threads and scripts the main thread
 * starts later inherit its CPUs, as keepalived's scripts do. A reload that drops it puts back the
 * CPUs the child had before.
 */
import type { Logger } from 'pino';
import type { GlobalDefs } from '../config/schema/global.js';
import * as libc from '../net/libc.js';

/** keepalived's RT_RLIMIT_DEFAULT (process.h): 10000 µs — too tight for Node, see above. */
export const KEEPALIVED_RT_RLIMIT_US = 10_000;
/** vigil's RLIMIT_RTTIME when none is configured: 200 ms hard, SIGXCPU (logged) at 100 ms. */
export const RT_RLIMIT_DEFAULT_US = 200_000;

/** The children whose scheduling the configuration tunes. */
export type TunedKind = 'vrrp' | 'checker';

/** What the configuration asks of one child's process. */
export interface ProcessTuning {
  /** `<kind>_priority`: nice, -20..19; absent: unchanged (keepalived: 0 = leave alone). */
  readonly nice?: number;
  /** `<kind>_rt_priority`: SCHED_RR priority 1..99; absent: SCHED_OTHER. */
  readonly rtPriority?: number;
  /** `<kind>_rlimit_rttime` in µs (hard limit; soft is half), only with rtPriority. */
  readonly rlimitRttimeUs: number;
  /** `<kind>_no_swap`: lock the process in memory. */
  readonly noSwap: boolean;
  /** `<kind>_cpu_affinity`: the CPUs the child may run on; absent: unchanged. */
  readonly cpus?: readonly number[];
}

/** The settings of `kind` from global_defs (pure). */
export function tuningFor(kind: TunedKind, g: GlobalDefs): ProcessTuning {
  const nice = kind === 'vrrp' ? g.vrrpPriority : g.checkerPriority;
  const rt = kind === 'vrrp' ? g.vrrpRtPriority : g.checkerRtPriority;
  const rttimeMs = kind === 'vrrp' ? g.vrrpRlimitRttimeMs : g.checkerRlimitRttimeMs;
  const cpus = kind === 'vrrp' ? g.vrrpCpuAffinity : g.checkerCpuAffinity;
  return {
    // keepalived treats 0 as "not set" for both
    ...(nice !== undefined && nice !== 0 ? { nice } : {}),
    ...(rt !== undefined && rt > 0 ? { rtPriority: rt } : {}),
    rlimitRttimeUs: rttimeMs !== undefined ? Math.round(rttimeMs * 1000) : RT_RLIMIT_DEFAULT_US,
    noSwap: kind === 'vrrp' ? g.vrrpNoSwap : g.checkerNoSwap,
    ...(cpus !== undefined && cpus.length > 0 ? { cpus: [...new Set(cpus)].sort((a, b) => a - b) } : {}),
  };
}

/** One line of what was done, or what failed, for the log and for tests. */
export interface TuningOutcome {
  readonly what: 'rt' | 'nice' | 'rttime' | 'mlock' | 'sched-other' | 'nice-reset' | 'munlock' | 'affinity' | 'affinity-reset';
  readonly ok: boolean;
  readonly detail: string;
  readonly err?: libc.SysError | Error;
}

/** The kernel calls the tuner makes, for the calling (main) thread; a fake stands in for unit tests. */
export interface SchedOps {
  setRoundRobin(priority: number): void;
  setOther(): void;
  getNice(): number;
  setNice(nice: number): void;
  getRttime(): [bigint, bigint];
  setRttime(soft: bigint, hard: bigint): void;
  lockAll(): string;
  unlockAll(): void;
  /** Called once when a soft RLIMIT_RTTIME is in force: log SIGXCPU instead of dying of it. */
  onSigxcpu(fn: () => void): void;
  /** The CPUs of the main thread. */
  getAffinity(): number[];
  /** Pins the main thread to `cpus`. */
  setAffinity(cpus: readonly number[]): void;
}

/** The real calls, through libc (pid 0: the calling thread, which is the main thread here). */
export const realSchedOps: SchedOps = {
  setRoundRobin: (p) => libc.schedSetscheduler(0, libc.SCHED_RR | libc.SCHED_RESET_ON_FORK, p),
  setOther: () => libc.schedSetscheduler(0, libc.SCHED_OTHER, 0),
  getNice: () => libc.getNice(0),
  setNice: (n) => libc.setNice(0, n),
  getRttime: () => libc.getRlimit(libc.RLIMIT_RTTIME),
  setRttime: (s, h) => libc.setRlimit(libc.RLIMIT_RTTIME, s, h),
  lockAll: () => {
    // Not applied. Under mlockall (MCL_CURRENT, with or without MCL_FUTURE, with MCL_ONFAULT) V8's
    // mprotect of a new code page fails and V8 aborts the process (Check failed in
    // OS::SetPermissions, SIGTRAP): bench:isolation's VRRP child died 8 s to 2 min after start,
    // every time, until its restarts backed off to 30 s. A child that dies is worse than one that
    // may be paged out, so the keyword is refused with a warning.
    throw new Error('not applied to a Node child: V8 aborts when it changes the permissions of locked memory (mlockall), so the child would die');
  },
  unlockAll: () => {},
  onSigxcpu: (fn) => void process.on('SIGXCPU', fn),
  getAffinity: () => libc.schedGetaffinity(0),
  setAffinity: (cpus) => libc.schedSetaffinity(0, cpus),
};

/**
 * Applies a child's ProcessTuning and remembers what it changed, so the next `apply` (a reload)
 * changes only the difference and can put the defaults back. Never throws.
 */
export class ProcessTuner {
  private applied: ProcessTuning = { rlimitRttimeUs: RT_RLIMIT_DEFAULT_US, noSwap: false };
  private origNice: number | undefined;
  private origRttime: [bigint, bigint] | undefined;
  private origCpus: number[] | undefined;
  private sigxcpu = false;

  constructor(
    private readonly kind: TunedKind,
    private readonly log: Logger,
    private readonly ops: SchedOps = realSchedOps,
  ) {}

  /** What is in force now (for status and tests). */
  get current(): ProcessTuning {
    return this.applied;
  }

  /** Brings the process to `want`; logs one line per change or failure; returns them. */
  apply(want: ProcessTuning): TuningOutcome[] {
    const out: TuningOutcome[] = [];
    const have = this.applied;
    let rt = have.rtPriority;
    let rttime = have.rlimitRttimeUs;
    let nice = have.nice;
    let noSwap = have.noSwap;
    let cpus = have.cpus;
    const attempt = (what: TuningOutcome['what'], detail: string, fn: () => string | void): boolean => {
      try {
        const extra = fn();
        out.push({ what, ok: true, detail: extra ? `${detail} (${extra})` : detail });
        return true;
      } catch (e) {
        out.push({ what, ok: false, detail, err: e as Error });
        return false;
      }
    };

    if (want.rtPriority !== undefined) {
      if (want.rtPriority !== have.rtPriority && attempt('rt', `SCHED_RR priority ${want.rtPriority}`, () => this.ops.setRoundRobin(want.rtPriority!))) rt = want.rtPriority;
      if (rt !== undefined && (want.rlimitRttimeUs !== have.rlimitRttimeUs || have.rtPriority === undefined)) {
        const hard = BigInt(want.rlimitRttimeUs);
        if (
          attempt('rttime', `RLIMIT_RTTIME soft ${hard / 2n} µs, hard ${hard} µs`, () => {
            this.origRttime ??= this.ops.getRttime();
            this.ops.setRttime(hard / 2n, hard);
            if (!this.sigxcpu) {
              this.sigxcpu = true;
              this.ops.onSigxcpu(() => this.log.warn({ op: 'process.sigxcpu', child: this.kind }, `${this.kind} child: SIGXCPU, ran ${hard / 2n} µs realtime without blocking; the kernel kills it at ${hard} µs (${this.kind}_rlimit_rttime)`));
            }
          })
        )
          rttime = want.rlimitRttimeUs;
      }
    } else if (have.rtPriority !== undefined) {
      if (attempt('sched-other', 'SCHED_OTHER (rt_priority removed)', () => this.ops.setOther())) rt = undefined;
      if (this.origRttime) {
        const [s, h] = this.origRttime;
        attempt('rttime', `RLIMIT_RTTIME back to ${s}/${h}`, () => this.ops.setRttime(s, h));
      }
      rttime = want.rlimitRttimeUs;
    } else rttime = want.rlimitRttimeUs;

    // keepalived: nice only without a realtime priority
    const wantNice = want.rtPriority === undefined ? want.nice : undefined;
    if (wantNice !== undefined && wantNice !== have.nice) {
      if (
        attempt('nice', `nice ${wantNice}`, () => {
          this.origNice ??= this.ops.getNice();
          this.ops.setNice(wantNice);
        })
      )
        nice = wantNice;
    } else if (wantNice === undefined && have.nice !== undefined) {
      const back = this.origNice ?? 0;
      if (attempt('nice-reset', `nice back to ${back}`, () => this.ops.setNice(back))) nice = undefined;
    }

    if (want.noSwap && !have.noSwap) {
      if (attempt('mlock', 'locked in memory, mlockall', () => this.ops.lockAll())) noSwap = true;
    } else if (!want.noSwap && have.noSwap) {
      if (attempt('munlock', 'unlocked from memory (no_swap removed), munlockall', () => this.ops.unlockAll())) noSwap = false;
    }

    const same = (a?: readonly number[], b?: readonly number[]) => (a ?? []).join(',') === (b ?? []).join(',');
    if (want.cpus !== undefined && !same(want.cpus, have.cpus)) {
      if (
        attempt('affinity', `main thread on CPUs ${want.cpus.join(',')}`, () => {
          this.origCpus ??= this.ops.getAffinity();
          this.ops.setAffinity(want.cpus!);
        })
      )
        cpus = want.cpus;
    } else if (want.cpus === undefined && have.cpus !== undefined) {
      const back = this.origCpus ?? [];
      if (back.length > 0 && attempt('affinity-reset', `main thread back on CPUs ${back.join(',')} (cpu_affinity removed)`, () => this.ops.setAffinity(back))) cpus = undefined;
    }

    this.applied = { ...(nice !== undefined ? { nice } : {}), ...(rt !== undefined ? { rtPriority: rt } : {}), rlimitRttimeUs: rttime, noSwap, ...(cpus !== undefined ? { cpus } : {}) };
    for (const o of out) {
      const kw = KEYWORD[o.what];
      if (o.ok) this.log.info({ op: 'process.tuning', child: this.kind, applied: o.detail }, `${this.kind} child: ${o.detail} (${this.kind}_${kw})`);
      else this.log.warn({ op: 'process.tuning', child: this.kind, reason: o.detail, err: o.err }, `${this.kind} child: cannot apply ${this.kind}_${kw} (${o.detail}): ${o.err?.message ?? 'unknown error'}; running on without it`);
    }
    return out;
  }
}

const KEYWORD: Record<TuningOutcome['what'], string> = {
  rt: 'rt_priority',
  'sched-other': 'rt_priority',
  nice: 'priority',
  'nice-reset': 'priority',
  rttime: 'rlimit_rttime',
  mlock: 'no_swap',
  munlock: 'no_swap',
  affinity: 'cpu_affinity',
  'affinity-reset': 'cpu_affinity',
};
