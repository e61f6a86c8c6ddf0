import path from 'node:path';
import os from 'node:os';
import type { Diagnostics, Pos } from './diagnostics.js';
import { Text } from './text.js';
import { type SourceHost, fsHost, isGlob } from './source-host.js';

/** Options of the keepalived.conf preprocessor. */
export interface PreprocessOptions {
  /** keepalived's config-id (`-i`); selects `@id` lines. Defaults to the first label of the host name. */
  readonly configId?: string;
  readonly host?: SourceHost;
  /** Source of `${_RANDOM}`; defaults to Math.random. */
  readonly random?: () => number;
  /**
   * Receives each logical line as soon as it is complete; when given, lines are not kept in
   * `lines` (a large configuration then never holds all of them at once).
   */
  readonly onLine?: (line: LogicalLine) => void;
}

/** One logical line after comments, conditionals, definitions, sequences and includes. */
export type LogicalLine = Text;

interface Def {
  /** Single-line value, or the lines of a multi-line value. */
  readonly lines: readonly Text[];
  readonly multiline: boolean;
  readonly fn?: (params: number[]) => string;
}

const MAX_DEPTH = 64; // nested expansions; a recursive definition stops here with an error
const MAX_LINES = 5_000_000; // a runaway ~SEQ stops here with an error
const INCLUDES = new Set(['include', 'includer', 'includem', 'includew', 'includeb', 'includea']);
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*/;

/** The default config-id: the first part of the node name, as keepalived uses. */
export function defaultConfigId(): string {
  return os.hostname().split('.')[0] ?? '';
}

/**
 * Turns keepalived.conf files into logical lines, as keepalived's reader does: `#`/`!` comments
 * (outside double quotes, `\#` escapes), `@id`/`@^id` conditional lines, `$NAME=value`
 * definitions (multi-line with trailing `\`), `$NAME`/`${NAME}` substitution, `~SEQ`/`~SEQx`/`~LST`
 * repetition and `include` with globs relative to the including file, with cycle detection.
 * Every character keeps its file:line:col.
 */
export class Preprocessor {
  readonly lines: LogicalLine[] = [];
  /** Logical lines produced so far (also when they went to `onLine`). */
  count = 0;
  private readonly sink: (line: LogicalLine) => void;
  /** Every file read, in order. */
  readonly files: string[] = [];
  private readonly defs = new Map<string, Def>();
  private readonly host: SourceHost;
  private readonly configId: string;
  private readonly random: () => number;
  private readonly stack: string[] = [];
  private currentDir = '.';
  private budgetReported = false;

  constructor(
    private readonly diag: Diagnostics,
    opts: PreprocessOptions = {},
  ) {
    this.host = opts.host ?? fsHost;
    this.configId = opts.configId ?? defaultConfigId();
    this.random = opts.random ?? Math.random;
    this.sink = opts.onLine ?? ((l) => this.lines.push(l));
    this.defs.set('_PWD', { lines: [], multiline: false, fn: () => this.currentDir });
    this.defs.set('_INSTANCE', { lines: [], multiline: false, fn: () => this.configId });
    this.defs.set('_HASH', { lines: [], multiline: false, fn: () => '#' });
    this.defs.set('_BANG', { lines: [], multiline: false, fn: () => '!' });
    this.defs.set('_RANDOM', {
      lines: [],
      multiline: false,
      fn: ([min = 0, max = 32767]) => String(min + Math.floor(this.random() * (max - min + 1))),
    });
  }

  /** Reads the top-level file. A missing or unreadable file is an error at `file:1:1`. */
  processEntry(file: string): void {
    const pos: Pos = { file, line: 1, col: 1 };
    const kind = this.host.kind(file);
    if (kind === undefined) {
      this.diag.error(pos, 'missing-file', `configuration file '${file}' does not exist`);
      return;
    }
    if (kind !== 'file') {
      this.diag.error(pos, 'not-a-file', `configuration file '${file}' is not a regular file`);
      return;
    }
    this.processFile(file, pos);
  }

