import t, { type Test } from 'tap';
import { type FsmAction, type FsmConfig, type FsmEvent, type FsmState, type Phase, initialState, masterDownMs, skewMs, step } from '../../src/vrrp/fsm.js';

// A fake clock: scripted events at given times, timer expiries fed back in order.
interface Run {
  transitions: { at: number; phase: Phase; reason?: string }[];
  adverts: { at: number; priority: number }[];
  actions: { at: number; action: FsmAction }[];
  final: FsmState;
}
function simulate(cfg: Partial<FsmConfig>, priority: number, script: [number, FsmEvent][], until: number): Run {
  const c: FsmConfig = { version: 2, advertIntMs: 1000, preempt: true, preemptDelayMs: 0, primaryAddress: '10.0.0.1', ...cfg };
  let s = initialState(c, priority, 0);
  const run: Run = { transitions: [], adverts: [], actions: [], final: s };
  const queue = [...script].sort((a, b) => a[0] - b[0]);
  for (let guard = 0; guard < 100000; guard++) {
    const nextScripted = queue[0]?.[0] ?? Infinity;
    const timers: [number, FsmEvent][] = [];
    if (s.timers.advert !== undefined) timers.push([s.timers.advert, { type: 'advertTimer' }]);
    if (s.timers.masterDown !== undefined) timers.push([s.timers.masterDown, { type: 'masterDownTimer' }]);
    timers.sort((a, b) => a[0] - b[0]);
    const timer = timers[0];
    let at: number;
    let ev: FsmEvent;
    if (timer && timer[0] < nextScripted) [at, ev] = timer;
    else if (queue.length > 0) [at, ev] = queue.shift()!;
    else break;
    if (at > until) break;
    const before = s.phase;
    const r = step(c, s, ev, at);
    s = r.state;
    for (const a of r.actions) {
      run.actions.push({ at, action: a });
      if (a.type === 'sendAdvert') run.adverts.push({ at, priority: a.priority });
    }
    if (s.phase !== before) run.transitions.push({ at, phase: s.phase, ...(r.reason ? { reason: r.reason } : {}) });
  }
  run.final = s;
  return run;
}
/** Adverts from a peer every `every` ms in [from, to). */
function peer(from: number, to: number, every: number, priority: number, advertIntMs = every, addr = '10.0.0.2'): [number, FsmEvent][] {
  const out: [number, FsmEvent][] = [];
  for (let at = from; at < to; at += every) out.push([at, { type: 'advert', from: addr, priority, advertIntMs }]);
  return out;
}
const start: [number, FsmEvent] = [0, { type: 'startup' }];

t.test('timer formulas (RFC 5798 §6.1, keepalived baseline)', async (t) => {
  t.equal(skewMs(2, 100, 1000), 609.375);
  t.equal(masterDownMs(2, 100, 1000), 3609.375, 'v2 1 s prio 100: keepalived measured 3.610 s');
  t.equal(masterDownMs(3, 100, 100), 360.9375, 'v3 0.1 s prio 100: keepalived measured 0.361 s');
  t.equal(skewMs(2, 100, 5000), 609.375, 'v2 skew is not scaled by advert_int');
  t.equal(skewMs(3, 100, 5000), 3046.875, 'v3 skew is');
});

