import t from 'tap';
import { FakeClock } from '../../src/util/clock.js';
import { BurstAnnouncer } from '../../src/vrrp/announce.js';
import { InstanceRunner, type Transition } from '../../src/vrrp/runner.js';

function setup(priority = 100, timing = { repeat: 5, delayMs: 5000, refreshMs: 0, refreshRepeat: 1, lowerPrioRepeat: 2 }) {
  const clock = new FakeClock();
  const log: string[] = [];
  const rounds: number[] = [];
  const transitions: Transition[] = [];
  const announcer = new BurstAnnouncer(clock, timing, () => rounds.push(clock.now()));
  const runner = new InstanceRunner(
    'VI_1',
    { version: 2, advertIntMs: 1000, preempt: true, preemptDelayMs: 0, primaryAddress: '10.0.0.1' },
    priority,
    {
      clock,
      send: (p) => log.push(`${clock.now()} advert ${p}`),
      vips: { add: async () => void log.push('add'), remove: async () => void log.push('remove') }, // async: logged when run
      announcer,
      onTransition: (tr) => transitions.push(tr),
    },
  );
  return { clock, log, rounds, transitions, runner };
}

t.test('takeover: advert, VIPs, a GARP burst at once and another after garp_master_delay', async (t) => {
  const s = setup();
  s.runner.start();
  s.clock.advance(3609.375);
  await s.runner.settled();
  t.same(s.transitions.map((x) => [x.from, x.to, x.at]), [['INIT', 'BACKUP', 0], ['BACKUP', 'MASTER', 3609.375]]);
  t.same(s.log.slice(0, 2), ['3609.375 advert 100', 'add']);
  t.same(s.rounds, [3609.375, 3609.375, 3609.375, 3609.375, 3609.375], 'burst of 5 in the same instant as the first advert');
  s.clock.advance(5000);
  t.equal(s.rounds.length, 10, 'second burst 5 s later');
  t.equal(s.rounds.at(-1), 8609.375);
  t.equal(s.log.filter((l) => l.endsWith('advert 100')).length, 6, 'adverts every second meanwhile');
});

t.test('stepping down stops pending bursts and removes VIPs after adding them', async (t) => {
  const s = setup();
  s.runner.start();
  s.clock.advance(4000);
  for (let i = 0; i < 10; i++) {
    s.runner.advert('10.0.0.2', 200, 1000); // the new master keeps advertising
    s.clock.advance(1000);
  }
  await s.runner.settled();
  t.equal(s.rounds.length, 5, 'no delayed burst after stepping down');
  t.same(s.log.filter((l) => /^(add|remove)$/.test(l)), ['add', 'remove'], 'VIP changes in transition order');
});

t.test('refresh bursts while master, re-assert burst on a lower priority', async (t) => {
  const s = setup(100, { repeat: 1, delayMs: 0, refreshMs: 2000, refreshRepeat: 1, lowerPrioRepeat: 2 });
  s.runner.start();
  s.clock.advance(3609.375);
  s.clock.advance(4000);
  t.equal(s.rounds.length, 3, 'takeover + two refreshes');
  s.runner.advert('10.0.0.2', 50, 1000);
  t.equal(s.rounds.length, 5, 'two more on re-assert');
  t.equal(s.log.at(-1), '7609.375 advert 100', 'advert sent at once on re-assert');
});

t.test('stop as master: priority 0, VIPs removed, nothing scheduled after', async (t) => {
  const s = setup(255);
  s.runner.start();
  await s.runner.stop();
  t.same(s.log.filter((l) => l.includes('advert')), ['0 advert 255', '0 advert 0'], 'advert, then priority 0 on stop');
  t.same(s.log.filter((l) => !l.includes('advert')), ['add', 'remove'], 'VIPs added, then removed before stop() resolves');
  const n = s.rounds.length;
  s.clock.advance(60000);
  t.equal(s.rounds.length, n, 'no bursts after stop');
  t.equal(s.log.length, 4, 'no adverts after stop');
});
