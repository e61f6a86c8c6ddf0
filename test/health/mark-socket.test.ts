// SO_MARK and SO_BINDTODEVICE on the checkers' TCP sockets, against the real kernel: in a network
// namespace this test makes, nftables rules count the SYNs each connection sends, by mark. A child
// process on dist/ (fixtures/mark-socket-child.mjs) does 1,000 marked connects, runs TCP_CHECK,
// HTTP_GET, SSL_GET and SMTP_CHECK probes built from compiled configuration with `fwmark`, the same
// without it, deadlines against a port whose SYNs are dropped, bind_if, bad arguments, and asks
// the kernel for its source address toward a peer; its fd count must not grow. A second child,
// run as nobody, shows SO_MARK refused (EPERM) as a failed check with a clear reason.
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { createLab } from '../lab/netns.js';
import { describeResult } from '../lab/exec.js';
import { selfSigned } from '../helpers/net-fixtures.js';

const CHILD = fileURLToPath(new URL('./fixtures/mark-socket-child.mjs', import.meta.url));
const MARK = 0x7f00abcd;
const PROBE_MARK = 0x1234;
const PORTS = { connect: 7001, probe: 7002, tls: 7003, smtp: 7004, plain: 7005, dropped: 7006, bindif: 7007 };

const lab = await createLab(t, { nodes: ['a', 'b'] });
await lab.execOk('a', ['nft', '-f', '-'], {
  input: `table inet vt {
  chain out {
    type filter hook output priority 0;
${Object.entries(PORTS)
  .map(([name, p]) => {
    const syn = `tcp dport ${p} tcp flags & (syn | ack) == syn`;
    return `    ${syn} meta mark ${name === 'connect' ? MARK : PROBE_MARK} counter comment "${name}-marked"\n    ${syn} meta mark != 0 counter comment "${name}-anymark"\n    ${syn} counter comment "${name}-all"`;
  })
  .join('\n')}
    tcp dport ${PORTS.dropped} drop
  }
}
`,
});

/** SYN counters by rule comment. */
async function counters(): Promise<Record<string, number>> {
  const j = JSON.parse(await lab.execOk('a', ['nft', '-j', 'list', 'table', 'inet', 'vt'])) as { nftables: { rule?: { comment?: string; expr: { counter?: { packets: number } }[] } }[] };
  const out: Record<string, number> = {};
  for (const x of j.nftables) {
    const r = x.rule;
    if (r?.comment === undefined) continue;
    out[r.comment] = r.expr.find((e) => e.counter)?.counter?.packets ?? -1;
  }
  return out;
}

const cert = selfSigned();
if (!cert) throw new Error('openssl could not make a certificate for the SSL_GET server');
const input = JSON.stringify({ ports: PORTS, mark: MARK, probeMark: PROBE_MARK, cert, peer: lab.node('b').ipv4 });
const run = await lab.exec('a', ['node', CHILD, 'main'], { input, timeoutMs: 60_000 });
if (run.code !== 0) throw new Error(describeResult(run));
const r = JSON.parse(run.stdout) as {
  fdsBefore: number;
  fdsAfter: number;
  connects: Record<string, number>;
  probes: Record<string, { ok: boolean; reason: string; detail: string }[]>;
  plain: string[];
  dropped: Record<string, number>;
  bindIf: Record<string, { ok: boolean; reason: string; detail: string }>;
  badArgs: { name: { code: string; message: string }; port: { code: string; message: string }; viaCheck: { ok: boolean; reason: string } };
  source: { loopback: string; peer: string; unreachable: { code: string; message: string } };
};
const c = await counters();
t.comment(`nft counters: ${JSON.stringify(c)}`);

t.test('1,000 marked connects: every SYN carries the mark, no fd left behind', async (t) => {
  t.same(r.connects, { connect: 1000 });
  t.equal(c['connect-all'], 1000, 'one SYN per connect');
  t.equal(c['connect-marked'], 1000, `every SYN carries 0x${MARK.toString(16)}`);
  t.equal(r.fdsAfter, r.fdsBefore, `fds before ${r.fdsBefore}, after ${r.fdsAfter} (1,000 connects, 100 timeouts, 100 bad ports)`);
});