const cases: { desc: string; cfg?: Partial<FsmConfig>; prio: number; script: [number, FsmEvent][]; until: number; want: { at: number; phase: Phase }[]; check?: (r: Run, t: Test) => void }[] = [
  { desc: 'alone: BACKUP, then MASTER after master_down', prio: 100, script: [start], until: 10000, want: [{ at: 0, phase: 'BACKUP' }, { at: 3609.375, phase: 'MASTER' }] },
  { desc: 'v3 0.1 s adverts', cfg: { version: 3, advertIntMs: 100 }, prio: 100, script: [start], until: 1000, want: [{ at: 0, phase: 'BACKUP' }, { at: 360.9375, phase: 'MASTER' }] },
  { desc: 'address owner is MASTER at once', prio: 255, script: [start], until: 5000, want: [{ at: 0, phase: 'MASTER' }] },
  { desc: 'higher-priority master keeps us BACKUP', prio: 100, script: [start, ...peer(500, 20000, 1000, 150)], until: 20000, want: [{ at: 0, phase: 'BACKUP' }] },
  { desc: 'master dies: take over master_down after its last advert', prio: 100, script: [start, ...peer(500, 5500, 1000, 150)], until: 20000, want: [{ at: 0, phase: 'BACKUP' }, { at: 4500 + 3609.375, phase: 'MASTER' }] },
  {
    desc: 'graceful stop: priority 0 → take over after skew only', prio: 100, script: [start, ...peer(500, 5500, 1000, 150), [5600, { type: 'advert', from: '10.0.0.2', priority: 0, advertIntMs: 1000 }]], until: 20000,
    want: [{ at: 0, phase: 'BACKUP' }, { at: 5600 + 609.375, phase: 'MASTER' }],
    check: (r, t) => t.match(r.transitions[1]?.reason, /10\.0\.0\.2 sent priority 0 .*skew 609\.375ms/, 'the reason names the priority-0 advert'),
  },
  {
    desc: 'preempt: lower-priority master is ignored and overtaken', prio: 150, script: [start, ...peer(100, 20000, 1000, 100)], until: 20000, want: [{ at: 0, phase: 'BACKUP' }, { at: 3414.0625, phase: 'MASTER' }],
    check: (r, t) => t.equal(r.transitions[1]?.reason, 'preempting a lower-priority master 10.0.0.2 (priority 100 < 150) after master_down_interval 3.414s', 'the reason names the preempted master, not a silence'),
  },
  {
    // Accepted while we were lower; once we outrank it, its adverts are ignored and preempted.
    desc: 'preempt: the reason also holds when the lower master was first accepted (our priority rose)', prio: 90, script: [start, ...peer(100, 20000, 1000, 100), [1500, { type: 'priority', priority: 150 }]], until: 20000,
    want: [{ at: 0, phase: 'BACKUP' }, { at: 1100 + masterDownMs(2, 90, 1000), phase: 'MASTER' }],
    check: (r, t) => t.equal(r.transitions[1]?.reason, 'preempting a lower-priority master 10.0.0.2 (priority 100 < 150) after master_down_interval 3.414s'),
  },
  {
    desc: 'master dies without a lower one around: the reason is the silence', prio: 100, script: [start, ...peer(500, 5500, 1000, 150)], until: 20000, want: [{ at: 0, phase: 'BACKUP' }, { at: 4500 + 3609.375, phase: 'MASTER' }],
    check: (r, t) => t.equal(r.transitions[1]?.reason, 'no advert from the master for 3.609s (master_down_interval)'),
  },
  { desc: 'nopreempt: lower-priority master stays master', cfg: { preempt: false }, prio: 150, script: [start, ...peer(100, 20000, 1000, 100)], until: 20000, want: [{ at: 0, phase: 'BACKUP' }] },
  {
    desc: 'preempt_delay 5: waits, then preempts (keepalived: 7.6–8.1 s)', cfg: { preemptDelayMs: 5000 }, prio: 150, script: [start, ...peer(100, 20000, 1000, 100)], until: 20000, want: [{ at: 0, phase: 'BACKUP' }, { at: 4100 + 3414.0625, phase: 'MASTER' }],
    check: (r, t) => t.equal(r.transitions[1]?.reason, 'preempting a lower-priority master 10.0.0.2 (priority 100 < 150) after preempt_delay 5s and master_down_interval 3.414s'),
  },
  { desc: 'master hears higher priority: steps down', prio: 100, script: [start, [5000, { type: 'advert', from: '10.0.0.2', priority: 200, advertIntMs: 1000 }]], until: 6000, want: [{ at: 0, phase: 'BACKUP' }, { at: 3609.375, phase: 'MASTER' }, { at: 5000, phase: 'BACKUP' }] },
  { desc: 'equal priority: higher address wins (§6.4.3)', prio: 100, script: [start, [5000, { type: 'advert', from: '10.0.0.9', priority: 100, advertIntMs: 1000 }]], until: 6000, want: [{ at: 0, phase: 'BACKUP' }, { at: 3609.375, phase: 'MASTER' }, { at: 5000, phase: 'BACKUP' }] },
  { desc: 'equal priority, lower address: stays master', prio: 100, script: [start, [5000, { type: 'advert', from: '10.0.0.0', priority: 100, advertIntMs: 1000 }]], until: 6000, want: [{ at: 0, phase: 'BACKUP' }, { at: 3609.375, phase: 'MASTER' }] },
  {
    desc: 'master hears lower priority: re-asserts at once with GARPs', prio: 150, script: [start, [4000, { type: 'advert', from: '10.0.0.2', priority: 100, advertIntMs: 1000 }]], until: 4100,
    want: [{ at: 0, phase: 'BACKUP' }, { at: 3414.0625, phase: 'MASTER' }],
    check: (r, t) => t.same(r.actions.filter((a) => a.at === 4000).map((a) => a.action.type), ['sendAdvert', 'announce', 'lowerPriority']),
  },
  {
    desc: 'lower_prio_no_advert: the master does not answer a lower priority', cfg: { lowerPrioNoAdvert: true }, prio: 150, script: [start, [4000, { type: 'advert', from: '10.0.0.2', priority: 100, advertIntMs: 1000 }]], until: 4100,
    want: [{ at: 0, phase: 'BACKUP' }, { at: 3414.0625, phase: 'MASTER' }],
    check: (r, t) => t.same(r.actions.filter((a) => a.at === 4000).map((a) => a.action.type), ['lowerPriority']),
  },
  {
    desc: 'higher_prio_send_advert: one last advert before yielding', cfg: { higherPrioSendAdvert: true }, prio: 100, script: [start, [5000, { type: 'advert', from: '10.0.0.2', priority: 200, advertIntMs: 1000 }]], until: 5100,
    want: [{ at: 0, phase: 'BACKUP' }, { at: 3609.375, phase: 'MASTER' }, { at: 5000, phase: 'BACKUP' }],
    check: (r, t) => t.same(r.actions.filter((a) => a.at === 5000).map((a) => a.action.type), ['sendAdvert', 'removeVips', 'notify']),
  },
  { desc: 'down_timer_adverts 5', cfg: { downTimerAdverts: 5 }, prio: 100, script: [start], until: 10000, want: [{ at: 0, phase: 'BACKUP' }, { at: 5609.375, phase: 'MASTER' }] },
  {
    desc: 'v3 backup adopts the master interval', cfg: { version: 3 }, prio: 100, script: [start, ...peer(500, 4600, 2000, 150, 2000)], until: 20000,
    want: [{ at: 0, phase: 'BACKUP' }, { at: 4500 + 3 * 2000 + (156 * 2000) / 256, phase: 'MASTER' }],
  },
  {
    desc: 'shutdown as MASTER: priority-0 advert, VIPs removed', prio: 255, script: [start, [2500, { type: 'shutdown' }]], until: 5000,
    want: [{ at: 0, phase: 'MASTER' }, { at: 2500, phase: 'INIT' }],
    check: (r, t) => t.same(r.actions.filter((a) => a.at === 2500).map((a) => a.action), [{ type: 'sendAdvert', priority: 0 }, { type: 'removeVips' }, { type: 'notify', phase: 'INIT' }]),
  },
  {
    desc: 'fault as MASTER: priority 0, then BACKUP when cleared', prio: 255, script: [start, [1500, { type: 'fault', reason: 'eth0 down' }], [3000, { type: 'faultCleared' }]], until: 3100,
    want: [{ at: 0, phase: 'MASTER' }, { at: 1500, phase: 'FAULT' }, { at: 3000, phase: 'BACKUP' }],
    check: (r, t) => t.same(r.adverts.filter((a) => a.at === 1500), [{ at: 1500, priority: 0 }]),
  },
  {
    desc: 'priority change as MASTER is advertised at once', prio: 255, script: [start, [1500, { type: 'priority', priority: 200 }]], until: 2600,
    want: [{ at: 0, phase: 'MASTER' }],
    check: (r, t) => t.same(r.adverts.map((a) => [a.at, a.priority]), [[0, 255], [1000, 255], [1500, 200], [2500, 200]]),
  },
  {
    // The new, longer master_down (1000 + 3804.6875) does not postpone the running timer.
    desc: 'priority drop as BACKUP keeps the earlier deadline', prio: 150, script: [start, [1000, { type: 'priority', priority: 50 }]], until: 10000,
    want: [{ at: 0, phase: 'BACKUP' }, { at: 3414.0625, phase: 'MASTER' }],
  },
];

