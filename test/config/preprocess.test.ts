import t from 'tap';
import { memoryHost } from '../../src/config/compile.js';
import { Diagnostics, formatPos } from '../../src/config/diagnostics.js';
import { Preprocessor, parseList, parseSeq } from '../../src/config/preprocess.js';

function pp(files: Record<string, string>, configId = 'main', entry = '/k.conf') {
  const d = new Diagnostics();
  const p = new Preprocessor(d, { host: memoryHost(files), configId, random: () => 0.5 });
  p.processEntry(entry);
  return { lines: p.lines.map((l) => l.s), first: p.lines.map((l) => formatPos(l.posAt(0))), diags: d.list, files: p.files };
}
const one = (src: string, configId = 'main') => pp({ '/k.conf': src }, configId);

const cases: { desc: string; input: string; id?: string; want: string[] }[] = [
  { desc: '# and ! comments anywhere', input: 'a b # c\n! all\nd ! e', want: ['a b', 'd'] },
  { desc: 'comment chars inside double quotes stay', input: 'script "echo #1 !x"', want: ['script "echo #1 !x"'] },
  { desc: 'escaped comment chars stay', input: 'a \\#b \\!c', want: ['a #b !c'] },
  { desc: 'blank lines vanish, CRLF ok', input: '\r\n  a  \r\n\t\r\n', want: ['a'] },
  { desc: '@id selects for matching config-id', input: '@main x 1\n@backup x 2', want: ['x 1'] },
  { desc: '@^id selects for others', input: '@^main x 1\n@^backup x 2', want: ['x 2'] },
  { desc: '@id with nothing after is dropped', input: '@main\nz', want: ['z'] },
  { desc: 'definition and $NAME', input: '$P=240\npriority $P', want: ['priority 240'] },
  { desc: '${NAME} needs no blank after', input: '$B=10.2\n${B}.0.1/32', want: ['10.2.0.1/32'] },
  { desc: '$NAME glued to text is left alone', input: '$B=1\nx $Bx', want: ['x $Bx'] },
  { desc: 'undefined stays as is', input: '$A=1\nscript "$HOME/x ${NOPE}"', want: ['script "$HOME/x ${NOPE}"'] },
  { desc: 'recursive at use time', input: '$A=10.${S}\n$S=0\n${A}.1\n$S=5\n${A}.1', want: ['10.0.1', '10.5.1'] },
  { desc: 'conditional definition', input: '@main $P=240\n@backup $P=200\npriority $P', want: ['priority 240'] },
  { desc: 'definition holding a conditional', input: '$IF=@main\n$IF priority 240', want: ['priority 240'] },
  { desc: 'multi-line definition', input: '$I= \\\n a { \\\n  b 1 \\\n }\n$I', want: ['a {', 'b 1', '}'] },
  { desc: 'nested multi-line with inner definitions', input: '$RS= \\\n rs ${N}\n$VS= \\\n vs { \\\n $N=1 \\\n $RS \\\n $N=2 \\\n $RS \\\n }\n$VS', want: ['vs {', 'rs 1', 'rs 2', '}'] },
  { desc: '~SEQ', input: '~SEQ(S, 0, 3) ip 10.0.${S}.1', want: ['ip 10.0.0.1', 'ip 10.0.1.1', 'ip 10.0.2.1', 'ip 10.0.3.1'] },
  { desc: '~SEQ one number', input: '~SEQ(S, 2) n ${S}', want: ['n 1', 'n 2'] },
  { desc: '~SEQx hex with step', input: '~SEQx(S, 0x90, 0x10, 0xc0) a ${S}', want: ['a 90', 'a a0', 'a b0', 'a c0'] },
  { desc: 'nested ~SEQ', input: '~SEQ(A,1,2) ~SEQ(B,1,2) ${A}.${B}', want: ['1.1', '1.2', '2.1', '2.2'] },
  { desc: '~LST pairs', input: '~LST({IP, IP1}, {10,1},{20,4}) 192.168.${IP}.${IP1}', want: ['192.168.10.1', '192.168.20.4'] },
  { desc: '~LST combined with ~SEQ', input: '~LST(X, a, b) ~SEQ(N, 1, 2) ${X}${N}', want: ['a1', 'a2', 'b1', 'b2'] },
  { desc: '_INSTANCE, _HASH, _BANG, _RANDOM', input: 'a ${_INSTANCE} ${_HASH} ${_BANG} ${_RANDOM 10 20}', want: ['a main # ! 15'] },
];
for (const c of cases)
  t.test(c.desc, async (t) => {
    const r = one(c.input, c.id ?? 'main');
    t.same(r.diags.map((d) => d.message), []);
    t.same(r.lines, c.want);
  });

