import os from 'node:os';
import t from 'tap';
import pino from 'pino';
import { compileText } from '../../src/config/compile.js';
import { ProcessTuner, RT_RLIMIT_DEFAULT_US, type SchedOps, type TunedKind, tuningFor } from '../../src/daemon/process-tuning.js';
import { SysError } from '../../src/net/libc.js';

// keepalived's process-priority keywords → what each child applies (pure mapping), and the
// tuner's calls and logging against a recording fake (the real kernel: test/beds/process-tuning.test.ts).

function globals(body: string) {
  const r = compileText(`global_defs {\n${body}\n}\n`, 'keepalived.conf', { hostChecks: false } as never);
  if (!r.config) throw new Error(JSON.stringify(r.diagnostics));
  return r.config.globalDefs;
}

t.test('config → settings, per child (defaults: nothing changed; RLIMIT_RTTIME 200000 µs, keepalived 10000)', async (t) => {
  const cases: { desc: string; input: string; kind: TunedKind; want: object }[] = [
    { desc: 'nothing set', input: '', kind: 'vrrp', want: { rlimitRttimeUs: RT_RLIMIT_DEFAULT_US, noSwap: false } },
    { desc: 'vrrp_priority', input: 'vrrp_priority -10', kind: 'vrrp', want: { nice: -10, rlimitRttimeUs: RT_RLIMIT_DEFAULT_US, noSwap: false } },
    { desc: 'vrrp_priority 0 is keepalived\'s "leave alone"', input: 'vrrp_priority 0', kind: 'vrrp', want: { rlimitRttimeUs: RT_RLIMIT_DEFAULT_US, noSwap: false } },
    { desc: 'vrrp_* does not touch the checker', input: 'vrrp_priority -10\nvrrp_rt_priority 50\nvrrp_no_swap', kind: 'checker', want: { rlimitRttimeUs: RT_RLIMIT_DEFAULT_US, noSwap: false } },
    { desc: 'vrrp_rt_priority with the default rttime', input: 'vrrp_rt_priority 50', kind: 'vrrp', want: { rtPriority: 50, rlimitRttimeUs: RT_RLIMIT_DEFAULT_US, noSwap: false } },
    { desc: 'vrrp_rlimit_rttime in µs', input: 'vrrp_rt_priority 1\nvrrp_rlimit_rttime 50000', kind: 'vrrp', want: { rtPriority: 1, rlimitRttimeUs: 50000, noSwap: false } },
    { desc: 'deprecated vrrp_rlimit_rtime', input: 'vrrp_rlimit_rtime 20000', kind: 'vrrp', want: { rlimitRttimeUs: 20000, noSwap: false } },
    { desc: 'vrrp_no_swap', input: 'vrrp_no_swap', kind: 'vrrp', want: { rlimitRttimeUs: RT_RLIMIT_DEFAULT_US, noSwap: true } },
    { desc: 'vrrp_cpu_affinity: sorted, each CPU once', input: 'vrrp_cpu_affinity 3 1 3\nchecker_cpu_affinity 0', kind: 'vrrp', want: { rlimitRttimeUs: RT_RLIMIT_DEFAULT_US, noSwap: false, cpus: [1, 3] } },
    { desc: 'checker_cpu_affinity', input: 'vrrp_cpu_affinity 3\nchecker_cpu_affinity 0', kind: 'checker', want: { rlimitRttimeUs: RT_RLIMIT_DEFAULT_US, noSwap: false, cpus: [0] } },
    { desc: 'checker_* all four', input: 'checker_priority 5\nchecker_rt_priority 20\nchecker_rlimit_rttime 30000\nchecker_no_swap', kind: 'checker', want: { nice: 5, rtPriority: 20, rlimitRttimeUs: 30000, noSwap: true } },
  ];
  for (const c of cases) t.same(tuningFor(c.kind, globals(c.input)), c.want, c.desc);
});

/** Records calls; `fail` names calls that fail with an errno. */
function fakeOps(fail: Partial<Record<keyof SchedOps, string>> = {}) {
  const calls: string[] = [];
  let nice = 0;
  const maybe = (k: keyof SchedOps, what: string) => {
    calls.push(what);
    if (fail[k]) throw new SysError(what, os.constants.errno[fail[k] as 'EPERM'], fail[k]!);
  };
  const ops: SchedOps = {
    setRoundRobin: (p) => maybe('setRoundRobin', `rr ${p}`),
    setOther: () => maybe('setOther', 'other'),
    getNice: () => nice,
    setNice: (n) => {
      maybe('setNice', `nice ${n}`);
      nice = n;
    },
    getRttime: () => [18446744073709551615n, 18446744073709551615n],
    setRttime: (s, h) => maybe('setRttime', `rttime ${s}/${h}`),
    lockAll: () => {
      maybe('lockAll', 'mlockall');
      return 'flags';
    },
    unlockAll: () => maybe('unlockAll', 'munlockall'),
    onSigxcpu: () => void calls.push('sigxcpu handler'),
    getAffinity: () => [0, 1, 2, 3],
    setAffinity: (c) => maybe('setAffinity', `cpus ${c.join(',')}`),
  };
  return { ops, calls };
}

