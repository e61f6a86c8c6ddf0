// Tracking on real namespaces: scripts that fail, hang and recover; an interface going down and
// up; a sync group with one member faulting; notify FIFO lines in transition order.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { createLab } from '../lab/netns.js';
import { sleep, waitFor } from '../lab/wait.js';
import { holds, reportOnFailure, startVigilConf, vigilLog } from '../helpers/vigil-lab.js';

const VIP = '192.168.77.100';
const VIP2 = '192.168.77.101';

function instance(name: string, vrid: number, prio: number, vip: string, extra: string[] = []): string {
  return [`vrrp_instance ${name} {`, '  state BACKUP', '  interface eth0', `  virtual_router_id ${vrid}`, `  priority ${prio}`, '  advert_int 1', ...extra.map((l) => `  ${l}`), '  virtual_ipaddress {', `    ${vip}/24`, '  }', '}'].join('\n');
}

t.test('track_script: failure and hang move the VIP away, never two runs at once, recovery moves it back', async (t) => {
  const lab = await createLab(t, { nodes: ['dir1', 'dir2'] });
  reportOnFailure(t, lab);
  const ok = lab.path('ok');
  const hang = lab.path('hang');
  writeFileSync(ok, '');
  // the hang is a sleep of a duration no other test uses: pgrep sees the whole host (a network
  // namespace has no pid namespace), and the health tests run `sleep 30` children in parallel
  const HANG = `sleep 29.${String(process.pid).padStart(7, '0')}`;
  const script = `#!/bin/sh\n# vigil-test-chk\n[ -e ${hang} ] && exec ${HANG}\n[ -e ${ok} ]\n`;
  const sh = lab.path('chk.sh');
  writeFileSync(sh, script, { mode: 0o755 });
  const conf1 = [
    `vrrp_script chk {\n  script "${sh}"\n  interval 1\n  timeout 1\n  fall 2\n  rise 2\n}`,
    instance('VI_1', 51, 150, VIP, ['track_script {', '  chk', '}']),
  ].join('\n');
  startVigilConf(lab, 'dir1', conf1);
  startVigilConf(lab, 'dir2', instance('VI_1', 51, 100, VIP));
  await waitFor(() => holds(lab, 'dir1', VIP), { desc: 'dir1 master', timeoutMs: 10000, intervalMs: 100 });

  rmSync(ok);
  await waitFor(() => holds(lab, 'dir2', VIP), { desc: 'script fails twice → dir1 FAULT → dir2 master', timeoutMs: 8000, intervalMs: 100 });
  t.notOk(await holds(lab, 'dir1', VIP), 'dir1 released the VIP in FAULT');
  writeFileSync(ok, '');
  await waitFor(() => holds(lab, 'dir1', VIP), { desc: 'two successes → dir1 back and preempts', timeoutMs: 12000, intervalMs: 100 });

  writeFileSync(hang, '');
  let most = 0;
  const t0 = Date.now();
  let moved = false;
  while (Date.now() - t0 < 10000) {
    const ps = await lab.exec('dir1', ['pgrep', '-c', '-f', HANG]);
    most = Math.max(most, Number(ps.stdout.trim() || 0));
    if (await holds(lab, 'dir2', VIP)) {
      moved = true;
      break;
    }
    await sleep(150);
  }
  t.ok(moved, 'a hanging script counts as failed (killed at its timeout) → dir2 master');
  t.ok(most <= 1, `never more than one run at a time (saw ${most})`);
  rmSync(hang);
  await waitFor(() => holds(lab, 'dir1', VIP), { desc: 'recovered after the hang', timeoutMs: 12000, intervalMs: 100 });
  await sleep(1500);
  const left = await lab.exec('dir1', ['pgrep', '-c', '-f', HANG]);
  t.equal(left.stdout.trim(), '0', 'no hung script left behind');
});

