// The desired IPVS table from compiled keepalived.conf text and health verdicts: inhibit vs
// removal, dynamic weights, quorum with hysteresis and the sorry server, groups, fwmark, IPv6,
// alpha. Each case compiles real configuration text (compileText), as vigil does.
import t from 'tap';
import { compileText } from '../../src/config/compile.js';
import type { LvsModel, RealServer, VirtualServer } from '../../src/config/schema/lvs.js';
import { type HealthView, type RsHealth, desiredTable, rsKey, vsKey } from '../../src/director/desired.js';
import type { QuorumState } from '../../src/director/quorum.js';
import { SVC_F_ONEPACKET, SVC_F_PERSISTENT, SVC_F_SCHED1, SVC_F_SCHED2, destText, serviceText } from '../../src/ipvs/types.js';

function lvs(src: string): LvsModel {
  const r = compileText(src, 'k.conf');
  if (!r.config) throw new Error(r.diagnostics.map((d) => `${d.pos.line}:${d.pos.col} ${d.message}`).join('\n'));
  return r.config;
}

/** Verdicts by real server address (`198.51.100.11:80`); others not checked yet. */
const verdicts =
  (m: Record<string, RsHealth | boolean>): HealthView =>
  (_vs: VirtualServer, rs: RealServer) => {
    const v = m[rsKey(rs)];
    return v === undefined ? undefined : typeof v === 'boolean' ? { up: v, weight: rs.weight } : v;
  };

/** The table as text lines: `service scheduler flags` and `  → dest forward weight`. */
function lines(model: LvsModel, health: HealthView, quorum?: ReadonlyMap<string, QuorumState>): string[] {
  const d = desiredTable({ lvs: model, health, ...(quorum ? { quorum } : {}) });
  return d.table.flatMap((e) => [
    `${serviceText(e.service)} ${e.service.scheduler} f${e.service.flags} t${e.service.timeout} m${e.service.netmask}`,
    ...e.dests.map((x) => `  ${destText(x)} ${x.forward}${x.forward === 'tun' ? `/${x.tunType}` : ''} w${x.weight}`),
  ]);
}

const TCP = (body: string, head = '192.0.2.100 80') => `virtual_server ${head} {\n  protocol TCP\n  lvs_sched wrr\n  lvs_method TUN\n${body}\n}\n`;
const RS = (n: number, extra = '', check = true) => `  real_server 198.51.100.${n} 80 {\n    weight ${n}\n    ${extra}\n    ${check ? 'TCP_CHECK {\n      connect_timeout 1\n    }' : ''}\n  }`;

t.test('real servers: up at their weight, down removed or inhibited, dynamic weights', async (t) => {
  const m = lvs(TCP([RS(1), RS(2, 'inhibit_on_failure'), RS(3)].join('\n')));
  const cases: { desc: string; health: Record<string, RsHealth | boolean>; want: string[] }[] = [
    {
      desc: 'not checked yet, no alpha: all up at their weight',
      health: {},
      want: ['192.0.2.100:80 wrr f0 t0 m32', '  198.51.100.1:80 tun/ipip w1', '  198.51.100.2:80 tun/ipip w2', '  198.51.100.3:80 tun/ipip w3'],
    },
    { desc: 'a down server without inhibit is removed', health: { '198.51.100.1:80': false }, want: ['192.0.2.100:80 wrr f0 t0 m32', '  198.51.100.2:80 tun/ipip w2', '  198.51.100.3:80 tun/ipip w3'] },
    {
      desc: 'a down server with inhibit_on_failure stays at weight 0',
      health: { '198.51.100.2:80': false },
      want: ['192.0.2.100:80 wrr f0 t0 m32', '  198.51.100.1:80 tun/ipip w1', '  198.51.100.2:80 tun/ipip w0', '  198.51.100.3:80 tun/ipip w3'],
    },
    {
      desc: 'a dynamic weight (MISC_CHECK misc_dynamic) replaces the configured one',
      health: { '198.51.100.3:80': { up: true, weight: 17 } },
      want: ['192.0.2.100:80 wrr f0 t0 m32', '  198.51.100.1:80 tun/ipip w1', '  198.51.100.2:80 tun/ipip w2', '  198.51.100.3:80 tun/ipip w17'],
    },
    {
      desc: 'a weight out of range is clamped, never sent as is',
      health: { '198.51.100.3:80': { up: true, weight: -4 }, '198.51.100.1:80': { up: true, weight: 1e12 } },
      want: ['192.0.2.100:80 wrr f0 t0 m32', '  198.51.100.1:80 tun/ipip w2147483647', '  198.51.100.2:80 tun/ipip w2', '  198.51.100.3:80 tun/ipip w0'],
    },
  ];
  for (const c of cases) t.same(lines(m, verdicts(c.health)), c.want, c.desc);
});

