// The control socket and `vigil status` against a running daemon in the namespace lab.
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import type { Io } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { createLab } from '../lab/netns.js';
import { waitFor } from '../lab/wait.js';
import { holds, reportOnFailure } from '../helpers/vigil-lab.js';
import { statSync, writeFileSync } from 'node:fs';
import { repoRoot } from '../helpers/paths.js';

const VIP = '192.168.77.100';

function io(): Io & { stdout: string; stderr: string } {
  const o = { stdout: '', stderr: '', color: false, out(s: string) { o.stdout += s; }, err(s: string) { o.stderr += s; } };
  return o;
}

/** Sends raw bytes to the socket and returns what came back before it closed (or `waitMs`). */
function raw(path: string, data: string | Buffer, waitMs = 7000): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect(path);
    let got = '';
    const done = () => resolve(got);
    c.on('data', (d) => (got += d.toString()));
    c.on('close', done);
    c.on('error', done);
    c.on('connect', () => {
      if (data.length) c.write(data);
    });
    setTimeout(() => {
      c.destroy();
      done();
    }, waitMs);
  });
}

t.test('vigil status (text, JSON, filters, exit codes), metrics, and a control socket that survives bad clients', async (t) => {
  const lab = await createLab(t, { nodes: ['dir1'] });
  reportOnFailure(t, lab);
  await lab.execOk('dir1', ['ip', 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up0p']);
  await lab.execOk('dir1', ['ip', 'link', 'set', 'up0p', 'up']);
  await lab.execOk('dir1', ['ip', 'link', 'set', 'up0', 'up']);
  const sock = lab.path('run', 'vigil.sock');
  const conf = lab.path('k.conf');
  writeFileSync(
    conf,
    [
      'vrrp_instance VI_1 {\n state BACKUP\n interface eth0\n virtual_router_id 51\n priority 150\n advert_int 1\n track_interface {\n  up0\n }\n virtual_ipaddress {\n  192.168.77.100/24\n }\n}',
      'vrrp_instance VI_2 {\n state BACKUP\n interface eth0\n virtual_router_id 52\n priority 120\n advert_int 1\n virtual_ipaddress {\n  192.168.77.101/24\n }\n}',
    ].join('\n'),
  );
  const v = lab.spawn('dir1', [process.execPath, join(repoRoot, 'bin/vigil.js'), 'run', '-f', conf, '--socket', sock, '--metrics-listen', '192.168.77.10:9650', '--log-format', 'json'], { name: 'vigil-dir1' });
  await waitFor(() => holds(lab, 'dir1', VIP), { desc: 'master', timeoutMs: 10000, intervalMs: 100 });
  await waitFor(() => holds(lab, 'dir1', '192.168.77.101'), { desc: 'VI_2 master', timeoutMs: 5000, intervalMs: 100 });

  const a = io();
  t.equal(await main(['status', '--socket', sock], a), 0, 'exit 0 when all instances are MASTER/BACKUP');
  t.match(a.stdout, /VI_1\s+MASTER\s+150\s+eth0\/51\s+192\.168\.77\.10\s+\d+s\s+BACKUP→MASTER: no advert from the master/);
  t.match(a.stdout, /VI_1: adverts sent \d+, received 0/);

  const b = io();
  t.equal(await main(['status', '--socket', sock, '--json', '--instance', 'VI_2'], b), 0);
  const st = JSON.parse(b.stdout) as { pid: number; vrrp: { name: string; state: string; vrid: number; lastTransition: { to: string } }[] };
  t.same(st.vrrp.map((x) => [x.name, x.state, x.vrid]), [['VI_2', 'MASTER', 52]], '--instance filters');
  t.equal(st.pid, v.pid, 'the daemon answers with its pid');

  await lab.execOk('dir1', ['ip', 'link', 'set', 'up0', 'down']);
  await waitFor(async () => (await main(['status', '--socket', sock], io())) === 1, { desc: 'exit 1 once VI_1 is in FAULT', timeoutMs: 5000, intervalMs: 100 });
  const c = io();
  await main(['status', '--socket', sock], c);
  t.match(c.stdout, /VI_1\s+FAULT .*MASTER→FAULT: fault: interface up0 is down/, 'FAULT and its reason on the screen');

  const metrics = await lab.execOk('dir1', ['curl', '-s', 'http://192.168.77.10:9650/metrics']);
  t.match(metrics, /vigil_vrrp_state\{instance="VI_1",state="FAULT"\} 1/, 'state gauge');
  t.match(metrics, /vigil_vrrp_state\{instance="VI_2",state="MASTER"\} 1/);
  t.match(metrics, /vigil_vrrp_transitions_total\{instance="VI_1",to="FAULT"\} 1/, 'transitions by state');
  t.match(metrics, /vigil_vrrp_priority\{instance="VI_1",kind="base"\} 150/, 'priorities');
  t.match(metrics, /vigil_vrrp_adverts_sent_total\{instance="VI_2"\} [1-9]/, 'adverts sent');
  t.match(metrics, /vigil_process_resident_memory_bytes/, 'process metrics');
  t.match(await lab.execOk('dir1', ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://192.168.77.10:9650/nope']), /404/);

  // Bad clients: malformed, unknown method, too large, too slow — each gets an error, the daemon stays.
  t.match(await raw(sock, 'not json\n', 1000), /"code":"bad-request"/);
  t.match(await raw(sock, '{"id":7,"method":"reboot"}\n', 1000), /"id":7,"error":\{"code":"unknown-method"/);
  t.match(await raw(sock, Buffer.alloc(200_000, 'x'), 2000), /"code":"request-too-large"/);
  t.match(await raw(sock, '{"id":1,"meth', 7000), /"code":"timeout"/);
  t.equal(await main(['status', '--socket', sock], io()), 1, 'still answering after bad clients');
  t.ok(v.running, 'daemon still running');

  // Root only: the socket is 0600 in a 0700 folder.
  t.equal(statSync(sock).mode & 0o777, 0o600, 'socket mode 0600');
  const probe = `require('net').connect(${JSON.stringify(sock)}).on('connect',()=>{console.log('connected');process.exit(0)}).on('error',e=>{console.log(e.code);process.exit(0)})`;
  // cwd '/' and a clean environment: the checkout (and tap's loaders in NODE_OPTIONS) may not be
  // readable by nobody, e.g. a CI clone in a 0700 folder.
  // tap's process tracking injects its loader through NODE_OPTIONS into every child; drop it.
  const asNobody = spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, '-e', probe], { uid: 65534, gid: 65534, cwd: '/', encoding: 'utf8' });
  t.match(asNobody.stdout.trim(), /EACCES|ENOENT/, `a non-root user cannot connect (${asNobody.stdout.trim()}${asNobody.stderr.trim()})`);

  v.signal('SIGTERM');
  await v.exited;
  const d = io();
  t.equal(await main(['status', '--socket', sock], d), 3, 'exit 3 when the daemon is not running');
  t.match(d.stderr, /cannot reach vigil/);
});
