import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { compileText } from '../../src/config/compile.js';
import { echoRequest, icmpChecksum, openIcmpSockets, parseEchoReply, pingCheck } from '../../src/health/ping-check.js';
import { isSupported, probeFor } from '../../src/health/probe.js';
import type { CheckResult, Reason } from '../../src/health/result.js';
import { createLab } from '../lab/netns.js';
import { fdCount, handleCount, tally } from '../helpers/net-fixtures.js';

/*
 * PING_CHECK: in this process against 127.0.0.1 and ::1 (datagram and raw ICMP sockets), and in
 * a lab of network namespaces against a live node, a node that ignores echo requests, an address
 * nobody holds and a network with no route, where the checks run in a child process started
 * inside the namespace.
 */

const MARGIN = 250;
const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'ping-run.ts');
const LOADER = import.meta.resolve('@tapjs/typescript/import');

t.test('codec: checksum and echo messages (RFC 792, RFC 4443)', async (t) => {
  // RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, checksum 220d.
  t.equal(icmpChecksum(Buffer.from('0001f203f4f5f6f7', 'hex')), 0x220d);
  const req = echoRequest(4, 0x1234, 7, Buffer.from('abcd'));
  t.equal(req.toString('hex'), `0800${req.readUInt16BE(2).toString(16).padStart(4, '0')}12340007${Buffer.from('abcd').toString('hex')}`);
  t.equal(icmpChecksum(req), 0, 'a message with its checksum sums to 0');
  t.equal(icmpChecksum(Buffer.from('01', 'hex')), 0xfeff, 'odd length pads with a zero byte');
  const reply = Buffer.from(req);
  reply[0] = 0;
  t.same(parseEchoReply(4, reply), { id: 0x1234, seq: 7, payload: Buffer.from('abcd') });
  t.equal(parseEchoReply(4, req), undefined, 'an echo request is not a reply');
  t.equal(parseEchoReply(6, reply), undefined, 'ICMPv6 replies are type 129');
  t.equal(echoRequest(6, 1, 2, Buffer.alloc(0))[0], 128);
  t.equal(parseEchoReply(4, Buffer.alloc(7)), undefined, 'too short');
});

/** Whether this process may open ICMP datagram sockets: its gid inside net.ipv4.ping_group_range. */
function dgramPingAllowed(): boolean {
  const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8').trim().split(/\s+/).map(Number);
  const gid = process.getgid?.() ?? 0;
  return lo !== undefined && hi !== undefined && gid >= lo && gid <= hi;
}

t.test('loopback: 127.0.0.1 and ::1 answer, on datagram and raw sockets', async (t) => {
  // Datagram ICMP sockets exist only for groups in net.ipv4.ping_group_range (the kernel's default
  // "1 0" allows none; systemd widens it at boot, a machine without it does not): then 'dgram' must
  // fail with EACCES and 'auto' must fall back to a raw socket.
  const dgram = dgramPingAllowed();
  t.comment(`net.ipv4.ping_group_range allows datagram ICMP for this process: ${dgram}`);
  for (const mode of ['dgram', 'raw', 'auto'] as const)
    for (const host of ['127.0.0.1', '::1']) {
      const r = await pingCheck({ host, deadlineMs: 1000, mode });
      if (mode === 'dgram' && !dgram) t.match(r, { reason: 'connect-error', detail: /EACCES/ }, `${host} dgram refused by ping_group_range: ${r.detail}`);
      else t.equal(r.reason, 'ok', `${host} ${mode}: ${r.detail} in ${r.latencyMs.toFixed(1)} ms`);
    }
  const b = await pingCheck({ host: '127.0.0.1', deadlineMs: 1000, localAddress: '127.0.0.2' });
  t.equal(b.reason, 'ok', `bindto 127.0.0.2: ${b.detail}`);
  const m = await pingCheck({ host: '127.0.0.1', deadlineMs: 1000, fwmark: 7 });
  t.equal(m.reason, 'ok', `fwmark 7: ${m.detail}`);
  const bad = await pingCheck({ host: 'localhost', deadlineMs: 1000 });
  t.equal(bad.reason, 'bad-config', bad.detail);
  const nodev = await pingCheck({ host: '127.0.0.1', deadlineMs: 1000, bindIf: 'no-such-if0' });
  t.equal(nodev.reason, 'connect-error', `bind_if to a missing interface: ${nodev.detail}`);
  t.equal(openIcmpSockets(), 0, 'sockets close once no echo is outstanding');
});

t.test('PING_CHECK from keepalived.conf', async (t) => {
  const r = compileText(
    `virtual_server 10.0.0.100 80 {
  lvs_sched rr
  lvs_method TUN
  protocol TCP
  real_server 127.0.0.1 80 {
    PING_CHECK { connect_timeout 0.5 }
  }
  real_server ::1 80 {
    PING_CHECK { connect_timeout 0.5 }
  }
}
`,
    'k.conf',
    {},
  );
  if (!r.config) return t.fail(r.diagnostics.map((d) => d.message).join('\n'));
  for (const rs of r.config.virtualServers[0]!.realServers) {
    const [c] = rs.checkers.filter(isSupported);
    const res = await probeFor(c!)();
    t.equal(res.reason, 'ok', `${rs.address}: ${res.detail}`);
  }
});