t.test('alpha: servers with checkers start down until checked; servers without checkers are up', async (t) => {
  const m = lvs(TCP(['  alpha', RS(1), RS(2, 'inhibit_on_failure'), RS(3, '', false)].join('\n')));
  t.same(lines(m, verdicts({})), ['192.0.2.100:80 wrr f0 t0 m32', '  198.51.100.2:80 tun/ipip w0', '  198.51.100.3:80 tun/ipip w3'], 'alpha: 1 absent, 2 inhibited, 3 (no checker) up');
  t.same(lines(m, verdicts({ '198.51.100.1:80': true })), ['192.0.2.100:80 wrr f0 t0 m32', '  198.51.100.1:80 tun/ipip w1', '  198.51.100.2:80 tun/ipip w0', '  198.51.100.3:80 tun/ipip w3'], 'after its first good check');
  const st = desiredTable({ lvs: m, health: verdicts({}) }).status[0];
  t.same(st?.realServers.map((r) => [r.rs, r.up, r.checked, r.installed]), [
    ['198.51.100.1:80', false, false, undefined],
    ['198.51.100.2:80', false, false, 0],
    ['198.51.100.3:80', true, false, 3],
  ], 'status says what is installed and that nothing was checked yet');
});

t.test('forwarding methods, thresholds, scheduler flags, persistence, one-packet', async (t) => {
  const m = lvs(
    [
      'virtual_server 192.0.2.100 80 {\n  protocol TCP\n  lvs_sched sh\n  sh-port\n  sh-fallback\n  persistence_timeout 120\n  persistence_granularity 255.255.255.0\n  lvs_method DR',
      '  real_server 198.51.100.1 80 {\n    weight 2\n    uthreshold 100\n    lthreshold 10\n  }',
      '  real_server 198.51.100.2 80 {\n    lvs_method TUN type gue port 6080 csum\n  }',
      '  real_server 198.51.100.3 80 {\n    lvs_method TUN type gre\n  }',
      '}',
      'virtual_server 192.0.2.101 53 {\n  protocol UDP\n  lvs_sched rr\n  ops\n  lvs_method NAT\n  real_server 198.51.100.4 5353 {\n  }\n}',
    ].join('\n'),
  );
  const d = desiredTable({ lvs: m, health: verdicts({}) });
  const [web, dns] = d.table;
  t.match(web?.service, { scheduler: 'sh', flags: SVC_F_PERSISTENT | SVC_F_SCHED1 | SVC_F_SCHED2, timeout: 120, netmask: 24 }, 'sh-fallback = SCHED1, sh-port = SCHED2, persistence 120 /24');
  t.same(
    web?.dests.map((x) => [x.address, x.forward, x.weight, x.upperThreshold, x.lowerThreshold, x.tunType, x.tunPort, x.tunFlags]),
    [
      ['198.51.100.1', 'dr', 2, 100, 10, 'ipip', 0, 0],
      ['198.51.100.2', 'tun', 1, 0, 0, 'gue', 6080, 1],
      ['198.51.100.3', 'tun', 1, 0, 0, 'gre', 0, 0],
    ],
    'DR with thresholds; TUN gue port 6080 csum; TUN gre',
  );
  t.match(dns?.service, { protocol: 'udp', port: 53, scheduler: 'rr', flags: SVC_F_ONEPACKET, timeout: 0, netmask: 32 }, 'UDP with one-packet scheduling');
  t.match(dns?.dests[0], { address: '198.51.100.4', port: 5353, forward: 'nat' }, 'NAT may change the port');
});

