import t from 'tap';
import { type Probe, RealServerMonitor, type RsTransition } from '../../src/health/monitor.js';
import type { CheckResult, Reason } from '../../src/health/result.js';
import { type CheckerState, type Timing, type WeightInput, checkerStep, firstDelayMs, initialChecker, rsUp, rsVerdict } from '../../src/health/state.js';
import { FakeClock } from '../../src/util/clock.js';

/*
 * keepalived's retry / delay_before_retry / alpha / warmup / delay_loop semantics as tables, on a
 * fake clock.
 */

const T: Timing = { retry: 2, delayBeforeRetryMs: 3000, delayLoopMs: 10_000, warmupMs: 0, alpha: false };

t.test('checkerStep: a table of result sequences', async (t) => {
  const cases: { desc: string; timing?: Partial<Timing>; results: boolean[]; want: { up: boolean; delays: number[]; changes: string[] } }[] = [
    { desc: 'all ok: no change, delay_loop apart', results: [true, true], want: { up: true, delays: [10_000, 10_000], changes: [] } },
    { desc: 'retry 2: down on the 3rd consecutive failure', results: [false, false, false], want: { up: false, delays: [3000, 3000, 10_000], changes: ['down'] } },
    { desc: 'a success inside the retries resets them', results: [false, false, true, false, false], want: { up: true, delays: [3000, 3000, 10_000, 3000, 3000], changes: [] } },
    { desc: 'retry 0: down at the first failure', timing: { retry: 0 }, results: [false], want: { up: false, delays: [10_000], changes: ['down'] } },
    { desc: 'down: no retries, max(delay_loop, delay_before_retry); up on first success', timing: { retry: 0, delayBeforeRetryMs: 20_000 }, results: [false, false, true], want: { up: true, delays: [20_000, 20_000, 10_000], changes: ['down', 'up'] } },
    { desc: 'alpha: starts down, up on first success', timing: { alpha: true }, results: [true], want: { up: true, delays: [10_000], changes: ['up'] } },
    { desc: 'alpha: failures before the first verdict are retried but change nothing', timing: { alpha: true }, results: [false, false, false, false], want: { up: false, delays: [3000, 3000, 10_000, 10_000], changes: [] } },
    { desc: 'after recovering, failures are retried again', timing: { retry: 1 }, results: [false, false, true, false, false], want: { up: false, delays: [3000, 10_000, 10_000, 3000, 10_000], changes: ['down', 'up', 'down'] } },
  ];
  for (const c of cases) {
    const timing = { ...T, ...c.timing };
    let s: CheckerState = initialChecker(timing);
    const delays: number[] = [];
    const changes: string[] = [];
    for (const ok of c.results) {
      const r = checkerStep(s, timing, ok, ok ? 'ok' : 'timeout');
      s = r.state;
      delays.push(r.nextInMs);
      if (r.change) changes.push(r.change.up ? 'up' : 'down');
    }
    t.same({ up: s.up, delays, changes }, c.want, c.desc);
  }
  const down = checkerStep(checkerStep(checkerStep(initialChecker(T), T, false, 'reset').state, T, false, 'reset').state, T, false, 'bad-status', 'status 500').change;
  t.same(down, { up: false, reason: 'bad-status (status 500) after 2 retries' }, 'the reason names the last failure and the retries');
});

t.test('warmup: uniform in [0, warmup), 0 disables', async (t) => {
  t.equal(firstDelayMs({ warmupMs: 0 }, () => 0.99), 0);
  t.equal(firstDelayMs({ warmupMs: 5000 }, () => 0), 0);
  t.equal(firstDelayMs({ warmupMs: 5000 }, () => 0.5), 2500);
  t.ok(firstDelayMs({ warmupMs: 5000 }, () => 0.999999) < 5000);
  t.equal(rsUp([]), true, 'no checkers: always up');
});

t.test('rsVerdict: all checkers up; dynamic weights as keepalived offsets: a table', async (t) => {
  const cases: { desc: string; configured: number; checkers: WeightInput[]; want: { up: boolean; weight: number } }[] = [
    { desc: 'no checkers: up, configured weight', configured: 3, checkers: [], want: { up: true, weight: 3 } },
    { desc: 'one down: down, weight kept', configured: 3, checkers: [{ up: true }, { up: false }], want: { up: false, weight: 3 } },
    { desc: 'misc_dynamic weight replaces the configured one', configured: 3, checkers: [{ up: true, weight: 10 }], want: { up: true, weight: 10 } },
    { desc: 'two misc_dynamic: offsets add (3 + 7 + 2)', configured: 3, checkers: [{ up: true, weight: 10 }, { up: true, weight: 5 }], want: { up: true, weight: 12 } },
    { desc: 'FILE_CHECK delta adds', configured: 3, checkers: [{ up: true, weightDelta: -2 }], want: { up: true, weight: 1 } },
    { desc: 'clamped at 0', configured: 3, checkers: [{ up: true, weightDelta: -10 }], want: { up: true, weight: 0 } },
    { desc: 'clamped at 2147483647', configured: 2147483647, checkers: [{ up: true, weightDelta: 5 }], want: { up: true, weight: 2147483647 } },
  ];
  for (const c of cases) t.same(rsVerdict(c.configured, c.checkers), c.want, c.desc);
});

