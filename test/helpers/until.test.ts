// The shared `until()` test helper: it must wait for async conditions (a Promise is truthy, so an
// un-awaited one used to end the wait at once) and must fail at its timeout rather than return, or
// every test built on it could pass without its condition ever holding.
import t from 'tap';
import { until } from './net-fixtures.js';

t.test('until: sync and async conditions; it waits, and fails at the timeout', async (t) => {
  const cases: { desc: string; async: boolean; trueAfterMs: number; ms: number; want: 'ok' | 'timeout' }[] = [
    { desc: 'sync, already true', async: false, trueAfterMs: 0, ms: 500, want: 'ok' },
    { desc: 'sync, true later', async: false, trueAfterMs: 100, ms: 1000, want: 'ok' },
    { desc: 'sync, never true', async: false, trueAfterMs: Infinity, ms: 100, want: 'timeout' },
    { desc: 'async, true later', async: true, trueAfterMs: 100, ms: 1000, want: 'ok' },
    { desc: 'async, never true', async: true, trueAfterMs: Infinity, ms: 100, want: 'timeout' },
  ];
  for (const c of cases) {
    const t0 = Date.now();
    const holds = () => Date.now() - t0 >= c.trueAfterMs;
    const cond = c.async ? async () => holds() : holds;
    let got: 'ok' | 'timeout';
    try {
      await until(cond, c.ms);
      got = 'ok';
    } catch (e) {
      t.match((e as Error).message, new RegExp(`not met within ${c.ms} ms`), `${c.desc}: the error names the timeout`);
      got = 'timeout';
    }
    const took = Date.now() - t0;
    t.equal(got, c.want, `${c.desc}: ${c.want}`);
    if (c.want === 'ok') t.ok(holds(), `${c.desc}: returned only once the condition held (${took} ms)`);
    else t.ok(took >= c.ms, `${c.desc}: waited the whole ${c.ms} ms before failing (${took} ms)`);
  }
});
