/*
 * The supervisor ↔ child protocol over node's IPC channel (child_process.fork with
 * serialization 'advanced', so a compiled Config crosses as a structured clone). Every message
 * is an object with a `t` (type). Both sides validate what they receive with the parse
 * functions below; a malformed message is rejected, counted and logged, never acted on.
 *
 *   child → supervisor   hello (listening; send start now)
 *   supervisor → child   start {config, options, holds?} · request {id, op, ...} · stop
 *   child → supervisor   ready · fatal {message} · reply {id, ok, result | error}
 */
import type { Config } from '../config/compile.js';
import type { Hold } from '../vrrp/override.js';

/** The kinds of child processes. The checker/IPVS child joins as 'checker'. */
export type ChildKind = 'vrrp' | 'checker';

/** Every kind the protocol knows (a child entry refuses any other). */
export const CHILD_KINDS: readonly ChildKind[] = ['vrrp', 'checker'];

/** The keepalived-style text dumps (SIGUSR1 data, SIGUSR2 stats). */
export type DumpKind = 'data' | 'stats';

/** Requests the supervisor makes of a running child. */
export type RequestOp = 'status' | 'reload' | 'dump' | 'override' | 'control';

/** What a child needs besides the configuration. */
export interface ChildOptions {
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  readonly logFormat: 'auto' | 'json' | 'pretty';
  /** --state-dir: vigil's state directory: the checker's managed services and overrides, kept across restarts. */
  readonly stateDir?: string;
  /** --ipvs-resync-ms: the checker's IPVS re-read period. */
  readonly ipvsResyncMs?: number;
}

/** A message from the supervisor to a child. */
export type ParentMessage =
  /** `holds`: the operator holds in force (VRRP child), applied before any instance starts. */
  | { readonly t: 'start'; readonly config: Config; readonly options: ChildOptions; readonly holds?: Readonly<Record<string, Hold>> }
  | { readonly t: 'request'; readonly id: number; readonly op: 'status' }
  | { readonly t: 'request'; readonly id: number; readonly op: 'reload'; readonly config: Config }
  | { readonly t: 'request'; readonly id: number; readonly op: 'dump'; readonly kind: DumpKind }
  /** The whole set of operator holds (`vigil failover`), replacing the previous one. */
  | { readonly t: 'request'; readonly id: number; readonly op: 'override'; readonly holds: Readonly<Record<string, Hold>> }
  | { readonly t: 'request'; readonly id: number; readonly op: 'control'; readonly method: string; readonly params: Record<string, unknown> }
  | { readonly t: 'stop' };

/** A message from a child to the supervisor. */
export type ChildMessage =
  | { readonly t: 'hello' }
  | { readonly t: 'ready' }
  | { readonly t: 'fatal'; readonly message: string }
  | { readonly t: 'reply'; readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly t: 'reply'; readonly id: number; readonly ok: false; readonly error: string };

/** Why a message was rejected. */
export interface IpcReject {
  readonly reject: string;
}

const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);
const LOG_FORMATS = new Set(['auto', 'json', 'pretty']);

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function isConfig(v: unknown): v is Config {
  const c = record(v);
  return c !== undefined && Array.isArray(c.vrrpInstances) && Array.isArray(c.files) && record(c.globalDefs) !== undefined;
}

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isHolds(v: unknown): v is Record<string, Hold> {
  const r = record(v);
  if (!r) return false;
  return Object.values(r).every((h) => {
    const o = record(h);
    return o !== undefined && typeof o.by === 'string' && typeof o.reason === 'string' && typeof o.since === 'number' && (o.until === undefined || typeof o.until === 'number');
  });
}

