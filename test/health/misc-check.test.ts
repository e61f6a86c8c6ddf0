import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { compileText } from '../../src/config/compile.js';
import { type MiscCheckOptions, miscCheck, miscVerdict } from '../../src/health/misc-check.js';
import { isSupported, monitoredCheckers, probeFor } from '../../src/health/probe.js';
import type { Reason } from '../../src/health/result.js';
import { resolveRunAs } from '../../src/util/users.js';
import { descendants, fdCount, handleCount, markedProcesses, tally, until } from '../helpers/net-fixtures.js';

/*
 * MISC_CHECK against real programs: exit statuses, misc_dynamic weights, hangs, programs that
 * ignore SIGTERM or leave children behind. Every check ends by its deadline, and afterwards no
 * process it started is alive (found by a marker in their environment, even once reparented).
 */

const SCRIPT = path.join(import.meta.dirname, 'fixtures', 'misc.sh');
/** Slack for spawn and event-loop scheduling on a loaded machine. */
const MARGIN = 200;

t.test('exit status verdicts (keepalived check_misc.c)', async (t) => {
  const cases: { code: number | null; signal?: NodeJS.Signals; dynamic: boolean; reason: Reason; weight?: number }[] = [
    { code: 0, dynamic: false, reason: 'ok' },
    { code: 0, dynamic: true, reason: 'ok' },
    { code: 1, dynamic: false, reason: 'script-exit' },
    { code: 1, dynamic: true, reason: 'script-exit' },
    { code: 2, dynamic: false, reason: 'script-exit' },
    { code: 2, dynamic: true, reason: 'ok', weight: 0 },
    { code: 12, dynamic: true, reason: 'ok', weight: 10 },
    { code: 255, dynamic: true, reason: 'ok', weight: 253 },
    { code: null, signal: 'SIGKILL', dynamic: true, reason: 'script-signal' },
  ];
  for (const c of cases) {
    const v = miscVerdict(c.code, c.signal ?? null, c.dynamic);
    t.equal(v.reason, c.reason, `exit ${c.code ?? c.signal} dynamic=${c.dynamic}: ${v.detail}`);
    t.equal(v.weight, c.weight, `exit ${c.code ?? c.signal} dynamic=${c.dynamic}: weight`);
  }
});

t.test('real programs end by their deadline with the right reason and leave nothing behind', async (t) => {
  const marker = `VIGIL_MISC_TEST=${randomUUID()}`;
  const env = { ...process.env, [marker.split('=')[0]!]: marker.split('=')[1]! };
  const noexec = path.join(t.testdir(), 'noexec.sh');
  fs.mkdirSync(path.dirname(noexec), { recursive: true });
  fs.writeFileSync(noexec, '#!/bin/sh\nexit 0\n', { mode: 0o644 });
  const cases: { desc: string; argv: string[]; timeoutMs?: number; dynamic?: boolean; want: Reason; weight?: number; full?: boolean }[] = [
    { desc: 'exit 0', argv: [SCRIPT, 'ok'], want: 'ok' },
    { desc: 'exit 1', argv: [SCRIPT, 'fail'], want: 'script-exit' },
    { desc: 'exit 7 without misc_dynamic', argv: [SCRIPT, 'exit', '7'], want: 'script-exit' },
    { desc: 'exit 7 with misc_dynamic', argv: [SCRIPT, 'exit', '7'], dynamic: true, want: 'ok', weight: 5 },
    { desc: 'killed by a signal', argv: [SCRIPT, 'signal'], want: 'script-signal' },
    { desc: 'hangs', argv: [SCRIPT, 'hang'], timeoutMs: 300, want: 'script-timeout', full: true },
    { desc: 'hangs and ignores SIGTERM', argv: [SCRIPT, 'ignore-term'], timeoutMs: 300, want: 'script-timeout', full: true },
    { desc: 'exits 0 leaving two children behind', argv: [SCRIPT, 'children'], want: 'ok' },
    { desc: 'hangs waiting for its children', argv: [SCRIPT, 'children-hang'], timeoutMs: 300, want: 'script-timeout', full: true },
    { desc: 'program does not exist', argv: ['/nonexistent/check'], want: 'script-error' },
    { desc: 'program is not executable', argv: [noexec], want: 'script-error' },
  ];
  for (const c of cases) {
    const o: MiscCheckOptions = { argv: c.argv, timeoutMs: c.timeoutMs ?? 3000, dynamic: c.dynamic ?? false, env, killGraceMs: 200 };
    const t0 = performance.now();
    const r = await miscCheck(o);
    const took = performance.now() - t0;
    t.equal(r.reason, c.want, `${c.desc}: reason (${r.detail})`);
    t.equal(r.weight, c.weight, `${c.desc}: weight`);
    t.ok(took <= o.timeoutMs + MARGIN, `${c.desc}: ended in ${took.toFixed(0)} ms <= ${o.timeoutMs + MARGIN}`);
    if (c.full) t.ok(took >= o.timeoutMs - 5, `${c.desc}: waited misc_timeout (${took.toFixed(0)} ms)`);
    const t1 = performance.now();
    await until(() => markedProcesses(marker).length === 0, 3000);
    t.same(markedProcesses(marker), [], `${c.desc}: no process left (${(performance.now() - t1).toFixed(0)} ms after the verdict)`);
  }
  await until(() => descendants().length === 0, 2000);
  t.same(descendants(), [], 'no child process of ours remains, zombie or not');
});

