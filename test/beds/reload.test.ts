// Reload (SIGHUP and `vigil reload`) of a running vigil in the namespace lab: only the difference
// changes. The kernel's address events (ip monitor) and a tight `ip addr` poll show the untouched
// VIPs are never absent; the wire shows adverts never pause and no priority-0 advert but the
// removed instance's; the log shows no transition but the added and removed instances'.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Io } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import type { StatusResult } from '../../src/cli/status.js';
import { createLab } from '../lab/netns.js';
import { sleep, waitFor } from '../lab/wait.js';
import { vrrpAdverts } from '../lab/wire/select.js';
import { holds, reportOnFailure, vigilLog } from '../helpers/vigil-lab.js';
import { repoRoot } from '../helpers/paths.js';

const NET = '192.168.77';

function io(): Io & { stdout: string; stderr: string } {
  const o = { stdout: '', stderr: '', color: false, out(s: string) { o.stdout += s; }, err(s: string) { o.stderr += s; } };
  return o;
}

function instance(name: string, vrid: number, prio: number, vips: number[]): string {
  return `vrrp_instance ${name} {\n interface eth0\n virtual_router_id ${vrid}\n priority ${prio}\n advert_int 1\n virtual_ipaddress {\n${vips.map((v) => `  ${NET}.${v}/24\n`).join('')} }\n}\n`;
}

async function status(sock: string): Promise<StatusResult> {
  const o = io();
  await main(['status', '--socket', sock, '--json'], o);
  return JSON.parse(o.stdout) as StatusResult;
}