t.test('track_interface: a tracked link going down means FAULT, up means back', async (t) => {
  const lab = await createLab(t, { nodes: ['dir1', 'dir2'] });
  reportOnFailure(t, lab);
  // No dummy driver on every kernel: a veth pair inside dir1 serves (both ends up = carrier).
  await lab.execOk('dir1', ['ip', 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up0p']);
  await lab.execOk('dir1', ['ip', 'link', 'set', 'up0p', 'up']);
  await lab.execOk('dir1', ['ip', 'link', 'set', 'up0', 'up']);
  const v1 = startVigilConf(lab, 'dir1', instance('VI_1', 51, 150, VIP, ['track_interface {', '  up0', '}']));
  startVigilConf(lab, 'dir2', instance('VI_1', 51, 100, VIP));
  await waitFor(() => holds(lab, 'dir1', VIP), { desc: 'dir1 master', timeoutMs: 10000, intervalMs: 100 });
  await lab.execOk('dir1', ['ip', 'link', 'set', 'up0', 'down']);
  await waitFor(() => holds(lab, 'dir2', VIP), { desc: 'up0 down → dir1 FAULT → dir2 master', timeoutMs: 6000, intervalMs: 50 });
  await lab.execOk('dir1', ['ip', 'link', 'set', 'up0', 'up']);
  await waitFor(() => holds(lab, 'dir1', VIP), { desc: 'up0 up → dir1 preempts again', timeoutMs: 10000, intervalMs: 100 });
  const log = await vigilLog(v1);
  const tr = log.filter((l) => l.op === 'vrrp.transition').map((l) => `${String(l.to)}`);
  t.same(tr, ['BACKUP', 'MASTER', 'FAULT', 'BACKUP', 'MASTER'], 'transitions of dir1');
  t.match(log.find((l) => l.to === 'FAULT')?.reason, /interface up0 is down/, 'FAULT says why');
});

t.test('sync group: one member faulting takes the whole group over; FIFO lines in order', async (t) => {
  const lab = await createLab(t, { nodes: ['dir1', 'dir2'] });
  reportOnFailure(t, lab);
  const ok = lab.path('ok2');
  writeFileSync(ok, '');
  const fifo = lab.path('notify.fifo');
  const sh = lab.path('chk2.sh');
  writeFileSync(sh, `#!/bin/sh\n[ -e ${ok} ]\n`, { mode: 0o755 });
  const group = (prio: number, track: boolean) =>
    [
      `global_defs {\n  vrrp_notify_fifo ${fifo}\n}`,
      `vrrp_script chk2 {\n  script "${sh}"\n  interval 1\n  fall 1\n  rise 1\n}`,
      `vrrp_sync_group G {\n  group {\n    VI_1\n    VI_2\n  }\n}`,
      instance('VI_1', 51, prio, VIP),
      instance('VI_2', 52, prio, VIP2, track ? ['track_script {', '  chk2', '}'] : []),
    ].join('\n');
  const reader = lab.spawn('dir1', ['sh', '-c', `while [ ! -p ${fifo} ]; do sleep 0.05; done; exec cat ${fifo}`], { name: 'fifo-reader' });
  startVigilConf(lab, 'dir1', group(150, true));
  startVigilConf(lab, 'dir2', group(100, false).replace(fifo, lab.path('notify2.fifo')));
  await waitFor(async () => (await holds(lab, 'dir1', VIP)) && (await holds(lab, 'dir1', VIP2)), { desc: 'dir1 master of both', timeoutMs: 10000, intervalMs: 100 });
  rmSync(ok);
  await waitFor(async () => (await holds(lab, 'dir2', VIP)) && (await holds(lab, 'dir2', VIP2)), { desc: 'VI_2 faults → the whole group moves to dir2', timeoutMs: 8000, intervalMs: 100 });
  t.notOk((await holds(lab, 'dir1', VIP)) || (await holds(lab, 'dir1', VIP2)), 'dir1 holds neither VIP');
  writeFileSync(ok, '');
  await waitFor(async () => (await holds(lab, 'dir1', VIP)) && (await holds(lab, 'dir1', VIP2)), { desc: 'cleared → dir1 master of both again', timeoutMs: 10000, intervalMs: 100 });
  await sleep(300);
  const lines = readFileSync(reader.stdoutPath, 'utf8').trim().split('\n');
  const i1 = lines.filter((l) => l.startsWith('INSTANCE "VI_1"')).map((l) => l.split(' ')[2]);
  t.same(i1, ['BACKUP', 'MASTER', 'FAULT', 'BACKUP', 'MASTER'], `VI_1 FIFO lines in order: ${lines.join(' | ')}`);
  t.ok(lines.includes('GROUP "G" FAULT') && lines.includes('GROUP "G" MASTER'), 'group lines');
  t.ok(existsSync(fifo), 'FIFO created by vigil');
});

t.test('vrrp_script runs as its configured user', async (t) => {
  const lab = await createLab(t, { nodes: ['dir1'] });
  reportOnFailure(t, lab);
  // Succeeds only when run as nobody (65534): the instance reaches MASTER only if `user` is honoured.
  const conf = (user: string) =>
    [`vrrp_script asuser {\n  script "/bin/sh -c '[ $(id -u) = 65534 ]'"\n  interval 1\n  fall 1\n  rise 1\n  user ${user}\n}`, instance('VI_1', 51, 150, VIP, ['track_script {', '  asuser', '}'])].join('\n');
  const ok = startVigilConf(lab, 'dir1', conf('nobody'), 'vigil-nobody');
  await waitFor(() => holds(lab, 'dir1', VIP), { desc: 'script as nobody passes → MASTER', timeoutMs: 10000, intervalMs: 100 });
  ok.signal('SIGTERM');
  await ok.exited;
  const root = startVigilConf(lab, 'dir1', conf('root'), 'vigil-root');
  await waitFor(async () => (await vigilLog(root)).some((l) => l.op === 'vrrp.transition' && l.to === 'FAULT'), { desc: 'script as root fails → FAULT', timeoutMs: 8000, intervalMs: 100 });
  t.notOk(await holds(lab, 'dir1', VIP), 'no VIP in FAULT');
});

t.test('virtual_routes and virtual_rules follow MASTER; unsupported options are reported, not guessed', async (t) => {
  const lab = await createLab(t, { nodes: ['dir1'] });
  reportOnFailure(t, lab);
  const conf = instance('VI_1', 51, 150, VIP, [
    'virtual_routes {',
    '  10.99.0.0/24 via 192.168.77.254 dev eth0',
    '  src 192.168.77.100 198.51.100.0/24 dev eth0 table 100 metric 7',
    '  blackhole 203.0.113.0/24',
    '  10.98.0.0/24 via 192.168.77.254 mtu 1400',
    '}',
    'virtual_rules {',
    '  from 192.168.77.100 table 100 preference 1000',
    '}',
  ]);
  const v = startVigilConf(lab, 'dir1', conf);
  await waitFor(() => holds(lab, 'dir1', VIP), { desc: 'dir1 master', timeoutMs: 10000, intervalMs: 100 });
  await waitFor(async () => (await lab.execOk('dir1', ['ip', 'rule'])).includes('1000:'), { desc: 'rule added', timeoutMs: 3000 });
  const main = await lab.execOk('dir1', ['ip', 'route', 'show']);
  t.match(main, /10\.99\.0\.0\/24 via 192\.168\.77\.254 dev eth0 proto (18|keepalived)/, 'route via the gateway, marked proto 18 like keepalived');
  t.match(main, /blackhole 203\.0\.113\.0\/24 proto (18|keepalived)/, 'blackhole route');
  t.notMatch(main, /10\.98\.0\.0/, 'the route with an unsupported option is not added');
  t.match(await lab.execOk('dir1', ['ip', 'route', 'show', 'table', '100']), /198\.51\.100\.0\/24 dev eth0 proto (18|keepalived) scope link src 192\.168\.77\.100 metric 7/, 'table 100, src and metric');
  t.match(await lab.execOk('dir1', ['ip', 'rule']), /1000:\s+from 192\.168\.77\.100 lookup 100/, 'rule');
  t.ok((await vigilLog(v)).some((l) => l.op === 'vrrp.route' && /'mtu' is not supported/.test(String(l.msg))), 'unsupported option logged');
  v.signal('SIGTERM');
  await v.exited;
  t.notMatch(await lab.execOk('dir1', ['ip', 'route', 'show']), /10\.99\.0\.0|203\.0\.113/, 'routes removed on stop');
  t.notMatch(await lab.execOk('dir1', ['ip', 'rule']), /1000:/, 'rule removed on stop');
});