/** A probe that replays scripted results and records when it ran. */
function scripted(clock: FakeClock, results: (Reason | 'ok')[]): Probe & { times: number[] } {
  const times: number[] = [];
  const p = (async (): Promise<CheckResult> => {
    times.push(clock.now());
    const reason = results.shift() ?? 'ok';
    return { ok: reason === 'ok', reason, latencyMs: 1, detail: reason };
  }) as Probe & { times: number[] };
  p.times = times;
  return p;
}

/** Advances the fake clock in steps, letting probe promises settle in between. */
async function advance(clock: FakeClock, ms: number, step = 100): Promise<void> {
  for (let i = 0; i < ms; i += step) {
    clock.advance(Math.min(step, ms - i));
    for (let k = 0; k < 5; k++) await Promise.resolve();
  }
}

t.test('RealServerMonitor: warmup, retries on the clock, transitions once per change', async (t) => {
  const clock = new FakeClock();
  const out: RsTransition[] = [];
  const probe = scripted(clock, ['ok', 'timeout', 'timeout', 'timeout', 'timeout', 'ok', 'ok']);
  const m = new RealServerMonitor({
    rs: '10.0.0.2:80',
    checkers: [{ name: 'HTTP_GET 10.0.0.2:80', timing: { ...T, warmupMs: 4000 }, probe }],
    onTransition: (x) => out.push(x),
    clock,
    random: () => 0.25,
  });
  m.start();
  t.equal(m.isUp, true, 'not alpha: up at start');
  await advance(clock, 60_000);
  // warmup 1000; ok → +10000; 3 failures: +3000, +3000, then down → +10000 (down, no retry) → ok.
  t.same(probe.times.slice(0, 7), [1000, 11_000, 14_000, 17_000, 27_000, 37_000, 47_000]);
  t.same(out.map((x) => [x.up, x.at]), [[false, 17_000], [true, 37_000]]);
  t.match(out[0]!.reason, /^HTTP_GET 10\.0\.0\.2:80: timeout .*after 2 retries/);
  const snap = m.snapshot();
  t.equal(snap.up, true);
  t.equal(snap.checkers[0]!.lastReason, 'ok');
  m.stop();
  const n = probe.times.length;
  await advance(clock, 60_000);
  t.equal(probe.times.length, n, 'stop cancels the schedule');
});

t.test('RealServerMonitor: several checkers, all must be up; alpha starts down', async (t) => {
  const table: { desc: string; alpha: boolean; a: (Reason | 'ok')[]; b: (Reason | 'ok')[]; want: [boolean, string][] }[] = [
    { desc: 'one checker down takes the RS down; up again only when both are up', alpha: false, a: ['ok', 'reset', 'ok', 'ok'], b: ['ok', 'ok', 'ok', 'ok'], want: [[false, 'A'], [true, 'A']] },
    { desc: 'two checkers down: one transition down, up after both recover', alpha: false, a: ['reset', 'ok'], b: ['reset', 'reset', 'ok'], want: [[false, 'A'], [true, 'B']] },
    { desc: 'alpha: down until every checker passed once', alpha: true, a: ['ok'], b: ['timeout', 'ok'], want: [[true, 'B']] },
  ];
  for (const c of table) {
    const clock = new FakeClock();
    const out: RsTransition[] = [];
    const timing: Timing = { retry: 0, delayBeforeRetryMs: 1000, delayLoopMs: 1000, warmupMs: 0, alpha: c.alpha };
    const m = new RealServerMonitor({
      rs: 'rs',
      checkers: [
        { name: 'A', timing, probe: scripted(clock, c.a) },
        { name: 'B', timing: { ...timing, delayLoopMs: 1500, delayBeforeRetryMs: 1500 }, probe: scripted(clock, c.b) },
      ],
      onTransition: (x) => out.push(x),
      clock,
    });
    t.equal(m.isUp, !c.alpha, `${c.desc}: initial`);
    m.start();
    await advance(clock, 10_000);
    m.stop();
    t.same(out.map((x) => [x.up, x.reason.split(':')[0]]), c.want, c.desc);
  }
});
