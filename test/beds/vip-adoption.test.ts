// DESIGN: restarting vigil, even after kill -9, never drops a VIP the node should hold. In the
// namespace lab: (1) the VRRP child of a lone master is killed and restarted by the supervisor
// while a poller inside the namespace watches the VIP every ~20 ms; (2) a whole vigil is killed,
// its peer takes over, and the restarted vigil must give up its leftover VIP to the lower-priority
// master at once and preempt only after preempt_delay — never two nodes announcing at once.
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import type { Io } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import type { StatusResult } from '../../src/cli/status.js';
import { type Lab, createLab } from '../lab/netns.js';
import { pidAlive } from '../lab/pids.js';
import type { Proc } from '../lab/proc.js';
import { sleep, waitFor } from '../lab/wait.js';
import { decodePcap } from '../lab/wire/decode.js';
import { gratuitousArps, vrrpAdverts } from '../lab/wire/select.js';
import { holds, reportOnFailure, startVigilConf, vigilLog } from '../helpers/vigil-lab.js';

const VIP = '192.168.77.100';
const VRID = 51;

function io(): Io & { stdout: string; stderr: string } {
  const o = { stdout: '', stderr: '', color: false, out(s: string) { o.stdout += s; }, err(s: string) { o.stderr += s; } };
  return o;
}

async function status(sock: string): Promise<StatusResult & { children: { kind: string; state: string; pid?: number; restarts: number }[] }> {
  const o = io();
  await main(['status', '--socket', sock, '--json'], o);
  return JSON.parse(o.stdout) as never;
}

function conf(priority: number, extra: string[] = []): string {
  return `vrrp_instance VI_1 {\n state BACKUP\n interface eth0\n virtual_router_id ${VRID}\n priority ${priority}\n advert_int 1\n${extra.map((l) => ` ${l}\n`).join('')} virtual_ipaddress {\n  ${VIP}/24\n }\n}\n`;
}

/**
 * Samples "is the VIP on eth0" inside `node` every ~20 ms (a shell loop in the namespace, so the
 * sampling does not depend on this test's event loop) and records every address deletion the
 * kernel reports (`ip monitor`), which catches a removal shorter than the sampling interval.
 */
function watchVip(lab: Lab, node: string): { samples: () => Promise<{ at: number; present: boolean }[]>; deletions: () => Promise<string[]>; procs: Proc[] } {
  const loop = `while :; do if ip -o -4 addr show dev eth0 | grep -q ' ${VIP}/'; then echo "$(date +%s%N) 1"; else echo "$(date +%s%N) 0"; fi; sleep 0.02; done`;
  const poll = lab.spawn(node, ['sh', '-c', loop], { name: `poll-${node}` });
  const mon = lab.spawn(node, ['ip', '-4', 'monitor', 'address', 'dev', 'eth0'], { name: `mon-${node}` });
  return {
    procs: [poll, mon],
    samples: async () =>
      (await readFile(poll.stdoutPath, 'utf8'))
        .split('\n')
        .filter((l) => /^\d+ [01]$/.test(l))
        .map((l) => ({ at: Number(BigInt(l.split(' ')[0]!) / 1000n) / 1000, present: l.endsWith(' 1') })),
    deletions: async () => (await readFile(mon.stdoutPath, 'utf8')).split('\n').filter((l) => l.startsWith('Deleted') && l.includes(` ${VIP}/`)),
  };
}

