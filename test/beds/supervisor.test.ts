// The supervisor process model in the namespace lab: keepalived's command line, pid files, a VRRP
// child killed and restarted, a hung child, the SIGUSR1/SIGUSR2 dumps, a graceful SIGTERM seen on
// the wire, and a child that never outlives its supervisor.
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Io } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { availableKinds } from '../../src/daemon/child-engine.js';
import type { StatusResult } from '../../src/cli/status.js';
import { createLab } from '../lab/netns.js';
import { pidAlive } from '../lab/pids.js';
import { sleep, waitFor } from '../lab/wait.js';
import { vrrpAdverts } from '../lab/wire/select.js';
import { holds, reportOnFailure, vigilLog } from '../helpers/vigil-lab.js';
import { repoRoot } from '../helpers/paths.js';

const VIP = '192.168.77.100';
const VRID = 51;

function io(): Io & { stdout: string; stderr: string } {
  const o = { stdout: '', stderr: '', color: false, out(s: string) { o.stdout += s; }, err(s: string) { o.stderr += s; } };
  return o;
}

async function status(sock: string): Promise<StatusResult & { children: { kind: string; state: string; pid?: number; restarts: number; lastExit?: { reason: string } }[] }> {
  const o = io();
  await main(['status', '--socket', sock, '--json'], o);
  return JSON.parse(o.stdout) as never;
}

t.test('vigil with keepalived flags: pid files, child restart, hung child, dumps, graceful stop', async (t) => {
  const lab = await createLab(t, { nodes: ['dir1'] });
  reportOnFailure(t, lab);
  const dir = lab.folder('v');
  const conf = join(dir, 'keepalived.conf');
  writeFileSync(conf, `vrrp_instance VI_1 {\n state BACKUP\n interface eth0\n virtual_router_id ${VRID}\n priority 150\n advert_int 1\n virtual_ipaddress {\n  ${VIP}/24\n }\n}\n`);
  const sock = join(dir, 'vigil.sock');
  const [pidFile, vrrpPid, dataFile, statsFile] = ['k.pid', 'vrrp.pid', 'keepalived.data', 'keepalived.stats'].map((f) => join(dir, f)) as [string, string, string, string];
  const cap = await lab.capture('sw', 'br0', { filter: ['vrrp'] });
  // keepalived's spelling: options and no command.
  const v = lab.spawn('dir1', [process.execPath, join(repoRoot, 'bin/vigil.js'), '-D', '-n', '-l', '-f', conf, '-p', pidFile, '-r', vrrpPid, '--socket', sock, '--data-file', dataFile, '--stats-file', statsFile, '--metrics-listen', '192.168.77.10:9650', '--log-format', 'json'], { name: 'vigil-dir1' });
  await waitFor(() => holds(lab, 'dir1', VIP), { desc: 'master', timeoutMs: 10000, intervalMs: 100 });

  t.equal(readFileSync(pidFile, 'utf8'), `${v.pid}\n`, '-p: the supervisor pid');
  let st = await status(sock);
  const child1 = st.children[0]!.pid!;
  t.match(st.children, [{ kind: 'vrrp', state: 'running', restarts: 0 }]);
  t.not(child1, v.pid, 'the VRRP engine runs in a child process');
  t.equal(readFileSync(vrrpPid, 'utf8'), `${child1}\n`, '-r: the VRRP child pid');
  t.ok((await vigilLog(v)).some((l) => l.op === 'settings' && l.level === 20), '-D: debug lines are logged');

  // A hung child: status says so within its timeout instead of hanging, and exits 1.
  process.kill(child1, 'SIGSTOP');
  const t0 = performance.now();
  const hung = io();
  t.equal(await main(['status', '--socket', sock], hung), 1, 'exit 1 while the VRRP child does not answer');
  t.ok(performance.now() - t0 < 4000, `answered in ${Math.round(performance.now() - t0)} ms`);
  t.match(hung.stdout, /vrrp\s+unresponsive .*did not answer 'status' within 2000 ms/);
  process.kill(child1, 'SIGCONT');

  // kill -9 of the VRRP child: restarted after 1 s, the restart counted, the VIP back.
  process.kill(child1, 'SIGKILL');
  await waitFor(async () => (await status(sock)).children[0]!.state === 'restarting', { desc: 'restarting', timeoutMs: 2000, intervalMs: 20 });
  st = await waitFor(async () => {
    const s = await status(sock);
    return s.children[0]!.state === 'running' && s.vrrp[0]?.state === 'MASTER' ? s : undefined;
  }, { desc: 'restarted child is MASTER again', timeoutMs: 12000, intervalMs: 100 });
  t.match(st.children, [{ kind: 'vrrp', state: 'running', restarts: 1, lastExit: { reason: 'killed by SIGKILL' } }]);
  const child2 = st.children[0]!.pid!;
  t.not(child2, child1);
  t.ok(await holds(lab, 'dir1', VIP), 'the VIP is back');
  t.equal(readFileSync(vrrpPid, 'utf8'), `${child2}\n`, 'the pid file follows the restart');
  const text = io();
  await main(['status', '--socket', sock], text);
  t.match(text.stdout, /vrrp\s+running\s+pid \d+, restarts 1, last exit .*: killed by SIGKILL/);
  const exitLine = (await vigilLog(v)).find((l) => l.op === 'child.exit' && l.restartInMs !== undefined);
  t.equal(exitLine?.restartInMs, 1000, 'first restart after 1 s');
  const metrics = await lab.execOk('dir1', ['curl', '-s', 'http://192.168.77.10:9650/metrics']);
  t.match(metrics, /vigil_child_restarts_total\{child="vrrp"\} 1\n/, 'restarts in the metrics');
  t.match(metrics, /vigil_child_up\{child="vrrp",state="running"\} 1\n/);
  t.match(metrics, /vigil_vrrp_state\{instance="VI_1",state="MASTER"\} 1\n/, "the VRRP child's metrics through the supervisor");

  // SIGUSR1 / SIGUSR2: keepalived's data and stats files.
  v.signal('SIGUSR1');
  await waitFor(() => existsSync(dataFile), { desc: 'data dump', timeoutMs: 3000 });
  const data = readFileSync(dataFile, 'utf8');
  t.match(data, /^------< vigil \S+ data dump, pid \d+, .*keepalived\.data layout/);
  t.match(data, /------< VRRP Topology >------\n VRRP Instance = VI_1\n   VRRP Version = 2\n   State = MASTER\n/);
  t.match(data, new RegExp(`     ${VIP.replaceAll('.', '\\.')}/24 dev eth0 scope global set`));
  v.signal('SIGUSR2');
  await waitFor(() => existsSync(statsFile), { desc: 'stats dump', timeoutMs: 3000 });
  t.match(readFileSync(statsFile, 'utf8'), /VRRP Instance: VI_1\n  Advertisements:\n    Received: 0\n    Sent: \d+\n  Became master: 1\n/);
  t.ok(v.running, 'the signals did not stop vigil');

  // SIGTERM to the supervisor: the child sends priority 0 and releases the VIP; both exit, pid files go.
  v.signal('SIGTERM');
  t.match(await v.exited, { code: 0 }, 'exit 0');
  t.notOk(await holds(lab, 'dir1', VIP), 'VIP released');
  t.notOk(pidAlive(child2), 'VRRP child gone');
  t.notOk(existsSync(pidFile) || existsSync(vrrpPid), 'pid files removed');
  await sleep(200);
  const p0 = vrrpAdverts(await cap.packets(), VRID).filter((a) => a.vrrp.priority === 0);
  t.equal(p0.length, 1, 'one priority-0 advert on the wire');
  const log = await vigilLog(v);
  t.ok(log.some((l) => l.op === 'child.exit' && /stopped/.test(String(l.msg))), 'the supervisor saw its child stop');
});

