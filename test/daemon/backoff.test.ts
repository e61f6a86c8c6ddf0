import t from 'tap';
import { DEFAULT_BACKOFF, RestartBackoff } from '../../src/daemon/backoff.js';

t.test('default schedule: 1 s doubling to 30 s', async (t) => {
  const b = new RestartBackoff();
  // Each run lasted 5 s (less than the healthy minute).
  const delays = Array.from({ length: 8 }, (_, i) => b.next(i * 100_000, i * 100_000 + 5000));
  t.same(delays, [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  t.same(DEFAULT_BACKOFF, { initialMs: 1000, maxMs: 30_000, factor: 2, resetAfterMs: 60_000 });
});

const cases: { desc: string; runs: number[]; want: number[] }[] = [
  { desc: 'crash at once, every time', runs: [0, 0, 0, 0], want: [1000, 2000, 4000, 8000] },
  { desc: 'a healthy minute resets', runs: [10, 10, 60_000, 10, 10], want: [1000, 2000, 1000, 2000, 4000] },
  { desc: 'just under a minute does not', runs: [10, 59_999, 10], want: [1000, 2000, 4000] },
  { desc: 'reset from the cap', runs: [0, 0, 0, 0, 0, 0, 0, 120_000], want: [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 1000] },
];
for (const c of cases)
  t.test(c.desc, async (t) => {
    const b = new RestartBackoff();
    t.same(c.runs.map((ran) => b.next(1_000_000, 1_000_000 + ran)), c.want);
  });

t.test('a custom policy', async (t) => {
  const b = new RestartBackoff({ initialMs: 100, maxMs: 250, factor: 3, resetAfterMs: 1000 });
  t.same([0, 0, 0, 5000, 0].map((ran) => b.next(0, ran)), [100, 250, 250, 100, 250]);
});