t.test('kill -9 of the VRRP child of a lone master: the VIP is never absent, MASTER again', async (t) => {
  const lab = await createLab(t, { nodes: ['dir1'] });
  reportOnFailure(t, lab);
  const cap = await lab.capture('sw', 'br0', { filter: ['vrrp', 'or', 'arp'] });
  const sock = join(lab.folder('vigil-dir1'), 'vigil.sock');
  const v = startVigilConf(lab, 'dir1', conf(150));
  await waitFor(() => holds(lab, 'dir1', VIP), { desc: 'master', timeoutMs: 10000, intervalMs: 100 });
  const w = watchVip(lab, 'dir1');
  await waitFor(async () => (await w.samples()).length >= 5, { desc: 'poller running', timeoutMs: 3000, intervalMs: 20 });
  const child1 = (await status(sock)).children[0]!.pid!;

  const killedAt = Date.now();
  process.kill(child1, 'SIGKILL');
  const st = await waitFor(async () => {
    const s = await status(sock);
    return s.children[0]!.state === 'running' && s.children[0]!.pid !== child1 && s.vrrp[0]?.state === 'MASTER' ? s : undefined;
  }, { desc: 'restarted child is MASTER again', timeoutMs: 15000, intervalMs: 100 });
  const masterAt = Date.now();
  t.match(st.children, [{ kind: 'vrrp', state: 'running', restarts: 1 }]);
  t.notOk(pidAlive(child1), 'the first child is gone');
  await sleep(300);

  const samples = (await w.samples()).filter((s) => s.at >= killedAt - 200);
  const absent = samples.filter((s) => !s.present);
  const intervals = samples.slice(1).map((s, i) => s.at - samples[i]!.at);
  const maxInterval = Math.max(...intervals);
  t.ok(samples.length > 50, `${samples.length} samples from the kill to MASTER + 300 ms (${((masterAt - killedAt) / 1000).toFixed(2)} s), max sampling interval ${maxInterval.toFixed(0)} ms`);
  t.equal(absent.length, 0, `the VIP was present in every sample${absent.length ? `; absent at ${absent.map((a) => (a.at - killedAt).toFixed(0)).join(',')} ms after the kill` : ''}`);
  t.same(await w.deletions(), [], 'the kernel never deleted the VIP');

  const log = await vigilLog(v);
  const trans = log.filter((l) => l.op === 'vrrp.transition').map((l) => String(l.reason));
  t.ok(trans.some((r) => /^startup, adopting VIPs left by a previous run/.test(r)), 'the restarted child starts by adopting');
  const adopted = log.filter((l) => l.op === 'vrrp.transition' && /^adopted VIPs left by a previous run; no higher-priority master heard in 3\.414s/.test(String(l.reason)));
  t.equal(adopted.length, 1, 'logged once: adopted VIPs left by a previous run; no higher-priority master heard');
  t.ok(log.some((l) => l.op === 'vrrp.adopt' && /found VIPs left by a previous run: 192\.168\.77\.100\/24/.test(String(l.msg))), 'which VIPs were found is logged');

  // On the wire: silence while adopting (no advert from the new child before the window ends), then adverts and a GARP burst.
  const packets = await cap.packets();
  const ads = vrrpAdverts(packets, VRID).filter((a) => a.tsMs > killedAt);
  t.ok(ads.every((a) => a.vrrp.priority === 150), 'no priority-0 advert: a crash is not a graceful stop');
  const first = ads[0];
  if (t.ok(first, 'adverts after the restart') && first) {
    const silent = first.tsMs - killedAt;
    // supervisor restart delay 1 s + the child's start + master_down 3.414 s
    t.ok(silent > 4000 && silent < 8000, `first advert ${silent.toFixed(0)} ms after the kill (restart 1 s + start + master_down 3414 ms)`);
    const garps = gratuitousArps(packets, VIP).filter((p) => p.tsMs > killedAt);
    t.ok(garps.length >= 5 && garps.every((g) => g.tsMs >= first.tsMs - 1), `${garps.length} GARPs, none before the takeover advert`);
  }
  for (const p of w.procs) await p.stop();
});