t.test('a VRRP child never outlives its supervisor (kill -9 of the supervisor is a crash: the VIP stays)', async (t) => {
  const lab = await createLab(t, { nodes: ['dir1'] });
  reportOnFailure(t, lab);
  const conf = lab.path('k.conf');
  writeFileSync(conf, `vrrp_instance VI_1 {\n interface eth0\n virtual_router_id ${VRID}\n priority 150\n advert_int 1\n virtual_ipaddress {\n  ${VIP}/24\n }\n}\n`);
  const sock = lab.path('vigil.sock');
  const v = lab.spawn('dir1', [process.execPath, join(repoRoot, 'bin/vigil.js'), 'run', '-f', conf, '--socket', sock, '--log-format', 'json'], { name: 'vigil-dir1' });
  await waitFor(() => holds(lab, 'dir1', VIP), { desc: 'master', timeoutMs: 10000, intervalMs: 100 });
  const child = (await status(sock)).children[0]!.pid!;
  v.signal('SIGKILL');
  await v.exited;
  await waitFor(() => !pidAlive(child), { desc: 'the orphaned child exits', timeoutMs: 2000, intervalMs: 10 });
  t.pass('child gone');
  t.ok(await holds(lab, 'dir1', VIP), 'no graceful stop: the VIP stays in the kernel (as after any crash)');
  t.ok((await vigilLog(v)).some((l) => l.op === 'child.orphaned'), 'the child logged why it left');
});

t.test('vigil --signum and a checker-only start that this build cannot do', async (t) => {
  for (const [name, n] of [['STOP', '15'], ['RELOAD', '1'], ['DATA', '10'], ['STATS', '12']] as const) {
    const o = io();
    t.equal(await main([`--signum=${name}`], o), 0);
    t.equal(o.stdout, `${n}\n`, `--signum=${name}`);
  }
  if (!availableKinds().includes('checker')) {
    const c = io();
    t.equal(await main(['-C', '-f', '/nonexistent.conf'], c), 2);
    t.match(c.stderr, /the checker child is not part of this build yet/);
  }
  const x = io();
  t.equal(await main(['-D', '-X'], x), 2);
  t.match(x.stderr, /--release-vips \(-X\) is not supported/);
});
