// The adopting start (DESIGN: a restart never drops a VIP the node should hold): an instance
// whose VIPs an earlier run left in the kernel keeps them while it listens for a master, then
// keeps or releases them by RFC 5798 priority and the preempt rules. Pure table tests.
import t, { type Test } from 'tap';
import { type FsmAction, type FsmConfig, type FsmEvent, type FsmState, type Phase, initialState, step } from '../../src/vrrp/fsm.js';

interface Run {
  /** Every step that changed the phase or gave a reason. */
  log: { at: number; phase: Phase; reason?: string }[];
  actions: { at: number; action: FsmAction }[];
  final: FsmState;
}

const base: FsmConfig = { version: 2, advertIntMs: 1000, preempt: true, preemptDelayMs: 0, primaryAddress: '10.0.0.1' };

function simulate(cfg: Partial<FsmConfig>, priority: number, script: [number, FsmEvent][], until: number): Run {
  const c: FsmConfig = { ...base, ...cfg };
  let s = initialState(c, priority, 0);
  const run: Run = { log: [], actions: [], final: s };
  const queue = [...script].sort((a, b) => a[0] - b[0]);
  for (let guard = 0; guard < 100000; guard++) {
    const timers: [number, FsmEvent][] = [];
    if (s.timers.advert !== undefined) timers.push([s.timers.advert, { type: 'advertTimer' }]);
    if (s.timers.masterDown !== undefined) timers.push([s.timers.masterDown, { type: 'masterDownTimer' }]);
    timers.sort((a, b) => a[0] - b[0]);
    const timer = timers[0];
    let at: number;
    let ev: FsmEvent;
    if (timer && timer[0] < (queue[0]?.[0] ?? Infinity)) [at, ev] = timer;
    else if (queue.length > 0) [at, ev] = queue.shift()!;
    else break;
    if (at > until) break;
    const before = s.phase;
    const r = step(c, s, ev, at);
    s = r.state;
    for (const a of r.actions) run.actions.push({ at, action: a });
    if (s.phase !== before || r.reason) run.log.push({ at, phase: s.phase, ...(r.reason ? { reason: r.reason } : {}) });
  }
  run.final = s;
  return run;
}

function peer(from: number, to: number, priority: number, addr = '10.0.0.2', every = 1000): [number, FsmEvent][] {
  const out: [number, FsmEvent][] = [];
  for (let at = from; at < to; at += every) out.push([at, { type: 'advert', from: addr, priority, advertIntMs: every }]);
  return out;
}
const adoptStart: [number, FsmEvent] = [0, { type: 'startup', leftoverVips: true }];
const types = (r: Run, at: number): string[] => r.actions.filter((a) => a.at === at).map((a) => a.action.type);
const vipOps = (r: Run): [number, string][] => r.actions.filter((a) => a.action.type === 'addVips' || a.action.type === 'removeVips').map((a) => [a.at, a.action.type]);

