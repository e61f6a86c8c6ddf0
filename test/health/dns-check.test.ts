import t from 'tap';
import { decodeHeader, dnsCheck, encodeName, encodeQuery, rcodeName } from '../../src/health/dns-check.js';
import type { Reason } from '../../src/health/result.js';
import { closedUdpPort, fdCount, handleCount, serveUdp, tally } from '../helpers/net-fixtures.js';

/*
 * DNS_CHECK against real UDP servers on loopback that answer as told: NOERROR with and without
 * records, NXDOMAIN, SERVFAIL, silence, garbage, replies with another id, queries echoed back.
 */

const DEADLINE = 300;
const MARGIN = 200;

type Mode = 'answer' | 'nodata' | 'nxdomain' | 'servfail' | 'refused' | 'silence' | 'garbage' | 'short' | 'wrong-id' | 'echo-query' | 'wrong-id-then-answer';

/** A response to `q`: its header and question, QR/RA set, the RCODE, and one A record when `answer`. */
function response(q: Buffer, rcode: number, answer: boolean, id = q.readUInt16BE(0)): Buffer {
  const h = Buffer.from(q);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(0x8000 | (q.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2);
  h.writeUInt16BE(answer ? 1 : 0, 6);
  // Answer: pointer to the question name (RFC 1035 §4.1.4), A, IN, TTL 60, 127.0.0.1.
  const a = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]);
  return answer ? Buffer.concat([h, a]) : h;
}