t.test('fwmark and IPv6 services', async (t) => {
  const m = lvs(
    [
      'virtual_server fwmark 7 {\n  lvs_sched wlc\n  lvs_method TUN\n  ip_family inet6\n  real_server 2001:db8::11 {\n  }\n}',
      'virtual_server 2001:db8::100 443 {\n  protocol TCP\n  lvs_sched rr\n  lvs_method DR\n  persistence_timeout\n  persistence_granularity 64\n  real_server 2001:db8::12 443 {\n  }\n}',
    ].join('\n'),
  );
  t.same(lines(m, verdicts({})), ['fwmark 7 IPv6 wlc f0 t0 m128', '  [2001:db8::11]:0 tun/ipip w1', '[2001:db8::100]:443 rr f1 t360 m64', '  [2001:db8::12]:443 dr w1']);
  t.same(desiredTable({ lvs: m, health: verdicts({}) }).status.map((s) => s.vs), ['fwmark 7 IPv6', '[2001:db8::100]:443 TCP'], 'virtual server keys');
});

t.test('virtual_server_group: one kernel service per member, ranges expanded', async (t) => {
  const m = lvs(
    [
      'virtual_server_group web {\n  192.0.2.10-12 80\n  192.0.2.20 8080\n  fwmark 9\n}',
      'virtual_server group web {\n  protocol TCP\n  lvs_sched rr\n  lvs_method TUN\n  real_server 198.51.100.1 {\n  }\n  real_server 198.51.100.2 {\n    inhibit_on_failure\n  }\n}',
    ].join('\n'),
  );
  const got = lines(m, verdicts({ '198.51.100.2:0': false }));
  // a group's real servers without a port are installed with port 0, as keepalived does (TUN/DR ignore it)
  const rs = ['  198.51.100.1:0 tun/ipip w1', '  198.51.100.2:0 tun/ipip w0'];
  t.same(got, ['192.0.2.10:80 rr f0 t0 m32', ...rs, '192.0.2.11:80 rr f0 t0 m32', ...rs, '192.0.2.12:80 rr f0 t0 m32', ...rs, '192.0.2.20:8080 rr f0 t0 m32', ...rs, 'fwmark 9 rr f0 t0 m32', ...rs]);
  const st = desiredTable({ lvs: m, health: verdicts({}) }).status[0];
  t.equal(st?.vs, 'group web TCP');
  t.equal(st?.services.length, 5, 'five kernel services for one virtual server');
});

t.test('two virtual servers on one kernel service: the first keeps it, the problem is named', async (t) => {
  // the compiler refuses this; the director still never programs one kernel service twice
  const a = lvs(TCP(RS(1)));
  const b = lvs(['virtual_server_group g {\n  192.0.2.100 80\n}', 'virtual_server group g {\n  protocol TCP\n  lvs_sched rr\n  lvs_method TUN\n  real_server 198.51.100.9 80 {\n  }\n}'].join('\n'));
  const m: LvsModel = { ...a, virtualServers: [...a.virtualServers, ...b.virtualServers], virtualServerGroups: b.virtualServerGroups };
  const d = desiredTable({ lvs: m, health: verdicts({}) });
  t.equal(d.table.length, 1);
  t.same(d.table[0]?.dests.map((x) => x.address), ['198.51.100.1']);
  t.match(d.problems, [/group g TCP: kernel service tcp\|4\|192\.0\.2\.100\|80 already belongs to 192\.0\.2\.100:80 TCP/]);
});

