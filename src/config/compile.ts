import path from 'node:path';
import { type Diagnostic, Diagnostics } from './diagnostics.js';
import { type Token, lexLine } from './lexer.js';
import { parse } from './parser.js';
import { type PreprocessOptions, Preprocessor, defaultConfigId } from './preprocess.js';
import { buildBlock, keywordIndex, specGrammar } from './schema/build.js';
import { type RootModel, rootSpec, rootStmt } from './schema/root.js';
import type { SourceHost } from './source-host.js';
import { type HostChecks, validate } from './validate.js';

/** The compiled, validated, immutable configuration. */
export type Config = RootModel & {
  /** Every file read, the top-level one first. */
  readonly files: readonly string[];
  /** The config-id that selected `@id` lines. */
  readonly configId: string;
};

/** Options of `compile`. */
export interface CompileOptions extends PreprocessOptions, HostChecks {
  /** Unknown keywords become warnings (for migrations). */
  readonly lenient?: boolean;
}

/** What `compile` returns: a Config only when there is no error. */
export interface CompileResult {
  readonly config?: Config;
  /** All problems, in file order. */
  readonly diagnostics: readonly Diagnostic[];
  readonly errors: number;
  readonly warnings: number;
}

const index = keywordIndex(rootSpec);

/**
 * Compiles keepalived.conf: preprocess (includes, conditionals, definitions) → tokens → statement
 * tree → typed model → cross-checks. Never throws on bad input: every problem is a diagnostic.
 */
export function compile(file: string, opts: CompileOptions = {}): CompileResult {
  const diag = new Diagnostics(opts.lenient ? new Set(['unknown-keyword']) : new Set());
  // Lines are lexed as the preprocessor produces them, so they are never all held at once.
  let tokens: Token[] = [];
  const pre = new Preprocessor(diag, { ...opts, onLine: (line) => lexLine(line, diag, tokens) });
  pre.processEntry(file);
  let config: Config | undefined;
  if (diag.errorCount === 0 && pre.count === 0) {
    diag.error({ file, line: 1, col: 1 }, 'empty-config', `configuration file '${file}' has no configuration statements`);
  }
  if (pre.count > 0) {
    const stmts = parse(tokens, specGrammar, rootSpec, diag);
    tokens = [];
    const root = buildBlock(rootSpec, rootStmt(stmts, file), { diag, index });
    if (root) {
      validate(root, diag, opts);
      config = deepFreeze({ ...root, files: pre.files, configId: opts.configId ?? defaultConfigId() });
    }
  }
  const diagnostics = diag.sorted();
  const errors = diag.errorCount;
  return { ...(errors === 0 && config ? { config } : {}), diagnostics, errors, warnings: diagnostics.length - errors };
}

/** Compiles configuration text held in memory (tests, `vigil check-config -`). */
export function compileText(source: string, name = 'keepalived.conf', opts: CompileOptions = {}, files: Record<string, string> = {}): CompileResult {
  const all: Record<string, string> = { ...files, [name]: source };
  const host: SourceHost = memoryHost(all);
  return compile(name, { ...opts, host });
}

/** An in-memory file system for `compileText`: relative names resolve from '/'. */
export function memoryHost(files: Record<string, string>): SourceHost {
  const norm = (f: string) => path.posix.normalize(f.startsWith('/') ? f : `/${f}`);
  const table = new Map(Object.entries(files).map(([k, v]) => [norm(k), v]));
  const dirs = new Set<string>();
  for (const k of table.keys()) for (let d = k.slice(0, k.lastIndexOf('/')); d.length > 0; d = d.slice(0, d.lastIndexOf('/'))) dirs.add(d);
  dirs.add('/');
  const toRe = (glob: string) =>
    new RegExp(
      '^' +
        glob
          .replace(/[.+^$()|\\]/g, '\\$&')
          .replace(/\{([^}]*)\}/g, (_, alts: string) => `(${alts.split(',').join('|')})`)
          .replace(/\*/g, '[^/]*')
          .replace(/\?/g, '[^/]') +
        '$',
    );
  return {
    readFile: (f) => {
      const v = table.get(norm(f));
      if (v === undefined) throw Object.assign(new Error(`ENOENT: ${f}`), { code: 'ENOENT' });
      return v;
    },
    realpath: (f) => norm(f),
    kind: (f) => (table.has(norm(f)) ? 'file' : dirs.has(norm(f).replace(/\/$/, '') || '/') ? 'dir' : undefined),
    glob: (pattern, cwd) => {
      const abs = path.posix.normalize(pattern.startsWith('/') ? pattern : `${cwd}/${pattern}`);
      const re = toRe(abs);
      return [...table.keys()].filter((k) => re.test(k)).sort();
    },
  };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