function logged() {
  const lines: { level: number; msg: string; op: string }[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as never) });
  return { log, lines };
}

t.test('tuner: realtime wins over nice, rttime half/limit, mlock; a reload changes only the difference and puts defaults back', async (t) => {
  const f = fakeOps();
  const l = logged();
  const tuner = new ProcessTuner('vrrp', l.log, f.ops);
  tuner.apply({ nice: -10, rtPriority: 50, rlimitRttimeUs: 10000, noSwap: true });
  t.same(f.calls.filter((c) => c !== 'sigxcpu handler'), ['rr 50', 'rttime 5000/10000', 'mlockall'], 'no nice with a realtime priority (keepalived)');
  t.ok(f.calls.includes('sigxcpu handler'), 'SIGXCPU is handled, not fatal');
  const msgs = l.lines.map((x) => x.msg);
  t.equal(msgs.length, 3);
  t.match(msgs[0], /vrrp child: SCHED_RR priority 50 \(vrrp_rt_priority\)/);
  t.match(msgs[1], /RLIMIT_RTTIME soft 5000 µs, hard 10000 µs/);
  t.match(msgs[2], /locked in memory/);
  t.same(tuner.current, { rtPriority: 50, rlimitRttimeUs: 10000, noSwap: true });

  f.calls.length = 0;
  tuner.apply({ nice: -10, rtPriority: 50, rlimitRttimeUs: 10000, noSwap: true });
  t.same(f.calls, [], 'same settings on reload: no call');

  tuner.apply({ nice: -10, rlimitRttimeUs: 10000, noSwap: false });
  t.same(f.calls, ['other', 'rttime 18446744073709551615/18446744073709551615', 'nice -10', 'munlockall'], 'rt removed: SCHED_OTHER, rlimit restored, nice now applies, unlocked');
  f.calls.length = 0;
  tuner.apply({ rlimitRttimeUs: 10000, noSwap: false });
  t.same(f.calls, ['nice 0'], 'nice removed: back to the original');
});

t.test('tuner: cpu_affinity pins the main thread, a reload changes only the difference, removal puts the old CPUs back', async (t) => {
  const f = fakeOps();
  const l = logged();
  const tuner = new ProcessTuner('vrrp', l.log, f.ops);
  tuner.apply({ rlimitRttimeUs: 10000, noSwap: false, cpus: [1] });
  t.same(f.calls, ['cpus 1']);
  t.match(l.lines.map((x) => x.msg), [/vrrp child: main thread on CPUs 1 \(vrrp_cpu_affinity\)/]);
  t.same(tuner.current.cpus, [1]);
  f.calls.length = 0;
  tuner.apply({ rlimitRttimeUs: 10000, noSwap: false, cpus: [1] });
  t.same(f.calls, [], 'same CPUs: no call');
  tuner.apply({ rlimitRttimeUs: 10000, noSwap: false, cpus: [0, 1] });
  t.same(f.calls, ['cpus 0,1'], 'changed');
  f.calls.length = 0;
  tuner.apply({ rlimitRttimeUs: 10000, noSwap: false });
  t.same(f.calls, ['cpus 0,1,2,3'], 'removed: the CPUs the child had before');
  t.equal(tuner.current.cpus, undefined);
});

t.test('tuner: a CPU that is not there is a warning, and the child runs on', async (t) => {
  const f = fakeOps({ setAffinity: 'EINVAL' });
  const l = logged();
  const tuner = new ProcessTuner('checker', l.log, f.ops);
  const out = tuner.apply({ rlimitRttimeUs: 10000, noSwap: false, cpus: [7] });
  t.same(out.map((o) => [o.what, o.ok]), [['affinity', false]]);
  t.match(l.lines.filter((x) => x.level === 40).map((x) => x.msg), [/checker child: cannot apply checker_cpu_affinity \(main thread on CPUs 7\): .*EINVAL.*; running on without it/]);
  t.equal(tuner.current.cpus, undefined);
});

t.test('tuner: EPERM is logged with the keyword and the child runs on', async (t) => {
  const f = fakeOps({ setRoundRobin: 'EPERM', lockAll: 'ENOMEM' });
  const l = logged();
  const tuner = new ProcessTuner('checker', l.log, f.ops);
  const out = tuner.apply({ rtPriority: 10, rlimitRttimeUs: 10000, noSwap: true });
  t.same(out.map((o) => [o.what, o.ok]), [['rt', false], ['mlock', false]], 'no rlimit without realtime');
  const warns = l.lines.filter((x) => x.level === 40).map((x) => x.msg);
  t.equal(warns.length, 2);
  t.match(warns[0], /checker child: cannot apply checker_rt_priority \(SCHED_RR priority 10\): .*EPERM.*; running on without it/);
  t.match(warns[1], /cannot apply checker_no_swap .*ENOMEM/);
  t.same(tuner.current, { rlimitRttimeUs: RT_RLIMIT_DEFAULT_US, noSwap: false }, 'nothing recorded as applied');
  f.calls.length = 0;
  tuner.apply({ rtPriority: 10, rlimitRttimeUs: 10000, noSwap: true });
  t.same(f.calls, ['rr 10', 'mlockall'], 'retried on the next reload');
});