const cases: {
  desc: string;
  cfg?: Partial<FsmConfig>;
  prio: number;
  script: [number, FsmEvent][];
  until: number;
  /** Phase changes and reason-bearing steps: [at, phase, reason pattern]. */
  want: [number, Phase, RegExp][];
  /** Every addVips/removeVips, in order. */
  vips: [number, string][];
  check?: (r: Run, t: Test) => void;
}[] = [
  {
    desc: 'nothing heard: keeps the VIPs silently, MASTER after master_down with GARPs',
    prio: 100,
    script: [adoptStart],
    until: 10000,
    want: [
      [0, 'BACKUP', /^startup, adopting VIPs left by a previous run: keeping them while listening 3\.609s/],
      [3609.375, 'MASTER', /^adopted VIPs left by a previous run; no higher-priority master heard in 3\.609s \(master_down_interval\)$/],
    ],
    // addVips is idempotent (the kernel answers "exists"); it restores any VIP missing from the set.
    vips: [[3609.375, 'addVips']],
    check: (r, t) => {
      t.same(types(r, 0), ['notify'], 'no advert, no GARP, no VIP change at start');
      t.same(types(r, 3609.375), ['sendAdvert', 'addVips', 'announce', 'notify'], 'advert and the GARP/NA burst on taking over');
      t.notOk(r.final.adopting, 'adopting ends with the window');
    },
  },
  {
    desc: 'higher-priority master heard: VIPs removed at once, BACKUP follows it',
    prio: 100,
    script: [adoptStart, ...peer(700, 20000, 150)],
    until: 20000,
    want: [
      [0, 'BACKUP', /adopting/],
      [700, 'BACKUP', /^heard master 10\.0\.0\.2 with higher priority 150 \(ours 100\): removed VIPs left by a previous run$/],
    ],
    vips: [[700, 'removeVips']],
    check: (r, t) => {
      t.equal(r.final.masterAddress, '10.0.0.2');
      t.equal(r.actions.filter((a) => a.action.type === 'sendAdvert').length, 0, 'never advertised');
    },
  },
  {
    desc: 'higher-priority master that then dies: taken over by the usual master_down',
    prio: 100,
    script: [adoptStart, ...peer(700, 2800, 150)],
    until: 20000,
    want: [
      [0, 'BACKUP', /adopting/],
      [700, 'BACKUP', /higher priority 150/],
      [2700 + 3609.375, 'MASTER', /no advert from the master/],
    ],
    vips: [[700, 'removeVips'], [2700 + 3609.375, 'addVips']],
  },
  {
    desc: 'equal priority, higher address (RFC 5798 §6.4.3): yields',
    prio: 100,
    script: [adoptStart, ...peer(300, 5000, 100, '10.0.0.9')],
    until: 5000,
    want: [
      [0, 'BACKUP', /adopting/],
      [300, 'BACKUP', /^heard master 10\.0\.0\.9 with equal priority 100 and a higher address: removed VIPs/],
    ],
    vips: [[300, 'removeVips']],
  },
  {
    desc: 'equal priority, lower address, preempt: keeps the VIPs and takes over at once',
    prio: 100,
    script: [adoptStart, [300, { type: 'advert', from: '10.0.0.0', priority: 100, advertIntMs: 1000 }]],
    until: 1000,
    want: [
      [0, 'BACKUP', /adopting/],
      [300, 'MASTER', /^adopted VIPs left by a previous run; preempting master 10\.0\.0\.0 with equal priority 100 and a lower address$/],
    ],
    vips: [[300, 'addVips']],
  },
  {
    desc: 'lower-priority master, preempt: keeps the VIPs and takes over at once (the other yields on our advert)',
    prio: 150,
    // The other master yields on our first advert, so it sends no more.
    script: [adoptStart, ...peer(200, 201, 100)],
    until: 5000,
    want: [
      [0, 'BACKUP', /adopting/],
      [200, 'MASTER', /^adopted VIPs left by a previous run; preempting master 10\.0\.0\.2 with lower priority 100 \(ours 150\)$/],
    ],
    vips: [[200, 'addVips']],
    check: (r, t) => t.same(types(r, 200), ['sendAdvert', 'addVips', 'announce', 'notify']),
  },
  {
    desc: 'lower-priority master, nopreempt: yields and removes the VIPs',
    cfg: { preempt: false },
    prio: 150,
    script: [adoptStart, ...peer(200, 20000, 100)],
    until: 20000,
    want: [
      [0, 'BACKUP', /adopting/],
      [200, 'BACKUP', /^heard master 10\.0\.0\.2 with lower priority 100 \(ours 150\) and nopreempt: removed VIPs left by a previous run$/],
    ],
    vips: [[200, 'removeVips']],
  },
  {
    desc: 'lower-priority master, preempt_delay 5: VIPs removed at once, preempts after the delay',
    cfg: { preemptDelayMs: 5000 },
    prio: 150,
    script: [adoptStart, ...peer(100, 7200, 100)],
    until: 20000,
    want: [
      [0, 'BACKUP', /adopting/],
      [100, 'BACKUP', /^heard master 10\.0\.0\.2 with lower priority 100 \(ours 150\) and preempt_delay holds 4\.9s more: removed VIPs/],
      // Same as a plain start with preempt_delay: the first discarded advert is at 5100 − 1000.
      [4100 + 3414.0625, 'MASTER', /^preempting a lower-priority master 10\.0\.0\.2 \(priority 100 < 150\) after preempt_delay 5s and master_down_interval/],
    ],
    vips: [[100, 'removeVips'], [4100 + 3414.0625, 'addVips']],
  },
  {
    desc: 'lower-priority master heard after preempt_delay ran out: takes over at once',
    cfg: { preemptDelayMs: 1000 },
    prio: 150,
    script: [adoptStart, ...peer(2000, 2001, 100)],
    until: 5000,
    want: [
      [0, 'BACKUP', /adopting/],
      [2000, 'MASTER', /preempting master 10\.0\.0\.2 with lower priority 100/],
    ],
    vips: [[2000, 'addVips']],
  },
  {
    desc: 'the master leaves (priority 0): keeps the VIPs, MASTER after skew',
    prio: 100,
    script: [adoptStart, [500, { type: 'advert', from: '10.0.0.2', priority: 0, advertIntMs: 1000 }]],
    until: 3000,
    want: [
      [0, 'BACKUP', /adopting/],
      [500, 'BACKUP', /sent priority 0/],
      [500 + 609.375, 'MASTER', /sent priority 0 \(shutting down\); took over after skew/],
    ],
    vips: [[500 + 609.375, 'addVips']],
  },
  {
    desc: 'address owner (255) with leftovers: MASTER at once as always',
    prio: 255,
    script: [adoptStart],
    until: 500,
    want: [[0, 'MASTER', /^address owner/]],
    vips: [[0, 'addVips']],
  },
  {
    desc: 'graceful stop while adopting: the VIPs go, no priority-0 advert',
    prio: 100,
    script: [adoptStart, [1000, { type: 'shutdown' }]],
    until: 10000,
    want: [
      [0, 'BACKUP', /adopting/],
      [1000, 'INIT', /^shutdown$/],
    ],
    vips: [[1000, 'removeVips']],
    check: (r, t) => t.same(types(r, 1000), ['removeVips', 'notify']),
  },
  {
    desc: 'fault while adopting: the VIPs go',
    prio: 100,
    script: [adoptStart, [1000, { type: 'fault', reason: 'eth0 down' }], [2000, { type: 'faultCleared' }]],
    until: 2500,
    want: [
      [0, 'BACKUP', /adopting/],
      [1000, 'FAULT', /^fault: eth0 down$/],
      [2000, 'BACKUP', /^fault cleared$/],
    ],
    vips: [[1000, 'removeVips']],
    check: (r, t) => t.notOk(r.final.adopting, 'a fault ends the adopting start'),
  },
  {
    desc: 'sync group member falls back to BACKUP while adopting: the VIPs go',
    prio: 100,
    script: [adoptStart, [800, { type: 'syncBackup', reason: 'sync group G: VI_2 is BACKUP' }]],
    until: 1000,
    want: [
      [0, 'BACKUP', /adopting/],
      [800, 'BACKUP', /^sync group G: VI_2 is BACKUP: removed VIPs left by a previous run$/],
    ],
    vips: [[800, 'removeVips']],
  },
  {
    desc: 'v3 0.1 s adverts: the window is master_down of the configured interval',
    cfg: { version: 3, advertIntMs: 100 },
    prio: 100,
    script: [adoptStart],
    until: 1000,
    want: [
      [0, 'BACKUP', /listening 360\.938ms/],
      [360.9375, 'MASTER', /no higher-priority master heard in 360\.938ms/],
    ],
    vips: [[360.9375, 'addVips']],
  },
  {
    desc: 'without leftovers: the plain start (no adopting, no VIP change until MASTER)',
    prio: 100,
    script: [[0, { type: 'startup' }]],
    until: 5000,
    want: [
      [0, 'BACKUP', /^startup$/],
      [3609.375, 'MASTER', /master_down_interval/],
    ],
    vips: [[3609.375, 'addVips']],
    check: (r, t) => t.notOk(r.log[0] && simulate({}, 100, [[0, { type: 'startup' }]], 0).final.adopting),
  },
];

