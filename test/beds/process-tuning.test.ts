// keepalived's process keywords on real children, read back from the kernel: vrrp_rt_priority puts
// the VRRP child's main thread in SCHED_RR (with SCHED_RESET_ON_FORK) and RLIMIT_RTTIME (soft half,
// hard the limit), vrrp_no_swap is refused with a warning (V8 aborts under mlockall), the
// *_cpu_affinity keywords pin the main threads, checker_priority renices the checker child;
// vrrp_priority is not applied beside a realtime priority (keepalived). A reload that drops them
// puts SCHED_OTHER and munlockall back, and a new nice takes effect.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Io } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { createLab } from '../lab/netns.js';
import { exec } from '../lab/exec.js';
import { waitFor } from '../lab/wait.js';
import { reportOnFailure, vigilLog } from '../helpers/vigil-lab.js';
import { repoRoot } from '../helpers/paths.js';

function conf(globals: string): string {
  return `global_defs {
  vrrp_version 3
${globals}
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 53
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.168.77.100/24
  }
}
virtual_server 10.0.0.1 80 {
  delay_loop 1
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server 127.0.0.1 18090 {
    TCP_CHECK {
      connect_timeout 1
    }
  }
}
`;
}

function io(): Io & { stdout: string } {
  const o = { stdout: '', color: false, out(s: string) { o.stdout += s; }, err() {} } as Io & { stdout: string };
  return o;
}

async function childPids(sock: string): Promise<Record<string, number>> {
  const o = io();
  await main(['status', '--socket', sock, '--json'], o);
  const st = JSON.parse(o.stdout) as { children: { kind: string; pid?: number; state: string }[] };
  return Object.fromEntries(st.children.filter((c) => c.state === 'running' && c.pid).map((c) => [c.kind, c.pid!]));
}

/** Scheduling of one thread from /proc (stat fields 19 nice, 40 rt_priority, 41 policy). */
function sched(pid: number, tid = pid): { nice: number; rtPriority: number; policy: number } {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { nice: Number(f[16]), rtPriority: Number(f[37]), policy: Number(f[38]) };
}

function vmLckKb(pid: number): number {
  return Number(/VmLck:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}

/** Cpus_allowed_list of one thread (default the main thread). */
function cpusOf(pid: number, tid = pid): string {
  return /Cpus_allowed_list:\s+(\S+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))?.[1] ?? '?';
}

function rttimeLimit(pid: number): string {
  return (/Max realtime timeout\s+(\S+)\s+(\S+)/.exec(readFileSync(`/proc/${pid}/limits`, 'utf8')) ?? []).slice(1, 3).join(' ');
}

