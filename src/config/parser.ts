import type { Diagnostics, Pos } from './diagnostics.js';
import type { Token } from './lexer.js';

/** A word of the configuration with its position. */
export interface Word {
  readonly text: string;
  readonly raw: string;
  readonly quoted: boolean;
  readonly pos: Pos;
}

/** `keyword arg arg ... [{ body }]` — one statement of keepalived.conf. */
export interface Stmt {
  readonly keyword: Word;
  readonly args: readonly Word[];
  readonly block?: Block;
}

/** The `{ ... }` after a statement. `close` is absent when the block was never closed. */
export interface Block {
  readonly open: Pos;
  readonly close?: Pos;
  readonly body: readonly Stmt[];
  /** True when no `{` was written and the parser assumed one (already reported as an error). */
  readonly implied?: boolean;
}

/** What the grammar expects after a keyword: a block, no block, or either (unknown keywords). */
export type BlockExpectation = 'block' | 'none' | 'any';

/** The little the parser needs to know of the schema: which keywords open blocks, and their context. */
export interface Grammar<C> {
  expect(ctx: C, keyword: string): { readonly expect: BlockExpectation; readonly child: C };
}

interface Closed {
  readonly keyword: Token;
  readonly keywordIndent: number;
  readonly close: Token;
  readonly closeFirstOnLine: boolean;
}

interface Opener {
  readonly keyword: Token;
  readonly keywordIdx: number;
  readonly open: Token;
}

/**
 * Builds the statement tree from tokens. Braces are matched with error recovery so that one
 * mistake yields one diagnostic: a `{` on the next line is accepted (as keepalived does); a block
 * keyword without `{` whose next line is indented deeper is parsed as if the `{` were there; an
 * unclosed block is reported at its `{`, with a hint naming the block whose `}` is mis-indented.
 */
export function parse<C>(tokens: readonly Token[], grammar: Grammar<C>, root: C, diag: Diagnostics): Stmt[] {
  return new Parser(tokens, grammar, diag).run(root);
}

class Parser<C> {
  private i = 0;
  private readonly closed: Closed[] = [];

  constructor(
    private readonly toks: readonly Token[],
    private readonly grammar: Grammar<C>,
    private readonly diag: Diagnostics,
  ) {}

  run(root: C): Stmt[] {
    const body = this.body(root, undefined);
    return body.stmts;
  }

  private peek(k = 0): Token | undefined {
    return this.toks[this.i + k];
  }

  private skipEol(): void {
    while (this.peek()?.kind === 'eol') this.i++;
  }

  /** Parses statements until the `}` that closes `opener` (or the end of input). */
  private body(ctx: C, opener: Opener | undefined): { stmts: Stmt[]; close?: Pos } {
    const stmts: Stmt[] = [];
    for (;;) {
      this.skipEol();
      const tok = this.peek();
      if (!tok) {
        if (opener) this.reportUnclosed(opener);
        return { stmts };
      }
      if (tok.kind === '}') {
        this.i++;
        if (opener) {
          this.closed.push({ keyword: opener.keyword, keywordIndent: this.lineIndent(opener.keywordIdx), close: tok, closeFirstOnLine: this.firstOnLine(this.i - 1) });
          return { stmts, close: tok.pos };
        }
        this.diag.error(tok.pos, 'unmatched-brace', "unmatched '}': no block is open here");
        continue;
      }
      if (tok.kind === '{') {
        this.i++;
        this.diag.error(tok.pos, 'unexpected-brace', "unexpected '{': a block must follow a keyword on the same or the previous line");
        this.body(ctx, { keyword: tok, keywordIdx: this.i - 1, open: tok });
        continue;
      }
      stmts.push(this.statement(ctx));
    }
  }

  private statement(ctx: C): Stmt {
    const kwIdx = this.i++;
    const kwTok = this.toks[kwIdx]!;
    const keyword = word(kwTok);
    const args: Word[] = [];
    while (this.peek()?.kind === 'word') args.push(word(this.toks[this.i++]!));
    const rule = this.grammar.expect(ctx, keyword.text);
    // The '{' may be on this line or alone at the start of the next one.
    let openIdx = -1;
    if (this.peek()?.kind === '{') openIdx = this.i;
    else if (this.peek()?.kind === 'eol' && this.peek(1)?.kind === '{' && rule.expect !== 'none') openIdx = this.i + 1;
    if (openIdx >= 0) {
      const open = this.toks[openIdx]!;
      this.i = openIdx + 1;
      if (rule.expect === 'none')
        this.diag.error(open.pos, 'unexpected-block', `'${keyword.text}' does not take a block`);
      const b = this.body(rule.child, { keyword: kwTok, keywordIdx: kwIdx, open });
      return { keyword, args, block: b.close ? { open: open.pos, close: b.close, body: b.stmts } : { open: open.pos, body: b.stmts } };
    }
    if (rule.expect === 'block') {
      const eol = this.peek();
      const pos = eol?.pos ?? kwTok.pos;
      const next = this.peek(1);
      const deeper = eol?.kind === 'eol' && next?.kind === 'word' && next.pos.file === kwTok.pos.file && next.pos.col > this.lineIndent(kwIdx);
      this.diag.error(
        pos,
        'missing-open-brace',
        `expected '{' after '${[keyword.text, ...args.map((a) => a.raw)].join(' ')}'${deeper ? ' (the lines below are read as its block)' : ''}`,
      );
      if (deeper) {
        const b = this.body(rule.child, { keyword: kwTok, keywordIdx: kwIdx, open: kwTok });
        return { keyword, args, block: b.close ? { open: pos, close: b.close, body: b.stmts, implied: true } : { open: pos, body: b.stmts, implied: true } };
      }
    }
    return { keyword, args };
  }

  /** Column of the first token on the line of token `k` (its indentation). */
  private lineIndent(k: number): number {
    while (k > 0 && this.toks[k - 1]!.kind !== 'eol') k--;
    return this.toks[k]!.pos.col;
  }

  private firstOnLine(idx: number): boolean {
    return idx === 0 || this.toks[idx - 1]!.kind === 'eol';
  }

  private reportUnclosed(opener: Opener): void {
    const kwLine = opener.keyword.pos.line;
    let hint = '';
    // A '}' indented less than its block's keyword most likely closes an outer block: the missing
    // '}' belongs just before it.
    const suspect = this.closed.find(
      (c) => c.closeFirstOnLine && c.close.pos.file === c.keyword.pos.file && c.close.pos.col < c.keywordIndent && c.keyword.pos.line > kwLine,
    );
    if (suspect)
      hint = `; the '}' on line ${suspect.close.pos.line} closes '${suspect.keyword.text}' (line ${suspect.keyword.pos.line}) but is indented less: is a '}' missing before line ${suspect.close.pos.line}?`;
    this.diag.error(
      opener.open.pos,
      'missing-close-brace',
      `'{' of '${opener.keyword.text}' (line ${kwLine}) is never closed: expected '}' before the end of the file${hint}`,
    );
  }
}

/** A word token already has every field of a Word; sharing it saves a copy per word. */
function word(t: Token): Word {
  return t;
}
