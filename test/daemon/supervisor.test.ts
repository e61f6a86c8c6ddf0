// The supervisor with real child processes: a protocol-speaking stand-in child (fixtures/fake-child.mjs)
// for restarts, backoff, timeouts and malformed messages; the real child entry for "dies with its supervisor".
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { type Config, compileText } from '../../src/config/compile.js';
import { Supervisor, type SupervisorOptions } from '../../src/daemon/supervisor.js';
import { repoRoot } from '../helpers/paths.js';
import { pidAlive } from '../lab/pids.js';
import { sleep, waitFor } from '../lab/wait.js';

const FAKE = path.join(repoRoot, 'test/daemon/fixtures/fake-child.mjs');

function conf(...names: string[]): Config {
  const src = names.map((n, i) => `vrrp_instance ${n} {\n interface lo\n virtual_router_id ${i + 1}\n priority 100\n virtual_ipaddress {\n  192.0.2.${i + 1}/32\n }\n}\n`).join('');
  const r = compileText(src, 'k.conf');
  if (!r.config) throw new Error(r.diagnostics.map((d) => d.message).join('; '));
  return r.config;
}

type Line = { op?: string; msg?: string; time: number; restartInMs?: number; child?: string; pid?: number };

function memLog(): { log: pino.Logger; lines: Line[] } {
  const lines: Line[] = [];
  return { lines, log: pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) }) };
}

/** A supervisor over the fake child, behaving as `how` says; stopped at teardown. */
function supervise(t: Test, how: Record<string, unknown>, extra: Partial<SupervisorOptions> = {}) {
  process.env.VIGIL_FAKE_CHILD = JSON.stringify(how);
  const { log, lines } = memLog();
  const sup = new Supervisor({ kinds: ['vrrp'], config: conf('A'), childOptions: { logLevel: 'info', logFormat: 'json' }, log, entry: FAKE, execArgv: [], ...extra });
  t.teardown(() => sup.stop());
  return { sup, lines };
}

t.test('starts the child, aggregates its snapshot, stops it with SIGTERM', async (t) => {
  const { sup, lines } = supervise(t, {});
  await sup.start();
  const st = await sup.status();
  t.match(st.children, [{ kind: 'vrrp', state: 'running', restarts: 0, ipcRejected: 0 }]);
  t.match(st.sections.vrrp, { kind: 'vrrp', instances: 1 }, "the child's own snapshot under its kind");
  const pid = st.children[0]!.pid!;
  t.ok(pidAlive(pid));
  t.equal(await sup.dump('data'), 'vrrp data dump\n');
  await sup.stop();
  t.notOk(pidAlive(pid), 'child gone after stop');
  t.match((await sup.status()).children, [{ state: 'stopped', lastExit: { code: 0, signal: null } }]);
  t.ok(lines.some((l) => l.op === 'child.exit' && /stopped/.test(l.msg ?? '')));
});

t.test('the VRRP child gets the holds in force in its start message, also after a restart', async (t) => {
  let current: Record<string, { by: string; reason: string; since: number }> = {};
  const { sup } = supervise(t, { crashAfterMs: 300 }, { holds: () => current, backoff: { initialMs: 50, maxMs: 50, factor: 2, resetAfterMs: 60_000 } });
  await sup.start();
  t.same(((await sup.status()).sections.vrrp as { startHolds?: unknown }).startHolds, {}, 'no hold at the first start');
  current = { A: { by: 'alice', reason: 'maintenance', since: 1 } };
  await waitFor(async () => (await sup.status()).children[0]!.restarts >= 1 && (await sup.status()).children[0]!.state === 'running', { desc: 'restarted', timeoutMs: 5000 });
  t.same(((await sup.status()).sections.vrrp as { startHolds?: unknown }).startHolds, current, 'the restarted child started with the hold');
});

t.test('the VRRP child is sent the configuration without its virtual servers, at start and reload; the checker child all of it', async (t) => {
  const withVs = (vip: string): Config => {
    const r = compileText(`vrrp_instance A {\n interface lo\n virtual_router_id 1\n priority 100\n virtual_ipaddress {\n  ${vip}/32\n }\n}\nvirtual_server 192.0.2.80 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server 198.51.100.1 80 {\n  TCP_CHECK {\n  }\n }\n}\n`, 'k.conf');
    if (!r.config) throw new Error(r.diagnostics.map((d) => d.message).join('; '));
    return r.config;
  };
  const { sup } = supervise(t, {}, { kinds: ['vrrp', 'checker'], config: withVs('192.0.2.1') });
  await sup.start();
  const sections = async () => (await sup.status()).sections as Record<string, { virtualServers?: number; reloadedVirtualServers?: number }>;
  t.match(await sections(), { vrrp: { virtualServers: 0 }, checker: { virtualServers: 1 } }, 'start');
  await sup.reload(withVs('192.0.2.2'));
  t.match(await sections(), { vrrp: { reloadedVirtualServers: 0 }, checker: { reloadedVirtualServers: 1 } }, 'reload');
});

