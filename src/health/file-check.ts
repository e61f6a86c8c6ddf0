import fs from 'node:fs/promises';
import { constants } from 'node:fs';
import { type Clock, realClock } from '../util/clock.js';
import type { CheckResult } from './result.js';

/*
 * FILE_CHECK (keepalived check_file.c, track_file.c): the number in a track_file decides. keepalived
 * re-reads the file on inotify events; here each check reads it (the first 127 bytes, non-blocking,
 * so a FIFO or a huge file cannot stall the checker) and judges it as keepalived does:
 *  - weight 0: a non-zero value is a fault (with `reverse`, a zero value is), else up;
 *  - otherwise value × weight (negated with `reverse`), limited to a 32-bit int, is a fault when
 *    it is <= -2147483648, else up, and that number is added to the real server's weight.
 * A missing or unreadable file reads as 0; a number out of range is ignored (the last one stays).
 */

/** keepalived reads at most this much of a track file (char buf[128]). */
export const TRACK_FILE_READ_BYTES = 127;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/**
 * Reads a number as C strtol(s, NULL, 0) does: blanks, sign, then 0x hex, 0 octal or decimal
 * digits; no digits gives 0. Undefined when keepalived would ignore it (outside
 * [-2147483648, 2147483648]).
 */
export function strtol0(s: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)?/.exec(s);
  const digits = m?.[2];
  if (!digits) return 0;
  const neg = m[1] === '-';
  let v: bigint;
  if (/^0[xX]/.test(digits)) v = BigInt(digits);
  else if (digits.startsWith('0')) v = digits.length > 1 ? BigInt(`0o${digits.slice(1)}`) : 0n;
  else v = BigInt(digits);
  if (neg) v = -v;
  if (v < BigInt(INT32_MIN) || v > BigInt(INT32_MAX) + 1n) return undefined;
  return Number(v);
}

/** What a value does to the checker. */
export type FileEffect = { readonly fault: true; readonly detail: string } | { readonly fault: false; readonly weightDelta?: number; readonly detail: string };

/** keepalived's judgement of a track_file value for a real server (track_file.c update_track_file_status). */
export function fileEffect(value: number, weight: number, reverse: boolean): FileEffect {
  if (weight === 0) {
    const fault = (value !== 0) !== reverse;
    return fault
      ? { fault: true, detail: `value ${value} with weight 0${reverse ? ' reverse (0 is a fault)' : ' (non-zero is a fault)'}` }
      : { fault: false, detail: `value ${value} with weight 0${reverse ? ' reverse' : ''}` };
  }
  const product = value * weight * (reverse ? -1 : 1);
  const limited = Math.max(INT32_MIN, Math.min(INT32_MAX, product));
  if (limited <= INT32_MIN) return { fault: true, detail: `value ${value} × weight ${weight}${reverse ? ' reverse' : ''} = ${product} <= ${INT32_MIN}` };
  return { fault: false, weightDelta: limited, detail: `value ${value} × weight ${weight}${reverse ? ' reverse' : ''}: weight ${limited >= 0 ? '+' : ''}${limited}` };
}

/** Reads the leading number of a track file; 0 when missing or unreadable, undefined when out of range. */
export async function readTrackNumber(file: string): Promise<number | undefined> {
  let h: fs.FileHandle | undefined;
  try {
    h = await fs.open(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const buf = Buffer.alloc(TRACK_FILE_READ_BYTES);
    const { bytesRead } = await h.read(buf, 0, buf.length, 0);
    return strtol0(buf.subarray(0, bytesRead).toString('latin1'));
  } catch {
    return 0;
  } finally {
    await h?.close().catch(() => {});
  }
}

/** One FILE_CHECK, with the value it last accepted (kept when the file holds an out-of-range number). */
export interface FileCheckOptions {
  /** Name of the track_file, for details. */
  readonly name: string;
  readonly file: string;
  readonly weight: number;
  readonly reverse: boolean;
}

/** A probe reading the file at each call; resolves to a CheckResult, never rejects. */
export function fileChecker(o: FileCheckOptions, clock: Clock = realClock): () => Promise<CheckResult> {
  let last = 0;
  return async () => {
    const t0 = clock.now();
    const v = await readTrackNumber(o.file);
    const ignored = v === undefined;
    if (v !== undefined) last = v;
    const e = fileEffect(last, o.weight, o.reverse);
    const detail = `track_file ${o.name} (${o.file}): ${e.detail}${ignored ? ' (out-of-range number in the file ignored)' : ''}`;
    const latencyMs = clock.now() - t0;
    if (e.fault) return { ok: false, reason: 'file-fault', latencyMs, detail };
    return { ok: true, reason: 'ok', latencyMs, detail, ...(e.weightDelta !== undefined ? { weightDelta: e.weightDelta } : {}) };
  };
}
