import t from 'tap';
import { compileText } from '../../src/config/compile.js';
import type { LvsModel } from '../../src/config/schema/lvs.js';
import { HealthEngine, type ProbeFactory } from '../../src/health/engine.js';
import { MinHeap } from '../../src/health/heap.js';
import type { Timing } from '../../src/health/state.js';
import { CheckScheduler, DEFAULT_WINDOW, LatenessHistogram, firstOffsetMs, firstWindowMs, nextWindow, spreadFraction } from '../../src/health/scheduler.js';
import type { Cancel, Clock } from '../../src/util/clock.js';

/*
 * The scheduler: the pure first-run spread, the heap, the concurrency limit and lateness of
 * CheckScheduler, and 1,000 checks through the engine (spread over their first second, never more
 * probes in flight than the limit).
 */

const flush = () => new Promise<void>((r) => setImmediate(r));

/** A fake clock whose advance lets promises settle after every timer. */
class StepClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers: { at: number; seq: number; fn: () => void; live: boolean }[] = [];
  /** Every timer fires this much late, as on a loop that is busy. */
  lagMs = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): Cancel {
    const x = { at: this.t + Math.max(0, ms) + this.lagMs, seq: this.seq++, fn, live: true };
    this.timers.push(x);
    return () => {
      x.live = false;
    };
  }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      this.timers = this.timers.filter((x) => x.live);
      let next: (typeof this.timers)[number] | undefined;
      for (const x of this.timers) if (!next || x.at < next.at || (x.at === next.at && x.seq < next.seq)) next = x;
      if (!next || next.at > end) break;
      this.t = next.at;
      next.live = false;
      next.fn();
    }
    this.t = end;
  }
}

t.test('first-run window and spread: a table', async (t) => {
  const cases: { desc: string; warmupMs: number; delayLoopMs: number; window: number }[] = [
    { desc: 'warmup (default delay_loop) is the window', warmupMs: 60_000, delayLoopMs: 60_000, window: 60_000 },
    { desc: 'shorter warmup', warmupMs: 5000, delayLoopMs: 60_000, window: 5000 },
    { desc: 'warmup longer than delay_loop', warmupMs: 30_000, delayLoopMs: 1000, window: 30_000 },
    { desc: 'warmup 0: at most 1 s', warmupMs: 0, delayLoopMs: 60_000, window: 1000 },
    { desc: 'warmup 0, short delay_loop: delay_loop', warmupMs: 0, delayLoopMs: 200, window: 200 },
  ];
  for (const c of cases) t.equal(firstWindowMs(c), c.window, c.desc);
  t.equal(spreadFraction(0, 0), 0);
  t.equal(spreadFraction(0, 0.25), 0.25);
  t.ok(Math.abs(spreadFraction(1, 0) - 0.618034) < 1e-6, 'golden-ratio steps');
  t.ok(Math.abs(spreadFraction(1, 0.5) - 0.118034) < 1e-6, 'wraps around');
  t.equal(firstOffsetMs({ warmupMs: 5000, delayLoopMs: 1000 }, 0, 0.5), 2500);
  for (const n of [10, 100, 1000, 10_000]) {
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < n; i++) buckets[Math.floor(spreadFraction(i, 0.3) * 10)]!++;
    t.ok(Math.max(...buckets) - Math.min(...buckets) <= 2, `${n} points: every tenth holds ${Math.min(...buckets)}-${Math.max(...buckets)}`);
  }
});

t.test('MinHeap pops in (at, seq) order', async (t) => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const h = new MinHeap<{ at: number; seq: number }>();
  const items = Array.from({ length: 500 }, (_, seq) => ({ at: Math.floor(rnd() * 50), seq }));
  for (const x of items) h.push(x);
  const out: { at: number; seq: number }[] = [];
  for (let x = h.pop(); x; x = h.pop()) out.push(x);
  t.same(out, [...items].sort((a, b) => a.at - b.at || a.seq - b.seq));
  t.equal(h.size, 0);
});

t.test('LatenessHistogram: percentiles in ms, negatives count as 0', async (t) => {
  const h = new LatenessHistogram();
  t.same(h.stats(), { count: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 });
  for (let i = 1; i <= 100; i++) h.record(i);
  h.record(-5);
  const s = h.stats();
  t.equal(s.count, 101);
  t.ok(Math.abs(s.p50Ms - 50) < 0.1 && Math.abs(s.p99Ms - 99) < 0.1 && Math.abs(s.maxMs - 100) < 0.1, JSON.stringify(s));
  h.reset();
  t.equal(h.stats().count, 0);
});

