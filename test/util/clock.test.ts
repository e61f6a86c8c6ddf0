import { performance } from 'node:perf_hooks';
import t from 'tap';
import { preciseClock } from '../../src/util/clock.js';

// preciseClock's contract: a timer never fires before its deadline (Node's own timers may fire up
// to ~1 ms early, which is why it exists), fires once, and a cancelled one never fires. How close
// after the deadline it fires is a speed figure: bench:isolation measures it on the wire.

t.test('never fires before the deadline, once each', async (t) => {
  const clock = preciseClock();
  const delays = [0, 0.3, 1, 1.5, 2, 2.7, 5, 10.2, 17, 33];
  const fired = await Promise.all(
    delays.map(
      (ms) =>
        new Promise<{ ms: number; due: number; at: number; n: number }>((resolve) => {
          const due = performance.now() + ms;
          let n = 0;
          clock.setTimeout(() => {
            n++;
            const at = performance.now();
            // let a second call show up, if there were one
            setTimeout(() => resolve({ ms, due, at, n }), 20);
          }, ms);
        }),
    ),
  );
  for (const f of fired) {
    t.ok(f.at >= f.due, `${f.ms} ms: fired ${(f.at - f.due).toFixed(3)} ms after its deadline`);
    t.equal(f.n, 1, `${f.ms} ms: fired once`);
  }
});

t.test('a negative delay fires at once; cancel before and after firing', async (t) => {
  const clock = preciseClock();
  let ran = 0;
  await new Promise<void>((resolve) => clock.setTimeout(() => (ran++, resolve()), -5));
  t.equal(ran, 1);
  let cancelled = 0;
  const cancel = clock.setTimeout(() => cancelled++, 3);
  cancel();
  // cancelled inside the spin margin: armed for 1 ms, cancelled before it wakes
  const cancel2 = clock.setTimeout(() => cancelled++, 1);
  cancel2();
  const late = clock.setTimeout(() => ran++, 1);
  await new Promise((r) => setTimeout(r, 30));
  late(); // after it fired: a no-op
  cancel();
  t.equal(cancelled, 0, 'cancelled timers never ran');
  t.equal(ran, 2);
});

t.test('a timer that wakes far too early sleeps again (the deadline moves, not the timer)', async (t) => {
  // a margin of 0 means: never spin longer than 0.5 ms, re-arm otherwise
  const clock = preciseClock(0);
  const due = performance.now() + 12;
  const at = await new Promise<number>((resolve) => clock.setTimeout(() => resolve(performance.now()), 12));
  t.ok(at >= due, `fired ${(at - due).toFixed(3)} ms after its deadline`);
});
