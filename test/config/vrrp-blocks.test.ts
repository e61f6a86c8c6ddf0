import t from 'tap';
import type { CompileResult } from '../../src/config/compile.js';
import { type Case, run, table } from '../helpers/vrrp.js';

// vrrp_script, vrrp_sync_group, track_file, vrrp_track_process, garp_group, bfd_instance:
// every keyword's type, range, default and error position. The line under test is line 3, col 3
// (sync groups: line 2).

const block = (head: string, first: string) => (input: string) => `${head} {\n  ${first}\n  ${input}\n}\n`;
const get = (f: (r: CompileResult) => object | undefined) => f;

t.test('vrrp_script', async (t) => {
  const cases: Case[] = [
    { desc: 'defaults', input: '', want: { name: 'chk', script: { command: '/bin/true' }, intervalMs: 1000, timeoutMs: undefined, weight: 0, weightReverse: false, rise: 1, fall: 1, user: undefined, initFail: false } },
    { desc: 'interval 2', input: 'interval 2', want: { intervalMs: 2000 } },
    { desc: 'interval 4294', input: 'interval 4294', want: { intervalMs: 4294000 } },
    { desc: 'interval 4295', input: 'interval 4295', diags: ['error out-of-range @4295'] },
    { desc: 'interval 0 reads as 1', input: 'interval 0', want: { intervalMs: 1000 }, diags: ['warning adjusted @0'] },
    { desc: 'interval fraction (keepalived rejects)', input: 'interval 0.5', diags: ['error invalid-number @0.5'] },
    { desc: 'timeout', input: 'timeout 10', want: { timeoutMs: 10000 } },
    { desc: 'weight -253 reverse', input: 'weight -253 reverse', want: { weight: -253, weightReverse: true } },
    { desc: 'weight 254', input: 'weight 254', diags: ['error out-of-range @254'] },
    { desc: 'weight bad option', input: 'weight 2 backwards', diags: ['error invalid-option @backwards'] },
    { desc: 'rise', input: 'rise 3', want: { rise: 3 } },
    { desc: 'rise 0', input: 'rise 0', diags: ['error out-of-range @0'] },
    { desc: 'fall 2147483647', input: 'fall 2147483647', want: { fall: 2147483647 } },
    { desc: 'fall 2147483648', input: 'fall 2147483648', diags: ['error out-of-range @2147483648'] },
    { desc: 'user and group', input: 'user nobody nogroup', want: { user: { user: 'nobody', group: 'nogroup' } } },
    { desc: 'init_fail', input: 'init_fail', want: { initFail: true } },
    { desc: 'quoted script with user', input: 'script "killall -0 sshd" root', want: { script: { command: 'killall -0 sshd', user: 'root' } }, diags: ['3:3 warning duplicate-keyword'] },
  ];
  table(t, cases, block('vrrp_script chk', 'script /bin/true'), 3, 3, get((r) => r.config?.vrrpScripts[0]));
  t.same(run('vrrp_script chk {\n  interval 2\n}\n').diags, ['1:1 error missing-keyword'], 'script is required');
  t.same(run('vrrp_script a {\n  script /x\n}\nvrrp_script a {\n  script /y\n}\n').diags, ['4:1 error duplicate-name'], 'duplicate name');
});

const I2 = 'vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 1\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\nvrrp_instance VI_2 {\n  interface eth0\n  virtual_router_id 2\n  virtual_ipaddress {\n    10.0.0.2\n  }\n}\n';