t.test('CheckScheduler: deadline order, limit, queue, lateness, cancel, reschedule, clear', async (t) => {
  const clock = new StepClock();
  const s = new CheckScheduler(clock, 2);
  const log: string[] = [];
  const task = (name: string, ms: number) => ({
    run: async () => {
      log.push(`${name}@${clock.now()}`);
      await new Promise<void>((r) => clock.setTimeout(r, ms));
    },
  });
  const [a, b, c, d, e] = [task('a', 100), task('b', 100), task('c', 100), task('d', 100), task('e', 10)];
  s.schedule(c, 0);
  s.schedule(a, 0);
  s.schedule(b, 0);
  s.schedule(d, 50);
  s.schedule(e, 30);
  s.schedule(e, 500);
  t.equal(s.dueAt(e), 500, 'scheduling again replaces the earlier time');
  await clock.advance(1000);
  t.same(log, ['c@0', 'a@0', 'b@100', 'd@100', 'e@500'], 'two at a time; due ones wait in deadline order');
  const st = s.stats();
  t.same([st.started, st.completed, st.maxInFlight, st.inFlight, st.queued, st.pending], [5, 5, 2, 0, 0, 0]);
  t.equal(st.lateness.count, 5);
  t.equal(st.lateness.p50Ms, 0, 'three started on time');
  t.ok(Math.abs(st.lateness.maxMs - 100) < 0.1, `b and d waited 100 and 50 ms: max ${st.lateness.maxMs}`);
  s.schedule(a, 1200);
  s.schedule(b, 1300);
  s.cancel(a);
  await clock.advance(200);
  t.same(log.slice(5), [], 'cancelled and not yet due');
  s.clear();
  await clock.advance(1000);
  t.same(log.slice(5), [], 'clear drops everything pending');
  t.throws(() => new CheckScheduler(clock, 0), RangeError);
  const bad = new CheckScheduler(clock, 1);
  bad.schedule({ run: () => Promise.reject(new Error('x')) }, 0);
  bad.schedule({ run: () => { throw new Error('sync'); } }, 0);
  bad.schedule({ run: async () => void log.push('after') }, 0);
  await clock.advance(10);
  t.same([bad.stats().completed, log.at(-1)], [3, 'after'], 'a failing task frees its slot');
});

/** `n` real servers of one HTTP_GET each, in virtual servers of 100. */
function manyServers(n: number, checker: string): LvsModel {
  const out: string[] = [];
  for (let v = 0; v * 100 < n; v++) {
    out.push(`virtual_server 10.1.${v}.1 80 {`, '  protocol TCP', '  lvs_sched rr', '  lvs_method TUN', '  delay_loop 1');
    for (let i = v * 100; i < Math.min(n, (v + 1) * 100); i++) out.push(`  real_server 127.2.${Math.floor(i / 250)}.${i % 250} 80 {`, `    ${checker}`, '  }');
    out.push('}');
  }
  const r = compileText(out.join('\n'), 'k.conf', {});
  if (!r.config) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.config;
}

/** Instrumented fake probes: start times, in-flight count and its maximum; each takes `latencyMs` of clock time. */
function instrumented(clock: StepClock, latencyMs: number) {
  const st = { starts: [] as number[], who: [] as string[], inFlight: 0, max: 0 };
  const factory: ProbeFactory = (c) => ({
    name: c.type,
    timing: c as Timing,
    probe: async () => {
      st.starts.push(clock.now());
      st.who.push('connectIp' in c ? c.connectIp : c.type);
      st.max = Math.max(st.max, ++st.inFlight);
      await new Promise<void>((r) => clock.setTimeout(r, latencyMs));
      st.inFlight--;
      return { ok: true, reason: 'ok', latencyMs, detail: '' };
    },
  });
  return { st, factory };
}

const TCP = 'TCP_CHECK {\n      connect_timeout 1\n    }';

t.test('1,000 checks with delay_loop 1 s: first runs spread over the first second, also after a reload', async (t) => {
  const N = 1000;
  const clock = new StepClock();
  const { st, factory } = instrumented(clock, 5);
  const engine = new HealthEngine(manyServers(N, TCP), { clock, probeFactory: factory, random: () => 0.42 });
  t.equal(engine.snapshot().distinctChecks, N);
  engine.start();
  await clock.advance(999.999);
  t.equal(st.starts.length, N, 'every check ran once in the first second');
  const buckets = new Array<number>(10).fill(0);
  for (const x of st.starts) buckets[Math.floor(x / 100)]!++;
  t.ok(Math.max(...buckets) <= N / 10 + 5 && Math.min(...buckets) >= N / 10 - 5, `per 100 ms: ${buckets.join(' ')}`);
  await clock.advance(4000);
  t.equal(st.starts.length, 5 * N, 'then once a second each');
  t.equal(engine.lateness().maxMs, 0, 'nothing late below the limit');
  // A reload adding 1,000 more: the new ones spread too, the old ones keep their pace.
  const before = st.starts.length;
  const t0 = clock.now();
  engine.update(manyServers(2 * N, TCP));
  await clock.advance(1000);
  const idx = st.starts.map((x, i) => [x, i] as const).filter(([x, i]) => i >= before && x < t0 + 1000);
  const fresh = idx.map(([x]) => x);
  const who = new Set(idx.map(([, i]) => st.who[i]));
  // (A check due just after the second may start up to TIMER_SLACK_MS early, inside it.)
  t.ok(who.size === 2 * N && fresh.length <= 2 * N + 2, `in the second after the reload, each of the 1,000 old and 1,000 new checks ran once (${fresh.length} starts)`);
  const b2 = new Array<number>(10).fill(0);
  for (const x of fresh) b2[Math.floor((x - t0) / 100)]!++;
  t.ok(Math.max(...b2) <= (2 * N) / 10 + 20, `per 100 ms after the reload: ${b2.join(' ')}`);
  engine.stop();
});

