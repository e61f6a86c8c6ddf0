import t from 'tap';
import { vrrpInstanceSpec } from '../../src/config/schema/vrrp.js';
import { type Case, inst, pick, run, table } from '../helpers/vrrp.js';

// vrrp_instance: every keyword's type, range boundaries, default, and error positions.
// inst(line): the line under test is line 7, column 3 of a minimal valid instance.

t.test('defaults of a minimal instance equal keepalived 2.2.7', async (t) => {
  const { r, diags } = run(inst());
  t.same(diags, []);
  const vi = r.config!.vrrpInstances[0]!;
  t.same(
    pick(vi, ['name', 'state', 'interface', 'vrid', 'priority', 'advertIntMs', 'version', 'nopreempt', 'preemptDelayMs', 'unicastPeer', 'trackScript', 'trackInterface', 'trackFile', 'trackProcess', 'trackBfd', 'virtualRoutes', 'virtualRules', 'virtualIpaddressExcluded', 'accept', 'strictMode', 'garpMasterDelayMs', 'garpMasterRepeat', 'useVmac', 'unicastSrcIp', 'dontTrackPrimary', 'promoteSecondaries']),
    {
      name: 'VI_1', state: 'BACKUP', interface: 'eth0', vrid: 51, priority: 100, advertIntMs: 1000, version: undefined, nopreempt: false, preemptDelayMs: 0, unicastPeer: [],
      trackScript: [], trackInterface: [], trackFile: [], trackProcess: [], trackBfd: [], virtualRoutes: [], virtualRules: [], virtualIpaddressExcluded: [],
      accept: undefined, strictMode: undefined, garpMasterDelayMs: undefined, garpMasterRepeat: undefined, useVmac: undefined, unicastSrcIp: undefined, dontTrackPrimary: false, promoteSecondaries: false,
    },
  );
  t.same(vi.virtualIpaddress, [{ address: '10.0.0.1', family: 4, prefix: 24 }]);
});

const S = 'vrrp_script chk {\n  script /bin/true\n}\n';

