import type { CheckTiming } from '../config/schema/checkers.js';
import { WEIGHT_MAX } from '../config/schema/lvs-args.js';
import type { Reason } from './result.js';

/*
 * keepalived's per-checker failure handling (check_http.c epilog/timeout_epilog, check_api.c), as
 * pure functions: a failure while up (or before the first verdict) is retried `retry` times,
 * `delay_before_retry` apart, and only then is the checker down; while down, failures are not
 * retried and the next check comes after max(delay_loop, delay_before_retry); any success brings it
 * up and resets the retries. alpha: start down. A real server is up when all its checkers are.
 */

/** The timing a checker's state needs (a subset of CheckTiming). */
export type Timing = Pick<CheckTiming, 'retry' | 'delayBeforeRetryMs' | 'delayLoopMs' | 'warmupMs' | 'alpha'>;

/** State of one checker. */
export interface CheckerState {
  readonly up: boolean;
  /** A verdict was reached at least once (keepalived has_run). */
  readonly hasRun: boolean;
  /** Failed attempts in the current series (keepalived retry_it). */
  readonly failures: number;
  readonly lastReason: Reason | 'alpha' | 'start';
}

/** What one check result does to a checker. */
export interface CheckerStep {
  readonly state: CheckerState;
  /** When to run the next check, ms from now. */
  readonly nextInMs: number;
  /** Set when the checker changed between up and down. */
  readonly change?: { readonly up: boolean; readonly reason: string };
  /** True when the next check is a retry (for logs and status). */
  readonly retrying: boolean;
}

/** The initial state: up, or down with alpha. */
export function initialChecker(t: Pick<Timing, 'alpha'>): CheckerState {
  return { up: !t.alpha, hasRun: false, failures: 0, lastReason: t.alpha ? 'alpha' : 'start' };
}

/** Delay before the first check: uniform in [0, warmup) (keepalived: random up to warmup; 0 = at once). */
export function firstDelayMs(t: Pick<Timing, 'warmupMs'>, random: () => number): number {
  return t.warmupMs > 0 ? Math.floor(random() * t.warmupMs) : 0;
}

/** Applies one check result. */
export function checkerStep(s: CheckerState, t: Timing, ok: boolean, reason: Reason, detail = ''): CheckerStep {
  if (ok) {
    const state: CheckerState = { up: true, hasRun: true, failures: 0, lastReason: 'ok' };
    return { state, nextInMs: t.delayLoopMs, retrying: false, ...(s.up ? {} : { change: { up: true, reason: 'ok' } }) };
  }
  const slow = Math.max(t.delayLoopMs, t.delayBeforeRetryMs);
  if (!s.up && s.hasRun) return { state: { ...s, lastReason: reason }, nextInMs: slow, retrying: false };
  const failures = s.failures + 1;
  if (failures <= t.retry) return { state: { ...s, failures, lastReason: reason }, nextInMs: t.delayBeforeRetryMs, retrying: true };
  const why = `${reason}${detail ? ` (${detail})` : ''}${t.retry > 0 ? ` after ${t.retry} retr${t.retry === 1 ? 'y' : 'ies'}` : ''}`;
  const state: CheckerState = { up: false, hasRun: true, failures, lastReason: reason };
  return { state, nextInMs: slow, retrying: false, ...(s.up ? { change: { up: false, reason: why } } : {}) };
}

/** A real server is up when every checker is up; with no checkers it is always up (keepalived). */
export function rsUp(checkers: readonly Pick<CheckerState, 'up'>[]): boolean {
  return checkers.every((c) => c.up);
}

/** What the director needs of a real server: in rotation or not, and its weight. */
export interface RsVerdict {
  readonly up: boolean;
  readonly weight: number;
}

/** What a checker contributes to its real server's weight: its last dynamic weight requests. */
export interface WeightInput {
  readonly up: boolean;
  /** MISC_CHECK misc_dynamic: the weight asked for (exit status - 2). */
  readonly weight?: number | undefined;
  /** FILE_CHECK: value x weight, added to the configured weight (keepalived track_file). */
  readonly weightDelta?: number | undefined;
}

/**
 * The verdict of a real server from its checkers: up when all are up; weight = the configured
 * weight plus an offset per dynamic checker: for a weight w asked by misc_dynamic, w - configured
 * (keepalived.conf(5): "the RS weight is increased by (exit status - 2 - rs configured weight)"),
 * so one such checker sets the weight to w; for a FILE_CHECK, its delta. Clamped to 0-2147483647.
 * The weight is reported whether up or not; the director applies inhibit_on_failure or removal.
 */
export function rsVerdict(configured: number, checkers: readonly WeightInput[]): RsVerdict {
  let w = configured;
  for (const c of checkers) {
    if (c.weight !== undefined) w += c.weight - configured;
    if (c.weightDelta !== undefined) w += c.weightDelta;
  }
  return { up: rsUp(checkers), weight: Math.min(WEIGHT_MAX, Math.max(0, w)) };
}