t.test('reload applies only the difference; a broken configuration changes nothing', async (t) => {
  const lab = await createLab(t, { nodes: ['dir1'] });
  reportOnFailure(t, lab);
  const dir = lab.folder('v');
  const conf = join(dir, 'keepalived.conf');
  const sock = join(dir, 'vigil.sock');
  writeFileSync(conf, instance('VI_1', 51, 150, [100, 101]) + instance('VI_2', 52, 120, [110]) + instance('VI_3', 53, 120, [120]));
  const cap = await lab.capture('sw', 'br0', { filter: ['vrrp'] });
  const v = lab.spawn('dir1', [process.execPath, join(repoRoot, 'bin/vigil.js'), 'run', '-f', conf, '--socket', sock, '--metrics-listen', '192.168.77.10:9650', '--log-format', 'json'], { name: 'vigil-dir1' });
  for (const a of [100, 101, 110, 120]) await waitFor(() => holds(lab, 'dir1', `${NET}.${a}`), { desc: `.${a} held`, timeoutMs: 10000, intervalMs: 100 });
  const before = await status(sock);

  // Watch the kernel: every address event, and a tight poll of the untouched VIPs.
  const monitor = lab.spawn('dir1', ['ip', '-o', 'monitor', 'address'], { name: 'ip-monitor' });
  const poll = lab.spawn('dir1', ['sh', '-c', `while :; do a=$(ip -o -4 addr show dev eth0); echo "$(echo "$a" | grep -c ' ${NET}.100/') $(echo "$a" | grep -c ' ${NET}.110/')"; done`], { name: 'ip-poll' });
  await sleep(500);

  // VI_1: priority 150 → 160, .101 out, .102 in (.100 stays); VI_2 untouched; VI_3 removed; VI_4 added.
  writeFileSync(conf, instance('VI_1', 51, 160, [100, 102]) + instance('VI_2', 52, 120, [110]) + instance('VI_4', 54, 120, [130]));
  const reloadAt = Date.now();
  v.signal('SIGHUP');
  await waitFor(async () => (await holds(lab, 'dir1', `${NET}.102`)) && !(await holds(lab, 'dir1', `${NET}.101`)) && !(await holds(lab, 'dir1', `${NET}.120`)), {
    desc: '.102 added, .101 and .120 removed',
    timeoutMs: 3000,
    intervalMs: 20,
  });
  const deltaMs = Date.now() - reloadAt;
  await waitFor(() => holds(lab, 'dir1', `${NET}.130`), { desc: 'the added VI_4 becomes MASTER', timeoutMs: 8000, intervalMs: 100 });
  await sleep(1500);
  await Promise.all([monitor.stop(), poll.stop()]);
  t.ok(deltaMs < 1000, `VIP delta applied ${deltaMs} ms after SIGHUP`);

  const events = monitor.stdout().split('\n').filter(Boolean);
  const deleted = (a: number) => events.filter((l) => l.startsWith('Deleted') && l.includes(` ${NET}.${a}/`));
  t.same(deleted(100), [], 'the kept VIP of the changed instance was never deleted');
  t.same(deleted(110), [], 'the untouched instance’s VIP was never deleted');
  t.equal(deleted(101).length, 1, '.101 deleted once');
  t.equal(deleted(120).length, 1, '.120 (removed instance) deleted once');
  t.ok(events.some((l) => !l.startsWith('Deleted') && l.includes(` ${NET}.102/`)), '.102 added');
  const samples = poll.stdout().split('\n').filter((l) => /^\d \d$/.test(l));
  t.ok(samples.length > 100, `${samples.length} ip addr samples during the reload`);
  t.same(samples.filter((s) => s !== '1 1'), [], '.100 and .110 present in every sample');

  const st = await status(sock);
  const vi1 = st.vrrp.find((x) => x.name === 'VI_1')!;
  t.match(vi1, { state: 'MASTER', priority: 160, basePriority: 160 });
  t.same(vi1.lastTransition, before.vrrp.find((x) => x.name === 'VI_1')!.lastTransition, 'VI_1: no transition');
  t.same(st.vrrp.find((x) => x.name === 'VI_2')!.lastTransition, before.vrrp.find((x) => x.name === 'VI_2')!.lastTransition, 'VI_2: no transition');
  t.same(st.vrrp.map((x) => x.name).sort(), ['VI_1', 'VI_2', 'VI_4']);
  t.match(st.reloads, { ok: 1, failed: 0, last: { ok: true } });

  const log = await vigilLog(v);
  const after = log.filter((l) => l.op === 'vrrp.transition' && Number(l.time) >= reloadAt).map((l) => `${String(l.instance)}→${String(l.to)}`);
  t.same(after, ['VI_3→INIT', 'VI_4→BACKUP', 'VI_4→MASTER'], 'transitions only for the removed and the added instance');
  t.ok(log.some((l) => l.op === 'reload' && l.ok === true), 'reload logged');

  // `vigil reload`: one more change, printed.
  writeFileSync(conf, instance('VI_1', 51, 160, [100, 102]) + instance('VI_2', 52, 120, [110, 111]) + instance('VI_4', 54, 120, [130]));
  const r = io();
  t.equal(await main(['reload', '--socket', sock], r), 0, 'vigil reload: exit 0');
  t.match(r.stdout, /^reloaded .*keepalived\.conf in \d+ ms\n  vrrp: unchanged VI_1, VI_4; updated VI_2\n    VI_2 updated in place: virtual_ipaddress \+192\.168\.77\.111\/24\n/);
  await waitFor(() => holds(lab, 'dir1', `${NET}.111`), { desc: '.111 added', timeoutMs: 2000, intervalMs: 20 });

  // A broken configuration: nothing changes; `vigil reload` prints why and exits 5; SIGHUP logs it.
  writeFileSync(conf, instance('VI_1', 51, 160, [100, 102]).replace(' priority 160', ' priorty 160') + instance('VI_2', 52, 120, [110]));
  const b = io();
  t.equal(await main(['reload', '--socket', sock], b), 5, 'vigil reload: exit 5 on config errors');
  t.match(b.stderr, /keepalived\.conf:4:2: error: unknown keyword 'priorty' in 'vrrp_instance' \(did you mean 'priority'\?\)/);
  t.match(b.stderr, /the daemon keeps running the previous configuration/);
  const hupAt = Date.now();
  v.signal('SIGHUP');
  await waitFor(async () => (await vigilLog(v)).some((l) => l.op === 'reload' && l.ok === false && Number(l.time) >= hupAt), { desc: 'SIGHUP reload failure logged', timeoutMs: 3000 });
  const failLine = (await vigilLog(v)).filter((l) => l.op === 'reload' && l.ok === false).at(-1)!;
  t.match(String(failLine.msg), /reload failed: .*1 error\(s\); still running the previous configuration:\n.*keepalived\.conf:4:2: error: unknown keyword 'priorty'/);
  const st2 = await status(sock);
  t.same(st2.vrrp.map((x) => [x.name, x.state, x.priority]).sort(), [['VI_1', 'MASTER', 160], ['VI_2', 'MASTER', 120], ['VI_4', 'MASTER', 120]], 'nothing changed');
  for (const a of [100, 102, 110, 111, 130]) t.ok(await holds(lab, 'dir1', `${NET}.${a}`), `.${a} still held`);
  t.match(st2.reloads, { ok: 2, failed: 2, last: { ok: false } });
  const metrics = await lab.execOk('dir1', ['curl', '-s', 'http://192.168.77.10:9650/metrics']);
  t.match(metrics, /vigil_reloads_total\{result="ok"\} 2\n/);
  t.match(metrics, /vigil_reloads_total\{result="failed"\} 2\n/);

  // The wire: adverts of the kept instances never paused, never priority 0; only VI_3 said goodbye.
  v.signal('SIGTERM');
  await v.exited;
  const ads = vrrpAdverts(await cap.packets());
  for (const vrid of [51, 52]) {
    const mine = ads.filter((a) => a.vrrp.vrid === vrid && a.vrrp.priority > 0);
    const gaps = mine.slice(1).map((a, i) => a.tsMs - mine[i]!.tsMs);
    t.ok(Math.max(...gaps) < 1100, `VRID ${vrid}: ${mine.length} adverts, longest gap ${Math.round(Math.max(...gaps))} ms`);
    t.equal(ads.filter((a) => a.vrrp.vrid === vrid && a.vrrp.priority === 0 && a.tsMs < mine.at(-1)!.tsMs).length, 0, `VRID ${vrid}: no priority-0 advert before the final stop`);
  }
  t.equal(ads.filter((a) => a.vrrp.vrid === 53 && a.vrrp.priority === 0).length, 1, 'VI_3: one priority-0 advert when removed');
  const vi1After = ads.filter((a) => a.vrrp.vrid === 51 && a.tsMs > reloadAt && a.vrrp.priority > 0);
  t.ok(vi1After.length >= 2 && vi1After.every((a) => a.vrrp.priority === 160), 'VI_1 advertises priority 160 after the reload');
  t.same(vi1After.at(-1)!.vrrp.addresses, [`${NET}.100`, `${NET}.102`], "VI_1's advert carries the new address list");
});