t.test('vrrp_sync_group', async (t) => {
  const sg = (input: string) => `vrrp_sync_group G {\n  ${input}\n  group {\n    VI_1 VI_2\n  }\n}\n${I2}vrrp_script s {\n  script /x\n}\ntrack_file f {\n  file /f\n}\nvrrp_track_process p {\n  process haproxy\n}\n`;
  const cases: Case[] = [
    { desc: 'members on one line', input: '', want: { name: 'G', group: ['VI_1', 'VI_2'], trackScript: [], syncGroupTrackingWeight: false, smtpAlert: undefined } },
    { desc: 'notify scripts', input: 'notify_master "/usr/local/bin/vrrp.mast arg1 arg2"', want: { notifyMaster: { command: '/usr/local/bin/vrrp.mast arg1 arg2' } } },
    { desc: 'notify_backup notify_fault notify_stop notify', input: 'notify_backup /b\n  notify_fault /f\n  notify_stop /s\n  notify /n', want: { notifyBackup: { command: '/b' }, notifyFault: { command: '/f' }, notifyStop: { command: '/s' }, notify: { command: '/n' } } },
    { desc: 'smtp_alert', input: 'smtp_alert', want: { smtpAlert: true } },
    { desc: 'notify_priority_changes', input: 'notify_priority_changes yes', want: { notifyPriorityChanges: true } },
    { desc: 'sync_group_tracking_weight', input: 'sync_group_tracking_weight', want: { syncGroupTrackingWeight: true } },
    { desc: 'global_tracking is deprecated', input: 'global_tracking', want: { syncGroupTrackingWeight: true }, diags: ['warning deprecated'] },
    { desc: 'track_script', input: 'track_script {\n    s weight 5 noreverse\n  }', want: { trackScript: [{ name: 's', weight: 5, reverse: false }] }, diags: [] },
    { desc: 'track_file and track_process', input: 'track_file {\n    f\n  }\n  track_process {\n    p weight -254\n  }', want: { trackFile: [{ name: 'f' }], trackProcess: [{ name: 'p', weight: -254 }] } },
    { desc: 'track_interface', input: 'track_interface {\n    eth0 weight 10\n  }', want: { trackInterface: [{ name: 'eth0', weight: 10 }] } },
    { desc: 'unknown track_script', input: 'track_script {\n    nope\n  }', diags: ['3:5 error unknown-reference'] },
    { desc: 'notify_deleted is not a sync group keyword in 2.2.7', input: 'notify_deleted', diags: ['error misplaced-member'] },
  ];
  table(t, cases, sg, 2, 3, get((r) => r.config?.vrrpSyncGroups[0]));
  t.same(run(`vrrp_sync_group G {\n  group {\n    VI_1\n    VI_9\n  }\n}\n${I2}`).diags, ['2:3 error unknown-reference'], 'unknown member');
  t.same(run(`vrrp_sync_group G {\n  group {\n    VI_1\n  }\n}\n${I2}`).diags, ['2:3 warning single-member'], 'one member');
  t.same(run(`vrrp_sync_group G {\n  group {\n    VI_1 VI_2\n  }\n}\nvrrp_sync_group H {\n  group {\n    VI_2 VI_1\n  }\n}\n${I2}`).diags, ['7:3 error duplicate-member', '7:3 error duplicate-member'], 'member of two groups');
  t.same(run(`vrrp_sync_group G {\n  notify /x\n}\n${I2}`).diags, ['1:1 error missing-keyword'], 'no group block');
  t.same(run(`vrrp_sync_group G {\n  VI_1\n  VI_2\n}\n${I2}`).diags, ['2:3 error misplaced-member', '3:3 error misplaced-member'], 'legacy bare members (keepalived: unknown keyword)');
  t.same(run(`vrrp_sync_group G {\n  group {\n  }\n}\n${I2}`).diags, ['2:3 error empty-block'], 'empty group');
  t.same(
    run(`vrrp_sync_group G {\n  group {\n    VI_1 VI_2\n  }\n}\nvrrp_script s {\n  script /x\n}\n${I2.replace('virtual_router_id 1\n', 'virtual_router_id 1\n  track_script {\n    s weight 4\n  }\n')}`).diags,
    ['13:5 warning sync-weight'],
    'member weights are ignored in a sync group',
  );
});

t.test('track_file', async (t) => {
  const cases: Case[] = [
    { desc: 'defaults', input: '', want: { name: 'tf', file: '/run/tf', weight: 1, weightReverse: false, initFile: undefined } },
    { desc: 'weight', input: 'weight -2147483647 reverse', want: { weight: -2147483647, weightReverse: true } },
    { desc: 'weight 2147483648', input: 'weight 2147483648', diags: ['error out-of-range @2147483648'] },
    { desc: 'init_file alone', input: 'init_file', want: { initFile: { value: 0, overwrite: false } } },
    { desc: 'init_file value overwrite', input: 'init_file 5 overwrite', want: { initFile: { value: 5, overwrite: true } } },
    { desc: 'init_file bad', input: 'init_file five', diags: ['error invalid-number @five'] },
  ];
  table(t, cases, block('track_file tf', 'file /run/tf'), 3, 3, get((r) => r.config?.trackFiles[0]));
  t.same(run('track_file tf {\n  weight 2\n}\n').diags, ['1:1 error missing-keyword'], 'file is required');
  const legacy = run('vrrp_track_file tf {\n  file /x\n}\n');
  t.same(legacy.diags, ['1:1 warning deprecated'], 'vrrp_track_file is the legacy spelling');
  t.equal(legacy.r.config?.trackFiles[0]?.file, '/x');
});