t.test('no fd or handle leaks over 10,000 loopback pings, 50 at a time', async (t) => {
  const targets = [{ host: '127.0.0.1' }, { host: '::1' }, { host: '127.0.0.1', mode: 'raw' as const }, { host: '127.0.0.3' }];
  const run = (i: number) => pingCheck({ ...targets[i % targets.length]!, deadlineMs: 1000 });
  await tally(targets.length, targets.length, run);
  await new Promise((r) => setTimeout(r, 50));
  const fd0 = fdCount();
  const h0 = handleCount();
  const t0 = performance.now();
  const seen = await tally(10_000, 50, run);
  t.comment(`10000 pings in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(Object.fromEntries(seen))}`);
  await new Promise((r) => setTimeout(r, 50));
  t.same(Object.fromEntries(seen), { ok: 10_000 });
  t.equal(openIcmpSockets(), 0);
  t.equal(fdCount(), fd0, `open fds: ${fdCount()} (before ${fd0})`);
  t.equal(handleCount(), h0, `active handles: ${handleCount()} (before ${h0})`);
});

t.test('in namespaces: a live node, a node ignoring echoes, nobody, no route', async (t) => {
  const lab = await createLab(t, { nodes: ['a', 'b', 'c'] });
  const b = lab.node('b');
  const c = lab.node('c');
  // c drops echo requests: the kernel of its namespace ignores them (per-namespace sysctls).
  await lab.execOk('c', ['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/icmp_echo_ignore_all; echo 1 > /proc/sys/net/ipv6/icmp/echo_ignore_all']);
  const nobody4 = b.ipv4.replace(/\.\d+$/, '.99');
  const nobody6 = b.ipv6.replace(/[0-9a-f]+$/, '99');
  const D = 500;
  const cases: { desc: string; host: string; want: Reason; full?: boolean; mode?: 'raw' }[] = [
    { desc: 'live node (IPv4)', host: b.ipv4, want: 'ok' },
    { desc: 'live node (IPv6)', host: b.ipv6, want: 'ok' },
    { desc: 'live node, raw socket', host: b.ipv4, want: 'ok', mode: 'raw' },
    { desc: 'node ignoring echo requests (IPv4)', host: c.ipv4, want: 'no-reply', full: true },
    { desc: 'node ignoring echo requests (IPv6)', host: c.ipv6, want: 'no-reply', full: true },
    { desc: 'address nobody holds (IPv4)', host: nobody4, want: 'no-reply', full: true },
    { desc: 'address nobody holds (IPv6)', host: nobody6, want: 'no-reply', full: true },
    { desc: 'no route (TEST-NET-2)', host: '198.51.100.1', want: 'connect-error' },
    { desc: 'no route (IPv6 documentation prefix)', host: '2001:db8::1', want: 'connect-error' },
  ];
  const job = { checks: cases.map((x) => ({ host: x.host, deadlineMs: D, ...(x.mode ? { mode: x.mode } : {}) })) };
  const out = await lab.execOk('a', ['node', `--import=${LOADER}`, FIXTURE, JSON.stringify(job)], { timeoutMs: 30_000 });
  const results = JSON.parse(out.trim().split('\n').pop()!) as (CheckResult & { tookMs: number })[];
  cases.forEach((x, i) => {
    const r = results[i]!;
    t.equal(r.reason, x.want, `${x.desc} ${x.host}: ${r.detail}`);
    t.ok(r.tookMs < D + MARGIN, `${x.desc}: ended in ${r.tookMs.toFixed(0)} ms`);
    if (x.full) t.ok(r.tookMs >= D - 5, `${x.desc}: waited the deadline (${r.tookMs.toFixed(0)} ms)`);
  });

  const loop = { loop: 10_000, checks: [{ host: b.ipv4, deadlineMs: 1000 }, { host: b.ipv6, deadlineMs: 1000 }, { host: c.ipv4, deadlineMs: 100 }, { host: '198.51.100.1', deadlineMs: 100 }] };
  const lo = await lab.execOk('a', ['node', `--import=${LOADER}`, FIXTURE, JSON.stringify(loop)], { timeoutMs: 120_000 });
  const s = JSON.parse(lo.trim().split('\n').pop()!) as { seen: Record<string, number>; tookMs: number; fd0: number; fd1: number; h0: number; h1: number; sockets: number };
  t.comment(`10000 pings in a namespace in ${(s.tookMs / 1000).toFixed(1)} s: ${JSON.stringify(s.seen)}`);
  t.same(Object.keys(s.seen).sort(), ['connect-error', 'no-reply', 'ok']);
  t.equal(s.fd1, s.fd0, `open fds: ${s.fd1} (before ${s.fd0})`);
  t.equal(s.h1, s.h0, `active handles: ${s.h1} (before ${s.h0})`);
  t.equal(s.sockets, 0, 'no ICMP socket left open');
});