const cases: Case[] = [
  { desc: 'state MASTER', input: 'state MASTER', want: { state: 'MASTER' } },
  { desc: 'state is case sensitive', input: 'state master', diags: ['error invalid-value @master'] },
  { desc: 'priority 1', input: 'priority 1', want: { priority: 1 } },
  { desc: 'priority 255 (owner) with BACKUP warns', input: 'priority 255', want: { priority: 255 }, diags: ['warning owner-backup'] },
  { desc: 'priority 0', input: 'priority 0', diags: ['error out-of-range @0'] },
  { desc: 'priority 256', input: 'priority 256', diags: ['error out-of-range @256'] },
  { desc: 'priority not a number', input: 'priority high', diags: ['error invalid-number @high'] },
  { desc: 'advert_int 2', input: 'advert_int 2', want: { advertIntMs: 2000 } },
  { desc: 'advert_int fraction needs v3', input: 'advert_int 0.5', diags: ['error invalid-value'] },
  { desc: 'advert_int below 0.01', input: 'advert_int 0.001', diags: ['error out-of-range @0.001'] },
  { desc: 'advert_int 256', input: 'advert_int 256', diags: ['error out-of-range @256'] },
  { desc: 'version 3', input: 'version 3', want: { version: 3 } },
  { desc: 'version 1', input: 'version 1', diags: ['error invalid-value @1'] },
  { desc: 'nopreempt', input: 'nopreempt', want: { nopreempt: true } },
  { desc: 'preempt cancels nopreempt', input: 'nopreempt\n  preempt', want: { nopreempt: false }, diags: ['8:3 warning duplicate-keyword'] },
  { desc: 'preempt_delay', input: 'preempt_delay 4.12', want: { preemptDelayMs: 4120 } },
  { desc: 'preempt_delay 1000', input: 'preempt_delay 1000', want: { preemptDelayMs: 1000000 } },
  { desc: 'preempt_delay 1001', input: 'preempt_delay 1001', diags: ['error out-of-range @1001'] },
  { desc: 'unicast_src_ip', input: 'unicast_src_ip 10.0.0.2', want: { unicastSrcIp: '10.0.0.2' } },
  { desc: 'mcast_src_ip is unicast_src_ip', input: 'mcast_src_ip 10.0.0.2', want: { unicastSrcIp: '10.0.0.2' } },
  { desc: 'unicast_src_ip family mismatch', input: 'unicast_src_ip fe80::1', diags: ['error family-mismatch'] },
  { desc: 'unicast_src_ip bad', input: 'unicast_src_ip 10.0.0.300', diags: ['error invalid-address @10.0.0.300'] },
  { desc: 'unicast_peer', input: 'unicast_peer {\n    10.0.0.2\n    10.0.0.3 min_ttl 254 max_ttl 255\n  }', want: { unicastPeer: [{ address: '10.0.0.2', family: 4 }, { address: '10.0.0.3', family: 4, minTtl: 254, maxTtl: 255 }] } },
  { desc: 'unicast_peer with a prefix', input: 'unicast_peer {\n    10.0.0.2/32\n  }', diags: ['8:5 error invalid-address'] },
  { desc: 'unicast_peer ttl 256', input: 'unicast_peer {\n    10.0.0.2 max_ttl 256\n  }', diags: ['8:22 error out-of-range'] },
  { desc: 'unicast_peer min above max', input: 'unicast_peer {\n    10.0.0.2 min_ttl 9 max_ttl 8\n  }', diags: ['8:5 error invalid-value'] },
  { desc: 'unicast_peer wrong family', input: 'unicast_peer {\n    fe80::2\n  }', diags: ['8:5 error family-mismatch'] },
  { desc: 'unicast_ttl', input: 'unicast_ttl 10\n  unicast_peer {\n    10.0.0.2\n  }', want: { unicastTtl: 10 } },
  { desc: 'unicast_ttl without peers warns', input: 'unicast_ttl 10', want: { unicastTtl: 10 }, diags: ['warning ignored'] },
  { desc: 'unicast_ttl 256', input: 'unicast_ttl 256', diags: ['error out-of-range @256'] },
  { desc: 'unicast_fault_no_peer', input: 'unicast_fault_no_peer', want: { unicastFaultNoPeer: true } },
  { desc: 'check_unicast_src', input: 'check_unicast_src', want: { checkUnicastSrc: true } },
  { desc: 'old_unicast_checksum', input: 'old_unicast_checksum', want: { oldUnicastChecksum: 'on' } },
  { desc: 'old_unicast_checksum never', input: 'old_unicast_checksum never', want: { oldUnicastChecksum: 'never' } },
  { desc: 'old_unicast_checksum bad', input: 'old_unicast_checksum always', diags: ['error invalid-value @always'] },
  { desc: 'mcast_dst_ip', input: 'mcast_dst_ip 224.0.0.19', want: { mcastDstIp: '224.0.0.19' } },
  { desc: 'mcast_dst_ip not multicast', input: 'mcast_dst_ip 10.1.1.1', diags: ['error invalid-address @10.1.1.1'] },
  { desc: 'mcast_dst_ip IPv6 global multicast', input: 'mcast_dst_ip ff05::12', diags: ['error invalid-address @ff05::12'] },
  { desc: 'track_src_ip', input: 'track_src_ip', want: { trackSrcIp: true } },
  { desc: 'use_vmac default name', input: 'use_vmac', want: { useVmac: { name: 'vrrp.51' } } },
  { desc: 'use_vmac name and MAC', input: 'use_vmac vrrp51 02:00:5e:00:01', want: { useVmac: { name: 'vrrp51', mac: '02:00:5e:00:01' } } },
  { desc: 'use_vmac multicast MAC', input: 'use_vmac 01:00:5e:00:01:01', diags: ['error invalid-value @01:00'] },
  { desc: 'use_vmac bad MAC', input: 'use_vmac 02:00:5e', diags: ['error invalid-value @02:00'] },
  { desc: 'use_vmac name too long', input: 'use_vmac vrrp_instance_vmac', diags: ['error invalid-interface @vrrp_instance_vmac'] },
  { desc: 'use_vmac_addr', input: 'use_vmac_addr', want: { useVmacAddr: true } },
  { desc: 'vmac_xmit_base', input: 'vmac_xmit_base', want: { vmacXmitBase: true } },
  { desc: 'use_ipvlan', input: 'use_ipvlan ipv1 10.0.0.9/24 private', want: { useIpvlan: { name: 'ipv1', address: { address: '10.0.0.9', family: 4, prefix: 24 }, mode: 'private' } } },
  { desc: 'use_ipvlan default mode', input: 'use_ipvlan', want: { useIpvlan: { mode: 'bridge' } } },
  { desc: 'native_ipv6 is deprecated', input: 'native_ipv6', diags: ['warning deprecated', 'error family-mismatch'] },
  { desc: 'dont_track_primary', input: 'dont_track_primary', want: { dontTrackPrimary: true } },
  { desc: 'track_interface', input: 'track_interface {\n    eth1\n    eth2 weight -253\n    eth3 weight 10 noreverse\n    eth4 weight 0 reverse\n  }', want: { trackInterface: [{ name: 'eth1' }, { name: 'eth2', weight: -253 }, { name: 'eth3', weight: 10, reverse: false }, { name: 'eth4', weight: 0, reverse: true }] } },
  { desc: 'track_interface weight 254', input: 'track_interface {\n    eth1 weight 254\n  }', diags: ['8:17 error out-of-range'] },
  { desc: 'track_interface reverse needs a weight (keepalived 2.2.7)', input: 'track_interface {\n    eth1 reverse\n  }', diags: ['8:10 error invalid-option'] },
  { desc: 'track_script', input: 'track_script {\n    chk weight -253 reverse\n  }', want: { trackScript: [{ name: 'chk', weight: -253, reverse: true }] } },
  { desc: 'track_script no_reverse is not keepalived syntax', input: 'track_script {\n    chk weight 2 no_reverse\n  }', diags: ['8:18 error invalid-option'] },
  { desc: 'track_script undefined', input: 'track_script {\n    nope\n  }', diags: ['8:5 error unknown-reference'] },
  { desc: 'track_file', input: 'track_file {\n    tf weight 254\n  }', diags: ['8:5 error unknown-reference'] },
  { desc: 'track_file weight 255', input: 'track_file {\n    tf weight 255\n  }', diags: ['8:15 error out-of-range'] },
  { desc: 'track_process undefined', input: 'track_process {\n    haproxy weight -254\n  }', diags: ['8:5 error unknown-reference'] },
  { desc: 'track_bfd weight 254', input: 'track_bfd {\n    b weight 254\n  }', diags: ['8:14 error out-of-range'] },
  { desc: 'notify scripts', input: 'notify_master "/bin/n MASTER" root\n  notify_backup /bin/b\n  notify_fault /bin/f\n  notify_stop /bin/s\n  notify /bin/all\n  notify_master_rx_lower_pri /bin/l', want: { notifyMaster: { command: '/bin/n MASTER', user: 'root' }, notifyBackup: { command: '/bin/b' }, notifyFault: { command: '/bin/f' }, notifyStop: { command: '/bin/s' }, notify: { command: '/bin/all' }, notifyMasterRxLowerPri: { command: '/bin/l' } } },
  { desc: 'notify_master needs a script', input: 'notify_master', diags: ['error missing-argument'] },
  { desc: 'notify_deleted alone', input: 'notify_deleted', want: { notifyDeleted: {} } },
  { desc: 'notify_deleted with script', input: 'notify_deleted /bin/d', want: { notifyDeleted: { script: { command: '/bin/d' } } } },
  { desc: 'smtp_alert', input: 'smtp_alert', want: { smtpAlert: true } },
  { desc: 'notify_priority_changes off', input: 'notify_priority_changes off', want: { notifyPriorityChanges: false } },
  { desc: 'garp_master_delay', input: 'garp_master_delay 10', want: { garpMasterDelayMs: 10000 } },
  { desc: 'garp_master_delay 4295', input: 'garp_master_delay 4295', diags: ['error out-of-range @4295'] },
  { desc: 'garp_master_repeat 0 reads as 1', input: 'garp_master_repeat 0', want: { garpMasterRepeat: 1 }, diags: ['warning adjusted @0'] },
  { desc: 'garp_lower_prio_delay', input: 'garp_lower_prio_delay 3', want: { garpLowerPrioDelayMs: 3000 } },
  { desc: 'garp_lower_prio_repeat', input: 'garp_lower_prio_repeat 2', want: { garpLowerPrioRepeat: 2 } },
  { desc: 'garp_master_refresh', input: 'garp_master_refresh 60', want: { garpMasterRefreshMs: 60000 } },
  { desc: 'garp_master_refresh_repeat', input: 'garp_master_refresh_repeat 2', want: { garpMasterRefreshRepeat: 2 } },
  { desc: 'garp_extra_if 0 disables', input: 'garp_extra_if 0', want: { garpExtraIf: { all: false, intervalMs: 0 } } },
  { desc: 'garp_extra_if all', input: 'garp_extra_if all 100', want: { garpExtraIf: { all: true, intervalMs: 100000 } } },
  { desc: 'vmac_garp_intvl is deprecated', input: 'vmac_garp_intvl 30', want: { garpExtraIf: { all: false, intervalMs: 30000 } }, diags: ['warning deprecated'] },
  { desc: 'down_timer_adverts', input: 'down_timer_adverts 100', want: { downTimerAdverts: 100 } },
  { desc: 'down_timer_adverts 0', input: 'down_timer_adverts 0', diags: ['error out-of-range @0'] },
  { desc: 'lower_prio_no_advert', input: 'lower_prio_no_advert', want: { lowerPrioNoAdvert: true } },
  { desc: 'higher_prio_send_advert false', input: 'higher_prio_send_advert false', want: { higherPrioSendAdvert: false } },
  { desc: 'skip_check_adv_addr', input: 'skip_check_adv_addr on', want: { skipCheckAdvAddr: true } },
  { desc: 'strict_mode', input: 'strict_mode off', want: { strictMode: false } },
  { desc: 'accept', input: 'accept', want: { accept: true } },
  { desc: 'no_accept', input: 'no_accept', want: { accept: false } },
  { desc: 'promote_secondaries', input: 'promote_secondaries', want: { promoteSecondaries: true } },
  { desc: 'debug 4', input: 'debug 4', want: { debug: 4 } },
  { desc: 'debug 5', input: 'debug 5', diags: ['error out-of-range @5'] },
  { desc: 'kernel_rx_buf_size', input: 'kernel_rx_buf_size 65536', want: { kernelRxBufSize: 65536 } },
  { desc: 'linkbeat_use_polling is deprecated', input: 'linkbeat_use_polling', want: { linkbeatUsePolling: true }, diags: ['warning deprecated'] },
  { desc: 'lvs_sync_daemon_interface is deprecated', input: 'lvs_sync_daemon_interface eth1', want: { lvsSyncDaemonInterface: 'eth1' }, diags: ['warning deprecated'] },
  { desc: 'vrf with interface conflicts', input: 'vrf blue', diags: ['error conflict', 'warning no-effect'] },
  { desc: 'authentication PASS', input: 'authentication {\n    auth_type PASS\n    auth_pass 1111\n  }', want: { authentication: { type: 'PASS', pass: '1111' } } },
  { desc: 'auth_pass truncated to 8', input: 'authentication {\n    auth_type AH\n    auth_pass 123456789\n  }', want: { authentication: { type: 'AH', pass: '12345678' } }, diags: ['9:5 warning truncated'] },
  { desc: 'auth_type bad', input: 'authentication {\n    auth_type MD5\n    auth_pass x\n  }', diags: ['8:15 error invalid-value'] },
  { desc: 'authentication without auth_pass', input: 'authentication {\n    auth_type PASS\n  }', diags: ['7:3 error missing-keyword'] },
  { desc: 'authentication with v3', input: 'version 3\n  authentication {\n    auth_type PASS\n    auth_pass x\n  }', diags: ['8:3 error invalid-value'] },
  { desc: 'virtual_ipaddress_excluded mixes families', input: 'virtual_ipaddress_excluded {\n    fe80::1/64 dev eth0\n    10.0.1.1\n  }', want: { virtualIpaddressExcluded: [{ address: 'fe80::1', family: 6, prefix: 64, dev: 'eth0' }, { address: '10.0.1.1', family: 4, prefix: 32 }] } },
  { desc: 'unknown keyword', input: 'prority 100', diags: ['error unknown-keyword'] },
  { desc: 'global_defs keyword in an instance', input: 'vrrp_strict', diags: ['error unknown-keyword'] },
  { desc: 'repeated priority warns, later wins', input: 'priority 10\n  priority 20', want: { priority: 20 }, diags: ['8:3 warning duplicate-keyword'] },
];