t.test('kill -9 of a whole vigil, the peer takes over, restart: the leftover VIP yields to preempt_delay', async (t) => {
  const lab = await createLab(t, { nodes: ['dir1', 'dir2'] });
  reportOnFailure(t, lab);
  const cap = await lab.capture('sw', 'br0', { filter: ['vrrp', 'or', 'arp'] });
  const d1 = lab.node('dir1');
  const d2 = lab.node('dir2');
  const conf1 = conf(150, ['preempt_delay 4']);
  let v1 = startVigilConf(lab, 'dir1', conf1);
  await waitFor(() => holds(lab, 'dir1', VIP), { desc: 'dir1 (150) master', timeoutMs: 10000, intervalMs: 100 });
  startVigilConf(lab, 'dir2', conf(100));
  await waitFor(async () => vrrpAdverts(decodePcap(await readFile(cap.file)), VRID).length >= 3, { desc: 'adverts', timeoutMs: 5000, intervalMs: 200 });
  t.notOk(await holds(lab, 'dir2', VIP), 'dir2 (100) is backup');

  // kill -9 of the supervisor and its child at once.
  v1.signal('SIGKILL', true);
  await v1.exited;
  await waitFor(() => holds(lab, 'dir2', VIP), { desc: 'dir2 takes over', timeoutMs: 8000, intervalMs: 50 });
  t.ok(await holds(lab, 'dir1', VIP), 'the kernel of dir1 still has the VIP (nothing removed it)');
  await sleep(1500);

  const w = watchVip(lab, 'dir1');
  await waitFor(async () => (await w.samples()).length >= 3, { desc: 'poller running', timeoutMs: 3000, intervalMs: 20 });
  const restartAt = Date.now();
  v1 = startVigilConf(lab, 'dir1', conf1, 'vigil-dir1-again');
  await waitFor(async () => !(await holds(lab, 'dir1', VIP)), { desc: 'dir1 releases its leftover VIP', timeoutMs: 5000, intervalMs: 20 });
  const releasedAt = Date.now();
  t.ok(await holds(lab, 'dir2', VIP), 'dir2 is still master');
  await waitFor(async () => (await holds(lab, 'dir1', VIP)) && !(await holds(lab, 'dir2', VIP)), { desc: 'dir1 preempts after preempt_delay', timeoutMs: 15000, intervalMs: 50 });
  const preemptedAt = Date.now();
  await sleep(500);

  const log = await vigilLog(v1);
  const startLine = log.find((l) => l.op === 'vrrp.transition' && /^startup, adopting/.test(String(l.reason)));
  const release = log.find((l) => l.op === 'vrrp.event' && /^heard master 192\.168\.77\.11 with lower priority 100 \(ours 150\) and preempt_delay holds .* more: removed VIPs left by a previous run$/.test(String(l.reason)));
  t.ok(startLine, 'adopting start');
  t.ok(release, `released: ${String(release?.reason)}`);
  const master = log.filter((l) => l.op === 'vrrp.transition' && l.to === 'MASTER');
  t.equal(master.length, 1, 'one transition to MASTER');
  t.match(String(master[0]?.reason), /^preempting a lower-priority master 192\.168\.77\.11 \(priority 100 < 150\) after preempt_delay /, 'the takeover is the ordinary preemption after the delay');

  const samples = (await w.samples()).filter((s) => s.at >= restartAt);
  const firstAbsent = samples.find((s) => !s.present);
  t.ok(firstAbsent, 'the poller saw the release');
  const releaseMs = (firstAbsent?.at ?? releasedAt) - restartAt;
  // vigil's start (node + config) plus at most one advert interval of dir2.
  t.ok(releaseMs < 3000, `leftover VIP removed ${releaseMs.toFixed(0)} ms after the restart (before master_down 3414 ms)`);

  const packets = await cap.packets();
  const ads = vrrpAdverts(packets, VRID).filter((a) => a.tsMs >= restartAt);
  const take = ads.find((a) => a.ip?.src === d1.ipv4);
  if (!t.ok(take, 'dir1 advertised again') || !take) return;
  t.ok(take.vrrp.priority === 150, 'dir1 is silent until it takes over');
  const sinceStart = take.tsMs - restartAt;
  t.ok(sinceStart > 4000 + 3414 - 1000 && sinceStart < 4000 + 3414 + 2500, `dir1 takes over ${sinceStart.toFixed(0)} ms after its restart (preempt_delay 4 s; then master_down 3414 ms of discarded adverts)`);
  t.ok(ads.filter((a) => a.ip?.src === d2.ipv4).every((a) => a.tsMs < take.tsMs + 50), 'dir2 stops advertising when dir1 takes over');
  // Never two nodes announcing at once: dir1's GARPs only from its takeover advert, dir2's none after it.
  const garps = gratuitousArps(packets, VIP).filter((p) => p.tsMs >= restartAt - 500);
  const g1 = garps.filter((p) => p.arp?.sha === d1.mac);
  const g2 = garps.filter((p) => p.arp?.sha === d2.mac);
  t.ok(g1.length >= 5 && g1.every((p) => p.tsMs >= take.tsMs - 1), `dir1: ${g1.length} GARPs, all from its takeover advert on`);
  t.ok(g2.every((p) => p.tsMs < take.tsMs), `dir2: ${g2.length} GARPs since the restart, all before dir1's takeover`);
  t.comment(`restart → VIP released ${releaseMs.toFixed(0)} ms; → dir1 master ${(preemptedAt - restartAt).toFixed(0)} ms`);
  for (const p of w.procs) await p.stop();
});

