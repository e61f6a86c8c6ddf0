// vigil beside the real keepalived 2.2.7, in both roles: VRRPv2 and VRRPv3, IPv4 and IPv6,
// multicast and unicast. The master is elected as between two keepalived nodes, the backup
// stays quiet, and a graceful stop of the master hands over after Skew_Time, as keepalived does.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { keepalivedConf } from '../lab/keepalived.js';
import { type Lab, createLab } from '../lab/netns.js';
import { sleep, waitFor } from '../lab/wait.js';
import { vrrpAdverts } from '../lab/wire/select.js';
import { holds, reportOnFailure, startVigilConf } from '../helpers/vigil-lab.js';

const VRID = 52;
type Case = { version: 2 | 3; family: 4 | 6; unicast: boolean; vigilMaster: boolean };
const cases: Case[] = [];
for (const [version, family] of [[2, 4], [3, 4], [3, 6]] as const)
  for (const unicast of [false, true]) for (const vigilMaster of [true, false]) cases.push({ version, family, unicast, vigilMaster });

function conf(lab: Lab, node: string, peer: string, c: Case, prio: number): string {
  const vip = c.family === 4 ? '192.168.77.100/24' : 'fd00:77::100/64';
  const self = c.family === 4 ? lab.node(node).ipv4 : lab.node(node).ipv6;
  const other = c.family === 4 ? lab.node(peer).ipv4 : lab.node(peer).ipv6;
  const base = keepalivedConf(node, { vrid: VRID, priority: prio, vips: [vip], version: c.version });
  return c.unicast ? base.replace('  virtual_ipaddress {', `  unicast_src_ip ${self}\n  unicast_peer {\n    ${other}\n  }\n  virtual_ipaddress {`) : base;
}

for (const c of cases) {
  const name = `v${c.version} IPv${c.family} ${c.unicast ? 'unicast' : 'multicast'}: ${c.vigilMaster ? 'vigil master, keepalived backup' : 'keepalived master, vigil backup'}`;
  t.test(name, async (t) => {
    const lab = await createLab(t, { nodes: ['dir1', 'dir2'] });
    reportOnFailure(t, lab);
    const vip = c.family === 4 ? '192.168.77.100' : 'fd00:77::100';
    const cap = await lab.capture('sw', 'br0', { filter: c.family === 4 ? ['vrrp'] : ['ip6', 'proto', '112'] });
    // dir1 runs keepalived, dir2 vigil; the priorities decide who is master.
    const kdir = lab.folder('keepalived');
    writeFileSync(join(kdir, 'k.conf'), conf(lab, 'dir1', 'dir2', c, c.vigilMaster ? 100 : 150));
    const ka = lab.spawn('dir1', ['keepalived', '-n', '-l', '-D', '-P', '-f', join(kdir, 'k.conf'), '-p', join(kdir, 'k.pid'), '-r', join(kdir, 'v.pid'), '-c', join(kdir, 'c.pid')], { name: 'keepalived-dir1' });
    const vg = startVigilConf(lab, 'dir2', conf(lab, 'dir2', 'dir1', c, c.vigilMaster ? 150 : 100));
    const [master, backup] = c.vigilMaster ? ['dir2', 'dir1'] : ['dir1', 'dir2'];
    await waitFor(() => holds(lab, master, vip), { desc: `${master} elected`, timeoutMs: 12000, intervalMs: 100 });
    await sleep(2500);
    t.ok(await holds(lab, master, vip), 'the master keeps the VIP');
    t.notOk(await holds(lab, backup, vip), 'the backup does not hold it');
    (c.vigilMaster ? vg : ka).signal('SIGTERM');
    await waitFor(() => holds(lab, backup, vip), { desc: `${backup} takes over`, timeoutMs: 6000, intervalMs: 50 });
    await sleep(400);
    const ads = vrrpAdverts(await cap.packets(), VRID);
    const mMac = lab.node(master).mac;
    const bMac = lab.node(backup).mac;
    const fromMaster = ads.filter((a) => a.link?.src === mMac);
    const fromBackupBefore = ads.filter((a) => a.link?.src === bMac && a.tsMs < (fromMaster.find((x) => x.vrrp.priority === 0)?.tsMs ?? Infinity));
    // keepalived 2.2.7 sends IPv6 unicast adverts with the default hop limit (64); vigil sends 255.
    const ttl = c.unicast && c.family === 6 && !c.vigilMaster ? 64 : 255;
    t.ok(fromMaster.length >= 2 && fromMaster.every((a) => a.vrrp.version === c.version && a.vrrp.checksumOk && a.ip?.ttl === ttl), `${fromMaster.length} master adverts: v${c.version}, valid checksum, TTL/hop limit ${ttl}`);
    if (c.unicast) t.ok(fromMaster.every((a) => a.ip?.dst === (c.family === 4 ? lab.node(backup).ipv4 : lab.node(backup).ipv6)), 'unicast to the peer');
    // Before the election settles both may advertise once; after it, the backup is silent.
    t.ok(fromBackupBefore.filter((a) => a.tsMs > fromMaster[1]!.tsMs).length === 0, 'the backup stays silent while the master advertises');
    const p0 = fromMaster.find((a) => a.vrrp.priority === 0);
    if (!t.ok(p0, 'priority-0 advert on graceful stop') || !p0) return;
    const take = ads.find((a) => a.link?.src === bMac && a.tsMs > p0.tsMs);
    if (!t.ok(take, 'the backup advertises after it') || !take) return;
    const skew = ((256 - 100) * 1000) / 256; // v2 and v3 at 1 s adverts: 609.375 ms
    const gap = take.tsMs - p0.tsMs;
    t.ok(Math.abs(gap - skew) < 30, `takeover ${gap.toFixed(1)} ms after the priority-0 advert (Skew_Time ${skew} ms)`);
  });
}
