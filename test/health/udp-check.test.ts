import t from 'tap';
import { compileText } from '../../src/config/compile.js';
import { isSupported, probeFor } from '../../src/health/probe.js';
import type { Reason } from '../../src/health/result.js';
import { type UdpCheckOptions, udpCheck, udpReplyVerdict } from '../../src/health/udp-check.js';
import { closedUdpPort, fdCount, handleCount, serveUdp, tally } from '../helpers/net-fixtures.js';

/*
 * UDP_CHECK against real UDP sockets on loopback: ICMP port unreachable, silence with and without
 * require_reply, replies of the right and wrong content and length.
 */

const DEADLINE = 300;
const MARGIN = 200;

t.test('reply verdicts: length range, data, X nibbles (keepalived check_udp_reply)', async (t) => {
  const base = { minReplyLength: 0, maxReplyLength: 255 };
  const data = Buffer.from('ab12', 'hex');
  const cases: { desc: string; reply: string; o: Partial<UdpCheckOptions>; ok: boolean }[] = [
    { desc: 'any reply', reply: '00', o: {}, ok: true },
    { desc: 'exact data', reply: 'ab12', o: { replyData: data }, ok: true },
    { desc: 'longer reply, prefix matches', reply: 'ab12ffff', o: { replyData: data }, ok: true },
    { desc: 'shorter reply matching its length', reply: 'ab', o: { replyData: data }, ok: true },
    { desc: 'wrong byte', reply: 'ab13', o: { replyData: data }, ok: false },
    { desc: 'X nibble ignored', reply: 'ab1f', o: { replyData: Buffer.from('ab10', 'hex'), replyMask: Buffer.from('000f', 'hex') }, ok: true },
    { desc: 'other nibble still checked', reply: 'ab2f', o: { replyData: Buffer.from('ab10', 'hex'), replyMask: Buffer.from('000f', 'hex') }, ok: false },
    { desc: 'too short', reply: 'ab', o: { minReplyLength: 3 }, ok: false },
    { desc: 'too long', reply: 'ab12ab12', o: { maxReplyLength: 3 }, ok: false },
  ];
  for (const c of cases) {
    const why = udpReplyVerdict(Buffer.from(c.reply, 'hex'), { ...base, ...c.o });
    t.equal(why === undefined, c.ok, `${c.desc}: ${why ?? 'ok'}`);
  }
});

t.test('UDP_CHECK outcomes end within the deadline with the right reason', async (t) => {
  let payloads: Buffer[] = [];
  let answer: Buffer | undefined;
  const srv = await serveUdp((m, reply) => {
    payloads.push(m);
    if (answer) reply(answer);
  });
  t.teardown(() => srv.close());
  const refused = await closedUdpPort();
  const base: UdpCheckOptions = { host: '127.0.0.1', port: srv.port, deadlineMs: DEADLINE, requireReply: false, minReplyLength: 0, maxReplyLength: 255 };
  const cases: { desc: string; o: Partial<UdpCheckOptions>; answer?: string; want: Reason; full?: boolean }[] = [
    { desc: 'port unreachable', o: { port: refused }, want: 'connect-refused' },
    { desc: 'port unreachable, reply required', o: { port: refused, requireReply: true }, want: 'connect-refused' },
    { desc: 'silence is success without require_reply', o: {}, want: 'ok', full: true },
    { desc: 'silence fails with require_reply', o: { requireReply: true }, want: 'no-reply', full: true },
    { desc: 'any reply', o: { requireReply: true }, answer: '01', want: 'ok' },
    { desc: 'matching reply', o: { requireReply: true, replyData: Buffer.from('cafe', 'hex') }, answer: 'cafe00', want: 'ok' },
    { desc: 'wrong reply', o: { requireReply: true, replyData: Buffer.from('cafe', 'hex') }, answer: 'beef00', want: 'bad-reply' },
    { desc: 'reply longer than max_reply_length', o: { requireReply: true, maxReplyLength: 4 }, answer: 'aaaaaaaaaa', want: 'bad-reply' },
    { desc: 'reply shorter than min_reply_length', o: { requireReply: true, minReplyLength: 4 }, answer: 'aa', want: 'bad-reply' },
    { desc: 'empty reply', o: { requireReply: true, minReplyLength: 1 }, answer: '', want: 'bad-reply' },
  ];
  for (const c of cases) {
    answer = c.answer !== undefined ? Buffer.from(c.answer, 'hex') : undefined;
    const t0 = performance.now();
    const r = await udpCheck({ ...base, ...c.o });
    const took = performance.now() - t0;
    t.equal(r.reason, c.want, `${c.desc}: reason (${r.detail})`);
    t.ok(took < DEADLINE + MARGIN, `${c.desc}: ended in ${took.toFixed(0)} ms`);
    if (c.full) t.ok(took >= DEADLINE - 5, `${c.desc}: waited the deadline (${took.toFixed(0)} ms)`);
    else t.ok(took < DEADLINE / 2, `${c.desc}: decided at once (${took.toFixed(0)} ms)`);
  }
  payloads = [];
  await udpCheck({ ...base, deadlineMs: 50 });
  await udpCheck({ ...base, deadlineMs: 50 });
  t.equal(payloads.length, 2);
  t.equal(payloads[0]!.length, 32, 'a random payload without `payload`');
  t.not(payloads[0]!.toString('hex'), payloads[1]!.toString('hex'), 'random each time');
});