table(t, cases, (i) => inst(i, S), 7, 3, (r) => r.config?.vrrpInstances[0]);

t.test('required keywords', async (t) => {
  t.same(run('vrrp_instance V {\n  interface eth0\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n').diags, ['1:1 error missing-keyword'], 'no virtual_router_id');
  t.same(run('vrrp_instance V {\n  virtual_router_id 5\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n').diags, ['1:1 error missing-keyword'], 'no interface and no unicast peer');
  t.same(run('vrrp_instance V {\n  virtual_router_id 5\n  unicast_peer {\n    10.0.0.2\n  }\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n').diags, [], 'unicast without interface is fine');
  t.same(run('vrrp_instance {\n  interface eth0\n}\n').diags, ['1:1 error missing-argument'], 'no name');
  t.same(run('vrrp_instance V {\n  interface eth0\n  virtual_router_id 5\n}\n').diags, ['1:1 warning no-vip'], 'no VIP warns (keepalived allows it)');
});

t.test('VRRPv3 advert_int: 0.01-40.95 in 10 ms steps', async (t) => {
  const v3 = (a: string) => run(inst(`version 3\n  advert_int ${a}`)).diags;
  t.same(v3('0.01'), []);
  t.same(v3('40.95'), []);
  t.same(v3('40.96'), ['8:3 error invalid-value']);
  t.same(v3('0.015'), ['8:3 error invalid-value']);
  t.same(run(inst('advert_int 0.5', 'global_defs {\n  vrrp_version 3\n}\n')).diags, [], 'global vrrp_version 3 allows fractions');
});

