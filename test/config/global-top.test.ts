import t from 'tap';
import { type Case, pick, run, table } from '../helpers/vrrp.js';

// Top-level process keywords, track_group, static_ipaddress/routes/rules, and the route/rule
// syntax shared with virtual_routes/virtual_rules. The line under test is line 1, column 1.

t.test('defaults', async (t) => {
  const { r, diags } = run('global_defs {\n  router_id x\n}\n');
  t.same(diags, []);
  t.same(pick(r.config, ['netNamespace', 'netNamespaceIpvs', 'namespaceWithIpsets', 'instance', 'usePidDir', 'linkbeatUsePolling', 'childWaitTimeMs', 'linkbeatInterfaces', 'interfaceUpDownDelays', 'trackGroups', 'staticIpaddress', 'staticRoutes', 'staticRules', 'vrrpSyncGroups', 'trackFiles', 'trackProcesses', 'garpGroups', 'bfdInstances']), {
    netNamespace: undefined, netNamespaceIpvs: undefined, namespaceWithIpsets: false, instance: undefined, usePidDir: false, linkbeatUsePolling: false, childWaitTimeMs: 5000,
    linkbeatInterfaces: [], interfaceUpDownDelays: [], trackGroups: [], staticIpaddress: [], staticRoutes: [], staticRules: [], vrrpSyncGroups: [], trackFiles: [], trackProcesses: [], garpGroups: [], bfdInstances: [],
  });
});

const top: Case[] = [
  { desc: 'net_namespace', input: 'net_namespace blue', want: { netNamespace: 'blue' } },
  { desc: 'net_namespace needs a name', input: 'net_namespace', diags: ['error missing-argument'] },
  { desc: 'net_namespace_ipvs default namespace', input: 'net_namespace_ipvs', want: { netNamespaceIpvs: '' } },
  { desc: 'net_namespace_ipvs name', input: 'net_namespace_ipvs ipvs', want: { netNamespaceIpvs: 'ipvs' } },
  { desc: 'namespace_with_ipsets', input: 'namespace_with_ipsets', want: { namespaceWithIpsets: true } },
  { desc: 'instance', input: 'instance east', want: { instance: 'east' } },
  { desc: 'use_pid_dir', input: 'use_pid_dir', want: { usePidDir: true } },
  { desc: 'linkbeat_use_polling', input: 'linkbeat_use_polling', want: { linkbeatUsePolling: true } },
  { desc: 'child_wait_time', input: 'child_wait_time 20', want: { childWaitTimeMs: 20000 } },
  { desc: 'child_wait_time 0', input: 'child_wait_time 0', want: { childWaitTimeMs: 0 } },
  { desc: 'child_wait_time negative', input: 'child_wait_time -1', diags: ['error out-of-range @-1'] },
  { desc: 'linkbeat_interfaces', input: 'linkbeat_interfaces {\n  eth2\n  enp2s0 ETHTOOL\n}', want: { linkbeatInterfaces: [{ name: 'eth2' }, { name: 'enp2s0', type: 'ETHTOOL' }] } },
  { desc: 'linkbeat_interfaces bad type', input: 'linkbeat_interfaces {\n  eth2 ethtool\n}', diags: ['2:8 error invalid-value'] },
  { desc: 'interface_up_down_delays', input: 'interface_up_down_delays {\n  eth0 0.5 2\n  eth1 0.00001\n}', want: { interfaceUpDownDelays: [{ name: 'eth0', downDelayMs: 500, upDelayMs: 2000 }, { name: 'eth1', downDelayMs: 0.01, upDelayMs: 0.01 }] } },
  { desc: 'interface_up_down_delays over 255', input: 'interface_up_down_delays {\n  eth0 256\n}', diags: ['2:8 error out-of-range'] },
  { desc: 'interface_up_down_delays missing delay', input: 'interface_up_down_delays {\n  eth0\n}', diags: ['2:3 error missing-argument'] },
  { desc: 'static_ipaddress', input: 'static_ipaddress {\n  192.168.1.1/24 dev eth0 scope global\n}', want: { staticIpaddress: [{ address: '192.168.1.1', family: 4, prefix: 24, dev: 'eth0', scope: 'global' }] } },
  { desc: 'static_ipaddress track_group unknown', input: 'static_ipaddress {\n  192.168.1.1 track_group G\n}', diags: ['2:3 error unknown-reference'] },
  { desc: 'track_group members must be instances', input: 'track_group G {\n  group {\n    VI_9\n  }\n}', diags: ['2:3 error unknown-reference'] },
  { desc: 'track_group without members', input: 'track_group G {\n}', diags: ['1:1 error missing-keyword'] },
];
table(t, top, (i) => `${i}\n`, 1, 1, (r) => r.config);

