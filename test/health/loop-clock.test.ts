import t from 'tap';
import { LoopClock } from '../../src/health/loop-clock.js';
import { realClock } from '../../src/util/clock.js';

/*
 * LoopClock on the real loop: one clock read per turn, timers of one delay behind one base timer,
 * in order, never early, cancel, a callback adding a timer of its own delay, lists freed.
 */

const turn = () => new Promise<void>((r) => setImmediate(r));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

t.test('now(): read once per turn of the loop, fresh the next turn', async (t) => {
  let reads = 0;
  const base = { now: () => (reads++, realClock.now()), setTimeout: realClock.setTimeout };
  const c = new LoopClock(base);
  const a = c.now();
  const b = c.now();
  t.equal(a, b, 'the same time within a turn');
  t.equal(reads, 1, 'one read of the base clock');
  await sleep(5);
  await turn();
  const d = c.now();
  t.ok(d >= a + 4, `a later turn reads again (${(d - a).toFixed(2)} ms later)`);
  t.equal(reads, 2);
});

t.test('setTimeout: in order, never early, cancel, re-entrant, one base timer per delay', async (t) => {
  let baseTimers = 0;
  const base = { now: realClock.now, setTimeout: (fn: () => void, ms: number) => (baseTimers++, realClock.setTimeout(fn, ms)) };
  const c = new LoopClock(base);
  const fired: [string, number, number][] = [];
  const add = (name: string, ms: number) => {
    const at = c.now() + ms;
    return c.setTimeout(() => fired.push([name, at, realClock.now()]), ms);
  };
  add('a', 30);
  add('b', 30);
  const cancelC = add('c', 30);
  add('d', 10);
  cancelC();
  await sleep(5);
  add('e', 30); // later in the same list
  c.setTimeout(() => {
    fired.push(['f', 0, realClock.now()]);
    add('g', 30); // from inside a callback of the same delay
  }, 30);
  t.equal(c.listCount, 2, 'one list per delay');
  t.equal(baseTimers, 2, 'one base timer per list');
  // a loaded machine may run timers late: wait for them (up to 5 s), do not guess a sleep
  for (let i = 0; i < 500 && (fired.length < 6 || c.listCount > 0); i++) await sleep(10);
  t.same(
    fired.map((x) => x[0]),
    ['d', 'a', 'b', 'e', 'f', 'g'],
    'shorter delay first, then each list in order; the cancelled one never',
  );
  for (const [name, at, when] of fired) if (name !== 'f') t.ok(when >= at - 1, `${name} not early (${(when - at).toFixed(2)} ms)`);
  t.equal(c.listCount, 0, 'empty lists are freed');
});

t.test('a list of cancelled timers ends without calling anything', async (t) => {
  const c = new LoopClock();
  let called = 0;
  const cancels = Array.from({ length: 100 }, () => c.setTimeout(() => called++, 5));
  for (const x of cancels) x();
  for (let i = 0; i < 500 && c.listCount > 0; i++) await sleep(10);
  t.equal(called, 0);
  t.equal(c.listCount, 0);
});
