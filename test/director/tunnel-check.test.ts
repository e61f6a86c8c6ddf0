// vigil's tunnel_check: the keyword (parsing, validation with file:line:col, the effective target
// and mark), the mark allocation, the fwmark services the desired table gains (one per checked
// tunnel, whatever the health; removed with the real server through the Reconciler, adopted after
// a restart), and the configuration reference. Every case compiles real configuration text.
import t from 'tap';
import { compileText } from '../../src/config/compile.js';
import { renderReference } from '../../src/config/reference.js';
import type { CheckConn } from '../../src/config/schema/checkers.js';
import type { LvsModel, RealServer, VirtualServer } from '../../src/config/schema/lvs.js';
import { DEFAULT_TUNNEL_FWMARK_BASE, addressOffset, allocateTunnelMarks, inTunnelRange } from '../../src/config/schema/tunnel-check.js';
import { type HealthView, desiredTable, rsKey } from '../../src/director/desired.js';
import { Reconciler } from '../../src/director/reconciler.js';
import { tunnelServices } from '../../src/director/tunnel-check.js';
import { FakeIpvs } from '../../src/ipvs/fake.js';
import { destText, serviceText } from '../../src/ipvs/types.js';
import { FakeClock } from '../../src/util/clock.js';

function compile(src: string) {
  return compileText(src, 'k.conf');
}
function lvs(src: string): LvsModel {
  const r = compile(src);
  if (!r.config) throw new Error(r.diagnostics.map((d) => `${d.pos.line}:${d.pos.col} ${d.message}`).join('\n'));
  return r.config;
}
/** Errors as `line:col: message`. */
function errors(src: string): string[] {
  return compile(src)
    .diagnostics.filter((d) => d.severity === 'error')
    .map((d) => `${d.pos.file}:${d.pos.line}:${d.pos.col}: ${d.message}`);
}
const conn = (ck: unknown): CheckConn => ck as CheckConn;

const VS = (rss: string, head = '192.0.2.100 80', method = 'TUN') => `virtual_server ${head} {\n  protocol TCP\n  lvs_sched wrr\n  lvs_method ${method}\n${rss}}\n`;
const RS = (n: number, check = 'HTTP_GET {\n      url { path / }\n      tunnel_check\n    }', extra = '') => `  real_server 198.51.100.${n} 80 {\n    weight ${n}\n    ${extra}\n    ${check}\n  }\n`;
const M = (n: number) => DEFAULT_TUNNEL_FWMARK_BASE + ((51 << 16) | (100 << 8) | n);

t.test('the keyword: effective target and mark of each checker type', async (t) => {
  const m = lvs(
    VS(
      RS(11) +
        RS(12, 'TCP_CHECK {\n      tunnel_check\n    }\n    TCP_CHECK {\n    }') +
        RS(13, 'SSL_GET {\n      url { path / }\n      tunnel_check on\n      connect_port 443\n      bindto 192.0.2.11\n    }'),
    ),
  );
  const cks = m.virtualServers[0]!.realServers.map((rs) => rs.checkers.map(conn));
  t.match(cks[0]![0], { connectIp: '192.0.2.100', connectPort: 80, family: 4, fwmark: M(11), tunnel: { fwmark: M(11), family: 4, realServer: '198.51.100.11', realServerFamily: 4, method: { method: 'TUN', type: 'ipip' } } }, 'HTTP_GET: the VIP and port, rs1’s mark');
  t.match(cks[1]![0], { connectIp: '192.0.2.100', connectPort: 80, fwmark: M(12), tunnel: { realServer: '198.51.100.12' } }, 'TCP_CHECK');
  t.match(cks[1]![1], { connectIp: '198.51.100.12', connectPort: 80 }, 'a plain checker beside it is untouched');
  t.equal(cks[1]![1]!.fwmark, undefined);
  t.equal(cks[1]![1]!.tunnel, undefined);
  t.match(cks[2]![0], { connectIp: '192.0.2.100', connectPort: 443, bindto: '192.0.2.11', fwmark: M(13) }, 'SSL_GET: connect_port and bindto as written');
  t.equal(M(11), 0x7f33640b, 'base 0x7f000000 + the low 24 bits of 198.51.100.11');
});

