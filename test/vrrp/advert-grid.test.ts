import t from 'tap';
import { type Cancel, type Clock, FakeClock } from '../../src/util/clock.js';
import { type FsmConfig, initialState, masterDownMs, nextAdvertDue, step } from '../../src/vrrp/fsm.js';
import { InstanceRunner } from '../../src/vrrp/runner.js';

// The advert schedule (issue 7): the next advert is due one interval after the one that was due,
// not after the moment the timer fired; a stall skips the missed slots instead of bursting.

t.test('nextAdvertDue: a grid from the scheduled time, missed slots skipped', async (t) => {
  const cases: { desc: string; input: [number | undefined, number, number]; want: number }[] = [
    { desc: 'on time', input: [1000, 1000, 100], want: 1100 },
    { desc: 'late 30 ms: the lateness is made up, not carried', input: [1000, 1030, 100], want: 1100 },
    { desc: 'early 0.5 ms (libuv fires early): still the grid', input: [1000, 999.5, 100], want: 1100 },
    { desc: 'late 99.9 ms: the next slot is still ahead', input: [1000, 1099.9, 100], want: 1100 },
    { desc: 'late exactly one interval: that slot is now, skip it', input: [1000, 1100, 100], want: 1200 },
    { desc: 'stalled 250 ms: two slots skipped, no burst', input: [1000, 1250, 100], want: 1300 },
    { desc: 'stalled 10 s', input: [1000, 11_042, 100], want: 11_100 },
    { desc: 'no schedule yet: from now', input: [undefined, 500, 100], want: 600 },
    { desc: 'VRRPv2 1 s', input: [0, 1003, 1000], want: 2000 },
  ];
  for (const c of cases) t.equal(nextAdvertDue(...c.input), c.want, c.desc);
});

t.test('advertTimer keeps the grid; the master_down timer of a backup is untouched', async (t) => {
  const cfg: FsmConfig = { version: 3, advertIntMs: 100, preempt: true, preemptDelayMs: 0, primaryAddress: '10.0.0.1' };
  let s = step(cfg, initialState(cfg, 255, 0), { type: 'startup' }, 0).state;
  t.equal(s.phase, 'MASTER');
  t.equal(s.timers.advert, 100);
  s = step(cfg, s, { type: 'advertTimer' }, 137).state;
  t.equal(s.timers.advert, 200, 'fired 37 ms late: next still at 200, not 237');
  const r = step(cfg, s, { type: 'advertTimer' }, 530);
  t.same(r.actions, [{ type: 'sendAdvert', priority: 255 }], 'one advert after a stall, not four');
  t.equal(r.state.timers.advert, 600);

  const b = step(cfg, initialState(cfg, 100, 0), { type: 'startup' }, 0).state;
  t.equal(b.phase, 'BACKUP');
  const heard = step(cfg, b, { type: 'advert', from: '10.0.0.2', priority: 200, advertIntMs: 100 }, 1234.5).state;
  t.equal(heard.timers.masterDown, 1234.5 + masterDownMs(3, 100, 100), 'master_down re-armed from the advert, RFC 5798 §6.4.2');
});

/** A fake clock whose timers fire late by the next figure of `late` (ms), as an overloaded CPU does. */
class LateClock implements Clock {
  readonly inner = new FakeClock();
  constructor(private readonly late: number[]) {}
  now(): number {
    return this.inner.now();
  }
  setTimeout(fn: () => void, ms: number): Cancel {
    return this.inner.setTimeout(fn, ms + (this.late.shift() ?? 0));
  }
}

t.test('runner: late timers do not push the adverts back, a stall sends one advert', async (t) => {
  const clock = new LateClock([0, 30, 0, 0, 250, 0, 0]);
  const sent: number[] = [];
  const runner = new InstanceRunner('VI_1', { version: 3, advertIntMs: 100, preempt: true, preemptDelayMs: 0, primaryAddress: '10.0.0.1' }, 255, {
    clock,
    send: () => sent.push(clock.now()),
    vips: { add: async () => undefined, remove: async () => undefined },
    announcer: { start: () => undefined, stop: () => undefined },
    onTransition: () => undefined,
  });
  runner.start();
  clock.inner.advance(1000);
  // 0: startup; 100 on time; 230 (30 late); 300, 400 on time; 750 (250 late: 500..700 missed, one advert); 800, 900, 1000 on the grid
  t.same(sent, [0, 100, 230, 300, 400, 750, 800, 900, 1000]);
  await runner.stop();
});