t.test('positions: source columns and expansion sites', async (t) => {
  const d = new Diagnostics();
  const p = new Preprocessor(d, { host: memoryHost({ '/k.conf': '$P=240\n  priority $P\n~SEQ(S,1,1) x' }) });
  p.processEntry('/k.conf');
  const [prio, seq] = p.lines;
  t.equal(formatPos(prio!.posAt(0)), '/k.conf:2:3', 'keyword at its source column');
  t.equal(formatPos(prio!.posAt(9)), '/k.conf:2:12', 'substituted value reports the $P reference');
  t.equal(formatPos(seq!.posAt(0)), '/k.conf:3:13', 'repeated text keeps its source column');
  t.equal(seq!.posAt(0).via && formatPos(seq!.posAt(0).via!), '/k.conf:3:1', '...and says which ~SEQ produced it');
});

t.test('include: relative to the including file, globs sorted, _PWD follows', async (t) => {
  const r = pp({
    '/etc/k/k.conf': 'a\ninclude conf.d/*.conf\nz ${_PWD}',
    '/etc/k/conf.d/2.conf': 'two ${_PWD}',
    '/etc/k/conf.d/1.conf': 'one\ninclude ../sub/x',
    '/etc/k/sub/x': 'x',
  }, 'main', '/etc/k/k.conf');
  t.same(r.diags, []);
  t.same(r.lines, ['a', 'one', 'x', 'two /etc/k/conf.d', 'z /etc/k']);
  t.same(r.files, ['/etc/k/k.conf', '/etc/k/conf.d/1.conf', '/etc/k/sub/x', '/etc/k/conf.d/2.conf']);
});

t.test('include: brace globs', async (t) => {
  const r = pp({ '/k.conf': 'include /d/{a,b}.conf', '/d/a.conf': 'A', '/d/b.conf': 'B', '/d/c.conf': 'C' });
  t.same(r.lines, ['A', 'B']);
});

t.test('include errors', async (t) => {
  const missing = pp({ '/k.conf': 'a\n  include nope.conf' });
  t.match(missing.diags, [{ severity: 'error', code: 'missing-file', pos: { line: 2, col: 11 } }]);
  const noMatch = pp({ '/k.conf': 'include /none/*.conf' });
  t.match(noMatch.diags, [{ severity: 'warning', code: 'include-no-match' }]);
  const quiet = pp({ '/k.conf': 'includer /none/*.conf' });
  t.same(quiet.diags, []);
  const strict = pp({ '/k.conf': 'includea /none/*.conf' });
  t.match(strict.diags, [{ severity: 'error', code: 'include-no-match' }]);
});

t.test('include cycle is detected with the chain', async (t) => {
  const r = pp({ '/k.conf': 'include a.conf', '/a.conf': 'x\ninclude b.conf', '/b.conf': 'include a.conf' });
  t.match(r.diags, [{ code: 'include-cycle', pos: { file: '/b.conf', line: 1, col: 9 }, message: /\/a\.conf -> \/b\.conf -> \/a\.conf/ }]);
  t.same(r.lines, ['x']);
});

t.test('self-referencing definition stops with an error', async (t) => {
  const r = one('$A=x $A\ny $A');
  t.match(r.diags, [{ code: 'expansion-depth' }]);
});

t.test('bad ~SEQ / ~LST are errors, not crashes', async (t) => {
  for (const src of ['~SEQ(1, 2, 3) x', '~SEQ(A, 1, 0, 3) x', '~SEQ(A, 3, 1, 1) x', '~SEQ A', '~LST(A) x', '~LST({A,B}, {1}) x', '~SEQx(A, -1, 1) x']) {
    const r = one(src);
    t.equal(r.diags.length, 1, src);
    t.equal(r.diags[0]!.code, 'bad-sequence', src);
  }
});

t.test('unterminated double quote in a comment-bearing line', async (t) => {
  const r = one('script "abc # not a comment');
  t.match(r.diags, [{ code: 'unterminated-quote' }]);
});

t.test('parseSeq / parseList defaults', async (t) => {
  t.same(parseSeq('A, -3'), { name: 'A', start: -1, step: -1, end: -3 });
  t.same(parseSeq('A, 5, 2'), { name: 'A', start: 5, step: -1, end: 2 });
  t.same(parseList('A, 1, 2'), { names: ['A'], values: [['1'], ['2']] });
});

t.test('missing entry file and directories', async (t) => {
  t.match(pp({}, 'main', '/nope.conf').diags, [{ code: 'missing-file' }]);
  t.match(pp({ '/d/x': 'a' }, 'main', '/d').diags, [{ code: 'not-a-file' }]);
});
