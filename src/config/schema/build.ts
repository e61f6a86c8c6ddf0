import type { Pos } from '../diagnostics.js';
import type { BlockExpectation, Grammar, Stmt, Word } from '../parser.js';
import { suggest } from './args.js';
import { type BlockSpec, type BuildCtx, type KeywordSpec, fieldPos, setFieldPos } from './dsl.js';

/** Parser context: the block spec we are inside, or undefined inside an unknown block. */
export type SpecCtx = BlockSpec<any> | undefined;

/** The grammar the parser needs, read off the block specs. */
export const specGrammar: Grammar<SpecCtx> = {
  expect(ctx, keyword) {
    const k = ctx?.keywords[keyword];
    if (!k) return { expect: 'any' as BlockExpectation, child: undefined };
    if (k.kind === 'value') return { expect: 'none', child: undefined };
    if (k.kind === 'list') return { expect: k.inline ? 'any' : 'block', child: undefined };
    return { expect: 'block', child: k.block };
  },
};

/** For "belongs in X" hints: every keyword of every block reachable from `root`, with its blocks. */
export function keywordIndex(root: BlockSpec<any>): Map<string, Set<string>> {
  const index = new Map<string, Set<string>>();
  const seen = new Set<BlockSpec<any>>();
  const walk = (b: BlockSpec<any>): void => {
    if (seen.has(b)) return;
    seen.add(b);
    for (const [name, k] of Object.entries(b.keywords)) {
      let s = index.get(name);
      if (!s) index.set(name, (s = new Set()));
      s.add(b.name);
      if (k.block) walk(k.block);
    }
  };
  walk(root);
  return index;
}

/** What `buildBlock` needs besides the statement. */
export interface Builder extends BuildCtx {
  readonly index: Map<string, Set<string>>;
}

/**
 * Reads a block's statements into an object following `spec`: each known keyword's value goes to
 * its field (repeats replace with a warning, or append), unknown keywords are errors with a
 * "did you mean" or "belongs in" hint, and `finalize` runs the block's own checks.
 */
export function buildBlock<T>(spec: BlockSpec<T>, stmt: Stmt, b: Builder): T | undefined {
  const obj = spec.defaults() as Record<string, unknown>;
  if (spec.head) {
    const h = spec.head(stmt.args, stmt.keyword, b);
    if (h === undefined) return undefined;
    Object.assign(obj, h);
  } else if (stmt.args.length > 0) {
    b.diag.error(stmt.args[0]!.pos, 'extra-argument', `'${stmt.keyword.text}' takes no argument before its '{'; unexpected '${stmt.args[0]!.raw}'`);
  }
  setFieldPos(obj, '$block', stmt.keyword.pos);
  let ok = true;
  for (const s of stmt.block?.body ?? []) {
    const k = spec.keywords[s.keyword.text];
    if (!k && spec.entries) {
      readEntry(spec.entries, obj, s, b);
      continue;
    }
    if (!k) {
      reportUnknown(spec, s.keyword, b);
      continue;
    }
    if (k.deprecated) b.diag.warn(s.keyword.pos, 'deprecated', `'${s.keyword.text}' is deprecated: ${k.deprecated}`);
    const v = readKeyword(k, s, b);
    if (v === undefined) {
      // Remember that it was written, so "missing keyword" checks do not pile onto the error.
      if (!fieldPos(obj, k.field)) setFieldPos(obj, k.field, s.keyword.pos);
      ok = false;
      continue;
    }
    store(obj, k, v, s.keyword, b);
  }
  if (!ok && !spec.finalize) return obj as T;
  return spec.finalize ? spec.finalize(obj as Partial<T>, stmt, b) : (obj as T);
}

function readKeyword(k: KeywordSpec, s: Stmt, b: Builder): unknown {
  switch (k.kind) {
    case 'value':
      return k.parse!(s.args, s.keyword, b);
    case 'list': {
      const out: unknown[] = [];
      if (k.inline) for (const a of s.args) push(out, k.entry!([a], s.keyword, b));
      else if (s.args.length > 0) b.diag.error(s.args[0]!.pos, 'extra-argument', `'${s.keyword.text}' takes its entries inside '{ }'; unexpected '${s.args[0]!.raw}'`);
      for (const line of s.block?.body ?? []) {
        if (line.block) b.diag.error(line.block.open, 'unexpected-block', `an entry of '${s.keyword.text}' cannot open a block`);
        push(out, k.entry!([line.keyword, ...line.args], s.keyword, b));
      }
      return out;
    }
    case 'block':
      return buildBlock(k.block!, s, b);
  }
}

/** A non-keyword line of a block that has `entries`: parsed and appended to the entries field. */
function readEntry(e: NonNullable<BlockSpec<any>['entries']>, obj: Record<string, unknown>, s: Stmt, b: Builder): void {
  if (s.block) b.diag.error(s.block.open, 'unexpected-block', `an entry of this block cannot open a block`);
  const v = e.parse([s.keyword, ...s.args], s.keyword, b);
  if (!fieldPos(obj, e.field)) setFieldPos(obj, e.field, s.keyword.pos);
  if (v === undefined) return;
  const arr = (obj[e.field] as unknown[] | undefined) ?? [];
  arr.push(v);
  obj[e.field] = arr;
}

function push(out: unknown[], v: unknown): void {
  if (v !== undefined) out.push(v);
}

function store(obj: Record<string, unknown>, k: KeywordSpec, v: unknown, kw: Word, b: Builder): void {
  const prev = fieldPos(obj, k.field);
  if (k.repeat === 'append' || k.kind === 'list') {
    const arr = (obj[k.field] as unknown[] | undefined) ?? [];
    if (k.kind === 'list') arr.push(...(v as unknown[]));
    else arr.push(v);
    obj[k.field] = arr;
  } else {
    if (prev && prev.file === kw.pos.file && prev.line !== kw.pos.line)
      b.diag.warn(kw.pos, 'duplicate-keyword', `'${kw.text}' is set again here; this value replaces the one on line ${prev.line}`);
    obj[k.field] = v;
  }
  if (!prev || k.repeat !== 'append') setFieldPos(obj, k.field, kw.pos);
}

function reportUnknown(spec: BlockSpec<any>, kw: Word, b: Builder): void {
  const name = kw.text;
  const elsewhere = b.index.get(name);
  let hint = suggest(name, Object.keys(spec.keywords));
  if (!hint && elsewhere) hint = `; it belongs in ${[...elsewhere].map((e) => `'${e}'`).join(' or ')}`;
  if (!hint) hint = suggest(name, b.index.keys());
  const where = spec.name === '' ? 'at the top level' : `in '${spec.name}'`;
  b.diag.error(kw.pos, 'unknown-keyword', `unknown keyword '${name}' ${where}${hint}`);
}

/** The position of the statement that opened a built block. */
export function blockPos(obj: object): Pos | undefined {
  return fieldPos(obj, '$block');
}
