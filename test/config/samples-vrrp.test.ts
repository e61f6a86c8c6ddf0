import { readFileSync } from 'node:fs';
import t from 'tap';
import { compile } from '../../src/config/compile.js';

// Debian keepalived 2.2.7's sample configs (/usr/share/doc/keepalived/samples): the VRRP and
// global parts compile with the values keepalived reads from them.

const DIR = '/usr/share/doc/keepalived/samples';
const load = (name: string, configId?: string) => {
  const r = compile(`${DIR}/keepalived.conf.${name}`, configId ? { configId } : {});
  return { r, c: r.config, diags: r.diagnostics.map((d) => `${d.pos.line}:${d.pos.col} ${d.severity} ${d.code}`), why: r.diagnostics.map((d) => `${d.pos.line}:${d.pos.col} ${d.message}`).join('\n') };
};
const vips = (v: { virtualIpaddress: readonly { address: string; prefix: number }[] }) => v.virtualIpaddress.map((a) => `${a.address}/${a.prefix}`);

let present = true;
try {
  readFileSync(`${DIR}/keepalived.conf.vrrp`);
} catch {
  present = false;
}

t.test('samples', { skip: present ? false : `${DIR} not installed` }, async (t) => {
  t.test('vrrp', async (t) => {
    const { r, c, why } = load('vrrp');
    t.equal(r.errors, 0, why);
    t.equal(c!.globalDefs.routerId, 'LVS_DEVEL');
    t.same(c!.globalDefs.notificationEmail, ['acassen']);
    t.equal(c!.globalDefs.notificationEmailFrom, 'Alexandre.Cassen@firewall.loc');
    t.same(c!.globalDefs.smtpServer, { host: '192.168.200.1', family: 4, port: 25 });
    t.equal(c!.globalDefs.smtpConnectTimeoutMs, 30000);
    t.same(c!.vrrpInstances.map((v) => [v.name, v.state, v.interface, v.vrid, v.priority, v.advertIntMs]), [
      ['VI_1', 'MASTER', 'eth0', 51, 100, 1000],
      ['VI_2', 'BACKUP', 'eth0', 50, 50, 1000],
      ['VI_3', 'MASTER', 'eth1', 52, 100, 1000],
      ['VI_4', 'BACKUP', 'eth1', 53, 50, 1000],
    ]);
    const v1 = c!.vrrpInstances[0]!;
    t.equal(v1.garpMasterDelayMs, 10000);
    t.equal(v1.smtpAlert, true);
    t.same(v1.authentication, { type: 'PASS', pass: '1111' });
    t.same(vips(v1), ['192.168.200.16/32', '192.168.200.17/32', '192.168.200.18/32', '192.168.200.18/32']);
    t.equal(v1.virtualIpaddress[3]!.label, 'eth0:1');
  });

  t.test('vrrp.localcheck', async (t) => {
    const { r, c, why } = load('vrrp.localcheck');
    t.equal(r.errors, 0, why);
    t.same(c!.vrrpScripts.map((s) => [s.name, s.script.command, s.intervalMs, s.weight, s.fall, s.rise]), [
      ['chk_sshd', 'killall -0 sshd', 2000, -4, 2, 2],
      ['chk_haproxy', 'killall -0 haproxy', 2000, 0, 1, 1],
      ['chk_http_port', '</dev/tcp/127.0.0.1/80', 1000, -2, 1, 1],
      ['chk_https_port', '</dev/tcp/127.0.0.1/443', 1000, -2, 1, 1],
      ['chk_smtp_port', '</dev/tcp/127.0.0.1/25', 1000, -2, 1, 1],
    ]);
    const v1 = c!.vrrpInstances[0]!;
    t.same(vips(v1), ['192.168.200.18/25']);
    t.same(v1.trackInterface, [{ name: 'eth1', weight: 2 }, { name: 'eth2', weight: -2 }, { name: 'eth3' }]);
    t.same(v1.trackScript, [{ name: 'chk_sshd' }, { name: 'chk_haproxy', weight: 2 }, { name: 'chk_http_port' }, { name: 'chk_https_port' }, { name: 'chk_smtp_port' }]);
    t.same(c!.vrrpInstances.map((v) => v.vrid), [51, 52, 53, 54, 55, 56, 57, 58, 59]);
  });

  t.test('vrrp.lvs_syncd', async (t) => {
    const { c, diags, why } = load('vrrp.lvs_syncd');
    // keepalived 2.2.7 itself reports "Unknown keyword 'VI_2'/'VI_3'": the sample lists the sync
    // group members without `group { }`, so keepalived ignores them. vigil says where they belong.
    t.same(diags, ['4:3 error misplaced-member', '5:3 error misplaced-member', '11:5 warning deprecated'], why);
    t.equal(c, undefined);
    const fixed = readFileSync(`${DIR}/keepalived.conf.vrrp.lvs_syncd`, 'utf8').replace('  VI_2\n  VI_3\n', '  group {\n    VI_2\n    VI_3\n  }\n');
    const { compileText } = await import('../../src/config/compile.js');
    const r2 = compileText(fixed, 'lvs_syncd.conf');
    t.equal(r2.errors, 0, r2.diagnostics.map((d) => d.message).join('\n'));
    t.same(r2.config!.vrrpSyncGroups, [{ name: 'VG1', group: ['VI_2', 'VI_3'], trackInterface: [], trackScript: [], trackFile: [], trackProcess: [], trackBfd: [], syncGroupTrackingWeight: false }]);
    const v1 = r2.config!.vrrpInstances[0]!;
    t.equal(v1.lvsSyncDaemonInterface, 'eth1');
    t.equal(v1.priority, 150);
    t.same(v1.authentication, { type: 'PASS', pass: 'grr02' });
    t.same(r2.config!.vrrpInstances.map((v) => [v.name, v.interface, v.vrid]), [['VI_1', 'eth0', 51], ['VI_2', 'eth0', 52], ['VI_3', 'eth1', 53]]);
  });

  t.test('vrrp.routes', async (t) => {
    const { r, c, diags, why } = load('vrrp.routes');
    t.equal(r.errors, 0, why);
    t.same(diags, ['30:46 warning deprecated', '32:19 warning deprecated'], "'or' and 'gw' are deprecated, as keepalived says");
    t.same(c!.staticRoutes.map((x) => [x.src, `${x.dest.address}/${x.dest.prefix}`, x.via, x.dev]), [
      ['192.168.100.1', '192.168.209.0/24', '192.168.200.254', 'eth0'],
      [undefined, '192.168.210.0/24', '192.168.200.254', 'eth0'],
      [undefined, '192.168.211.0/24', '192.168.200.254', 'eth0'],
      [undefined, '192.168.212.0/24', undefined, 'eth3'],
      [undefined, '192.168.213.0/24', undefined, 'eth1'],
    ]);
    const v1 = c!.vrrpInstances[0]!;
    t.same(v1.virtualIpaddress.map((a) => [a.address, a.dev]), [['192.168.200.16', undefined], ['192.168.200.17', 'eth1'], ['192.168.200.18', 'eth2']]);
    t.same(v1.virtualRoutes.map((x) => [x.type, `${x.dest.address}/${x.dest.prefix}`, x.via, x.table]), [
      [undefined, '192.168.109.0/24', '192.168.200.254', undefined],
      [undefined, '192.168.110.0/24', '192.168.200.254', undefined],
      [undefined, '192.168.111.0/24', undefined, undefined],
      [undefined, '192.168.112.0/24', '192.168.100.254', undefined],
      [undefined, '192.168.113.0/24', '192.168.100.252', undefined],
      ['blackhole', '192.168.113.1/32', undefined, undefined],
      [undefined, '0.0.0.0/0', '192.168.0.1', '100'],
    ]);
  });

  t.test('vrrp.rules', async (t) => {
    const { diags, why } = load('vrrp.rules');
    // keepalived 2.2.7 also rejects these two lines ("VRRP parsed invalid IP 192.168.100./24").
    t.same(diags, ['11:8 error invalid-address', '26:12 error invalid-address'], why);
    const fixed = readFileSync(`${DIR}/keepalived.conf.vrrp.rules`, 'utf8').replaceAll('./24', '.0/24');
    const { compileText } = await import('../../src/config/compile.js');
    const r2 = compileText(fixed, 'rules.conf');
    t.equal(r2.errors, 0, r2.diagnostics.map((d) => d.message).join('\n'));
    t.same(r2.config!.staticRules.map((x) => [x.from === 'all' || !x.from ? x.from : `${x.from.address}/${x.from.prefix}`, x.to === 'all' || !x.to ? x.to : `${x.to.address}/${x.to.prefix}`, x.table]), [
      ['192.168.100.0/24', undefined, '1'],
      [undefined, '192.168.100.0/24', '1'],
    ]);
    t.same(r2.config!.vrrpInstances[0]!.virtualRules.map((x) => x.table), ['2', '2']);
  });

  t.test('vrrp.scripts', async (t) => {
    const { r, c, why } = load('vrrp.scripts');
    t.equal(r.errors, 0, why);
    const g = c!.vrrpSyncGroups[0]!;
    t.equal(g.name, 'G1');
    t.same(g.group, ['VI_2', 'VI_3']);
    t.same([g.notifyBackup, g.notifyMaster, g.notifyFault], [{ command: '/usr/local/bin/vrrp.back arg1 arg2' }, { command: '/usr/local/bin/vrrp.mast arg1 arg2' }, { command: '/usr/local/bin/vrrp.fault arg1 arg2' }]);
    const v1 = c!.vrrpInstances[0]!;
    t.same(v1.notifyMaster, { command: '/usr/local/bin/vrrp.sh  MASTER  VI_1' });
    t.same(v1.notifyBackup, { command: '/usr/local/bin/vrrp.sh  BACKUP   VI_1' });
    t.same(c!.vrrpInstances.map((v) => [v.name, v.priority, vips(v)]), [
      ['VI_1', 100, ['192.168.200.16/32', '192.168.200.17/32', '192.168.200.18/32']],
      ['VI_2', 150, ['192.168.200.100/27']],
      ['VI_3', 150, ['192.168.200.101/27']],
    ]);
  });

  t.test('vrrp.static_ipaddress', async (t) => {
    const { r, c, why } = load('vrrp.static_ipaddress');
    t.equal(r.errors, 0, why);
    t.same(c!.staticIpaddress.map((a) => [a.address, a.prefix, a.dev, a.scope]), [
      ['192.168.200.16', 32, 'eth0', 'link'],
      ['192.168.200.17', 32, 'eth1', 'link'],
      ['192.168.200.18', 32, 'eth2', undefined],
    ]);
    t.same(vips(c!.vrrpInstances[0]!), ['192.168.200.20/32']);
    t.equal(c!.vrrpInstances[0]!.virtualRoutes.length, 4);
  });

  t.test('vrrp.sync', async (t) => {
    const { r, c, why } = load('vrrp.sync');
    t.equal(r.errors, 0, why);
    t.same(c!.vrrpSyncGroups.map((g) => [g.name, g.group]), [
      ['G1', ['VI_1', 'VI_2', 'VI_5', 'VI_6', 'VI_7', 'VI_8', 'VI_9']],
      ['G2', ['VI_3', 'VI_4']],
    ]);
    t.same(c!.vrrpInstances.map((v) => [v.name, v.vrid, v.state, vips(v)[0]]), [
      ['VI_1', 51, 'MASTER', '192.168.200.18/25'],
      ['VI_2', 52, 'MASTER', '192.168.201.18/26'],
      ['VI_3', 53, 'BACKUP', '192.168.200.19/27'],
      ['VI_4', 54, 'BACKUP', '192.168.201.19/28'],
      ['VI_5', 55, 'MASTER', '192.168.200.20/27'],
      ['VI_6', 56, 'MASTER', '192.168.200.21/27'],
      ['VI_7', 57, 'MASTER', '192.168.200.22/27'],
      ['VI_8', 58, 'MASTER', '192.168.200.23/27'],
      ['VI_9', 59, 'MASTER', '192.168.200.24/27'],
    ]);
  });

  t.test('track_interface', async (t) => {
    const { r, c, why } = load('track_interface');
    t.equal(r.errors, 0, why);
    const v1 = c!.vrrpInstances[0]!;
    t.equal(v1.interface, 'eth0.1');
    t.same(v1.trackInterface, [{ name: 'eth0' }, { name: 'eth1' }]);
    t.same(c!.staticRoutes.map((x) => `${x.dest.address}/${x.dest.prefix}`), ['192.168.210.0/24', '192.168.211.0/24', '192.168.212.0/24', '192.168.213.0/24']);
    t.same(v1.virtualRoutes.map((x) => x.dev ?? x.via), ['eth1', 'eth2', '192.168.100.254']);
  });

  t.test('IPv6 (global part)', async (t) => {
    const { r, c, why } = load('IPv6');
    t.equal(r.errors, 0, why);
    t.equal(c!.globalDefs.routerId, 'LVS_DEVEL');
    t.same(c!.vrrpInstances, []);
  });

  for (const [id, prio, script] of [['high', 170, '/etc/keepalived/scripts/check_high_VI_0.sh'], ['low', 85, '/etc/keepalived/scripts/check_low_VI_0.sh']] as const)
    t.test(`conditional_conf with config id ${id}`, async (t) => {
      const { r, c, why } = load('conditional_conf', id);
      t.equal(r.errors, 0, why);
      t.equal(c!.netNamespace, id);
      t.same(c!.vrrpScripts.map((s) => [s.name, s.script.command, s.intervalMs, s.timeoutMs, s.rise, s.fall]), [['check_VI_0', script, 1000, 10000, 3, 3]]);
      const v = c!.vrrpInstances[0]!;
      t.same([v.name, v.state, v.interface, v.vrid, v.priority, v.advertIntMs, v.version], ['VI_0', 'BACKUP', 'eth0', 1, prio, 12000, 3]);
      t.same(v.useVmac, { name: 'vrrp.1' });
      t.same(v.trackScript, [{ name: 'check_VI_0' }]);
      t.same(v.trackInterface, [{ name: 'eth3' }, { name: 'eth2', weight: 20 }]);
      t.same(vips(v), ['10.1.0.254/32']);
    });

  t.test('conditional_conf without a config id has no script (as keepalived reports)', async (t) => {
    const { diags } = load('conditional_conf', 'other');
    // keepalived: "No script set for vrrp_script check_VI_0 - removing", then "track script check_VI_0 not found".
    t.same(diags, ['6:1 error missing-keyword', '25:3 error unknown-reference']);
  });
});