/** A DNS server whose behaviour is chosen per query by `mode`; records the queries. */
function dnsServer(mode: () => Mode, queries: Buffer[] = []) {
  return (q: Buffer, reply: (b: Buffer) => void) => {
    queries.push(q);
    const m = mode();
    if (m === 'answer') reply(response(q, 0, true));
    else if (m === 'nodata') reply(response(q, 0, false));
    else if (m === 'nxdomain') reply(response(q, 3, false));
    else if (m === 'servfail') reply(response(q, 2, false));
    else if (m === 'refused') reply(response(q, 5, false));
    else if (m === 'garbage') reply(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
    else if (m === 'short') reply(Buffer.from([1, 2, 3, 4, 5]));
    else if (m === 'wrong-id') reply(response(q, 0, true, q.readUInt16BE(0) ^ 0xffff));
    else if (m === 'echo-query') reply(q);
    else if (m === 'wrong-id-then-answer') {
      reply(response(q, 0, true, q.readUInt16BE(0) ^ 1));
      setTimeout(() => reply(response(q, 0, true)), 20);
    }
  };
}

t.test('codec: names, query, header (RFC 1035 §4.1)', async (t) => {
  t.same([...encodeName('.')], [0], 'the root');
  t.same([...encodeName('a.bc')], [1, 0x61, 2, 0x62, 0x63, 0]);
  t.same([...encodeName('a.bc.')], [1, 0x61, 2, 0x62, 0x63, 0], 'a trailing dot is the root label');
  t.throws(() => encodeName(`${'x'.repeat(64)}.com`), /1-63 bytes/);
  t.throws(() => encodeName(Array(130).fill('ab').join('.')), /255 bytes/);
  const q = encodeQuery(0x1234, 'example.com', 'SOA');
  t.equal(q.toString('hex'), `12340100000100000000000007${Buffer.from('example').toString('hex')}03${Buffer.from('com').toString('hex')}0000060001`, 'golden bytes: id, RD, QDCOUNT 1, QNAME, SOA, IN');
  t.same(decodeHeader(response(q, 3, false)), { id: 0x1234, response: true, rcode: 3, qdcount: 1, ancount: 0 });
  t.equal(decodeHeader(Buffer.alloc(11)), undefined);
  t.equal(rcodeName(3), 'NXDOMAIN (3)');
  t.equal(rcodeName(15), 'RCODE (15)');
});

t.test('DNS_CHECK outcomes end within the deadline with the right reason', async (t) => {
  let mode: Mode = 'answer';
  const queries: Buffer[] = [];
  const srv = await serveUdp(dnsServer(() => mode, queries));
  t.teardown(() => srv.close());
  const cases: { mode: Mode; want: Reason; full?: boolean; detail?: RegExp }[] = [
    { mode: 'answer', want: 'ok', detail: /NOERROR, 1 answer/ },
    { mode: 'nodata', want: 'ok', detail: /NOERROR, 0 answer/ }, // keepalived checks RCODE only
    { mode: 'nxdomain', want: 'dns-nxdomain' },
    { mode: 'servfail', want: 'dns-error', detail: /SERVFAIL \(2\)/ },
    { mode: 'refused', want: 'dns-error', detail: /REFUSED \(5\)/ },
    { mode: 'silence', want: 'no-reply', full: true },
    { mode: 'garbage', want: 'bad-reply', full: true, detail: /1 datagram\(s\) ignored, last: id \d+ is not ours/ },
    { mode: 'short', want: 'bad-reply', full: true, detail: /shorter than a DNS header/ },
    { mode: 'wrong-id', want: 'bad-reply', full: true, detail: /is not ours/ },
    { mode: 'echo-query', want: 'bad-reply', full: true, detail: /QR is 0/ },
    { mode: 'wrong-id-then-answer', want: 'ok' },
  ];
  for (const c of cases) {
    mode = c.mode;
    const t0 = performance.now();
    const r = await dnsCheck({ host: '127.0.0.1', port: srv.port, deadlineMs: DEADLINE, type: 'A', name: 'www.example.test' });
    const took = performance.now() - t0;
    t.equal(r.reason, c.want, `${c.mode}: reason (${r.detail})`);
    if (c.detail) t.match(r.detail, c.detail, `${c.mode}: detail`);
    t.ok(took < DEADLINE + MARGIN, `${c.mode}: ended in ${took.toFixed(0)} ms`);
    if (c.full) t.ok(took >= DEADLINE - 5, `${c.mode}: waited the deadline (${took.toFixed(0)} ms)`);
    else t.ok(took < DEADLINE / 2, `${c.mode}: decided at once (${took.toFixed(0)} ms)`);
  }
  const q = queries[0]!;
  t.equal(q.readUInt16BE(2), 0x0100, 'RD set, a standard query');
  t.equal(q.subarray(12).toString('hex'), `${encodeName('www.example.test').toString('hex')}00010001`, 'question: name, A, IN');
  t.not(queries[0]!.readUInt16BE(0), queries[1]!.readUInt16BE(0), 'a random id per query');
  const refused = await closedUdpPort();
  const r = await dnsCheck({ host: '127.0.0.1', port: refused, deadlineMs: DEADLINE, type: 'SOA', name: '.' });
  t.equal(r.reason, 'connect-refused', `no DNS server (ICMP port unreachable): ${r.detail}`);
});

t.test('IPv6 and bindto/bind_port', async (t) => {
  const srv = await serveUdp((q, reply) => reply(response(q, 0, true)), '::1');
  t.teardown(() => srv.close());
  const r = await dnsCheck({ host: '::1', port: srv.port, deadlineMs: DEADLINE, type: 'AAAA', name: 'x.test', localAddress: '::1' });
  t.equal(r.reason, 'ok', r.detail);
  let from = '';
  const v4 = await serveUdp((q, reply, rinfo) => {
    from = `${rinfo.address}:${rinfo.port}`;
    reply(response(q, 0, false));
  });
  t.teardown(() => v4.close());
  const s2 = await serveUdp(() => {});
  const port = s2.port;
  await s2.close();
  const b = await dnsCheck({ host: '127.0.0.1', port: v4.port, deadlineMs: DEADLINE, type: 'MX', name: 'x.test', localAddress: '127.0.0.2', localPort: port });
  t.equal(b.reason, 'ok', b.detail);
  t.equal(from, `127.0.0.2:${port}`, 'the query came from bindto:bind_port');
});

t.test('no fd or handle leaks over 10,000 checks', async (t) => {
  const modes: Mode[] = ['answer', 'nxdomain', 'servfail', 'silence', 'garbage', 'wrong-id-then-answer'];
  const servers = await Promise.all(modes.map((m) => serveUdp(dnsServer(() => m))));
  const refused = await closedUdpPort();
  const ports = [...servers.map((s) => s.port), refused];
  const run = (i: number) => dnsCheck({ host: '127.0.0.1', port: ports[i % ports.length]!, deadlineMs: 100, type: 'A', name: 'a.test' });
  await tally(ports.length, ports.length, run);
  await new Promise((r) => setTimeout(r, 50)); // the servers' delayed answers
  const fd0 = fdCount();
  const h0 = handleCount();
  const N = 10_000;
  const t0 = performance.now();
  const seen = await tally(N, 50, run);
  t.comment(`${N} DNS checks in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(Object.fromEntries(seen))}`);
  await new Promise((r) => setTimeout(r, 50));
  t.same([...seen.keys()].sort(), ['bad-reply', 'connect-refused', 'dns-error', 'dns-nxdomain', 'no-reply', 'ok']);
  t.equal(fdCount(), fd0, `open fds: ${fdCount()} (before ${fd0})`);
  t.equal(handleCount(), h0, `active handles: ${handleCount()} (before ${h0})`);
  await Promise.all(servers.map((s) => s.close()));
});