t.test('from keepalived.conf: payload and require_reply with X nibbles, IPv6', async (t) => {
  let got = '';
  const srv = await serveUdp((m, reply) => {
    got = m.toString('hex');
    reply(Buffer.from('5a1734', 'hex'));
  }, '::1');
  t.teardown(() => srv.close());
  const r = compileText(
    `virtual_server fd00::100 53 {
  lvs_sched rr
  lvs_method NAT
  protocol UDP
  real_server ::1 ${srv.port} {
    UDP_CHECK {
      payload Ab12f 3
      require_reply 5X17
      connect_timeout 0.3
    }
    UDP_CHECK {
      require_reply 5a18
      connect_timeout 0.3
    }
  }
}
`,
    'k.conf',
    {},
  );
  if (!r.config) return t.fail(r.diagnostics.map((d) => d.message).join('\n'));
  const [ok, bad] = r.config.virtualServers[0]!.realServers[0]!.checkers.filter(isSupported);
  const a = await probeFor(ok!)();
  t.equal(a.reason, 'ok', a.detail);
  t.equal(got, 'ab120f03', 'payload as keepalived reads its hex string');
  const b = await probeFor(bad!)();
  t.equal(b.reason, 'bad-reply', b.detail);
});

t.test('no fd or handle leaks over 10,000 checks', async (t) => {
  const servers = await Promise.all([
    serveUdp((_m, reply) => reply(Buffer.from('ok'))),
    serveUdp((_m, reply) => reply(Buffer.from('no'))),
    serveUdp(() => {}),
  ]);
  const refused = await closedUdpPort();
  const ports = [...servers.map((s) => s.port), refused];
  const run = (i: number) => udpCheck({ host: '127.0.0.1', port: ports[i % ports.length]!, deadlineMs: 100, requireReply: true, replyData: Buffer.from('ok'), minReplyLength: 0, maxReplyLength: 255 });
  await tally(ports.length, ports.length, run);
  await new Promise((r) => setTimeout(r, 50)); // closes complete on a later tick
  const fd0 = fdCount();
  const h0 = handleCount();
  const N = 10_000;
  const t0 = performance.now();
  const seen = await tally(N, 50, run);
  t.comment(`${N} UDP checks in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(Object.fromEntries(seen))}`);
  await new Promise((r) => setTimeout(r, 50));
  t.same([...seen.keys()].sort(), ['bad-reply', 'connect-refused', 'no-reply', 'ok']);
  t.equal(fdCount(), fd0, `open fds: ${fdCount()} (before ${fd0})`);
  t.equal(handleCount(), h0, `active handles: ${handleCount()} (before ${h0})`);
  await Promise.all(servers.map((s) => s.close()));
});