t.test('a crashing child is restarted after 100, 200, 400, 400 ms (policy 100 ms doubling to 400 ms)', async (t) => {
  const { sup, lines } = supervise(t, { crashAfterMs: 20 }, { backoff: { initialMs: 100, maxMs: 400, factor: 2, resetAfterMs: 60_000 } });
  await sup.start();
  await waitFor(async () => (await sup.status()).children[0]!.restarts >= 4 && lines.filter((l) => l.op === 'child.exit').length >= 5, { desc: '4 restarts', timeoutMs: 8000 });
  await sup.stop();
  const exits = lines.filter((l) => l.op === 'child.exit' && l.restartInMs !== undefined);
  t.same(exits.slice(0, 5).map((l) => l.restartInMs), [100, 200, 400, 400, 400], 'the schedule');
  // The delay measured between each exit and the next spawn (wall clock of the log lines).
  const spawns = lines.filter((l) => l.op === 'child.spawn');
  for (let i = 0; i < 4; i++) {
    const gap = spawns[i + 1]!.time - exits[i]!.time;
    t.ok(gap >= exits[i]!.restartInMs! - 5 && gap < exits[i]!.restartInMs! + 150, `restart ${i + 1} after ${gap} ms (want ${exits[i]!.restartInMs})`);
  }
  t.ok((await sup.status()).children[0]!.restarts >= 4, 'restarts counted');
});

t.test('the delay starts over after a healthy run', async (t) => {
  const { sup, lines } = supervise(t, { crashAfterMs: 250 }, { backoff: { initialMs: 50, maxMs: 1000, factor: 2, resetAfterMs: 200 } });
  await sup.start();
  await waitFor(() => lines.filter((l) => l.restartInMs !== undefined).length >= 3, { desc: '3 crashes', timeoutMs: 5000 });
  await sup.stop();
  t.same(lines.filter((l) => l.restartInMs !== undefined).slice(0, 3).map((l) => l.restartInMs), [50, 50, 50]);
});

t.test("a child that cannot start fails the start with its own reason, and nothing is restarted", async (t) => {
  const { sup } = supervise(t, { fatal: 'vrrp_instance A: interface lo has no IPv4 address' });
  await t.rejects(sup.start(), { code: 'VIGIL_CHILD_START', message: /vrrp child: vrrp_instance A: interface lo has no IPv4 address/ });
  await sleep(300);
  t.match((await sup.status()).children, [{ state: 'stopped', restarts: 0 }]);
});

t.test('a hung child shows as unresponsive instead of hanging status', async (t) => {
  const { sup } = supervise(t, { hangStatus: true }, { statusTimeoutMs: 300 });
  await sup.start();
  const t0 = performance.now();
  const st = await sup.status();
  const took = performance.now() - t0;
  t.ok(took >= 290 && took < 1500, `status answered in ${Math.round(took)} ms`);
  t.match(st.children, [{ state: 'unresponsive', error: /did not answer 'status' within 300 ms/ }]);
  t.equal(st.sections.vrrp, undefined);
});

t.test('malformed IPC messages are rejected, counted and logged; the channel keeps working', async (t) => {
  const { sup, lines } = supervise(t, { malformed: true });
  await sup.start();
  await waitFor(async () => (await sup.status()).children[0]!.ipcRejected === 7, { desc: '7 rejected', timeoutMs: 3000 });
  const st = await sup.status();
  t.match(st.sections.vrrp, { instances: 1 }, 'still answering');
  t.ok(lines.some((l) => l.op === 'ipc.reject'), 'logged (rate-limited)');
});

t.test('reload: each child gets the new configuration; a refusal keeps the old one as current', async (t) => {
  const { sup } = supervise(t, {});
  await sup.start();
  const ok = await sup.reload(conf('A', 'B'));
  t.match(ok, [{ kind: 'vrrp', ok: true, result: { applied: 2 } }]);
  t.equal(sup.current.vrrpInstances.length, 2);
  const bad = await sup.reload(conf('A', 'REFUSE'));
  t.match(bad, [{ kind: 'vrrp', ok: false, error: 'REFUSE is refused' }]);
  t.same(sup.current.vrrpInstances.map((v) => v.name), ['A', 'B'], 'current config unchanged');
  // A restarted child starts with the current (last applied) configuration.
  process.kill((await sup.status()).children[0]!.pid!, 'SIGKILL');
  await waitFor(async () => (await sup.status()).sections.vrrp, { desc: 'restarted', timeoutMs: 5000 });
  t.match((await sup.status()).sections.vrrp, { instances: 2, reloads: 0 });
});