  private processFile(file: string, from: Pos): void {
    const real = this.host.realpath(file);
    if (this.stack.includes(real)) {
      const chain = [...this.stack.slice(this.stack.indexOf(real)), real].join(' -> ');
      this.diag.error(from, 'include-cycle', `include cycle: ${chain}`);
      return;
    }
    let src: string;
    try {
      src = this.host.readFile(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
      this.diag.error(from, 'unreadable-file', `cannot read '${file}': ${code}`);
      return;
    }
    this.files.push(file);
    this.stack.push(real);
    const savedDir = this.currentDir;
    this.currentDir = path.dirname(path.resolve(file));
    try {
      this.processSource(file, src);
    } finally {
      this.currentDir = savedDir;
      this.stack.pop();
    }
  }

  private processSource(file: string, src: string): void {
    const physical = src.split('\n');
    let multi: { name: string; lines: Text[] } | undefined;
    for (let i = 0; i < physical.length; i++) {
      let raw = physical[i]!;
      if (raw.endsWith('\r')) raw = raw.slice(0, -1);
      const { text, cont } = this.decomment(Text.fromSource(raw, { file, line: i + 1, col: 1 }));
      if (multi) {
        // Inside a multi-line definition: collect until a line without a trailing '\'.
        if (text.length > 0) multi.lines.push(text);
        if (!cont) {
          this.defs.set(multi.name, { lines: multi.lines, multiline: multi.lines.length > 1 });
          multi = undefined;
        }
        continue;
      }
      if (text.length === 0) continue;
      const started = this.processLine(text, 0, cont);
      if (started) multi = started;
    }
    if (multi) this.defs.set(multi.name, { lines: multi.lines, multiline: multi.lines.length > 1 });
  }

  /**
   * Strips comments and surrounding blanks. `cont` reports a trailing `\` (line continues, used by
   * multi-line definitions).
   */
  private decomment(t: Text): { text: Text; cont: boolean } {
    const s = t.s;
    let quote = false;
    let cut = s.length;
    let cont = false;
    const drop: number[] = []; // indexes of '\' escaping a comment character
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (c === '"') quote = !quote;
      else if (c === '\\') {
        if (i + 1 >= s.length) {
          cont = true;
          cut = i;
          break;
        }
        if (!quote && (s[i + 1] === '#' || s[i + 1] === '!')) drop.push(i);
        i++;
      } else if (!quote && (c === '#' || c === '!')) {
        cut = i;
        break;
      }
    }
    if (quote) this.diag.error(t.posAt(s.lastIndexOf('"')), 'unterminated-quote', 'unterminated quoted string: missing closing "');
    let text = t.slice(0, cut);
    if (drop.length > 0) {
      const parts: Text[] = [];
      let from = 0;
      for (const d of drop) {
        parts.push(text.slice(from, d));
        from = d + 1;
      }
      parts.push(text.slice(from));
      text = Text.concat(parts, t.posAt(0));
    }
    return { text: trim(text), cont };
  }

  /**
   * Processes one logical line. Returns the multi-line definition it starts, if any (so the caller
   * feeds it the following physical lines).
   */
  private processLine(t: Text, depth: number, cont = false): { name: string; lines: Text[] } | undefined {
    if (depth > MAX_DEPTH) {
      this.diag.error(t.posAt(0), 'expansion-depth', `expansion nested deeper than ${MAX_DEPTH} levels (a definition that refers to itself?)`);
      return undefined;
    }
    for (let rounds = 0; ; rounds++) {
      t = trim(t);
      if (t.length === 0) return undefined;
      if (rounds > MAX_DEPTH) {
        this.diag.error(t.posAt(0), 'expansion-depth', `substitution did not settle after ${MAX_DEPTH} rounds (a definition that refers to itself?)`);
        return undefined;
      }
      const s = t.s;
      if (s[0] === '@') {
        const neg = s[1] === '^';
        const start = neg ? 2 : 1;
        const ws = s.slice(start).search(/[ \t]/);
        if (ws < 0) return undefined; // nothing after the id: keepalived ignores the line
        const id = s.slice(start, start + ws);
        if ((id === this.configId) === neg) return undefined;
        t = t.slice(start + ws);
        continue;
      }
      if (s[0] === '$') {
        const m = /^\$([A-Za-z_][A-Za-z0-9_]*)[ \t]*=/.exec(s);
        if (m) {
          const value = trim(t.slice(m[0].length));
          if (cont) return { name: m[1]!, lines: value.length > 0 ? [value] : [] };
          this.defs.set(m[1]!, { lines: [value], multiline: false });
          return undefined;
        }
      }
      if (s.startsWith('~SEQ') || s.startsWith('~LST')) {
        this.processRepeat(t, depth);
        return undefined;
      }
      if (s.includes('$')) {
        const r = this.substitute(t);
        if (r.multi) {
          for (const line of r.multi) this.processLine(line, depth + 1);
          return undefined;
        }
        if (r.changed) {
          t = r.text;
          continue;
        }
      }
      break;
    }
    const words = t.s.split(/[ \t]+/);
    if (INCLUDES.has(words[0]!) && words.length === 2) {
      this.include(words[0]!, words[1]!.replace(/^"(.*)"$/, '$1'), t.posAt(t.s.indexOf(words[1]!)));
      return undefined;
    }
    if (this.count >= MAX_LINES) {
      if (!this.budgetReported) this.diag.error(t.posAt(0), 'too-large', `configuration expands to more than ${MAX_LINES} lines`);
      this.budgetReported = true;
      return undefined;
    }
    this.count++;
    this.sink(t);
    return undefined;
  }