t.test('IPv6 instances run VRRPv3', async (t) => {
  const v6 = (extra: string) => `vrrp_instance V6 {\n  interface eth0\n  virtual_router_id 5\n  ${extra}\n  virtual_ipaddress {\n    fe80::1/64\n  }\n}\n`;
  t.same(run(v6('advert_int 0.5')).diags, [], 'IPv6 defaults to v3 so sub-second adverts are fine');
  t.same(run(v6('version 2')).diags, ['4:3 error invalid-value'], 'IPv6 with version 2');
  t.same(run(v6('')).r.config?.vrrpInstances[0]?.virtualIpaddress, [{ address: 'fe80::1', family: 6, prefix: 64 }]);
});

t.test('virtual_ipaddress entries', async (t) => {
  const vip = (line: string) => run(`vrrp_instance V {\n  interface eth0\n  virtual_router_id 5\n  virtual_ipaddress {\n    ${line}\n  }\n}\n`);
  const ok = (line: string, want: object) => {
    const o = vip(line);
    t.same(o.diags, [], line);
    t.same(o.r.config?.vrrpInstances[0]?.virtualIpaddress[0], want, line);
  };
  ok('192.168.200.18 label eth0:1', { address: '192.168.200.18', family: 4, prefix: 32, label: 'eth0:1' });
  ok('10.0.0.1/24 brd 10.0.0.255 dev eth1 scope link', { address: '10.0.0.1', family: 4, prefix: 24, brd: '10.0.0.255', dev: 'eth1', scope: 'link' });
  ok('10.0.0.1/24 brd + peer 10.0.0.9 home -nodad mngtmpaddr noprefixroute autojoin no_track', { address: '10.0.0.1', family: 4, prefix: 24, brd: '+', peer: '10.0.0.9', home: true, noDad: true, mngtmpaddr: true, noPrefixRoute: true, autojoin: true, noTrack: true });
  ok('10.0.0.1 dev eth1 use_vmac vmac1', { address: '10.0.0.1', family: 4, prefix: 32, dev: 'eth1', useVmac: 'vmac1' });
  ok('10.0.0.1 use_vmac dev eth1', { address: '10.0.0.1', family: 4, prefix: 32, useVmac: true, dev: 'eth1' });
  ok('2001:db8::1/128 preferred_lft forever', { address: '2001:db8::1', family: 6, prefix: 128, preferredLft: 'forever' });
  ok('10.0.0.1 preferred_lft 0', { address: '10.0.0.1', family: 4, prefix: 32, preferredLft: 0 });
  t.same(vip('10.0.0.1/33').diags, ['5:14 error invalid-prefix'], '/33');
  t.same(vip('2001:db8::1/129').diags, ['5:17 error invalid-prefix'], '/129');
  t.same(vip('10.0.0.256').diags, ['5:5 error invalid-address'], 'bad address');
  t.same(vip('10.0.0.1 scope world').diags, ['5:20 error invalid-value'], 'bad scope');
  t.same(vip('10.0.0.1 labl x').diags, ['5:14 error invalid-option'], 'typo');
  t.same(vip('10.0.0.1 dev').diags, ['5:14 error missing-argument'], 'dev without value');
  t.same(vip('10.0.0.1 nodad').diags, ['5:14 warning compat'], 'nodad is not keepalived syntax');
  t.same(run(`vrrp_instance V {\n  interface eth0\n  virtual_router_id 5\n  virtual_ipaddress {\n    10.0.0.1\n    fe80::1\n  }\n}\n`).diags, ['6:5 error family-mismatch'], 'mixed families point at the odd VIP');
});