t.test('probes from compiled configuration with fwmark send marked packets and pass', async (t) => {
  for (const [type, port] of [['TCP_CHECK', 'probe'], ['HTTP_GET', 'probe'], ['SSL_GET', 'tls'], ['SMTP_CHECK', 'smtp']] as const) {
    t.same(
      r.probes[type]?.map((x) => x.ok),
      [true, true, true, true, true],
      `${type}: 5 × ok (${r.probes[type]?.[0]?.detail})`,
    );
    if (port !== 'probe') {
      t.equal(c[`${port}-all`], 5, `${type}: 5 SYNs`);
      t.equal(c[`${port}-marked`], 5, `${type}: all marked 0x${PROBE_MARK.toString(16)}`);
    }
  }
  t.equal(c['probe-all'], 10, 'TCP_CHECK + HTTP_GET: 10 SYNs to the probe port');
  t.equal(c['probe-marked'], 10, 'all marked');
});

t.test('without fwmark the same checks are unmarked (the counters can tell)', async (t) => {
  t.same(r.plain, Array(10).fill('ok'));
  t.equal(c['plain-all'], 10);
  t.equal(c['plain-anymark'], 0, 'no SYN carries a mark');
});

t.test('one hard deadline: dropped SYNs time out, marked all the same', async (t) => {
  t.same(r.dropped, { timeout: 100 }, '100 checks with a 40 ms deadline');
  t.ok(c['dropped-all']! >= 100, `at least one SYN each (${c['dropped-all']})`);
  t.equal(c['dropped-marked'], 0, 'not the probe mark');
  t.equal(c['dropped-anymark'], c['dropped-all'], 'but every one marked (0x7f00abcd)');
});

t.test('bind_if (SO_BINDTODEVICE)', async (t) => {
  t.match(r.bindIf['lo'], { ok: true, reason: 'ok' }, 'bound to lo: 127.0.0.1 answers');
  t.match(r.bindIf['eth0'], { ok: false }, `bound to eth0: 127.0.0.1 is not there (${r.bindIf['eth0']?.reason}: ${r.bindIf['eth0']?.detail})`);
  t.match(r.bindIf['nosuch'], { ok: false, reason: 'connect-error', detail: /SO_BINDTODEVICE nosuch0: ENODEV/ }, 'an unknown interface is a clear error');
});

t.test('bad arguments are thrown (as net.connect does) and become failed checks', async (t) => {
  t.match(r.badArgs.name, { code: 'EINVAL', message: /"localhost" is not an IP address/ });
  t.match(r.badArgs.port, { code: 'ERR_SOCKET_BAD_PORT' });
  t.match(r.badArgs.viaCheck, { ok: false });
});

t.test('sourceToward: the kernel’s source address, without sending', async (t) => {
  t.equal(r.source.loopback, '127.0.0.1');
  t.equal(r.source.peer, lab.node('a').ipv4, 'toward b: a’s own eth0 address');
  t.match(r.source.unreachable, { code: 'ENETUNREACH', message: /route to 203\.0\.113\.1/ }, 'no route: a clear error');
});

t.test('SO_MARK without CAP_NET_ADMIN: a failed check that says why, no fd leak', async (t) => {
  // root without CAP_NET_ADMIN and CAP_NET_RAW (either allows SO_MARK), not another user:
  // a clone of the repository may sit in a folder other users cannot enter (mktemp -d is 0700)
  const argv = ['env', '-u', 'NODE_OPTIONS', 'setpriv', '--bounding-set=-net_admin,-net_raw', '--inh-caps=-net_admin,-net_raw', 'node', CHILD, 'eperm'];
  const p = await lab.exec('a', argv, { input: JSON.stringify({ port: PORTS.plain }), timeoutMs: 30_000, cwd: '/' });
  t.equal(p.stderr, '', 'nothing on stderr');
  t.equal(p.code, 0, describeResult(p));
  const e = JSON.parse(p.stdout) as { capEff: string; reasons: string[]; detail: string; fdsBefore: number; fdsAfter: number };
  t.equal(BigInt(`0x${e.capEff}`) & ((1n << 12n) | (1n << 13n)), 0n, `ran without CAP_NET_ADMIN and CAP_NET_RAW (CapEff ${e.capEff})`);
  t.same(e.reasons, ['connect-error'], '50 checks, all connect-error');
  t.match(e.detail, /setsockopt SO_MARK 4660: EPERM/);
  t.equal(e.fdsAfter, e.fdsBefore, 'no fd left');
});
