import t from 'tap';
import { FakeClock } from '../../src/util/clock.js';
import type { RunResult } from '../../src/util/command.js';
import { ScriptTracker, riseFall } from '../../src/vrrp/track-script.js';

t.test('rise/fall table', async (t) => {
  const cases: { desc: string; start: boolean; results: boolean[]; rise: number; fall: number; want: boolean[] }[] = [
    { desc: 'fall 1', start: true, results: [false], rise: 1, fall: 1, want: [false] },
    { desc: 'fall 3 needs three in a row', start: true, results: [false, false, true, false, false, false], rise: 1, fall: 3, want: [true, true, true, true, true, false] },
    { desc: 'rise 2', start: false, results: [true, false, true, true], rise: 2, fall: 1, want: [false, false, false, true] },
  ];
  for (const c of cases) {
    let s = { up: c.start, successes: 0, failures: 0 };
    const got = c.results.map((ok) => (s = riseFall(s, ok, c.rise, c.fall).state).up);
    t.same(got, c.want, c.desc);
  }
});

t.test('tracker: interval, no pile-up, timeout is a failure, flips reported once', async (t) => {
  const clock = new FakeClock();
  const starts: number[] = [];
  const pending: ((r: RunResult) => void)[] = [];
  const changes: [number, boolean, string][] = [];
  const tr = new ScriptTracker('chk', { intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 2, initFail: false }, clock, () => {
    starts.push(clock.now());
    return new Promise((res) => pending.push(res));
  }, (up, reason) => changes.push([clock.now(), up, reason]));
  tr.start();
  t.same(starts, [0]);
  clock.advance(2500); // first run never finishes: ticks at 1000 and 2000 are skipped
  t.same(starts, [0]);
  pending.shift()!({ code: null, signal: 'SIGTERM', timedOut: true });
  await Promise.resolve();
  clock.advance(500); // tick at 3000 runs
  t.same(starts, [0, 3000]);
  pending.shift()!({ code: 1, signal: null, timedOut: false });
  await Promise.resolve();
  t.equal(changes.length, 1, 'down after two failures');
  t.match(changes[0], [3000, false, /failed 2 time\(s\) \(exit 1\)/]);
  t.notOk(tr.up);
  for (let i = 0; i < 2; i++) {
    clock.advance(1000);
    pending.shift()!({ code: 0, signal: null, timedOut: false });
    await Promise.resolve();
  }
  t.equal(changes.length, 2);
  t.match(changes[1], [5000, true, /succeeded 2 time/]);
  tr.stop();
  clock.advance(5000);
  t.equal(starts.length, 4, 'no runs after stop');
});

t.test('init_fail starts down', async (t) => {
  const tr = new ScriptTracker('x', { intervalMs: 1000, timeoutMs: 1000, rise: 1, fall: 1, initFail: true }, new FakeClock(), () => new Promise(() => {}), () => {});
  t.notOk(tr.up);
});