  private include(variant: string, pattern: string, pos: Pos): void {
    const matches = this.host.glob(pattern, this.currentDir).filter((f) => this.host.kind(f) !== 'dir');
    if (matches.length === 0) {
      // keepalived says nothing here; a literal path that is missing is almost always a mistake.
      if (isGlob(pattern)) {
        if (variant === 'includea' || variant === 'includem' || variant === 'includew' || variant === 'includeb')
          this.diag.error(pos, 'include-no-match', `${variant} '${pattern}' matches no file`);
        else if (variant !== 'includer') this.diag.warn(pos, 'include-no-match', `include '${pattern}' matches no file`);
      } else this.diag.error(pos, 'missing-file', `included file '${pattern}' does not exist (relative to ${this.currentDir})`);
      return;
    }
    for (const f of matches) this.processFile(f, pos);
  }

  /** Replaces defined `$NAME` / `${NAME}` / `${_RANDOM 1 9}` references; undefined names stay as they are. */
  private substitute(t: Text): { text: Text; changed: boolean; multi?: Text[] } {
    const s = t.s;
    const parts: Text[] = [];
    let from = 0;
    let changed = false;
    for (let i = s.indexOf('$'); i >= 0 && i < s.length - 1; i = s.indexOf('$', i + 1)) {
      const braces = s[i + 1] === '{';
      const nameStart = i + (braces ? 2 : 1);
      const m = NAME_RE.exec(s.slice(nameStart));
      if (!m) continue;
      const name = m[0];
      let end = nameStart + name.length;
      let params: number[] = [];
      if (braces) {
        const close = s.indexOf('}', end);
        if (close < 0) continue;
        const inner = s.slice(end, close);
        if (inner.length > 0) {
          if (!/^( +\d+)+$/.test(inner)) continue;
          params = inner.trim().split(/ +/).map(Number);
        }
        end = close + 1;
      } else if (end < s.length && !/[ \t,)]/.test(s[end]!)) continue;
      const def = this.defs.get(name);
      if (!def) continue;
      const ref = t.posAt(i);
      if (def.multiline) {
        // keepalived: the first line of the value replaces the reference, the rest follow as lines.
        const after = t.slice(end);
        const lines = def.lines.map((l) => l.through(ref));
        const first = Text.concat([...parts, t.slice(from, i), lines[0] ?? Text.synthetic('', ref)], ref);
        const out = [first, ...lines.slice(1)];
        out[out.length - 1] = Text.concat([out[out.length - 1]!, after], ref);
        return { text: t, changed: true, multi: out };
      }
      const value = def.fn
        ? Text.synthetic(def.fn(params), ref)
        : def.lines[0]
          ? Text.synthetic(def.lines[0].s, ref)
          : Text.synthetic('', ref);
      parts.push(t.slice(from, i), value);
      from = end;
      i = end - 1;
      changed = true;
    }
    if (!changed) return { text: t, changed: false };
    parts.push(t.slice(from));
    return { text: Text.concat(parts, t.posAt(0)), changed: true };
  }

  /** `~SEQ(var, start, step, end) rest`, `~SEQx(...)` (hex) and `~LST(var, v1, v2)` / `~LST({a,b}, {1,2})`. */
  private processRepeat(t: Text, depth: number): void {
    const s = t.s;
    const pos = t.posAt(0);
    const hex = s.startsWith('~SEQx');
    const isSeq = s.startsWith('~SEQ');
    const open = s.indexOf('(');
    const close = matchingParen(s, open);
    if (open < 0 || close < 0 || s.slice(isSeq ? (hex ? 5 : 4) : 4, open).trim() !== '') {
      this.diag.error(pos, 'bad-sequence', `invalid ${isSeq ? '~SEQ' : '~LST'} specification: expected '${isSeq ? '~SEQ(var, start, step, end)' : '~LST(var, value, ...)'}'`);
      return;
    }
    // Parameters may themselves use definitions.
    const inner = this.substitute(t.slice(open + 1, close)).text.s;
    const rest = t.slice(close + 1);
    if (isSeq) {
      const seq = parseSeq(inner);
      if (typeof seq === 'string') {
        this.diag.error(pos, 'bad-sequence', `invalid ~SEQ: ${seq}`);
        return;
      }
      if (hex && (seq.start < 0 || seq.end < 0)) {
        this.diag.error(pos, 'bad-sequence', '~SEQx takes only non-negative numbers');
        return;
      }
      for (let v = seq.start; seq.step > 0 ? v <= seq.end : v >= seq.end; v += seq.step) {
        if (this.count >= MAX_LINES) break;
        this.defs.set(seq.name, { lines: [Text.synthetic(hex ? v.toString(16) : String(v), pos)], multiline: false });
        this.processLine(rest.through(pos), depth + 1);
      }
      return;
    }
    const lst = parseList(inner);
    if (typeof lst === 'string') {
      this.diag.error(pos, 'bad-sequence', `invalid ~LST: ${lst}`);
      return;
    }
    for (const values of lst.values) {
      lst.names.forEach((n, k) => this.defs.set(n, { lines: [Text.synthetic(values[k] ?? '', pos)], multiline: false }));
      this.processLine(rest.through(pos), depth + 1);
    }
  }
}

