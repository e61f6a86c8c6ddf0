import type { Test } from 'tap';
import { type CompileOptions, type CompileResult, compileText } from '../../src/config/compile.js';

/** Compiles `src`; diagnostics as `line:col severity code`. */
export function run(src: string, opts: CompileOptions = {}): { r: CompileResult; diags: string[]; messages: string[] } {
  const r = compileText(src, 'k.conf', opts);
  return { r, diags: r.diagnostics.map((d) => `${d.pos.line}:${d.pos.col} ${d.severity} ${d.code}`), messages: r.diagnostics.map((d) => d.message) };
}

/** A minimal valid vrrp_instance VI_1 whose extra `body` line is line 7, column 3. */
export function inst(body = '', more = ''): string {
  return ['vrrp_instance VI_1 {', '  interface eth0', '  virtual_router_id 51', '  virtual_ipaddress {', '    10.0.0.1/24', '  }', `  ${body}`, '}', more].join('\n');
}

/** `global_defs { line }`: the line is line 2, column 3. */
export function gdefs(line: string, more = ''): string {
  return `global_defs {\n  ${line}\n}\n${more}`;
}

/** One table case: `input` is the line under test; `want` is a subset of the built object; `diags` as `severity code @word`. */
export interface Case {
  readonly desc: string;
  readonly input: string;
  readonly want?: Record<string, unknown>;
  /** Expected diagnostics: `'error out-of-range @256'` (at that word of the input line), or literal `'L:C severity code'`. */
  readonly diags?: readonly string[];
}

/** Turns `severity code @word` into `line:col severity code` for a line at (line, col0). */
export function expand(spec: string, input: string, line: number, col0: number): string {
  const m = /^(error|warning) (\S+)(?: @(\S+))?$/.exec(spec);
  if (!m) return spec;
  const word = m[3];
  const col = word === undefined ? col0 : col0 + input.indexOf(word);
  if (word !== undefined && input.indexOf(word) < 0) throw new Error(`test spec: '${word}' not in '${input}'`);
  return `${line}:${col} ${m[1]} ${m[2]}`;
}

/** Picks `keys` of `o` (undefined when absent) for exact comparison. */
export function pick(o: object | undefined, keys: readonly string[]): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  for (const k of keys) r[k] = (o as Record<string, unknown> | undefined)?.[k];
  return r;
}

/** Runs table cases: builds the config with `wrap`, finds the object with `get`, compares exactly. */
export function table(t: Test, cases: readonly Case[], wrap: (input: string) => string, line: number, col0: number, get: (r: CompileResult) => object | undefined): void {
  for (const c of cases)
    t.test(c.desc, async (t) => {
      const out = run(wrap(c.input));
      const why = out.messages.join('\n');
      t.same(out.diags, (c.diags ?? []).map((d) => expand(d, c.input, line, col0)), why);
      if (c.want) {
        t.ok(out.r.config, `compiles: ${why}`);
        t.same(pick(get(out.r), Object.keys(c.want)), c.want, why);
      }
    });
}