t.test('static_routes / virtual_routes entries', async (t) => {
  const route = (line: string) => run(`static_routes {\n  ${line}\n}\n`);
  const ok = (line: string, want: object) => {
    const o = route(line);
    t.same(o.diags.filter((d) => !d.includes('deprecated')), [], `${line}: ${o.messages.join('; ')}`);
    t.match(o.r.config?.staticRoutes[0], want, line);
  };
  ok('192.168.2.0/24 via 192.168.1.100 dev eth0', { family: 4, dest: { address: '192.168.2.0', prefix: 24 }, via: '192.168.1.100', dev: 'eth0', noTrack: false });
  ok('src 192.168.100.1 192.168.209.0/24 via 192.168.200.254 dev eth0', { src: '192.168.100.1', dest: { address: '192.168.209.0', prefix: 24 }, via: '192.168.200.254' });
  ok('src 192.168.100.1 to 192.168.109.0/24 via 192.168.200.254 dev eth1', { dest: { address: '192.168.109.0' } });
  ok('blackhole 192.168.114.0/24', { type: 'blackhole', dest: { address: '192.168.114.0', prefix: 24 } });
  ok('0.0.0.0/0 gw 192.168.0.1 table 100', { dest: { prefix: 0 }, via: '192.168.0.1', table: '100' });
  ok('default via 10.0.0.1 dev eth0 metric 5', { dest: { address: '0.0.0.0', prefix: 0 }, metric: 5 });
  ok('192.168.113.0/24 via 192.168.100.252 or 192.168.100.253', { via: '192.168.100.252' });
  ok('192.168.100.0/24 table 6909 nexthop via 192.168.101.1 dev wlan0 onlink weight 1 nexthop via 192.168.101.2 dev wlan0 onlink weight 2', { table: '6909' });
  ok('192.168.200.0/24 dev p33p1.2 table 6909 tos 0x04 protocol bird scope link priority 12 mtu 1000 hoplimit 100 advmss 101 rtt 102 rttvar 103 reordering 104 window 105 cwnd 106 ssthresh lock 107 realms PQA/0x14 rto_min 108 initcwnd 109 initrwnd 110 vrf blue features ecn append', { metric: 12 });
  ok('2001:470:69e9:1:2::4 dev p33p1.2 table 6909 expires 5 pref high fastopen_no_cookie 1', { family: 6 });
  ok('10.3.0.0/16 encap mpls 100 via 10.0.0.1 dev eth0', { via: '10.0.0.1' });
  ok('192.168.111.0/24 dev eth2 no_track', { noTrack: true });
  t.same(route('192.168.2.0/24 via 192.168.1.100 foo').diags, ['2:36 error invalid-option'], 'unknown keyword (keepalived: unknown route keyword)');
  t.same(route('192.168.2.0/24 proto static').diags, ['2:18 error invalid-option'], "'proto' is not accepted (long names only)");
  t.same(route('10.5.0.0/16 via fe80::1').diags, ['2:19 error family-mismatch'], 'mixed families');
  t.same(route('10.4.0.0/16 dev eth0 expires 5').diags, ['2:24 error invalid-option'], 'expires is IPv6 only');
  t.same(route('10.4.0.0/33 dev eth0').diags, ['2:12 error invalid-prefix'], 'bad prefix');
  t.same(route('via 10.0.0.1').diags, ['2:3 error missing-argument'], 'no destination');
  t.same(route('10.4.0.0/16 dev eth0 inet6').diags, ['2:3 error family-mismatch'], 'inet6 on an IPv4 route');
});