t.test('every vrrp_instance keyword is documented and keepalived 2.2.7 keywords are all known', async (t) => {
  const known = 'accept advert_int authentication check_unicast_src debug dont_track_primary down_timer_adverts garp_extra_if garp_lower_prio_delay garp_lower_prio_repeat garp_master_delay garp_master_refresh garp_master_refresh_repeat garp_master_repeat higher_prio_send_advert interface kernel_rx_buf_size linkbeat_use_polling lower_prio_no_advert lvs_sync_daemon_interface mcast_dst_ip mcast_src_ip native_ipv6 no_accept nopreempt notify notify_backup notify_deleted notify_fault notify_master notify_master_rx_lower_pri notify_priority_changes notify_stop old_unicast_checksum preempt preempt_delay priority promote_secondaries skip_check_adv_addr smtp_alert state strict_mode track_bfd track_file track_interface track_process track_script track_src_ip unicast_fault_no_peer unicast_peer unicast_src_ip unicast_ttl use_ipvlan use_vmac use_vmac_addr version virtual_ipaddress virtual_ipaddress_excluded virtual_router_id virtual_routes virtual_rules vmac_garp_intvl vmac_xmit_base vrf'.split(' ');
  for (const k of known) t.ok(vrrpInstanceSpec.keywords[k], k);
  for (const [k, spec] of Object.entries(vrrpInstanceSpec.keywords)) t.ok(spec.doc.length > 0, `${k} documented`);
});