t.test('restart with a leftover VIP while a higher-priority master runs: released at once, never announced', async (t) => {
  const lab = await createLab(t, { nodes: ['dir1', 'dir2'] });
  reportOnFailure(t, lab);
  const cap = await lab.capture('sw', 'br0', { filter: ['vrrp', 'or', 'arp'] });
  const d2 = lab.node('dir2');
  // dir2 (100) is master alone, then dies with kill -9: its VIP stays in its kernel.
  let v2 = startVigilConf(lab, 'dir2', conf(100));
  await waitFor(() => holds(lab, 'dir2', VIP), { desc: 'dir2 master alone', timeoutMs: 10000, intervalMs: 100 });
  v2.signal('SIGKILL', true);
  await v2.exited;
  startVigilConf(lab, 'dir1', conf(150));
  await waitFor(() => holds(lab, 'dir1', VIP), { desc: 'dir1 (150) master', timeoutMs: 10000, intervalMs: 100 });
  t.ok(await holds(lab, 'dir2', VIP), "dir2's kernel still has the VIP");

  const restartAt = Date.now();
  v2 = startVigilConf(lab, 'dir2', conf(100), 'vigil-dir2-again');
  await waitFor(async () => !(await holds(lab, 'dir2', VIP)), { desc: 'dir2 releases its leftover VIP', timeoutMs: 5000, intervalMs: 20 });
  const releaseMs = Date.now() - restartAt;
  t.ok(releaseMs < 3000, `released ${releaseMs} ms after the restart (start + at most one advert interval)`);
  await sleep(4500);
  t.notOk(await holds(lab, 'dir2', VIP), 'dir2 stays BACKUP past master_down');
  t.ok(await holds(lab, 'dir1', VIP), 'dir1 stays master');

  const log = await vigilLog(v2);
  t.ok(log.some((l) => l.op === 'vrrp.event' && /^heard master 192\.168\.77\.10 with higher priority 150 \(ours 100\): removed VIPs left by a previous run$/.test(String(l.reason))), 'the reason says what happened');
  t.notOk(log.some((l) => l.op === 'vrrp.transition' && l.to === 'MASTER'), 'no MASTER transition');
  const packets = (await cap.packets()).filter((p) => p.tsMs >= restartAt);
  t.equal(vrrpAdverts(packets, VRID).filter((a) => a.ip?.src === d2.ipv4).length, 0, 'dir2 sent no advert after its restart');
  t.equal(gratuitousArps(packets, VIP).filter((p) => p.arp?.sha === d2.mac).length, 0, 'dir2 sent no GARP after its restart');
});