t.test('static items tagged with a track_group', async (t) => {
  const o = run('track_group G {\n  group {\n    V\n  }\n}\nstatic_routes {\n  10.9.0.0/16 dev eth0 track_group G\n}\nstatic_ipaddress {\n  10.0.0.9/24 dev eth0 track_group G\n}\nvrrp_instance V {\n  interface eth0\n  virtual_router_id 5\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n');
  t.same(o.diags, []);
  t.same(o.r.config?.trackGroups, [{ name: 'G', group: ['V'] }]);
  t.match(o.r.config?.staticRoutes, [{ trackGroup: 'G', dev: 'eth0' }]);
  t.match(o.r.config?.staticIpaddress, [{ trackGroup: 'G', prefix: 24 }]);
});

t.test('static_rules / virtual_rules entries', async (t) => {
  const rule = (line: string) => run(`static_rules {\n  ${line}\n}\n`);
  const ok = (line: string, want: object) => {
    const o = rule(line);
    t.same(o.diags, [], `${line}: ${o.messages.join('; ')}`);
    t.match(o.r.config?.staticRules[0], want, line);
  };
  ok('from 192.168.2.0/24 table 1', { family: 4, from: { address: '192.168.2.0', prefix: 24 }, table: '1', noTrack: false });
  ok('from 192.168.28.0/24 to 192.168.29.0/26 table small iif p33p1 oif wlan0 tos 22 fwmark 24/12 preference 39 realms 30/20 goto 40', { to: { prefix: 26 }, preference: 39 });
  ok('to 1:2:3:4:5:6:7:0/112 from 7:6:5:4:3:2::/96 table 6908 uidrange 10000-19999', { family: 6 });
  ok('to 1:2:3:4:6:6:7:0/112 from 8:6:5:4:3:2::/96 l3mdev protocol 12 ipproto UDP sport 10-20 dport 20-30', { family: 6 });
  ok('not from all lookup 5 priority 20 suppress_prefixlength 2 suppress_ifgroup 1 no_track', { from: 'all', table: '5', preference: 20, noTrack: true });
  ok('from 10.7.0.0/16 prohibit order 27', { preference: 27 });
  t.same(rule('to 192.168.100./24 table 1').diags, ['2:6 error invalid-address'], 'sample typo (keepalived: invalid IP)');
  t.same(rule('from 10.0.0.0/8 table 1 pref 10').diags, ['2:27 error invalid-option'], "'pref' is not accepted by keepalived 2.2.7");
  t.same(rule('from 10.0.0.0/8 to fe80::/64').diags, ['2:22 error family-mismatch'], 'mixed families');
  t.same(rule('from 10.0.0.0/8 preference x').diags, ['2:30 error invalid-number'], 'preference not a number');
  t.same(rule('from').diags, ['2:3 error missing-argument'], 'from without value');
});

t.test('virtual_routes and virtual_rules in an instance', async (t) => {
  const o = run('vrrp_instance V {\n  interface eth0\n  virtual_router_id 5\n  virtual_ipaddress {\n    10.0.0.1\n  }\n  virtual_routes {\n    10.1.0.0/16 via 10.0.0.254 dev eth0\n  }\n  virtual_rules {\n    from 10.0.0.0/8 table 100 track_group G\n  }\n}\n');
  t.same(o.diags, ['11:5 warning ignored'], 'track_group only applies to static items');
  const vi = o.r.config!.vrrpInstances[0]!;
  t.match(vi.virtualRoutes, [{ dest: { address: '10.1.0.0', prefix: 16 }, via: '10.0.0.254', dev: 'eth0' }]);
  t.match(vi.virtualRules, [{ table: '100', trackGroup: 'G' }]);
});
