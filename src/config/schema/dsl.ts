import type { Diagnostics, Pos } from '../diagnostics.js';
import type { Stmt, Word } from '../parser.js';

/** What argument parsers and finalizers get: diagnostics and the statement being read. */
export interface BuildCtx {
  readonly diag: Diagnostics;
}

/**
 * Parses a keyword's arguments. `kw` is the keyword itself (for messages and positions when an
 * argument is missing). Reports its own errors and returns undefined when the value is unusable.
 */
export type ArgParser<T> = (args: readonly Word[], kw: Word, c: BuildCtx) => T | undefined;

/** What a keyword given twice in one block does. */
export type Repeat =
  /** The later one wins, with a warning (keepalived silently keeps the later one). */
  | 'last'
  /** Each occurrence adds to a list. */
  | 'append';

/** One keyword of a block. */
export interface KeywordSpec<F extends string = string> {
  /** Property of the built object that receives the value. */
  readonly field: F;
  readonly kind: 'value' | 'list' | 'block';
  /** kind 'value': parses the arguments on the keyword's line. */
  readonly parse?: ArgParser<unknown>;
  /** kind 'list': parses each line inside the block: all the line's words, and the list's keyword (for messages). */
  readonly entry?: ArgParser<unknown>;
  /** kind 'list': also accept entries inline on the keyword line (`track_interface eth0 eth1`). */
  readonly inline?: boolean;
  /** kind 'block': the nested block. */
  readonly block?: BlockSpec<any>;
  readonly repeat: Repeat;
  /** For documentation: what it means, its default and range, and how it differs from keepalived. */
  readonly doc: string;
  /** Legacy spelling: the canonical keyword it stands for (documentation and `--dump` only). */
  readonly aliasOf?: string;
  /** Warn when used; the text says what to use instead. */
  readonly deprecated?: string;
  /** Accepted for compatibility, read into the model, but not acted on by vigil (yet); shown by `check-config --verbose`. */
  readonly inert?: string;
}

/** A block of keepalived.conf (global_defs, vrrp_instance, real_server, HTTP_GET, ...). */
export interface BlockSpec<T> {
  /** Name used in messages: the keyword that opens the block. */
  readonly name: string;
  readonly keywords: Readonly<Record<string, KeywordSpec<Extract<keyof T, string>>>>;
  /** Parses the arguments of the opening statement (`vrrp_instance VI_1`, `real_server 1.2.3.4 80`). */
  readonly head?: ArgParser<Partial<T>>;
  /** Fresh defaults for every instance of the block. */
  readonly defaults: () => Partial<T>;
  /**
   * Lines of the body that are not keywords are entries (`virtual_server_group NAME { 10.0.0.1 80 }`):
   * each line's words (the first included) are parsed by `parse` and appended to `field`.
   */
  readonly entries?: { readonly field: Extract<keyof T, string>; readonly parse: ArgParser<unknown>; readonly doc: string };
  /** Cross-field checks and derived values; returns the finished object or undefined when unusable. */
  readonly finalize?: (obj: Partial<T>, stmt: Stmt, c: BuildCtx) => T | undefined;
}

/** Positions of the statements that set each field of a built object, for later diagnostics. */
const fieldPositions = new WeakMap<object, Map<string, Pos>>();

/** Where `field` of a built object was set (the keyword's position), if it was set explicitly. */
export function fieldPos(obj: object, field: string): Pos | undefined {
  return fieldPositions.get(obj)?.get(field);
}

/** Records where `field` was set. */
export function setFieldPos(obj: object, field: string, pos: Pos): void {
  let m = fieldPositions.get(obj);
  if (!m) fieldPositions.set(obj, (m = new Map()));
  m.set(field, pos);
}

/** `keyword ARGS` on one line, parsed by `parse`, stored in `field`; repeats replace. */
export function value<F extends string>(field: F, parse: ArgParser<unknown>, doc: string, extra: Partial<KeywordSpec<F>> = {}): KeywordSpec<F> {
  return { field, kind: 'value', parse, repeat: 'last', doc, ...extra };
}

/** `keyword ARGS` that may appear many times; each value is appended to the array in `field`. */
export function many<F extends string>(field: F, parse: ArgParser<unknown>, doc: string, extra: Partial<KeywordSpec<F>> = {}): KeywordSpec<F> {
  return { field, kind: 'value', parse, repeat: 'append', doc, ...extra };
}

/** `keyword { entry \n entry ... }`: each line is parsed by `entry`; repeated blocks append. */
export function list<F extends string>(field: F, entry: ArgParser<unknown>, doc: string, extra: Partial<KeywordSpec<F>> = {}): KeywordSpec<F> {
  return { field, kind: 'list', entry, repeat: 'append', doc, ...extra };
}

/** `keyword [ARGS] { nested keywords }`; `repeat: 'append'` collects many (real_server, url). */
export function block<F extends string>(field: F, spec: BlockSpec<any>, doc: string, extra: Partial<KeywordSpec<F>> = {}): KeywordSpec<F> {
  return { field, kind: 'block', block: spec, repeat: 'last', doc, ...extra };
}

/** An alias entry: same behaviour as `target`, documented as a legacy spelling of `canonical`. */
export function alias<F extends string>(canonical: string, target: KeywordSpec<F>): KeywordSpec<F> {
  return { ...target, aliasOf: canonical, doc: `Legacy spelling of \`${canonical}\`.` };
}

/** True when the block had a statement for `field` (even one whose value was rejected). */
export function written(obj: object, field: string): boolean {
  return fieldPositions.get(obj)?.has(field) ?? false;
}

/** Reports a required keyword that is absent (unless it was written with a bad value, already reported). */
export function requireField(obj: object, field: string, keyword: string, stmt: Stmt, c: BuildCtx, what: string): boolean {
  if ((obj as Record<string, unknown>)[field] !== undefined) return true;
  if (!written(obj, field)) c.diag.error(stmt.keyword.pos, 'missing-keyword', `${what} has no '${keyword}'`);
  return false;
}
