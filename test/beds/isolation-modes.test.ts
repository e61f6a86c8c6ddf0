// The two modes bench:isolation runs the daemon in, each a real short run in the namespace lab,
// so they cannot rot: the host kernel has no IPVS, so the checker child refuses to start unless
// VIGIL_IPVS=memory (checks for real, the table in memory, logged loudly); and --single-process
// (VIGIL_SINGLE_PROCESS=1) runs the VRRP engine and the checker in the supervisor's process, with
// adverts on the wire, verdicts in `vigil status`, and a graceful stop.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { Io } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { createLab } from '../lab/netns.js';
import { exec } from '../lab/exec.js';
import { sleep, waitFor } from '../lab/wait.js';
import { vrrpAdverts } from '../lab/wire/select.js';
import { holds, reportOnFailure, vigilLog } from '../helpers/vigil-lab.js';
import { repoRoot } from '../helpers/paths.js';

const VIP = '192.168.77.100';
const VRID = 52;
const UP = 18080;
const DOWN = 18081; // nothing listens here

const conf = `global_defs {
  vrrp_version 3
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id ${VRID}
  priority 150
  advert_int 0.1
  virtual_ipaddress {
    ${VIP}/24
  }
}
virtual_server 10.0.0.1 80 {
  delay_loop 0.2
  lvs_sched rr
  lvs_method NAT
  protocol TCP
${[UP, DOWN]
  .map(
    (p) => `  real_server 127.0.0.1 ${p} {
    weight 1
    TCP_CHECK {
      connect_port ${p}
      connect_timeout 1
      retry 0
    }
  }`,
  )
  .join('\n')}
}
`;

interface Status {
  children: { kind: string; state: string; pid?: number; inProcess?: boolean }[];
  vrrp: { name: string; state: string }[];
  checker?: { virtualServers: { realServers: { rs: string; up: boolean; installed?: number }[] }[] };
}

async function status(sock: string): Promise<Status> {
  const o = { stdout: '', color: false, out(s: string) { o.stdout += s; }, err() {} } as Io & { stdout: string };
  await main(['status', '--socket', sock, '--json'], o);
  return JSON.parse(o.stdout) as Status;
}

/** One lab node with a TCP server on 127.0.0.1:UP and vigil started with `env` and `args`. */
async function start(t: Test, env: NodeJS.ProcessEnv, args: string[] = []) {
  const lab = await createLab(t, { nodes: ['dir1'] });
  reportOnFailure(t, lab);
  const dir = lab.folder('v');
  const file = join(dir, 'keepalived.conf');
  writeFileSync(file, conf);
  const sock = join(dir, 'vigil.sock');
  lab.spawn('dir1', [process.execPath, '-e', `require('node:net').createServer((s) => s.end()).listen(${UP}, '127.0.0.1')`], { name: 'rs' });
  await waitFor(async () => (await lab.exec('dir1', ['ss', '-ltnH', `sport = :${UP}`])).stdout.includes(`:${UP}`), { desc: 'real server listening', timeoutMs: 5000, intervalMs: 50 });
  const cap = await lab.capture('sw', 'br0', { filter: ['vrrp'] });
  const v = lab.spawn('dir1', [process.execPath, join(repoRoot, 'bin/vigil.js'), 'run', '-f', file, '--socket', sock, '--log-format', 'json', ...args], {
    name: 'vigil-dir1',
    env: { ...process.env, ...env },
  });
  return { lab, sock, cap, v };
}

/** Waits until the checker reports the up server up and installed, and the down one down. */
async function verdicts(sock: string): Promise<void> {
  await waitFor(
    async () => {
      const rs = (await status(sock)).checker?.virtualServers[0]?.realServers ?? [];
      return rs.find((r) => r.rs.endsWith(`:${UP}`))?.installed === 1 && rs.find((r) => r.rs.endsWith(`:${DOWN}`))?.up === false;
    },
    { desc: 'checker verdicts in status', timeoutMs: 10000, intervalMs: 200 },
  );
}

/** Processes whose parent is `pid`. */
async function childrenOf(pid: number): Promise<string[]> {
  const r = await exec(null, ['ps', '-o', 'pid=,comm=', '--ppid', String(pid)]);
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}

t.test('no IPVS in the kernel: the checker child does not start, and says what to do', async (t) => {
  const { v } = await start(t, { VIGIL_IPVS: '' });
  const exit = await Promise.race([v.exited, sleep(20000).then(() => undefined)]);
  t.same(exit, { code: 1, signal: null }, 'vigil run exits 1');
  t.match(v.stderr(), /this kernel has no IPVS.*VIGIL_IPVS=memory/, 'the message names the missing family and the benchmark setting');
});

t.test('VIGIL_IPVS=memory: real checks, an in-memory table, logged loudly; the engines in child processes', async (t) => {
  const { lab, sock, v } = await start(t, { VIGIL_IPVS: 'memory' });
  await waitFor(() => holds(lab, 'dir1', VIP), { desc: 'master', timeoutMs: 10000, intervalMs: 100 });
  await verdicts(sock);
  const st = await status(sock);
  t.match(st.children, [{ kind: 'vrrp', state: 'running' }, { kind: 'checker', state: 'running' }]);
  for (const c of st.children) {
    t.not(c.pid, v.pid, `${c.kind} runs in a child process`);
    t.notOk(c.inProcess, `${c.kind} is not in-process`);
  }
  t.ok((await vigilLog(v)).some((l) => l.level === 40 && l.VIGIL_IPVS === 'memory' && /IN MEMORY ONLY/.test(String(l.msg))), 'a warning says the kernel is not programmed');
});

t.test('--single-process: both engines in the supervisor, adverts at 0.1 s, verdicts, graceful stop', async (t) => {
  const { lab, sock, cap, v } = await start(t, { VIGIL_IPVS: 'memory' }, ['--single-process']);
  await waitFor(() => holds(lab, 'dir1', VIP), { desc: 'master', timeoutMs: 10000, intervalMs: 100 });
  await verdicts(sock);
  const st = await status(sock);
  t.match(st.children, [
    { kind: 'vrrp', state: 'running', pid: v.pid, inProcess: true },
    { kind: 'checker', state: 'running', pid: v.pid, inProcess: true },
  ]);
  t.match(st.vrrp, [{ name: 'VI_1', state: 'MASTER' }]);
  t.same(await childrenOf(v.pid), [], 'the supervisor has no child process');
  t.ok((await vigilLog(v)).some((l) => l.level === 40 && l.singleProcess === true && /SINGLE-PROCESS MODE/.test(String(l.msg))), 'a warning names the mode');
  await sleep(1000);
  v.signal('SIGTERM');
  t.same(await v.exited, { code: 0, signal: null }, 'SIGTERM: exit 0');
  const ads = vrrpAdverts(await cap.packets(), VRID);
  t.ok(ads.some((a) => a.vrrp.priority === 0), 'a priority-0 advert on stop');
  const live = ads.filter((a) => a.vrrp.priority === 150);
  const gaps = live.slice(1).map((a, i) => a.tsMs - live[i]!.tsMs);
  gaps.sort((a, b) => a - b);
  t.ok(live.length >= 10, `${live.length} adverts at priority 150`);
  t.ok(Math.abs(gaps[Math.floor(gaps.length / 2)]! - 100) < 10, `median interval ${gaps[Math.floor(gaps.length / 2)]?.toFixed(1)} ms (0.1 s adverts)`);
  t.notOk(await holds(lab, 'dir1', VIP), 'the VIP is released');
});
