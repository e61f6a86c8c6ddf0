// Real keepalived in two director namespaces: capture its VRRP on the bridge and decode it.
import { readFile } from 'node:fs/promises';
import t from 'tap';
import { startKeepalived } from '../lab/keepalived.js';
import { createLab } from '../lab/netns.js';
import { waitFor } from '../lab/wait.js';
import { type Packet, decodePcap } from '../lab/wire/decode.js';
import { bursts, gratuitousArps, vrrpAdverts } from '../lab/wire/select.js';

const VRID = 51;
const VIP = '192.168.77.100';

t.test('keepalived VRRPv2 election and graceful failover, seen on the wire', async (t) => {
  const lab = await createLab(t, { nodes: ['dir1', 'dir2', 'client'] });
  const d1 = lab.node('dir1');
  const d2 = lab.node('dir2');
  const hasVip = async (node: string): Promise<boolean> =>
    (await lab.execOk(node, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'])).includes(` ${VIP}/`);

  const cap = await lab.capture('sw', 'br0', { filter: ['vrrp', 'or', 'arp'] });
  const k1 = startKeepalived(lab, 'dir1', { vrid: VRID, priority: 150, vips: [`${VIP}/24`] });
  startKeepalived(lab, 'dir2', { vrid: VRID, priority: 100, vips: [`${VIP}/24`] });

  await waitFor(() => hasVip('dir1'), { desc: 'dir1 (priority 150) holds the VIP', timeoutMs: 8000, intervalMs: 100 });
  t.notOk(await hasVip('dir2'), 'dir2 stays backup');
  const ping = await lab.execOk('client', ['ping', '-c', '1', '-W', '2', VIP]);
  t.match(ping, /1 received/, 'client reaches the VIP');
  const neigh = await lab.execOk('client', ['ip', 'neigh', 'show', VIP]);
  t.match(neigh, d1.mac, 'VIP resolves to dir1 MAC');
  await waitFor(async () => vrrpAdverts(await readSoFar(cap.file)).filter((a) => a.vrrp.priority === 150).length >= 2, {
    desc: 'two adverts from the master',
    timeoutMs: 4000,
    intervalMs: 100,
  });

  const stopAt = Date.now();
  k1.proc.signal('SIGTERM');
  await waitFor(() => hasVip('dir2'), { desc: 'dir2 takes the VIP over', timeoutMs: 5000, intervalMs: 50 });
  await k1.proc.exited;
  t.notOk(await hasVip('dir1'), 'dir1 released the VIP on graceful stop');
  await waitFor(async () => vrrpAdverts(await readSoFar(cap.file)).some((a) => a.link?.src === d2.mac), {
    desc: 'an advert from dir2 captured',
    timeoutMs: 3000,
  });

  const packets = await cap.packets();
  const ads = vrrpAdverts(packets, VRID);
  t.ok(ads.length >= 4, `${ads.length} adverts captured`);
  t.ok(ads.every((a) => a.ip?.ttl === 255), 'every advert has TTL 255 (RFC 3768 §5.2.3 check)');
  t.ok(ads.every((a) => a.vrrp.version === 2 && a.vrrp.checksumOk && a.ip?.dst === '224.0.0.18'), 'v2, valid checksum, to 224.0.0.18');
  t.ok(ads.every((a) => a.vrrp.addresses.join() === VIP), 'address list is the VIP');
  const from1 = ads.filter((a) => a.ip?.src === d1.ipv4);
  const from2 = ads.filter((a) => a.ip?.src === d2.ipv4);
  t.ok(from1.filter((a) => a.vrrp.priority === 150).length >= 2, 'dir1 advertised priority 150 as master');
  const prio0 = from1.filter((a) => a.vrrp.priority === 0);
  t.equal(prio0.length, 1, 'dir1 sent exactly one priority-0 advert on SIGTERM');
  const p0 = prio0[0];
  if (p0 === undefined) return;
  t.ok(Math.abs(p0.tsMs - stopAt) < 1000, `priority-0 advert ${Math.round(p0.tsMs - stopAt)} ms after the signal`);
  const takeover = from2.find((a) => a.tsMs > p0.tsMs && a.vrrp.priority === 100);
  if (!t.ok(takeover, 'dir2 advertises after the priority-0 advert') || takeover === undefined) return;
  const ms = takeover.tsMs - p0.tsMs;
  // RFC 3768 §6.4.2: on priority 0 the backup waits Skew_Time = (256 - 100) / 256 s ≈ 609 ms
  t.ok(ms > 400 && ms < 1500, `takeover ${ms.toFixed(1)} ms after the priority-0 advert (skew time 609 ms)`);
  t.ok(from2.every((a) => a.tsMs >= p0.tsMs - 1 || a.vrrp.priority === 100), 'dir2 only advertises after dir1 stepped down');
  const garp1 = bursts(gratuitousArps(packets, VIP).filter((p) => p.arp?.sha === d1.mac), 1);
  const garp2 = bursts(gratuitousArps(packets, VIP).filter((p) => p.arp?.sha === d2.mac && p.tsMs >= takeover.tsMs), 1);
  t.equal(garp1[0]?.length, 5, 'dir1 sent a burst of 5 gratuitous ARPs on becoming master');
  t.equal(garp2[0]?.length, 5, 'dir2 sent a burst of 5 gratuitous ARPs on takeover');
  const g2 = garp2[0]?.[0];
  t.ok(g2 && g2.tsMs - takeover.tsMs < 50, 'first GARP in the same instant as the first master advert');
});

/** Decodes what tcpdump has written so far (the reader stops at a partly written record). */
async function readSoFar(file: string): Promise<Packet[]> {
  return decodePcap(await readFile(file));
}
