import t from 'tap';
import { Diagnostics } from '../../src/config/diagnostics.js';
import { lexLine } from '../../src/config/lexer.js';
import { Text } from '../../src/config/text.js';

const lex = (s: string) => {
  const d = new Diagnostics();
  const toks = lexLine(Text.fromSource(s, { file: 'f', line: 3, col: 1 }), d);
  return { toks: toks.filter((x) => x.kind !== 'eol').map((x) => ({ kind: x.kind, text: x.text, col: x.pos.col, quoted: x.quoted })), diags: d.list };
};

// Every token kind and its column.
const cases: { desc: string; input: string; want: { kind: string; text: string; col: number; quoted?: boolean }[] }[] = [
  { desc: 'words split on blanks', input: 'priority  150', want: [{ kind: 'word', text: 'priority', col: 1 }, { kind: 'word', text: '150', col: 11 }] },
  { desc: 'tabs separate', input: '\tstate\tMASTER', want: [{ kind: 'word', text: 'state', col: 2 }, { kind: 'word', text: 'MASTER', col: 8 }] },
  { desc: 'braces are tokens', input: 'vrrp_instance VI_1 {', want: [{ kind: 'word', text: 'vrrp_instance', col: 1 }, { kind: 'word', text: 'VI_1', col: 15 }, { kind: '{', text: '{', col: 20 }] },
  { desc: 'braces glued to words split', input: 'a{b}c', want: [{ kind: 'word', text: 'a', col: 1 }, { kind: '{', text: '{', col: 2 }, { kind: 'word', text: 'b', col: 3 }, { kind: '}', text: '}', col: 4 }, { kind: 'word', text: 'c', col: 5 }] },
  { desc: 'double quotes group blanks', input: 'script "/bin/x a b"', want: [{ kind: 'word', text: 'script', col: 1 }, { kind: 'word', text: '/bin/x a b', col: 8, quoted: true }] },
  { desc: 'single quotes group blanks', input: "x 'a b'", want: [{ kind: 'word', text: 'x', col: 1 }, { kind: 'word', text: 'a b', col: 3, quoted: true }] },
  { desc: 'quotes inside a word join', input: 'ab"c d"e', want: [{ kind: 'word', text: 'abc de', col: 1, quoted: true }] },
  { desc: 'braces in quotes are text', input: '"{x}"', want: [{ kind: 'word', text: '{x}', col: 1, quoted: true }] },
  { desc: 'escapes in quotes', input: '"a\\tb\\x41\\101\\cA\\"q"', want: [{ kind: 'word', text: 'a\tbAA\x01"q', col: 1, quoted: true }] },
  { desc: 'backslash outside quotes is literal', input: 'a\\.b', want: [{ kind: 'word', text: 'a\\.b', col: 1 }] },
  { desc: 'empty quoted word', input: 'x ""', want: [{ kind: 'word', text: 'x', col: 1 }, { kind: 'word', text: '', col: 3, quoted: true }] },
];

for (const c of cases)
  t.test(c.desc, async (t) => {
    const r = lex(c.input);
    t.same(r.diags, []);
    t.same(r.toks, c.want.map((w) => ({ quoted: false, ...w })));
  });

t.test('unterminated quote is an error at the quote', async (t) => {
  const r = lex('script "abc');
  t.equal(r.diags.length, 1);
  t.match(r.diags[0], { code: 'unterminated-quote', pos: { line: 3, col: 8 } });
});

t.test('eol token carries the end-of-line position', async (t) => {
  const d = new Diagnostics();
  const toks = lexLine(Text.fromSource('ab cd', { file: 'f', line: 1, col: 1 }), d);
  t.match(toks.at(-1), { kind: 'eol', pos: { line: 1, col: 6 } });
});
