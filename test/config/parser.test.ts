import t from 'tap';
import { Diagnostics } from '../../src/config/diagnostics.js';
import { type Token, lexLine } from '../../src/config/lexer.js';
import { type Grammar, type Stmt, parse } from '../../src/config/parser.js';
import { Text } from '../../src/config/text.js';

// A tiny grammar: 'blk' and 'sub' take blocks, 'val' takes none, everything else may.
type Ctx = 'top';
const grammar: Grammar<Ctx> = {
  expect: (_c, kw) => ({ expect: kw === 'blk' || kw === 'sub' ? 'block' : kw === 'val' ? 'none' : 'any', child: 'top' }),
};

function run(src: string) {
  const d = new Diagnostics();
  const toks: Token[] = [];
  src.split('\n').forEach((l, i) => lexLine(Text.fromSource(l, { file: 'f', line: i + 1, col: 1 }), d, toks));
  const stmts = parse(toks, grammar, 'top', d);
  return { tree: shape(stmts), diags: d.list.map((x) => `${x.pos.line}:${x.pos.col} ${x.code}`), messages: d.list.map((x) => x.message) };
}
type Shape = string | [string, Shape[]];
function shape(stmts: readonly Stmt[]): Shape[] {
  return stmts.map((s) => {
    const head = [s.keyword.text, ...s.args.map((a) => a.text)].join(' ');
    return s.block ? [head, shape(s.block.body)] : head;
  });
}

const cases: { desc: string; input: string; tree: Shape[]; diags: string[] }[] = [
  { desc: 'flat statements', input: 'a 1\nb 2 3', tree: ['a 1', 'b 2 3'], diags: [] },
  { desc: 'nested blocks', input: 'blk x {\n val 1\n sub {\n  y\n }\n}', tree: [['blk x', ['val 1', ['sub', ['y']]]]], diags: [] },
  { desc: 'one-line block', input: 'blk { a 1 }', tree: [['blk', ['a 1']]], diags: [] },
  { desc: 'brace on the next line (Allman style)', input: 'blk x\n{\n a\n}', tree: [['blk x', ['a']]], diags: [] },
  { desc: 'statements after a close on the same line', input: 'blk { a } b', tree: [['blk', ['a']], 'b'], diags: [] },
  { desc: 'empty block', input: 'blk {}', tree: [['blk', []]], diags: [] },
  { desc: 'unmatched close', input: 'a\n}\nb', tree: ['a', 'b'], diags: ['2:1 unmatched-brace'] },
  { desc: 'unclosed block reported at its {', input: 'blk x {\n a', tree: [['blk x', ['a']]], diags: ['1:7 missing-close-brace'] },
  { desc: 'missing { with indented body: one error, body kept', input: 'blk x\n  a 1\n  b 2\n}\nc', tree: [['blk x', ['a 1', 'b 2']], 'c'], diags: ['1:6 missing-open-brace'] },
  { desc: 'missing { without indented body', input: 'blk x\nc', tree: ['blk x', 'c'], diags: ['1:6 missing-open-brace'] },
  { desc: 'block on a keyword that takes none', input: 'val 1 { a }\nb', tree: [['val 1', ['a']], 'b'], diags: ['1:7 unexpected-block'] },
  { desc: 'stray {', input: '{ a }\nb', tree: ['b'], diags: ['1:1 unexpected-brace'] },
];
for (const c of cases)
  t.test(c.desc, async (t) => {
    const r = run(c.input);
    t.same(r.tree, c.tree);
    t.same(r.diags, c.diags);
  });

t.test('a missing } inside: hint names the mis-indented close', async (t) => {
  const r = run('blk a {\n  sub b {\n    x\n\n  sub c {\n    y\n  }\n}\n');
  t.same(r.diags, ['1:7 missing-close-brace']);
  t.match(r.messages[0], /the '\}' on line 8 closes 'sub' \(line 2\) but is indented less: is a '\}' missing before line 8\?/);
});

t.test('deep nesting does not blow the stack budget for sane configs', async (t) => {
  const depth = 200;
  const src = 'blk {\n'.repeat(depth) + '}\n'.repeat(depth);
  const r = run(src);
  t.same(r.diags, []);
});
