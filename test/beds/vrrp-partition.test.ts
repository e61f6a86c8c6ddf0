// Split brain healed, in the namespace lab: dir1 (150) and dir2 (100) both MASTER while they do
// not hear each other; the client's ARP entry for the VIP follows dir2's takeover GARPs. At
// healing, whichever advert crosses first decides what the client sees: if dir2 hears dir1 first
// it yields silently and dir1, never hearing a lower priority, sends no GARP, so the client stays
// on dir2 (keepalived 2.2.7 does the same). keepalived's answer is `vrrp_higher_prio_send_advert`:
// the yielding master sends one last advert, dir1 hears a lower priority and re-asserts with
// GARPs (garp_lower_prio_repeat). The bed forces the unlucky order: it heals right after one of
// dir2's adverts, so dir1's next advert (Skew_Time ≈ 0.39 s later) reaches dir2 first.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { keepalivedConf } from '../lab/keepalived.js';
import { type Lab, createLab } from '../lab/netns.js';
import { waitFor } from '../lab/wait.js';
import { holds, reportOnFailure } from '../helpers/vigil-lab.js';
import { repoRoot } from '../helpers/paths.js';

const VIP = '192.168.77.100';
const o = { vrid: 51, vips: [`${VIP}/24`], version: 3 as const };

/** A director on the lab config, plus `extra` global_defs lines. vigil's checker keeps its (empty) table in memory: no host IPVS needed. */
function start(lab: Lab, impl: 'vigil' | 'keepalived', node: string, priority: number, extra: string): void {
  const dir = lab.folder(`${impl}-${node}`);
  const file = join(dir, 'keepalived.conf');
  writeFileSync(file, keepalivedConf(node, { ...o, priority }).replace('global_defs {', `global_defs {\n${extra}`));
  if (impl === 'keepalived') {
    const pids = ['-p', join(dir, 'keepalived.pid'), '-r', join(dir, 'vrrp.pid'), '-c', join(dir, 'checkers.pid')];
    lab.spawn(node, ['keepalived', '-n', '-l', '-D', '-G', '-P', '-f', file, ...pids], { name: `keepalived-${node}` });
    return;
  }
  const argv = [process.execPath, join(repoRoot, 'bin/vigil.js'), 'run', '-f', file, '--socket', join(dir, 'vigil.sock'), '--log-format', 'json', '--log-level', 'debug'];
  lab.spawn(node, argv, { name: `vigil-${node}`, env: { ...process.env, VIGIL_IPVS: 'memory' } });
}

async function clientMac(lab: Lab): Promise<string | undefined> {
  return /lladdr (\S+)/.exec(await lab.execOk('client', ['ip', 'neigh', 'show', VIP, 'dev', 'eth0']))?.[1];
}
/** Drops incoming VRRP in `node` (the partition), counting the drops. */
async function partition(lab: Lab, node: string): Promise<void> {
  await lab.execOk(node, ['nft', 'add table inet part; add chain inet part in { type filter hook input priority 0; }; add rule inet part in ip protocol 112 counter drop']);
}
async function dropped(lab: Lab, node: string): Promise<number> {
  return Number(/packets (\d+)/.exec(await lab.execOk(node, ['nft', 'list', 'chain', 'inet', 'part', 'in']))?.[1] ?? NaN);
}
async function heal(lab: Lab, node: string): Promise<void> {
  await lab.execOk(node, ['nft', 'delete', 'table', 'inet', 'part']);
}

const cases = [
  { impl: 'vigil', extra: '', want: 'dir2', desc: 'vigil, defaults: dir2 yields silently, the client stays on dir2 (as keepalived)' },
  { impl: 'vigil', extra: '  vrrp_higher_prio_send_advert', want: 'dir1', desc: 'vigil, vrrp_higher_prio_send_advert: dir1 re-asserts with GARPs, the client is back on dir1' },
  { impl: 'keepalived', extra: '', want: 'dir2', desc: 'keepalived, defaults: the same' },
  { impl: 'keepalived', extra: '  vrrp_higher_prio_send_advert', want: 'dir1', desc: 'keepalived, vrrp_higher_prio_send_advert: the same' },
] as const;

for (const c of cases)
  t.test(c.desc, async (t) => {
    const lab = await createLab(t, { nodes: ['dir1', 'dir2', 'client'] });
    reportOnFailure(t, lab);
    const cap = await lab.capture('sw', 'br0', { filter: ['vrrp', 'or', 'arp'] });
    start(lab, c.impl, 'dir2', 100, c.extra);
    start(lab, c.impl, 'dir1', 150, c.extra);
    await waitFor(async () => (await holds(lab, 'dir1', VIP)) && !(await holds(lab, 'dir2', VIP)), { desc: 'dir1 master', timeoutMs: 15000, intervalMs: 100 });
    await lab.execOk('client', ['ping', '-c', '1', '-W', '2', VIP]);
    const mac = { dir1: lab.node('dir1').mac, dir2: lab.node('dir2').mac };
    t.equal(await clientMac(lab), mac.dir1, 'client: the VIP on dir1');

    await partition(lab, 'dir1');
    await partition(lab, 'dir2');
    await waitFor(() => holds(lab, 'dir2', VIP), { desc: 'dir2 master too (split brain)', timeoutMs: 10000, intervalMs: 50 });
    await waitFor(async () => (await clientMac(lab)) === mac.dir2, { desc: "the client follows dir2's GARPs", timeoutMs: 3000, intervalMs: 50 });
    // Past dir2's delayed takeover burst (garp_master_delay 5 s), then heal just after one of dir2's adverts.
    await new Promise((r) => setTimeout(r, 5500));
    const n = await dropped(lab, 'dir1');
    await waitFor(async () => (await dropped(lab, 'dir1')) > n, { desc: 'an advert from dir2', timeoutMs: 3000, intervalMs: 10 });
    const healAt = Date.now();
    await Promise.all([heal(lab, 'dir1'), heal(lab, 'dir2')]);
    t.ok(Date.now() - healAt < 300, `healed ${Date.now() - healAt} ms after dir2's advert, well before dir1's next (≈390 ms)`);
    await waitFor(async () => !(await holds(lab, 'dir2', VIP)), { desc: 'dir2 yields', timeoutMs: 5000, intervalMs: 50 });
    t.ok(await holds(lab, 'dir1', VIP), 'dir1 is the one master');
    // keepalived's first re-assert burst goes out at once; allow for a loaded machine.
    await new Promise((r) => setTimeout(r, 2000));
    const got = await clientMac(lab);
    const pk = (await cap.packets()).filter((p) => p.tsMs >= healAt - 1200);
    const wire = pk.map((p) => `${Math.round(p.tsMs - healAt)}ms ${p.vrrp ? `advert ${p.ip?.src} prio ${p.vrrp.priority}` : p.arp?.gratuitous ? `garp ${p.arp.sha}` : `arp ${p.arp?.op} ${p.arp?.spa}>${p.arp?.tpa}`}`);
    t.equal(got, mac[c.want], `the client's ARP entry for the VIP is on ${c.want} 2 s after healing`, { wire });
  });