t.test('concurrency never exceeds the limit; queued checks are late and the histogram says so', async (t) => {
  const N = 1000;
  const clock = new StepClock();
  // 1,000 checks a second of 50 ms each need 50 in flight; allow 20.
  const { st, factory } = instrumented(clock, 50);
  const engine = new HealthEngine(manyServers(N, TCP), { clock, probeFactory: factory, random: () => 0.42, maxConcurrent: 20 });
  engine.start();
  await clock.advance(5000);
  engine.stop();
  await clock.advance(100);
  t.equal(st.max, 20, 'the limit was reached and never exceeded');
  const snap = engine.snapshot();
  t.equal(snap.scheduler.maxInFlight, 20);
  t.equal(snap.scheduler.inFlight, 0);
  t.ok(st.starts.length >= 5000 * (20 / 50) * 0.95, `throughput at the limit: ${st.starts.length} checks in 5 s`);
  const late = engine.lateness();
  t.ok(late.count === st.starts.length && late.p99Ms > 100, `lateness recorded for each start: p50 ${late.p50Ms} ms, p99 ${late.p99Ms} ms`);
  const ran = new Set(snap.virtualServers.flatMap((v) => v.realServers.filter((r) => r.checks > 0).map((r) => r.rs)));
  t.equal(ran.size, N, 'no check starved: each ran');
});

t.test('nextWindow: AIMD on the loop lag, within [min, maxConcurrent]', async (t) => {
  const W = DEFAULT_WINDOW; // min 16, high 50 ms, low 20 ms
  const cases: { desc: string; window: number; lag: number; limited: boolean; max: number; want: number }[] = [
    { desc: 'lagging loop: shrink by a quarter', window: 64, lag: 80, limited: true, max: 2048, want: 48 },
    { desc: 'lagging loop, not limited: shrink too', window: 64, lag: 80, limited: false, max: 2048, want: 48 },
    { desc: 'never under min', window: 18, lag: 500, limited: true, max: 2048, want: 16 },
    { desc: 'min above maxConcurrent: maxConcurrent', window: 4, lag: 500, limited: true, max: 4, want: 4 },
    { desc: 'quiet loop and checks held back: grow by an eighth', window: 64, lag: 1, limited: true, max: 2048, want: 72 },
    { desc: 'grow by at least 1', window: 5, lag: 0, limited: true, max: 2048, want: 16 },
    { desc: 'quiet loop, nothing held back: unchanged', window: 64, lag: 1, limited: false, max: 2048, want: 64 },
    { desc: 'between the thresholds: unchanged', window: 64, lag: 30, limited: true, max: 2048, want: 64 },
    { desc: 'never over maxConcurrent', window: 2000, lag: 0, limited: true, max: 2048, want: 2048 },
  ];
  for (const c of cases) t.equal(nextWindow(c.window, c.lag, c.limited, c.max, W), c.want, c.desc);
});

t.test('CheckScheduler: the window shrinks while the loop lags, grows back to maxConcurrent when it does not', async (t) => {
  const clock = new StepClock();
  const s = new CheckScheduler(clock, 500);
  let inFlight = 0;
  let max = 0;
  // 2,000 tasks of 1 s each, all due at once: far more than any window
  const tasks = Array.from({ length: 2000 }, () => ({
    run: async () => {
      max = Math.max(max, ++inFlight);
      await new Promise<void>((r) => clock.setTimeout(r, 1000));
      inFlight--;
    },
  }));
  for (const x of tasks) s.schedule(x, 0);
  await clock.advance(0);
  t.equal(s.stats().window, DEFAULT_WINDOW.initial, 'starts at the initial window');
  t.equal(max, DEFAULT_WINDOW.initial, 'no more in flight than the window');
  await clock.advance(3000);
  t.equal(s.stats().window, 500, 'a quiet loop with checks held back grows the window to maxConcurrent');
  t.ok(max <= 500, `never more than maxConcurrent in flight (${max})`);
  clock.lagMs = 200;
  await clock.advance(6000);
  const st = s.stats();
  t.equal(st.window, DEFAULT_WINDOW.min, 'a loop lagging 200 ms shrinks it to the minimum');
  t.ok(st.loopLagMs >= 200, `the lag is reported: ${st.loopLagMs} ms`);
  t.ok(st.inFlight <= 500, 'probes already in flight finish; no new ones over the window');
  clock.lagMs = 0;
  await clock.advance(4000);
  t.ok(s.stats().window > DEFAULT_WINDOW.min, `it grows back once the loop is quiet (${s.stats().window})`);
  s.clear();
});