t.test('connect_ip, fwmark virtual servers, IPv6, gue, tunnel_check_fwmark_base', async (t) => {
  const m = lvs(
    `global_defs {\n  tunnel_check_fwmark_base 0x10000000\n}\n` +
      `virtual_server fwmark 7 {\n  lvs_sched rr\n  lvs_method TUN type gue port 6080\n  real_server 198.51.100.21 {\n    TCP_CHECK {\n      tunnel_check\n      connect_ip 192.0.2.101\n      connect_port 443\n    }\n  }\n}\n` +
      `virtual_server 2001:db8::100 80 {\n  protocol TCP\n  lvs_sched rr\n  lvs_method TUN\n  real_server 2001:db8:1::abcd:1234 80 {\n    TCP_CHECK {\n      tunnel_check\n    }\n  }\n}\n`,
  );
  const [fw, v6] = m.virtualServers;
  t.match(conn(fw!.realServers[0]!.checkers[0]), { connectIp: '192.0.2.101', connectPort: 443, fwmark: 0x10000000 + ((51 << 16) | (100 << 8) | 21), tunnel: { method: { type: 'gue', port: 6080 } } });
  t.match(conn(v6!.realServers[0]!.checkers[0]), { connectIp: '2001:db8::100', family: 6, fwmark: 0x10000000 + 0xcd1234, tunnel: { family: 6, realServerFamily: 6 } });
});

t.test('errors name file, line and column', async (t) => {
  const cases: { desc: string; src: string; want: RegExp[] }[] = [
    {
      desc: 'only for TUN real servers',
      src: VS(RS(11), '192.0.2.100 80', 'DR'),
      want: [/^k\.conf:10:7: .*real_server 198\.51\.100\.11 80: HTTP_GET: 'tunnel_check' needs 'lvs_method TUN' \(this real server is DR\)/],
    },
    {
      desc: 'a TUN virtual server with one DR real server',
      src: VS(RS(11) + RS(12, 'TCP_CHECK {\n      tunnel_check\n    }', 'lvs_method DR')),
      want: [/^k\.conf:17:7: .*198\.51\.100\.12 80: TCP_CHECK: 'tunnel_check' needs 'lvs_method TUN' \(this real server is DR\)/],
    },
    {
      desc: 'not with fwmark',
      src: VS(RS(11, 'TCP_CHECK {\n      tunnel_check\n      fwmark 5\n    }')),
      want: [/^k\.conf:10:7: .*'fwmark' cannot be used with 'tunnel_check'/],
    },
    {
      desc: 'a fwmark virtual server needs connect_ip',
      src: `virtual_server fwmark 7 {\n  lvs_sched rr\n  lvs_method TUN\n  real_server 198.51.100.21 {\n    TCP_CHECK {\n      tunnel_check\n      connect_port 80\n    }\n  }\n}\n`,
      want: [/^k\.conf:6:7: .*'tunnel_check' on a fwmark virtual server needs 'connect_ip'/],
    },
    {
      desc: 'a fwmark virtual server in the reserved range',
      src: VS(RS(11)) + `virtual_server fwmark 2130706500 {\n  lvs_sched rr\n  lvs_method DR\n  real_server 198.51.100.21 {\n  }\n}\n`,
      want: [/^k\.conf:14:1: virtual_server fwmark 2130706500: fwmark 2130706500 is in the range reserved for tunnel_check \(0x7f000000-0x7fffffff\)/],
    },
    {
      desc: 'a group fwmark and a checker fwmark in the range',
      src: `virtual_server_group g {\n  fwmark 2130706433\n}\n` + VS(RS(11) + RS(12, 'TCP_CHECK {\n      fwmark 2130706434\n    }')),
      want: [/^k\.conf:2:3: virtual_server_group g: fwmark 2130706433 is in the range reserved/, /^k\.conf:20:7: .*TCP_CHECK fwmark 2130706434 is in the range reserved/],
    },
    {
      desc: 'only TCP_CHECK, HTTP_GET and SSL_GET take it',
      src: VS(RS(11, 'PING_CHECK {\n      tunnel_check\n    }')),
      want: [/^k\.conf:9:7: unknown keyword 'tunnel_check' in 'PING_CHECK'; it belongs in 'HTTP_GET' or 'SSL_GET' or 'TCP_CHECK'/],
    },
    { desc: 'base: not a number', src: `global_defs {\n  tunnel_check_fwmark_base 0xzz\n}\n`, want: [/^k\.conf:2:28: 'tunnel_check_fwmark_base' expects a mark in 1-0xff000000/] },
    { desc: 'base: the range would pass 2^32', src: `global_defs {\n  tunnel_check_fwmark_base 0xff000001\n}\n`, want: [/^k\.conf:2:28: .*out of range|expects a mark in 1-0xff000000/] },
  ];
  for (const c of cases) {
    const got = errors(c.src);
    t.equal(got.length, c.want.length, `${c.desc}: ${got.length} error(s): ${got.join(' | ')}`);
    c.want.forEach((re, i) => t.match(got[i] ?? '', re, c.desc));
  }
  t.same(errors(VS(RS(11)) + `virtual_server fwmark 2130706500 {\n  lvs_sched rr\n  lvs_method DR\n  real_server 198.51.100.21 {\n  }\n}\n`.replace('2130706500', '7')), [], 'marks outside the range are fine');
  t.same(errors(`virtual_server fwmark 2130706500 {\n  lvs_sched rr\n  lvs_method DR\n  real_server 198.51.100.21 {\n  }\n}\n`), [], 'the range is only reserved while a tunnel_check is configured');
});

