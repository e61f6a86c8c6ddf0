import t from 'tap';
import { run } from '../helpers/vrrp.js';

// Cross-block checks of the VRRP side (validate-vrrp.ts): names, references, VRIDs, strict mode.

/** An instance with its own lines (each on its own line, starting at line `first + 3`). */
const vi = (name: string, vrid: number, lines: string[] = [], vip = '10.0.0.1') =>
  [`vrrp_instance ${name} {`, '  interface eth0', `  virtual_router_id ${vrid}`, ...lines.map((l) => `  ${l}`), '  virtual_ipaddress {', `    ${vip}`, '  }', '}'].join('\n') + '\n';

type Case = { desc: string; input: string; diags: string[]; opts?: object };

const cases: Case[] = [
  { desc: 'duplicate instance name', input: vi('A', 1) + vi('A', 2), diags: ['8:1 error duplicate-name'] },
  { desc: 'duplicate VRID on one interface and family', input: vi('A', 1) + vi('B', 1), diags: ['10:3 error duplicate-vrid'] },
  { desc: 'same VRID, other family', input: vi('A', 1) + vi('B', 1, [], 'fe80::1'), diags: [] },
  { desc: 'same VRID, other interface', input: vi('A', 1) + vi('B', 1).replace('eth0', 'eth1'), diags: [] },
  { desc: 'same VRID, other mcast_dst_ip', input: vi('A', 1) + vi('B', 1, ['mcast_dst_ip 224.0.0.19']), diags: [] },
  { desc: 'same VRID, disjoint unicast peers', input: vi('A', 1, ['unicast_peer {', '  10.0.0.2', '}']) + vi('B', 1, ['unicast_peer {', '  10.0.0.3', '}']), diags: [] },
  { desc: 'same VRID, shared unicast peer', input: vi('A', 1, ['unicast_peer {', '  10.0.0.2', '}']) + vi('B', 1, ['unicast_peer {', '  10.0.0.2', '}']), diags: ['13:3 error duplicate-vrid'] },
  { desc: 'lvs_sync_daemon names an unknown instance', input: 'global_defs {\n  lvs_sync_daemon eth0 VI_9\n}\n' + vi('A', 1), diags: ['2:3 error unknown-reference'] },
  { desc: 'lvs_sync_daemon names a known instance', input: 'global_defs {\n  lvs_sync_daemon eth0 inst A id 3\n}\n' + vi('A', 1), diags: [] },
  { desc: 'instance lvs_sync_daemon_interface ignored when global is set', input: 'global_defs {\n  lvs_sync_daemon eth0\n}\n' + vi('A', 1, ['lvs_sync_daemon_interface eth1']), diags: ['7:3 warning deprecated', '7:3 warning ignored'] },
  { desc: 'priority 255 with tracking weight', input: 'vrrp_script s {\n  script /x\n}\n' + vi('A', 1, ['priority 255', 'state MASTER', 'track_script {', '  s weight 10', '}']), diags: ['10:5 warning owner-weight'] },
  { desc: 'nopreempt with state MASTER', input: vi('A', 1, ['state MASTER', 'nopreempt']), diags: ['5:3 warning ignored'] },
  { desc: 'vrrp_strict: unicast, auth and no VIP', input: 'global_defs {\n  vrrp_strict\n}\nvrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n  unicast_peer {\n    10.0.0.2\n  }\n  authentication {\n    auth_type PASS\n    auth_pass x\n  }\n}\n', diags: ['4:1 error strict-mode', '7:3 error strict-mode', '10:3 error strict-mode'] },
  { desc: 'strict_mode: MASTER needs priority 255, no preempt_delay', input: vi('A', 1, ['strict_mode', 'state MASTER', 'preempt_delay 5']).replace('preempt_delay 5', 'preempt_delay 5'), diags: ['5:3 warning strict-mode', '6:3 warning ignored', '6:3 warning strict-mode'] },
  { desc: 'strict_mode off overrides vrrp_strict', input: 'global_defs {\n  vrrp_strict\n}\n' + vi('A', 1, ['strict_mode off', 'unicast_peer {', '  10.0.0.2', '}']), diags: [] },
  { desc: 'interface must exist (host check)', input: vi('A', 1).replace('eth0', 'eth9'), diags: ['2:3 error unknown-interface'], opts: { interfaceExists: (n: string) => n === 'eth0' } },
  { desc: 'track_interface missing on host warns', input: vi('A', 1, ['track_interface {', '  eth7', '}']), diags: ['5:5 warning unknown-interface'], opts: { interfaceExists: (n: string) => n === 'eth0' } },
  { desc: 'track_bfd references', input: vi('A', 1, ['track_bfd {', '  b9', '}']), diags: ['5:5 error unknown-reference'] },
  { desc: 'track_file and track_process resolve', input: 'track_file f {\n  file /f\n}\nvrrp_track_process p {\n  process nginx\n}\n' + vi('A', 1, ['track_file {', '  f', '}', 'track_process {', '  p', '}']), diags: [] },
  { desc: 'duplicate vrrp_sync_group, track_file, bfd_instance', input: 'track_file f {\n  file /a\n}\ntrack_file f {\n  file /b\n}\nbfd_instance b {\n  neighbor_ip 10.0.0.2\n}\nbfd_instance b {\n  neighbor_ip 10.0.0.3\n}\n', diags: ['4:1 error duplicate-name', '10:1 error duplicate-name'] },
];

for (const c of cases)
  t.test(c.desc, async (t) => {
    const o = run(c.input, c.opts ?? {});
    t.same(o.diags, c.diags, o.messages.join('\n'));
  });

t.test('messages name the problem and the fix', async (t) => {
  const o = run(vi('A', 1) + vi('B', 1));
  t.match(o.messages[0], /vrrp_instance B uses VRID 1 with IPv4 on eth0, already used by A \(line 3\)/);
  const s = run(vi('A', 1, ['track_script {', '  chk_nginx', '}']));
  t.match(s.messages[0], /track_script 'chk_nginx' is not defined by any vrrp_script/);
});