t.test('user: the program runs as the configured user', { skip: process.getuid?.() !== 0 ? 'needs root to switch users' : false }, async (t) => {
  const nobody = resolveRunAs('nobody');
  if (!nobody) return t.fail('no user nobody on this host');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-misc-'));
  fs.chmodSync(dir, 0o777);
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'uid');
  // a copy nobody can read: a clone of the repository may sit in a folder only root can enter
  const script = path.join(dir, 'misc.sh');
  fs.copyFileSync(SCRIPT, script);
  fs.chmodSync(script, 0o755);
  const cks = compile(`MISC_CHECK {
        misc_path "/bin/sh ${script} whoami ${out}"
        user nobody
      }`);
  const r = await probeFor(cks[0]!)();
  t.equal(r.reason, 'ok', r.detail);
  t.equal(fs.readFileSync(out, 'utf8').trim(), String(nobody.uid), 'ran as nobody');
  const bad = compile(`MISC_CHECK {
        misc_path "/bin/true"
        user no-such-user-here
      }`);
  const b = await probeFor(bad[0]!)();
  t.equal(b.reason, 'bad-config', b.detail);
  t.match(b.detail, /no-such-user-here/);
});

/** Compiles one real server with `checkers` and returns its checkers. */
function compile(checkers: string, delayLoop = 2) {
  const r = compileText(
    `virtual_server 10.0.0.100 80 {
  delay_loop ${delayLoop}
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server 127.0.0.1 80 {
    ${checkers}
  }
}
`,
    'k.conf',
    {},
  );
  if (!r.config) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.config.virtualServers[0]!.realServers[0]!.checkers.filter(isSupported);
}

t.test('probes from keepalived.conf: misc_dynamic, misc_timeout default, retry 0', async (t) => {
  const [dyn, plain, slow] = compile(`MISC_CHECK {
        misc_path "/bin/sh ${SCRIPT} exit 12"
        misc_dynamic
      }
      MISC_CHECK {
        misc_path /bin/sh ${SCRIPT} exit 12
      }
      MISC_CHECK {
        misc_path "/bin/sh ${SCRIPT} hang"
        misc_timeout 1
      }`);
  const a = await probeFor(dyn!)();
  t.same([a.reason, a.weight], ['ok', 10], `misc_dynamic exit 12: weight 10 (${a.detail})`);
  const b = await probeFor(plain!)();
  t.equal(b.reason, 'script-exit', b.detail);
  const m = monitoredCheckers([dyn!, plain!, slow!]);
  t.same(m.map((x) => x.name), [`MISC_CHECK /bin/sh ${SCRIPT} exit 12`, `MISC_CHECK /bin/sh ${SCRIPT} exit 12`, `MISC_CHECK /bin/sh ${SCRIPT} hang`]);
  t.equal(m[0]!.timing.retry, 0, 'MISC_CHECK retries 0 times by default');
  t.equal(dyn!.type === 'MISC_CHECK' && dyn!.miscTimeoutMs, 2000, 'misc_timeout defaults to the delay_loop');
  const t0 = performance.now();
  const c = await probeFor(slow!, { killGraceMs: 100 })();
  t.equal(c.reason, 'script-timeout', c.detail);
  t.ok(performance.now() - t0 < 1000 + MARGIN, 'misc_timeout 1 is the deadline');
});

t.test('no fd, handle or process leaks over 10,000 checks', async (t) => {
  const marker = `VIGIL_MISC_LEAK=${randomUUID()}`;
  const env = { ...process.env, [marker.split('=')[0]!]: marker.split('=')[1]! };
  const modes: { argv: string[]; dynamic?: boolean; timeoutMs?: number }[] = [
    { argv: [SCRIPT, 'ok'] },
    { argv: [SCRIPT, 'fail'] },
    { argv: [SCRIPT, 'exit', '9'], dynamic: true },
    { argv: [SCRIPT, 'children'] },
    { argv: [SCRIPT, 'signal'] },
    { argv: [SCRIPT, 'children-hang'], timeoutMs: 60 },
    { argv: ['/nonexistent/check'] },
  ];
  const run = (i: number) => {
    const m = modes[i % modes.length]!;
    return miscCheck({ argv: m.argv, timeoutMs: m.timeoutMs ?? 5000, dynamic: m.dynamic ?? false, env, killGraceMs: 50 });
  };
  await tally(modes.length, modes.length, run); // warm up
  await until(() => markedProcesses(marker).length === 0 && descendants().length === 0, 3000);
  const fd0 = fdCount();
  const h0 = handleCount();
  const N = 10_000;
  const t0 = performance.now();
  const seen = await tally(N, 50, run);
  const took = performance.now() - t0;
  await until(() => markedProcesses(marker).length === 0 && descendants().length === 0, 5000);
  t.comment(`${N} MISC_CHECK runs in ${(took / 1000).toFixed(1)} s (${((N / took) * 1000).toFixed(0)}/s): ${JSON.stringify(Object.fromEntries(seen))}`);
  t.same([...seen.keys()].sort(), ['ok', 'script-error', 'script-exit', 'script-signal', 'script-timeout']);
  t.equal([...seen.values()].reduce((a, b) => a + b, 0), N);
  t.same(markedProcesses(marker), [], 'no process started by a check is alive');
  t.same(descendants(), [], 'no child process of ours remains');
  t.equal(fdCount(), fd0, `open fds: ${fdCount()} (before ${fd0})`);
  t.equal(handleCount(), h0, `active handles: ${handleCount()} (before ${h0})`);
});
