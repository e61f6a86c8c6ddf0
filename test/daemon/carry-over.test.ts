// Reload of one VRRP instance on a fake clock: the new runner adopts the old one's state — no
// transition, no advert or VIP action from the hand-over itself, timers continue on the new config.
import t from 'tap';
import { FakeClock } from '../../src/util/clock.js';
import type { FsmConfig, FsmState } from '../../src/vrrp/fsm.js';
import { InstanceRunner, type Transition, carryOver } from '../../src/vrrp/runner.js';

const base: FsmConfig = { version: 2, advertIntMs: 1000, preempt: true, preemptDelayMs: 0, primaryAddress: '10.0.0.1' };

function runner(clock: FakeClock, cfg: FsmConfig, priority: number, log: string[], transitions: Transition[], tag: string) {
  return new InstanceRunner('VI_1', cfg, priority, {
    clock,
    send: (p) => log.push(`${clock.now()} ${tag} advert ${p}`),
    vips: { add: async () => void log.push(`${tag} add`), remove: async () => void log.push(`${tag} remove`) },
    announcer: { start: (k) => log.push(`${tag} announce ${k}`), stop: () => {} },
    onTransition: (tr) => transitions.push(tr),
  });
}

t.test('carryOver (pure)', async (t) => {
  const master: FsmState = { phase: 'MASTER', priority: 150, masterAdvertIntMs: 1000, timers: { advert: 5000 }, masterAddress: '10.0.0.1', since: 100 };
  t.same(carryOver({ ...base, advertIntMs: 3000 }, master, 4500), { ...master, masterAdvertIntMs: 3000, timers: { advert: 5000 } }, 'longer interval: the next advert stays where it was');
  t.same(carryOver({ ...base, advertIntMs: 200 }, master, 4500), { ...master, masterAdvertIntMs: 200, timers: { advert: 4700 } }, 'shorter interval: the next advert comes sooner');
  const backup: FsmState = { phase: 'BACKUP', priority: 100, masterAdvertIntMs: 1000, timers: { masterDown: 7000 }, masterAddress: '10.0.0.2', since: 100 };
  t.same(carryOver({ ...base, advertIntMs: 2000 }, backup, 4500), { ...backup, masterAdvertIntMs: 2000 }, 'v2 BACKUP: the configured interval');
  t.same(carryOver({ ...base, version: 3, advertIntMs: 2000 }, { ...backup, masterAdvertIntMs: 500 }, 4500), { ...backup, masterAdvertIntMs: 500 }, "v3 BACKUP keeps the master's interval");
});

t.test('a MASTER handed over to a new runner: no transition, no VIP action, adverts continue at the new interval', async (t) => {
  const clock = new FakeClock();
  const log: string[] = [];
  const transitions: Transition[] = [];
  const old = runner(clock, base, 150, log, transitions, 'old');
  old.start();
  clock.advance(3700); // master_down (3 s + skew) → MASTER
  await old.settled();
  t.same(transitions.map((x) => x.to), ['BACKUP', 'MASTER']);
  const neu = runner(clock, { ...base, advertIntMs: 500 }, 160, log, transitions, 'new');
  log.length = 0;
  neu.adopt(old);
  t.same(log, [], 'the hand-over itself does nothing');
  t.equal(neu.state.phase, 'MASTER');
  t.same(neu.last, old.last, 'the last transition carries over');
  clock.advance(1200);
  t.same(log.filter((l) => l.includes('old')), [], 'the old runner is detached: it never sends again');
  t.ok(log.filter((l) => l.includes('new advert')).length >= 2, `adverts from the new runner at 0.5 s: ${log.join(', ')}`);
  neu.setPriority(160);
  t.match(log.at(-1), /new advert 160$/, 'a priority change is advertised at once');
  t.same(transitions.map((x) => x.to), ['BACKUP', 'MASTER'], 'no transition');
  await neu.stop();
  t.ok(log.includes('new remove'), 'a later stop releases the VIPs through the new runner');
});

t.test('a BACKUP handed over keeps its master-down deadline', async (t) => {
  const clock = new FakeClock();
  const log: string[] = [];
  const transitions: Transition[] = [];
  const old = runner(clock, base, 100, log, transitions, 'old');
  old.start();
  clock.advance(1000);
  old.advert('10.0.0.2', 200, 1000);
  const neu = runner(clock, base, 100, log, transitions, 'new');
  neu.adopt(old);
  clock.advance(3000);
  t.equal(neu.state.phase, 'BACKUP', 'not yet: master_down is 3.609 s after the last advert');
  clock.advance(700);
  t.equal(neu.state.phase, 'MASTER', 'the timer armed by the old runner fires on the new one');
  t.same(transitions.map((x) => x.to), ['BACKUP', 'MASTER']);
});