/** Validates a message received by a child. */
export function parseParentMessage(v: unknown): ParentMessage | IpcReject {
  const m = record(v);
  if (!m) return { reject: 'a message is an object' };
  switch (m.t) {
    case 'start': {
      const o = record(m.options);
      if (!isConfig(m.config)) return { reject: "start: 'config' is not a compiled configuration" };
      if (!o || !LOG_LEVELS.has(String(o.logLevel)) || !LOG_FORMATS.has(String(o.logFormat))) return { reject: "start: bad 'options'" };
      if (m.holds !== undefined && !isHolds(m.holds)) return { reject: "start: 'holds' must map instance names to {by, reason, since, until?}" };
      if (o.stateDir !== undefined && (typeof o.stateDir !== 'string' || !o.stateDir.startsWith('/'))) return { reject: "start: 'options.stateDir' must be an absolute path" };
      if (o.ipvsResyncMs !== undefined && (typeof o.ipvsResyncMs !== 'number' || !Number.isInteger(o.ipvsResyncMs) || o.ipvsResyncMs < 100)) return { reject: "start: 'options.ipvsResyncMs' must be an integer ≥ 100" };
      const options: ChildOptions = {
        logLevel: o.logLevel as ChildOptions['logLevel'],
        logFormat: o.logFormat as ChildOptions['logFormat'],
        ...(o.stateDir !== undefined ? { stateDir: o.stateDir } : {}),
        ...(o.ipvsResyncMs !== undefined ? { ipvsResyncMs: o.ipvsResyncMs } : {}),
      };
      return { t: 'start', config: m.config, options, ...(m.holds !== undefined ? { holds: m.holds } : {}) };
    }
    case 'request':
      if (!isId(m.id)) return { reject: "request: 'id' must be a non-negative integer" };
      if (m.op === 'status') return { t: 'request', id: m.id, op: 'status' };
      if (m.op === 'reload') return isConfig(m.config) ? { t: 'request', id: m.id, op: 'reload', config: m.config } : { reject: "reload: 'config' is not a compiled configuration" };
      if (m.op === 'override') return isHolds(m.holds) ? { t: 'request', id: m.id, op: 'override', holds: m.holds } : { reject: "override: 'holds' must map instance names to {by, reason, since, until?}" };
      if (m.op === 'dump') return m.kind === 'data' || m.kind === 'stats' ? { t: 'request', id: m.id, op: 'dump', kind: m.kind } : { reject: "dump: 'kind' must be data or stats" };
      if (m.op === 'control')
        return typeof m.method === 'string' && record(m.params) ? { t: 'request', id: m.id, op: 'control', method: m.method, params: record(m.params)! } : { reject: "control: needs 'method' (a string) and 'params' (an object)" };
      return { reject: `request: unknown op ${JSON.stringify(m.op)}` };
    case 'stop':
      return { t: 'stop' };
    default:
      return { reject: `unknown message type ${JSON.stringify(m.t)}` };
  }
}

/** Validates a message received by the supervisor. */
export function parseChildMessage(v: unknown): ChildMessage | IpcReject {
  const m = record(v);
  if (!m) return { reject: 'a message is an object' };
  switch (m.t) {
    case 'hello':
      return { t: 'hello' };
    case 'ready':
      return { t: 'ready' };
    case 'fatal':
      return typeof m.message === 'string' ? { t: 'fatal', message: m.message } : { reject: "fatal: 'message' must be a string" };
    case 'reply':
      if (!isId(m.id)) return { reject: "reply: 'id' must be a non-negative integer" };
      if (m.ok === true) return { t: 'reply', id: m.id, ok: true, result: m.result };
      if (m.ok === false && typeof m.error === 'string') return { t: 'reply', id: m.id, ok: false, error: m.error };
      return { reject: "reply: needs ok: true with 'result', or ok: false with 'error' (a string)" };
    default:
      return { reject: `unknown message type ${JSON.stringify(m.t)}` };
  }
}

/** True when `x` is a rejection rather than a message. */
export function isReject(x: ParentMessage | ChildMessage | IpcReject): x is IpcReject {
  return 'reject' in x;
}