t.test('mark allocation: the low 24 bits of the address, the next free on a collision, stable', async (t) => {
  const k = (a: string, type = 'ipip') => `${a.includes(':') ? 6 : 4}|${a}|${type}|0|nocsum`;
  t.equal(addressOffset('198.51.100.11'), 0x33640b);
  t.equal(addressOffset('2001:db8::ab:cdef'), 0xabcdef);
  t.equal(addressOffset('::1'), 1);
  const base = 0x7f000000;
  const a = allocateTunnelMarks([k('198.51.100.11'), k('198.51.100.12')], base);
  t.same([...a.values()], [base + 0x33640b, base + 0x33640c]);
  const b = allocateTunnelMarks([k('10.51.100.11'), k('198.51.100.11'), k('198.51.100.12'), k('198.51.100.11', 'gre')], base);
  t.same(
    [...b.entries()].map(([key, m]) => `${key.split('|').slice(1, 3).join(' ')} ${(m - base).toString(16)}`),
    ['10.51.100.11 ipip 33640b', '198.51.100.11 gre 33640c', '198.51.100.11 ipip 33640d', '198.51.100.12 ipip 33640e'],
    'collisions take the next free mark, in sorted key order',
  );
  const c = allocateTunnelMarks([k('198.51.100.12'), k('198.51.100.13'), k('198.51.100.11')], base);
  t.equal(c.get(k('198.51.100.12')), a.get(k('198.51.100.12')), 'adding a real server does not move the others’ marks');
  t.ok(inTunnelRange(base, base) && inTunnelRange(base + 0xffffff, base) && !inTunnelRange(base + 0x1000000, base) && !inTunnelRange(base - 1, base));
});

/** Verdicts by real server address; others not checked yet. */
const verdicts =
  (m: Record<string, boolean>): HealthView =>
  (_vs: VirtualServer, rs: RealServer) => {
    const v = m[rsKey(rs)];
    return v === undefined ? undefined : { up: v, weight: rs.weight };
  };
function lines(model: LvsModel, health: HealthView = verdicts({})): string[] {
  return desiredTable({ lvs: model, health }).table.flatMap((e) => [
    `${serviceText(e.service)} ${e.service.scheduler}`,
    ...e.dests.map((x) => `  ${destText(x)} ${x.forward}/${x.tunType} w${x.weight}`),
  ]);
}

t.test('desired table: exactly one fwmark service per checked tunnel, whatever the health', async (t) => {
  const m = lvs(VS(RS(11) + RS(12, 'TCP_CHECK {\n      tunnel_check\n    }') + RS(13, 'TCP_CHECK {\n    }')));
  const vs = ['192.0.2.100:80 wrr', '  198.51.100.11:80 tun/ipip w11', '  198.51.100.12:80 tun/ipip w12', '  198.51.100.13:80 tun/ipip w13'];
  const fw = [`fwmark ${M(11)} rr`, '  198.51.100.11:0 tun/ipip w1', `fwmark ${M(12)} rr`, '  198.51.100.12:0 tun/ipip w1'];
  t.same(lines(m), [...vs, ...fw], 'rs1 and rs2 are tunnel-checked, rs3 is not');
  t.same(lines(m, verdicts({ '198.51.100.12:80': false })), [vs[0], vs[1], vs[3], ...fw], 'rs2 down: out of the service, its tunnel service stays (the check must reach it)');
  const d = desiredTable({ lvs: m, health: verdicts({}) });
  t.same(d.tunnels, [
    { service: `fwmark ${M(11)}`, fwmark: M(11), realServer: '198.51.100.11' },
    { service: `fwmark ${M(12)}`, fwmark: M(12), realServer: '198.51.100.12' },
  ]);
  t.same(d.problems, []);

  const two = lvs(VS(RS(11)) + VS('  real_server 198.51.100.11 443 {\n    TCP_CHECK {\n      tunnel_check\n    }\n  }\n', '192.0.2.100 443'));
  t.equal(desiredTable({ lvs: two, health: verdicts({}) }).tunnels.length, 1, 'one real server in two virtual servers: one service');
  const gre = lvs(VS(RS(11)) + VS(RS(11, 'TCP_CHECK {\n      tunnel_check\n    }', 'lvs_method TUN type gre'), '192.0.2.101 80'));
  t.same(
    lines(gre).filter((l) => l.startsWith('  198.51.100.11:0')),
    ['  198.51.100.11:0 tun/ipip w1', '  198.51.100.11:0 tun/gre w1'],
    'the same address with another encapsulation: a service (and mark) of its own',
  );
  t.same(lines(lvs(VS(RS(11, 'TCP_CHECK {\n    }')))), ['192.0.2.100:80 wrr', '  198.51.100.11:80 tun/ipip w11'], 'no tunnel_check: no fwmark service');
});