t.test('quorum with hysteresis and the sorry server, step by step', async (t) => {
  // weights 1, 2, 3 (total 6); quorum 4, hysteresis 1: lost below 3, gained at 5
  const m = lvs(TCP(['  quorum 4', '  hysteresis 1', '  sorry_server 203.0.113.9 80', RS(1), RS(2, 'inhibit_on_failure'), RS(3)].join('\n')));
  const steps: { desc: string; up: string[]; want: string[]; event?: string; sorry: boolean }[] = [
    { desc: 'start, all up (6 ≥ 5): quorum up, no event', up: ['1', '2', '3'], want: ['w1 .1', 'w2 .2', 'w3 .3'], sorry: false },
    { desc: 'rs3 down: 3 is not < 4-1=3, quorum holds', up: ['1', '2'], want: ['w1 .1', 'w2 .2'], sorry: false },
    { desc: 'rs1 down too: 2 < 3, quorum lost: sorry alone, inhibited rs2 at 0', up: ['2'], want: ['w0 .2', 'w1 .9'], event: 'quorum_down lost quorum: live weight 2 < 4-1=3', sorry: true },
    { desc: 'rs3 back: 5 ≥ 4+1=5 gained: sorry out, live servers back', up: ['2', '3'], want: ['w2 .2', 'w3 .3'], event: 'quorum_up gained quorum: live weight 5 ≥ 4+1=5', sorry: false },
    { desc: 'rs2 down: 3 is not < 3, holds', up: ['3'], want: ['w0 .2', 'w3 .3'], sorry: false },
    { desc: 'all down: 0, lost', up: [], want: ['w0 .2', 'w1 .9'], event: 'quorum_down lost quorum: live weight 0 < 4-1=3', sorry: true },
    { desc: 'rs1 and rs3 back: 4 < 5, still down (hysteresis)', up: ['1', '3'], want: ['w0 .2', 'w1 .9'], sorry: true },
    { desc: 'all back: 6 ≥ 5, gained', up: ['1', '2', '3'], want: ['w1 .1', 'w2 .2', 'w3 .3'], event: 'quorum_up gained quorum: live weight 6 ≥ 4+1=5', sorry: false },
  ];
  let quorum: ReadonlyMap<string, QuorumState> | undefined;
  for (const s of steps) {
    const health = verdicts(Object.fromEntries(['1', '2', '3'].map((n) => [`198.51.100.${n}:80`, s.up.includes(n)])));
    const d = desiredTable({ lvs: m, health, ...(quorum ? { quorum } : {}) });
    quorum = d.quorum;
    t.same(d.table[0]?.dests.map((x) => `w${x.weight} .${x.address.split('.')[3]}`).sort(), s.want, s.desc);
    t.same(d.events.map((e) => `${e.kind} ${e.reason}`), s.event ? [s.event] : [], `${s.desc}: events`);
    t.equal(d.status[0]?.sorryActive, s.sorry, `${s.desc}: sorry server ${s.sorry ? 'in' : 'out'}`);
  }
});

t.test('quorum at start and without a sorry server', async (t) => {
  const withSorry = lvs(TCP(['  quorum 3', '  alpha', '  sorry_server 203.0.113.9 80', '  sorry_server_inhibit', RS(1), RS(2)].join('\n')));
  const d = desiredTable({ lvs: withSorry, health: verdicts({}) });
  t.same(d.events.map((e) => [e.kind, e.init]), [['quorum_down', true]], 'alpha start below quorum with a sorry server: "starting with quorum down"');
  t.same(d.table[0]?.dests.map((x) => [x.address, x.weight]), [['203.0.113.9', 1]], 'the sorry server alone');
  const up = desiredTable({ lvs: withSorry, health: verdicts({ '198.51.100.1:80': true, '198.51.100.2:80': true }), quorum: d.quorum });
  t.same(up.table[0]?.dests.map((x) => [x.address, x.weight]), [['198.51.100.1', 1], ['198.51.100.2', 2], ['203.0.113.9', 0]], 'sorry_server_inhibit: kept at weight 0 once the quorum is back');
  t.same(up.events.map((e) => e.kind), ['quorum_up']);

  const noSorry = lvs(TCP(['  quorum 3', RS(1), RS(2)].join('\n')));
  const a = desiredTable({ lvs: noSorry, health: verdicts({}) });
  t.same(a.events, [], 'start with quorum up: no event (keepalived runs no script)');
  const b = desiredTable({ lvs: noSorry, health: verdicts({ '198.51.100.2:80': false }), quorum: a.quorum });
  t.same(b.events.map((e) => e.kind), ['quorum_down'], 'lost without a sorry server: the event still comes');
  t.same(b.table[0]?.dests.map((x) => x.address), ['198.51.100.1'], 'but IPVS keeps the live servers (keepalived adds no sorry server)');
  t.equal(vsKey(noSorry.virtualServers[0]!), '192.0.2.100:80 TCP');
});