t.test('vrrp_rt_priority / vrrp_no_swap / checker_priority on the children, and back on reload', async (t) => {
  const lab = await createLab(t, { nodes: ['dir1'] });
  reportOnFailure(t, lab);
  const dir = lab.folder('v');
  const file = join(dir, 'keepalived.conf');
  const sock = join(dir, 'vigil.sock');
  // the VRRP child on the last CPU, the checker on the first (one CPU: both on 0)
  const last = os.cpus().length - 1;
  const allCpus = [cpusOf(process.pid)];
  writeFileSync(file, conf(`  vrrp_rt_priority 10\n  vrrp_rlimit_rttime 200000\n  vrrp_no_swap\n  vrrp_priority -5\n  checker_priority 5\n  vrrp_cpu_affinity ${last}\n  checker_cpu_affinity 0`));
  const v = lab.spawn('dir1', [process.execPath, join(repoRoot, 'bin/vigil.js'), 'run', '-f', file, '--socket', sock, '--log-format', 'json'], {
    name: 'vigil-dir1',
    env: { ...process.env, VIGIL_IPVS: 'memory' },
  });
  let pids: Record<string, number> = {};
  await waitFor(async () => {
    if (!v.running) throw new Error(`vigil exited: ${v.stderr()}`);
    pids = await childPids(sock).catch(() => ({}));
    return pids['vrrp'] !== undefined && pids['checker'] !== undefined && (await vigilLog(v)).filter((l) => l.op === 'process.tuning').length >= 6;
  }, { desc: 'both children started and tuned', timeoutMs: 20000, intervalMs: 200 });
  const vrrp = pids['vrrp']!;
  const checker = pids['checker']!;

  t.same(sched(vrrp), { nice: 0, rtPriority: 10, policy: 2 }, 'VRRP child main thread: SCHED_RR 10, nice untouched (realtime wins, as keepalived)');
  const chrt = (await exec(null, ['chrt', '-p', String(vrrp)])).stdout;
  t.match(chrt, /policy: SCHED_RR\|SCHED_RESET_ON_FORK/, 'chrt: SCHED_RR with reset-on-fork (scripts are not realtime)');
  t.match(chrt, /priority: 10/);
  t.equal(rttimeLimit(vrrp), '100000 200000', 'RLIMIT_RTTIME soft half, hard vrrp_rlimit_rttime (µs)');
  t.equal(vmLckKb(vrrp), 0, 'vrrp_no_swap not applied: nothing locked');
  t.match((await vigilLog(v)).filter((l) => l.op === 'process.tuning').map((l) => String(l.msg)).join('\n'), /vrrp child: cannot apply vrrp_no_swap .*V8 aborts.*; running on without it/, 'and a warning says why');
  const threads = readdirSync(`/proc/${vrrp}/task`).map(Number).filter((x) => x !== vrrp);
  t.ok(threads.length > 0 && threads.every((tid) => sched(vrrp, tid).policy === 0), `only the main thread is realtime (${threads.length} other threads SCHED_OTHER)`);
  t.same(sched(checker), { nice: 5, rtPriority: 0, policy: 0 }, 'checker child: nice 5, SCHED_OTHER');
  t.equal(cpusOf(vrrp), String(last), `VRRP child's main thread on CPU ${last} (vrrp_cpu_affinity)`);
  t.equal(cpusOf(checker), '0', "checker child's main thread on CPU 0 (checker_cpu_affinity)");
  // V8's and libuv's threads keep every CPU: pinned beside a realtime main thread they starve
  const helpers = readdirSync(`/proc/${vrrp}/task`).map(Number).filter((x) => x !== vrrp);
  t.ok(helpers.length > 0 && helpers.every((tid) => cpusOf(vrrp, tid) === allCpus.join()), `the VRRP child's ${helpers.length} other threads keep CPUs ${allCpus.join()}`);
  t.equal(vmLckKb(checker), 0, 'checker child not locked');
  const tuned = (await vigilLog(v)).filter((l) => l.op === 'process.tuning').map((l) => String(l.msg));
  t.match(tuned.join('\n'), /vrrp child: SCHED_RR priority 10 \(vrrp_rt_priority\)/);
  t.match(tuned.join('\n'), /checker child: nice 5 \(checker_priority\)/);

  // reload: realtime and no_swap dropped, vrrp_priority now applies, checker_priority changed
  writeFileSync(file, conf('  vrrp_priority -5\n  checker_priority 3'));
  t.equal(await main(['reload', '--socket', sock], io()), 0, 'reload ok');
  await waitFor(() => sched(vrrp).policy === 0 && sched(checker).nice === 3 && cpusOf(checker) === allCpus.join(), { desc: 'reload applied', timeoutMs: 10000, intervalMs: 100 });
  t.equal(cpusOf(vrrp), allCpus.join(), `VRRP child back on the CPUs it had (${allCpus.join()})`);
  t.equal(cpusOf(checker), allCpus.join(), 'checker child too');
  t.same(sched(vrrp), { nice: -5, rtPriority: 0, policy: 0 }, 'VRRP child back to SCHED_OTHER, nice -5');
  t.equal(vmLckKb(vrrp), 0, 'VRRP child still not locked');
  t.same(sched(checker), { nice: 3, rtPriority: 0, policy: 0 }, 'checker child nice 3');
});