t.test('a reload starts the child the configuration now gives work, and stops the one it no longer does (after it applied the reload)', async (t) => {
  const hasWork = (kind: string, c: Config) => kind === 'vrrp' || c.vrrpInstances.some((v) => v.name === 'CHK');
  const { sup, lines } = supervise(t, {}, { kinds: ['vrrp', 'checker'], hasWork });
  await sup.start();
  t.same((await sup.status()).children.map((c) => c.kind), ['vrrp'], 'no checker without work');
  t.ok(lines.some((l) => l.child === 'checker' && /not starting the checker child/.test(l.msg ?? '')));
  const add = await sup.reload(conf('A', 'CHK'));
  t.match(add, [{ kind: 'vrrp', ok: true }, { kind: 'checker', ok: true, note: /checker child started/ }]);
  const st = await sup.status();
  t.match(st.children, [{ kind: 'vrrp', state: 'running' }, { kind: 'checker', state: 'running', restarts: 0 }]);
  t.match(st.sections.checker, { kind: 'checker', instances: 2 }, 'the new child runs the new configuration');
  const pid = st.children[1]!.pid!;
  const drop = await sup.reload(conf('A'));
  t.match(drop, [{ kind: 'vrrp', ok: true }, { kind: 'checker', ok: true, result: { applied: 1 }, note: /checker child stopped/ }], 'the checker applied the reload before it stopped');
  t.notOk(pidAlive(pid), 'the checker child is gone');
  t.same((await sup.status()).children.map((c) => c.kind), ['vrrp']);
  t.ok(lines.some((l) => l.op === 'child.exit' && l.child === 'checker' && /stopped/.test(l.msg ?? '')), 'a clean stop, not a crash');
  t.notOk(lines.some((l) => l.restartInMs !== undefined), 'nothing restarted');
  t.match(await sup.reload(conf('A', 'CHK')), [{ kind: 'vrrp' }, { kind: 'checker', ok: true, note: /started/ }], 'and started again');
  // a reload a child refuses changes nothing: no child is started or stopped
  const before = (await sup.status()).children.map((c) => c.pid);
  t.match(await sup.reload(conf('REFUSE')), [{ kind: 'vrrp', ok: false }, { kind: 'checker', ok: false }]);
  t.same((await sup.status()).children.map((c) => c.pid), before);
});

t.test('a child that ignores SIGTERM is killed after the stop timeout', async (t) => {
  const { sup } = supervise(t, { ignoreTerm: true }, { stopTimeoutMs: 300 });
  await sup.start();
  const t0 = performance.now();
  await sup.stop();
  const took = performance.now() - t0;
  t.ok(took >= 290 && took < 2000, `stopped in ${Math.round(took)} ms`);
  t.match((await sup.status()).children, [{ state: 'stopped', lastExit: { signal: 'SIGKILL' } }]);
});

t.test('respawn off (-R): a dying child is reported instead of restarted', async (t) => {
  let gaveUp = '';
  const { sup } = supervise(t, { crashAfterMs: 50 }, { respawn: false, onGiveUp: (k, why) => (gaveUp = `${k}: ${why}`) });
  await sup.start();
  await waitFor(() => gaveUp, { desc: 'give up', timeoutMs: 3000 });
  t.equal(gaveUp, 'vrrp: exited with code 3');
  await sleep(200);
  t.match((await sup.status()).children, [{ state: 'stopped', restarts: 0 }]);
});

t.test("the child's pid file follows restarts and goes on stop", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-sup-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const pidFile = path.join(dir, 'run/vrrp.pid');
  const { sup } = supervise(t, {}, { pidFiles: { vrrp: pidFile }, backoff: { initialMs: 50, maxMs: 50, factor: 2, resetAfterMs: 1000 } });
  await sup.start();
  const first = (await sup.status()).children[0]!.pid!;
  t.equal(fs.readFileSync(pidFile, 'utf8'), `${first}\n`);
  process.kill(first, 'SIGKILL');
  const second = await waitFor(async () => {
    const c = (await sup.status()).children[0]!;
    return c.state === 'running' && c.pid !== first ? c.pid : undefined;
  }, { desc: 'restarted', timeoutMs: 3000 });
  t.equal(fs.readFileSync(pidFile, 'utf8'), `${second}\n`, 'the new pid');
  await sup.stop();
  t.notOk(fs.existsSync(pidFile), 'removed on stop');
});

t.test('a real child exits at once when its supervisor is killed (IPC channel closed)', async (t) => {
  // A throwaway parent forks the real child entry, prints its pid and waits; it never sends `start`.
  const entry = path.join(repoRoot, 'dist/daemon/child.js');
  const parentSrc = `const { fork } = require('node:child_process'); const c = fork(${JSON.stringify(entry)}, ['vrrp'], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }); c.on('message', (m) => { if (m.t === 'hello') console.log(c.pid); }); setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ['-e', parentSrc], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => parent.kill('SIGKILL'));
  const childPid = await new Promise<number>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  t.ok(pidAlive(childPid), `child ${childPid} running`);
  parent.kill('SIGKILL');
  await waitFor(() => !pidAlive(childPid), { desc: 'child gone', timeoutMs: 3000, intervalMs: 20 });
  t.pass('the orphaned child exited');
});

t.test('the child entry refuses to run without a supervisor or with an unknown kind', async (t) => {
  const entry = path.join(repoRoot, 'dist/daemon/child.js');
  for (const args of [['vrrp'], ['nope']]) {
    const p = spawn(process.execPath, [entry, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
    t.equal(code, 64, `${args.join(' ')}: exit 64`);
    t.match(err, /started by the supervisor only/);
  }
});