for (const c of cases)
  t.test(c.desc, async (t) => {
    const r = simulate(c.cfg ?? {}, c.prio, c.script, c.until);
    t.same(r.log.map((x) => [x.at, x.phase]), c.want.map(([at, phase]) => [at, phase]), JSON.stringify(r.log));
    c.want.forEach(([, , re], i) => t.match(r.log[i]?.reason, re, `reason ${i}`));
    t.same(vipOps(r), c.vips, 'VIP changes');
    c.check?.(r, t);
  });

t.test('adopting is set only by the leftover startup, and cleared by every way out', async (t) => {
  const s0 = initialState(base, 100, 0);
  const a = step(base, s0, { type: 'startup', leftoverVips: true }, 0).state;
  t.equal(a.adopting, true);
  t.equal(a.phase, 'BACKUP');
  t.notOk(step(base, s0, { type: 'startup' }, 0).state.adopting);
  t.notOk(step(base, a, { type: 'masterDownTimer' }, 4000).state.adopting, 'master_down');
  t.notOk(step(base, a, { type: 'syncMaster', reason: 'g' }, 10).state.adopting, 'sync master');
  t.notOk(step(base, a, { type: 'advert', from: '10.0.0.2', priority: 200, advertIntMs: 1000 }, 10).state.adopting, 'higher master');
  // A priority change keeps the adopting start and never postpones its deadline.
  const p = step(base, a, { type: 'priority', priority: 50 }, 100);
  t.equal(p.state.adopting, true);
  t.equal(p.state.timers.masterDown, a.timers.masterDown);
  t.same(p.actions, []);
});