function trim(t: Text): Text {
  const s = t.s;
  let a = 0;
  let b = s.length;
  while (a < b && (s[a] === ' ' || s[a] === '\t')) a++;
  while (b > a && (s[b - 1] === ' ' || s[b - 1] === '\t')) b--;
  return a === 0 && b === s.length ? t : t.slice(a, b);
}

function matchingParen(s: string, open: number): number {
  if (open < 0) return -1;
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')' && --depth === 0) return i;
  }
  return -1;
}

/** Parses `var, start, step, end` with keepalived's defaults for omitted start/step. */
export function parseSeq(inner: string): { name: string; start: number; step: number; end: number } | string {
  const parts = inner.split(',').map((p) => p.trim());
  const name = parts[0] ?? '';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return `'${name}' is not a variable name`;
  const nums: number[] = [];
  for (const p of parts.slice(1)) {
    const n = p === '' ? NaN : Number(p); // Number() accepts 0x.. like strtol(.., 0)
    if (!Number.isInteger(n)) return `'${p}' is not an integer`;
    nums.push(n);
  }
  let start: number, step: number, end: number;
  if (nums.length === 1) {
    end = nums[0]!;
    start = end < 0 ? -1 : 1;
    step = end < 1 ? -1 : 1;
  } else if (nums.length === 2) {
    [start, end] = nums as [number, number];
    step = start <= end ? 1 : -1;
  } else if (nums.length === 3) {
    [start, step, end] = nums as [number, number, number];
  } else return 'expected 1 to 3 numbers after the variable';
  if (step === 0 || (start < end && step < 0) || (start > end && step > 0))
    return `step ${step} never goes from ${start} to ${end}`;
  return { name, start, step, end };
}

/** Parses `var, v1, v2` or `{a, b}, {1, 2}, {3, 4}`. */
export function parseList(inner: string): { names: string[]; values: string[][] } | string {
  const items: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of inner) {
    if (c === '{') depth++;
    if (c === '}') depth--;
    if (c === ',' && depth === 0) {
      items.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  items.push(cur.trim());
  const unbrace = (x: string) => (x.startsWith('{') && x.endsWith('}') ? x.slice(1, -1).split(',').map((v) => v.trim()) : [x]);
  const names = unbrace(items[0] ?? '');
  if (names.some((n) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(n))) return `'${items[0]}' is not a variable name or {name, ...} list`;
  const values = items.slice(1).map(unbrace);
  if (values.length === 0) return 'no values given';
  const bad = values.find((v) => v.length !== names.length);
  if (bad) return `{${bad.join(',')}} has ${bad.length} values for ${names.length} variables`;
  return { names, values };
}