for (const c of cases)
  t.test(c.desc, async (t) => {
    const r = simulate(c.cfg ?? {}, c.prio, c.script, c.until);
    t.same(r.transitions.map((x) => ({ at: x.at, phase: x.phase })), c.want, JSON.stringify(r.transitions));
    for (const x of r.transitions) t.ok(x.reason, `transition at ${x.at} has a reason`);
    if (r.final.phase === 'MASTER') {
      // A master advertises every advert_int.
      const gaps = r.adverts.slice(1).map((a, i) => a.at - r.adverts[i]!.at);
      t.ok(gaps.every((g) => g <= (c.cfg?.advertIntMs ?? 1000) + 1e-9), `advert gaps ${gaps.slice(0, 5).join(',')}`);
    }
    c.check?.(r, t);
  });

t.test('events in the wrong phase are no-ops', async (t) => {
  const cfg: FsmConfig = { version: 2, advertIntMs: 1000, preempt: true, preemptDelayMs: 0, primaryAddress: '10.0.0.1' };
  const s = initialState(cfg, 100, 0);
  for (const ev of [{ type: 'advertTimer' }, { type: 'masterDownTimer' }, { type: 'faultCleared' }, { type: 'shutdown' }] as FsmEvent[]) {
    const r = step(cfg, s, ev, 5);
    t.equal(r.state, s, ev.type);
    t.same(r.actions, []);
  }
});

t.test('sync group events move BACKUP↔MASTER only', async (t) => {
  const cfg: FsmConfig = { version: 2, advertIntMs: 1000, preempt: true, preemptDelayMs: 0, primaryAddress: '10.0.0.1' };
  let s = step(cfg, initialState(cfg, 100, 0), { type: 'startup' }, 0).state;
  const m = step(cfg, s, { type: 'syncMaster', reason: 'sync group G: VI_2 is MASTER' }, 10);
  t.equal(m.state.phase, 'MASTER');
  t.equal(m.reason, 'sync group G: VI_2 is MASTER');
  t.same(m.actions.map((a) => a.type), ['sendAdvert', 'addVips', 'announce', 'notify']);
  s = m.state;
  const b = step(cfg, s, { type: 'syncBackup', reason: 'sync group G: VI_2 is BACKUP' }, 20);
  t.equal(b.state.phase, 'BACKUP');
  t.same(b.actions.map((a) => a.type), ['removeVips', 'notify']);
  const f = step(cfg, { ...s, phase: 'FAULT' }, { type: 'syncMaster', reason: 'x' }, 30);
  t.equal(f.state.phase, 'FAULT', 'a FAULT member is not forced to MASTER');
});