t.test('vrrp_track_process', async (t) => {
  const cases: Case[] = [
    { desc: 'defaults', input: '', want: { name: 'p', process: ['haproxy'], weight: 1, weightReverse: false, quorum: 1, quorumMax: undefined, fullCommand: false, paramMatch: undefined, forkDelayMs: undefined, terminateDelayMs: undefined } },
    { desc: 'parameters imply full command and exact match', input: 'process "/usr/sbin/haproxy" -f "/etc/h a.cfg"', want: { process: ['/usr/sbin/haproxy', '-f', '/etc/h a.cfg'], fullCommand: true, paramMatch: 'exact' }, diags: ['3:3 warning duplicate-keyword'] },
    { desc: 'param_match partial', input: 'param_match partial', want: { paramMatch: 'partial', fullCommand: true } },
    { desc: 'param_match bad', input: 'param_match fuzzy', diags: ['error invalid-value @fuzzy'] },
    { desc: 'weight -254 reverse', input: 'weight -254 reverse', want: { weight: -254, weightReverse: true } },
    { desc: 'weight 255', input: 'weight 255', diags: ['error out-of-range @255'] },
    { desc: 'quorum 65535', input: 'quorum 65535', want: { quorum: 65535 } },
    { desc: 'quorum 0', input: 'quorum 0', diags: ['error out-of-range @0'] },
    { desc: 'quorum_max 0 means none may run', input: 'quorum_max 0', want: { quorumMax: 0, quorum: 0 } },
    { desc: 'quorum_max below quorum', input: 'quorum 3\n  quorum_max 2', diags: ['4:3 error out-of-range'] },
    { desc: 'delay sets both', input: 'delay 0.5', want: { forkDelayMs: 500, terminateDelayMs: 500 } },
    { desc: 'fork_delay and terminate_delay', input: 'fork_delay 1\n  terminate_delay 2', want: { forkDelayMs: 1000, terminateDelayMs: 2000 } },
    { desc: 'delay 3601', input: 'delay 3601', diags: ['error out-of-range @3601'] },
    { desc: 'full_command', input: 'full_command', want: { fullCommand: true } },
  ];
  table(t, cases, block('vrrp_track_process p', 'process haproxy'), 3, 3, get((r) => r.config?.trackProcesses[0]));
  t.same(run('vrrp_track_process p {\n  quorum 2\n}\n').diags, ['1:1 error missing-keyword'], 'process is required');
});

t.test('garp_group', async (t) => {
  const cases: Case[] = [
    { desc: 'interval and interface', input: 'garp_interval 0.001', want: { garpIntervalMs: 1, gnaIntervalMs: undefined, interface: 'eth0', interfaces: [] } },
    { desc: 'gna_interval', input: 'gna_interval 0.000001', want: { gnaIntervalMs: 0.001 } },
    { desc: 'garp_interval negative', input: 'garp_interval -1', diags: ['error out-of-range @-1'] },
    { desc: 'interface and interfaces warns', input: 'garp_interval 1\n  interfaces {\n    eth1 eth2\n  }', want: { interfaces: ['eth1', 'eth2'] }, diags: ['4:3 warning ambiguous'] },
  ];
  table(t, cases, block('garp_group', 'interface eth0'), 3, 3, get((r) => r.config?.garpGroups[0]));
  t.same(run('garp_group {\n  interface eth0\n}\n').diags, ['1:1 error missing-keyword'], 'needs an interval');
  t.same(run('garp_group {\n  garp_interval 1\n  interface eth0\n}\ngarp_group {\n  gna_interval 1\n  interface eth0\n}\n').diags, ['5:1 warning duplicate-member'], 'interface in two groups');
});

t.test('bfd_instance', async (t) => {
  const cases: Case[] = [
    { desc: 'defaults', input: '', want: { name: 'b1', neighborIp: '10.0.0.2', family: 4, minRxMs: 10, minTxMs: 10, idleTxMs: 1000, multiplier: 5, passive: false, ttl: 255, hoplimit: 64, maxHops: 0, weight: 0, weightReverse: false, vrrp: false, checker: false } },
    { desc: 'source_ip', input: 'source_ip 10.0.0.1', want: { sourceIp: '10.0.0.1' } },
    { desc: 'source_ip other family', input: 'source_ip fe80::1', diags: ['error family-mismatch'] },
    { desc: 'min_rx µs resolution', input: 'min_rx 3.312', want: { minRxMs: 3.312 } },
    { desc: 'min_rx 0', input: 'min_rx 0', diags: ['error out-of-range @0'] },
    { desc: 'min_tx', input: 'min_tx 20', want: { minTxMs: 20 } },
    { desc: 'idle_tx below 1000', input: 'idle_tx 999', diags: ['error out-of-range @999'] },
    { desc: 'multiplier 255', input: 'multiplier 255', want: { multiplier: 255 } },
    { desc: 'multiplier 0', input: 'multiplier 0', diags: ['error out-of-range @0'] },
    { desc: 'passive', input: 'passive', want: { passive: true } },
    { desc: 'ttl 0', input: 'ttl 0', diags: ['error out-of-range @0'] },
    { desc: 'hoplimit', input: 'hoplimit 1', want: { hoplimit: 1 } },
    { desc: 'max_hops 255', input: 'max_hops 255', want: { maxHops: 255 } },
    { desc: 'weight reverse', input: 'weight -253 reverse', want: { weight: -253, weightReverse: true } },
    { desc: 'vrrp and checker', input: 'vrrp\n  checker', want: { vrrp: true, checker: true } },
    { desc: 'neighbour_ip spelling', input: 'neighbour_ip 10.0.0.3', want: { neighborIp: '10.0.0.3' }, diags: ['3:3 warning duplicate-keyword'] },
  ];
  table(t, cases, block('bfd_instance b1', 'neighbor_ip 10.0.0.2'), 3, 3, get((r) => r.config?.bfdInstances[0]));
  t.same(run('bfd_instance b {\n  min_rx 5\n}\n').diags, ['1:1 error missing-keyword'], 'neighbor_ip is required');
  t.same(run('bfd_instance abcdefghijklmnopqrstuvwxyz0123456 {\n  neighbor_ip 10.0.0.2\n}\n').diags, ['1:14 error invalid-value'], 'name longer than 31');
});