t.test('a mark taken by a virtual server is left to it (unvalidated input)', async (t) => {
  const m = lvs(VS(RS(11)));
  const clash = { ...m, virtualServers: [...m.virtualServers, { ...m.virtualServers[0]!, kind: 'fwmark', fwmark: M(11), family: 4, realServers: [] } as unknown as VirtualServer] };
  const d = desiredTable({ lvs: clash, health: verdicts({}) });
  t.same(d.tunnels, []);
  t.match(d.problems, [/tunnel check fwmark 2134074379 → 198\.51\.100\.11: kernel service already belongs to fwmark 2134074379/]);
  t.same(tunnelServices(m).entries.length, 1);
});

t.test('through the Reconciler: programmed, adopted after a restart, removed with the real server', async (t) => {
  const ipvs = new FakeIpvs();
  const log = { info() {}, warn() {}, error() {} };
  const three = lvs(VS(RS(11) + RS(12) + RS(13)));
  const two = lvs(VS(RS(11) + RS(13)));
  const r1 = new Reconciler({ ipvs, clock: new FakeClock(), log, resyncMs: 0 });
  await r1.start();
  const first = await r1.reconcile(desiredTable({ lvs: three, health: verdicts({}) }).table, 'config loaded');
  t.match(first, { ok: true, writes: 1 + 3 + 3 * 2 });
  t.same((await ipvs.services()).map((s) => serviceText(s)), ['192.0.2.100:80', `fwmark ${M(11)}`, `fwmark ${M(12)}`, `fwmark ${M(13)}`]);
  r1.stop();
  ipvs.calls.length = 0;

  const r2 = new Reconciler({ ipvs, clock: new FakeClock(), log, resyncMs: 0 });
  await r2.start();
  const restart = await r2.reconcile(desiredTable({ lvs: three, health: verdicts({ '198.51.100.12:80': false }) }).table, 'restart, rs2 down');
  t.match(restart, { ok: true, adopted: 3, writes: 1 }, 'a restart adopts the fwmark services; rs2 down costs one write (its tunnel service stays)');
  t.same(ipvs.calls.map((c) => c.op), ['ipvs.deleteDest']);
  ipvs.calls.length = 0;
  const removed = await r2.reconcile(desiredTable({ lvs: two, health: verdicts({}) }).table, 'reload: rs2 removed');
  t.match(removed, { ok: true, writes: 1 });
  t.same(ipvs.calls.map((c) => `${c.op} ${c.object}`), [`ipvs.deleteService fwmark ${M(12)}`], 'rs2’s tunnel service goes with it; nothing else is touched');
  t.same((await ipvs.services()).map((s) => serviceText(s)), ['192.0.2.100:80', `fwmark ${M(11)}`, `fwmark ${M(13)}`]);
  r2.stop();
});

t.test('the reference documents both keywords', async (t) => {
  const ref = renderReference();
  for (const section of ['TCP_CHECK', 'HTTP_GET', 'SSL_GET']) {
    const body = ref.split(`## virtual_server → real_server → ${section}\n`)[1]?.split('\n## ')[0] ?? '';
    t.match(body, /\| `tunnel_check` \| value \| vigil extension: check through the tunnel\./, section);
  }
  t.notMatch(ref.split('## virtual_server → real_server → PING_CHECK\n')[1]?.split('\n## ')[0] ?? '', /tunnel_check/, 'not PING_CHECK');
  t.match(ref.split('## global_defs\n')[1]?.split('\n## ')[0] ?? '', /\| `tunnel_check_fwmark_base` \| value \| vigil extension: first of the 16777216 firewall marks/);
});
