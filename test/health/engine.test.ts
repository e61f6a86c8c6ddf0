import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { compileText } from '../../src/config/compile.js';
import type { Checker } from '../../src/config/schema/checkers.js';
import type { LvsModel } from '../../src/config/schema/lvs.js';
import { type HealthTransition, HealthEngine, type ProbeFactory } from '../../src/health/engine.js';
import { canonicalJson, checkKey, rsName, vsName } from '../../src/health/names.js';
import type { CheckResult, Reason } from '../../src/health/result.js';
import type { Timing } from '../../src/health/state.js';
import type { Cancel, Clock } from '../../src/util/clock.js';

/*
 * HealthEngine on a fake clock with scripted probes: keepalived's retry/alpha/warmup rules end to
 * end, several checkers per real server, dynamic weights, notify scripts (a real shell script),
 * fan-out of shared checks, reload and stop. Real probes against real servers: engine-real.test.ts.
 */

const flush = () => new Promise<void>((r) => setImmediate(r));

/** A fake clock whose advance lets promises settle after every timer, so results land at the fire time. */
class StepClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers: { at: number; seq: number; fn: () => void; live: boolean }[] = [];
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): Cancel {
    const x = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, live: true };
    this.timers.push(x);
    return () => {
      x.live = false;
    };
  }
  /** Timers still pending. */
  pending(): number {
    return this.timers.filter((x) => x.live).length;
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

type Outcome = 'ok' | Reason | { ok?: boolean; reason?: Reason; weight?: number; weightDelta?: number; throw?: boolean };

/** Where a checker goes: `ip:port` for network checkers, the command for MISC_CHECK. */
function labelOf(c: Checker): string {
  if (c.type === 'MISC_CHECK') return c.miscPath.command;
  if ('connectIp' in c) return rsName({ address: c.connectIp, port: c.connectPort });
  return c.type;
}

/** Scripted probes: each label replays its outcomes (then 'ok'), records call times, optionally takes `latencyMs` of clock time. */
class Fakes {
  readonly calls: { label: string; at: number }[] = [];
  readonly scripts = new Map<string, Outcome[]>();
  latencyMs = 0;
  constructor(private readonly clock: StepClock) {}
  script(label: string, ...o: Outcome[]): void {
    this.scripts.set(label, o);
  }
  times(label: string): number[] {
    return this.calls.filter((c) => c.label === label).map((c) => c.at);
  }
  readonly factory: ProbeFactory = (c) => {
    if (!('retry' in c)) return undefined;
    const label = labelOf(c);
    return { name: `${c.type} ${label}`, timing: c as Timing, probe: () => this.probe(label) };
  };
  private async probe(label: string): Promise<CheckResult> {
    this.calls.push({ label, at: this.clock.now() });
    const o = this.scripts.get(label)?.shift() ?? 'ok';
    if (this.latencyMs > 0) await new Promise<void>((r) => this.clock.setTimeout(r, this.latencyMs));
    if (typeof o === 'string') return { ok: o === 'ok', reason: o, latencyMs: this.latencyMs, detail: o === 'ok' ? '' : o.toUpperCase() };
    if (o.throw) throw new Error('boom');
    const ok = o.ok ?? true;
    return { ok, reason: o.reason ?? (ok ? 'ok' : 'io-error'), latencyMs: 0, detail: '', ...(o.weight !== undefined ? { weight: o.weight } : {}), ...(o.weightDelta !== undefined ? { weightDelta: o.weightDelta } : {}) };
  }
}

/** Compiles keepalived.conf text. */
function model(src: string): LvsModel {
  const r = compileText(src, 'k.conf', {});
  if (!r.config) throw new Error(r.diagnostics.map((d) => `${d.pos.line}:${d.pos.col} ${d.message}`).join('\n'));
  return r.config;
}

const vsConf = (head: string, ...rss: string[]) => [`virtual_server ${head} {`, '  protocol TCP', '  lvs_sched rr', '  lvs_method NAT', ...rss, '}', ''].join('\n');
const rsConf = (addr: string, ...lines: string[]) => [`  real_server ${addr} {`, ...lines.map((l) => `    ${l}`), '  }'].join('\n');
const block = (type: string, ...lines: string[]) => [`${type} {`, ...lines.map((l) => `  ${l}`), '}'].join('\n    ');

/** An engine on a StepClock with fakes and its transitions. */
function rig(src: string, o: { random?: number; maxConcurrent?: number } = {}) {
  const clock = new StepClock();
  const fakes = new Fakes(clock);
  const out: HealthTransition[] = [];
  const engine = new HealthEngine(model(src), { clock, probeFactory: fakes.factory, random: () => o.random ?? 0, ...(o.maxConcurrent ? { maxConcurrent: o.maxConcurrent } : {}) });
  engine.onTransition((x) => out.push(x));
  return { clock, fakes, out, engine };
}

t.test('retry, delay_before_retry, delay_loop and alpha on the clock: a table', async (t) => {
  const cases: { desc: string; check: string[]; results: Outcome[]; initial: boolean; times: number[]; want: [string, number][]; reason?: RegExp }[] = [
    {
      desc: 'retry 2: down on the 3rd consecutive failure, delay_before_retry apart; up on the next success',
      check: ['retry 2', 'delay_before_retry 3', 'delay_loop 10'],
      results: ['ok', 'timeout', 'timeout', 'timeout', 'ok'],
      initial: true,
      times: [0, 10_000, 13_000, 16_000, 26_000],
      want: [['down', 16_000], ['up', 26_000]],
      reason: /^TCP_CHECK 10\.0\.1\.1:80: timeout \(TIMEOUT\) after 2 retries$/,
    },
    { desc: 'retry 0: down at the first failure', check: ['retry 0', 'delay_loop 5'], results: ['ok', 'reset'], initial: true, times: [0, 5000], want: [['down', 5000]], reason: /: reset \(RESET\)$/ },
    {
      desc: 'a success inside the retries resets them',
      check: ['retry 1', 'delay_before_retry 1', 'delay_loop 2'],
      results: ['reset', 'ok', 'reset', 'reset'],
      initial: true,
      times: [0, 1000, 3000, 4000],
      want: [['down', 4000]],
    },
    { desc: 'while down: no retries, max(delay_loop, delay_before_retry) apart', check: ['retry 0', 'delay_before_retry 7', 'delay_loop 2'], results: ['reset', 'reset', 'ok'], initial: true, times: [0, 7000, 14_000], want: [['down', 0], ['up', 14_000]] },
    { desc: 'alpha: starts down, one success brings it up', check: ['alpha', 'retry 1', 'delay_loop 2'], results: ['ok'], initial: false, times: [0, 2000], want: [['up', 0]], reason: /: ok$/ },
    { desc: 'alpha: failures keep it down without a transition', check: ['alpha', 'retry 1', 'delay_before_retry 1', 'delay_loop 2'], results: ['timeout', 'timeout', 'timeout', 'timeout'], initial: false, times: [0, 1000, 3000, 5000], want: [] },
  ];
  for (const c of cases) {
    const { clock, fakes, out, engine } = rig(vsConf('10.0.0.1 80', rsConf('10.0.1.1 80', block('TCP_CHECK', 'warmup 0', ...c.check))));
    fakes.script('10.0.1.1:80', ...c.results);
    t.same(engine.verdicts(), { '10.0.0.1:80 TCP': { '10.0.1.1:80': { up: c.initial, weight: 1 } } }, `${c.desc}: initial verdict`);
    engine.start();
    await clock.advance(c.times.at(-1)! + 1);
    engine.stop();
    t.same(fakes.times('10.0.1.1:80').slice(0, c.times.length), c.times, `${c.desc}: check times`);
    t.same(out.map((x) => [x.change, x.at]), c.want, `${c.desc}: transitions`);
    if (c.reason) t.match(out[0]?.reason, c.reason, `${c.desc}: reason`);
    t.ok(out.every((x) => x.vs === '10.0.0.1:80 TCP' && x.rs === '10.0.1.1:80'), 'names');
  }
});

t.test('a slow check keeps its cadence after a success; retries count from the end of the failure', async (t) => {
  const { clock, fakes, out, engine } = rig(vsConf('10.0.0.1 80', rsConf('10.0.1.1 80', block('TCP_CHECK', 'warmup 0', 'retry 1', 'delay_before_retry 1', 'delay_loop 1'))));
  fakes.latencyMs = 300;
  fakes.script('10.0.1.1:80', 'ok', 'ok', 'ok', 'timeout', 'timeout', 'ok');
  engine.start();
  await clock.advance(8000);
  engine.stop();
  // ok at 0, 1000, 2000 (not 1300, 2600); timeout at 3000 ends 3300 → retry at 4300, ends 4600 → down,
  // next after max(delay_loop, delay_before_retry) from there: 5600 → ok → next 6600.
  t.same(fakes.times('10.0.1.1:80').slice(0, 7), [0, 1000, 2000, 3000, 4300, 5600, 6600]);
  t.same(out.map((x) => [x.change, x.at]), [['down', 4600], ['up', 5900]]);
  t.equal(engine.lateness().maxMs, 0, 'never late');
});

t.test('warmup: every first check within [0, warmup), also beyond delay_loop; warmup 0 spreads over 1 s', async (t) => {
  for (const [warmup, loop, limit] of [[5, 10, 5000], [20, 10, 20_000], [0, 10, 1000], [0, 0.3, 300]] as const) {
    const rss = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => rsConf(`10.0.1.${i} 80`, block('TCP_CHECK', `warmup ${warmup}`, `delay_loop ${loop}`)));
    const { clock, fakes, engine } = rig(vsConf('10.0.0.1 80', ...rss), { random: 0.3 });
    engine.start();
    await clock.advance(limit + 1);
    engine.stop();
    const firsts = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => fakes.times(`10.0.1.${i}:80`)[0]);
    t.ok(firsts.every((x) => x !== undefined && x >= 0 && x < limit), `warmup ${warmup}, delay_loop ${loop}: first checks ${firsts.map((x) => x?.toFixed(0)).join(' ')} within ${limit} ms`);
    t.equal(new Set(firsts).size, 8, 'no two at the same instant');
    if (warmup > loop) t.ok(firsts.some((x) => x! > loop * 1000), 'a warmup longer than delay_loop is honoured');
  }
});

t.test('several checkers on one real server: all must pass', async (t) => {
  const cases: { desc: string; a: Outcome[]; b: Outcome[]; want: [string, string][] }[] = [
    { desc: 'one checker down takes the RS down; up again when it recovers', a: ['ok', 'reset', 'ok'], b: [], want: [['down', 'TCP_CHECK 10.0.1.1:81'], ['up', 'TCP_CHECK 10.0.1.1:81']] },
    { desc: 'both down: one transition down; up only after both recover', a: ['reset', 'ok'], b: ['reset', 'reset', 'reset', 'ok'], want: [['down', 'TCP_CHECK 10.0.1.1:81'], ['up', 'TCP_CHECK 10.0.1.1:82']] },
    { desc: 'no failure: no transition', a: [], b: [], want: [] },
  ];
  for (const c of cases) {
    const check = (port: number) => block('TCP_CHECK', `connect_port ${port}`, 'retry 0', 'warmup 0', 'delay_loop 1');
    const { clock, fakes, out, engine } = rig(vsConf('10.0.0.1 80', rsConf('10.0.1.1 80', check(81), check(82))));
    fakes.script('10.0.1.1:81', ...c.a);
    fakes.script('10.0.1.1:82', ...c.b);
    engine.start();
    await clock.advance(10_000);
    engine.stop();
    t.same(out.map((x) => [x.change, x.reason.replace(/: (ok|reset).*$/, '')]), c.want, c.desc);
    const rs = engine.snapshot().virtualServers[0]!.realServers[0]!;
    t.same(rs.checkers.map((x) => x.name), ['TCP_CHECK 10.0.1.1:81', 'TCP_CHECK 10.0.1.1:82'], 'snapshot lists both checkers');
    t.equal(rs.up, true, 'up at the end');
  }
});

t.test('dynamic weights: misc_dynamic and FILE_CHECK-style deltas emit weight transitions', async (t) => {
  const misc = block('MISC_CHECK', 'misc_path "/bin/w"', 'misc_dynamic', 'warmup 0', 'delay_loop 1');
  const tcp = block('TCP_CHECK', 'retry 0', 'warmup 0', 'delay_loop 1');
  const cases: { desc: string; checks: string[]; m: Outcome[]; t: Outcome[]; want: [string, boolean, number][] }[] = [
    {
      desc: 'misc_dynamic sets the weight; unchanged weight or none: no transition; a failure keeps the weight',
      checks: [misc],
      m: [{ weight: 5 }, { weight: 5 }, 'ok', { weight: 8 }, { ok: false, reason: 'script-exit' }, { weight: 2 }],
      t: [],
      want: [['weight', true, 5], ['weight', true, 8], ['down', false, 8], ['up', true, 2]],
    },
    { desc: 'weight 0 keeps the server up with weight 0', checks: [misc], m: [{ weight: 0 }], t: [], want: [['weight', true, 0]] },
    { desc: 'a delta adds to the configured weight (3), clamped at 0', checks: [tcp], m: [], t: [{ weightDelta: 2 }, { weightDelta: -5 }, { weightDelta: -1 }], want: [['weight', true, 5], ['weight', true, 0], ['weight', true, 2]] },
    { desc: 'misc weight and a delta combine (keepalived offsets)', checks: [misc, tcp], m: [{ weight: 10 }], t: ['ok', { weightDelta: 4 }], want: [['weight', true, 10], ['weight', true, 14]] },
    { desc: 'an invalid weight is ignored', checks: [misc], m: [{ weight: -3 }, { weight: 1.5 }], t: [], want: [] },
  ];
  for (const c of cases) {
    const { clock, fakes, out, engine } = rig(vsConf('10.0.0.1 80', rsConf('10.0.1.1 80', 'weight 3', ...c.checks)));
    fakes.script('/bin/w', ...c.m);
    fakes.script('10.0.1.1:80', ...c.t);
    engine.start();
    await clock.advance(10_000);
    engine.stop();
    t.same(out.map((x) => [x.change, x.up, x.weight]), c.want, c.desc);
  }
  const { clock, fakes, out, engine } = rig(vsConf('10.0.0.1 80', rsConf('10.0.1.1 80', 'weight 3', misc)));
  fakes.script('/bin/w', { weight: 7 });
  engine.start();
  await clock.advance(10);
  t.equal(out[0]?.reason, 'MISC_CHECK /bin/w: weight 3 -> 7');
  t.same(engine.verdicts()['10.0.0.1:80 TCP'], { '10.0.1.1:80': { up: true, weight: 7 } });
  t.equal(engine.snapshot().virtualServers[0]!.realServers[0]!.checkers[0]!.weight, 7);
  engine.stop();
});

t.test('notify_down / notify_up: a real script, run in transition order even when one is slow', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-notify-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'n.sh');
  const log = path.join(dir, 'log');
  // "down" sleeps first: if scripts ran concurrently, the "up" after it would be written before it.
  fs.writeFileSync(script, `#!/bin/sh\n[ "$1" = down ] && sleep 0.3\necho "$1 $2" >> ${log}\n`, { mode: 0o755 });
  const rs = (i: number) => rsConf(`10.0.1.${i} 80`, `notify_up "${script} up ${i}"`, `notify_down "${script} down ${i}"`, block('TCP_CHECK', 'retry 0', 'warmup 0', 'delay_loop 1'));
  const { clock, fakes, out, engine } = rig(vsConf('10.0.0.1 80', rs(1)));
  fakes.script('10.0.1.1:80', 'reset', 'ok', 'reset', 'ok');
  engine.start();
  await clock.advance(4000);
  engine.stop();
  t.same(out.map((x) => x.change), ['down', 'up', 'down', 'up']);
  const started = Date.now();
  await engine.idle();
  t.ok(Date.now() - started >= 400, 'the scripts ran one after another (two 0.3 s sleeps)');
  t.equal(fs.readFileSync(log, 'utf8'), 'down 1\nup 1\ndown 1\nup 1\n');
});

t.test('fan-out: one probe per interval for a check shared by three virtual servers, three transitions', async (t) => {
  const check = (extra = '') => block('TCP_CHECK', 'retry 0', 'delay_loop 1', ...(extra ? [extra] : []));
  const src = [
    vsConf('10.0.0.1 80', rsConf('10.0.1.1 80', check())),
    vsConf('10.0.0.2 80', rsConf('10.0.1.1 80', check())),
    vsConf('10.0.0.3 8080', rsConf('10.0.1.1 8080', check('connect_port 80'))),
    vsConf('10.0.0.4 80', rsConf('10.0.1.1 80', check('connect_port 81'))),
  ].join('\n');
  const { clock, fakes, out, engine } = rig(src);
  const snap0 = engine.snapshot();
  t.equal(snap0.distinctChecks, 2, 'three identical checks (one via connect_port) are one; another port is another');
  t.equal(snap0.pairs, 4);
  t.same(snap0.virtualServers.map((v) => v.realServers[0]!.checkers[0]!.sharedBy), [3, 3, 3, 1]);
  const other = new HealthEngine(model(`${src}\n${vsConf('10.0.0.5 80', rsConf('10.0.1.1 80', check('connect_timeout 2')))}`), { probeFactory: fakes.factory });
  t.equal(other.snapshot().distinctChecks, 3, 'the same target with another connect_timeout is another check');
  engine.start();
  await clock.advance(9_999);
  const calls = fakes.times('10.0.1.1:80');
  t.equal(calls.length, 10, 'the shared check ran once per second over 10 s');
  t.equal(fakes.times('10.0.1.1:81').length, 10);
  fakes.script('10.0.1.1:80', 'reset');
  await clock.advance(1000);
  engine.stop();
  t.equal(fakes.times('10.0.1.1:80').length, 11, 'still one probe per interval');
  t.same(
    out.map((x) => [x.vs, x.rs, x.change]),
    [
      ['10.0.0.1:80 TCP', '10.0.1.1:80', 'down'],
      ['10.0.0.2:80 TCP', '10.0.1.1:80', 'down'],
      ['10.0.0.3:8080 TCP', '10.0.1.1:8080', 'down'],
    ],
    'the failure of the shared check fans out to its three virtual servers; the other check was fine',
  );
  t.equal(new Set(out.map((x) => x.at)).size, 1, 'at the same instant');
  t.same(engine.verdicts()['10.0.0.4:80 TCP'], { '10.0.1.1:80': { up: true, weight: 1 } });
});

t.test('reload: unchanged checks keep counters and schedule, removed ones stop, new ones start spread', async (t) => {
  const check = block('TCP_CHECK', 'retry 0', 'delay_loop 1');
  const a = vsConf('10.0.0.1 80', rsConf('10.0.1.1 80', check), rsConf('10.0.1.2 80', check), rsConf('10.0.1.3 80', check));
  const b = vsConf('10.0.0.1 80', rsConf('10.0.1.1 80', check), rsConf('10.0.1.2 80', 'weight 5', check), rsConf('10.0.1.4 80', check));
  const { clock, fakes, out, engine } = rig(a, { random: 0.1 });
  fakes.script('10.0.1.1:80', 'ok', 'ok', ...Array<Outcome>(20).fill('reset'));
  engine.start();
  await clock.advance(5500);
  t.same(out.map((x) => [x.rs, x.change]), [['10.0.1.1:80', 'down']]);
  const view = () => new Map(engine.snapshot().virtualServers[0]!.realServers.map((r) => [r.rs, r]));
  const before = view();
  const reloadAt = clock.now();
  const callsBefore = fakes.calls.length;
  engine.update(model(b));
  const after = view();
  t.same([...after.keys()], ['10.0.1.1:80', '10.0.1.2:80', '10.0.1.4:80']);
  for (const rs of ['10.0.1.1:80', '10.0.1.2:80']) {
    const x = before.get(rs)!;
    const y = after.get(rs)!;
    t.same([y.checks, y.failures, y.checkers[0]!.nextAt, y.up], [x.checks, x.failures, x.checkers[0]!.nextAt, x.up], `${rs}: counters, next check and state kept`);
  }
  t.same([before.get('10.0.1.1:80')!.up, after.get('10.0.1.1:80')!.since], [false, before.get('10.0.1.1:80')!.since], 'the down server stays down across the reload, since the same time');
  t.same(out.slice(1).map((x) => [x.rs, x.change, x.weight, x.reason]), [['10.0.1.2:80', 'weight', 5, 'reload: weight 1 -> 5']], 'only the changed weight is a transition');
  await clock.advance(10);
  t.equal(fakes.calls.length, callsBefore, 'no burst of checks at the reload');
  await clock.advance(3000);
  engine.stop();
  t.equal(fakes.times('10.0.1.3:80').filter((x) => x > reloadAt).length, 0, 'the removed check stopped');
  const first4 = fakes.times('10.0.1.4:80')[0]!;
  t.ok(first4 > reloadAt && first4 < reloadAt + 1000, `the new check started within its window (+${(first4 - reloadAt).toFixed(0)} ms)`);
  const t2 = fakes.times('10.0.1.2:80');
  const nextOld = before.get('10.0.1.2:80')!.checkers[0]!.nextAt!;
  t.equal(t2.find((x) => x > reloadAt), nextOld, 'the kept check ran at its old next time');
  t.same(engine.verdicts(), { '10.0.0.1:80 TCP': { '10.0.1.1:80': { up: false, weight: 1 }, '10.0.1.2:80': { up: true, weight: 5 }, '10.0.1.4:80': { up: true, weight: 1 } } });
});

t.test('stop: no timer left, a result in flight is dropped; a removed check in flight too', async (t) => {
  const check = block('TCP_CHECK', 'retry 0', 'warmup 0', 'delay_loop 1');
  const { clock, fakes, out, engine } = rig(vsConf('10.0.0.1 80', rsConf('10.0.1.1 80', check), rsConf('10.0.1.2 80', check)));
  fakes.latencyMs = 500;
  fakes.script('10.0.1.1:80', 'reset');
  fakes.script('10.0.1.2:80', 'reset');
  engine.start();
  await clock.advance(800);
  t.equal(fakes.calls.length, 2, 'both probes in flight');
  engine.update(model(vsConf('10.0.0.1 80', rsConf('10.0.1.1 80', check))));
  await clock.advance(800);
  t.same(out.map((x) => x.rs), ['10.0.1.1:80'], 'the removed check’s result was dropped');
  t.equal(fakes.calls.length, 3, 'the next check is in flight');
  engine.stop();
  await clock.advance(5000);
  t.equal(clock.pending(), 0, 'no timer left');
  t.equal(engine.snapshot().virtualServers[0]!.realServers[0]!.checks, 1, 'the result in flight at stop was dropped');
  t.equal(engine.snapshot().scheduler.inFlight, 0, 'its slot was freed');
  engine.stop();
  engine.start();
  await clock.advance(999);
  t.equal(fakes.calls.length, 4, 'start() after stop() resumes');
  engine.stop();
});

t.test('edges: a probe that throws, an unsupported checker, a real server without checkers', async (t) => {
  const src = vsConf('10.0.0.1 80', rsConf('10.0.1.1 80', block('TCP_CHECK', 'retry 0', 'warmup 0', 'delay_loop 1')), rsConf('10.0.1.2 80', block('PING_CHECK', 'warmup 0')), rsConf('10.0.1.3 80'));
  const clock = new StepClock();
  const fakes = new Fakes(clock);
  const factory: ProbeFactory = (c) => (c.type === 'PING_CHECK' ? undefined : fakes.factory(c));
  const engine = new HealthEngine(model(src), { clock, probeFactory: factory, random: () => 0 });
  const out: HealthTransition[] = [];
  engine.onTransition(() => {
    throw new Error('a broken listener');
  });
  engine.onTransition((x) => out.push(x));
  fakes.script('10.0.1.1:80', { throw: true });
  engine.start();
  await clock.advance(100);
  engine.stop();
  t.same(out.map((x) => [x.rs, x.change]), [['10.0.1.1:80', 'down']], 'a throwing probe is a failure; a throwing listener does not stop the others');
  t.match(out[0]!.reason, /io-error \(probe threw: Error: boom\)/);
  const rss = engine.snapshot().virtualServers[0]!.realServers;
  t.same(rss.map((r) => [r.rs, r.up, r.checkers.length, r.reason]), [
    ['10.0.1.1:80', false, 1, out[0]!.reason],
    ['10.0.1.2:80', true, 0, 'no checkers'],
    ['10.0.1.3:80', true, 0, 'no checkers'],
  ]);
  const json = JSON.parse(JSON.stringify(engine.snapshot())) as { virtualServers: unknown[] };
  t.equal(json.virtualServers.length, 1, 'the snapshot is plain JSON');
});

t.test('names and keys', async (t) => {
  const src = [
    vsConf('192.0.2.100 80', rsConf('10.0.0.2 80')),
    vsConf('2001:db8::1 443', rsConf('2001:db8::2 443')),
    ['virtual_server fwmark 7 {', '  lvs_sched rr', '  lvs_method NAT', rsConf('10.0.0.2 80'), '}'].join('\n'),
    ['virtual_server fwmark 7 {', '  lvs_sched rr', '  lvs_method TUN', '  ip_family inet6', rsConf('2001:db8::3'), '}'].join('\n'),
    ['virtual_server_group G {', '  192.0.2.1 80', '}', 'virtual_server group G {', '  protocol UDP', '  lvs_sched rr', '  lvs_method NAT', rsConf('10.0.0.2 53'), '}'].join('\n'),
    vsConf('192.0.2.101', '  persistence_timeout 30', rsConf('10.0.0.2')),
  ].join('\n');
  const m = model(src);
  t.same(
    m.virtualServers.map((v) => [vsName(v), rsName(v.realServers[0]!)]),
    [
      ['192.0.2.100:80 TCP', '10.0.0.2:80'],
      ['[2001:db8::1]:443 TCP', '[2001:db8::2]:443'],
      ['fwmark 7', '10.0.0.2:80'],
      ['fwmark 7 IPv6', '[2001:db8::3]:0'],
      ['group G UDP', '10.0.0.2:53'],
      ['192.0.2.101:0 TCP', '10.0.0.2:0'],
    ],
  );
  t.equal(canonicalJson({ b: 1, a: [{ d: 2, c: undefined }] }), '{"a":[{"d":2}],"b":1}', 'canonical JSON sorts keys and drops undefined');
  const ck = (lines: string[]) => model(vsConf('10.0.0.1 80', rsConf('10.0.1.1 80', block('HTTP_GET', ...lines)))).virtualServers[0]!.realServers[0]!.checkers[0]!;
  const k1 = checkKey(ck(['url {', '  path /a', '}', 'connect_timeout 2', 'retry 3']));
  t.equal(checkKey(ck(['retry 3', 'connect_timeout 2', 'url {', '  path /a', '}'])), k1, 'the order of the keywords does not change the key');
  t.not(checkKey(ck(['url {', '  path /b', '}', 'connect_timeout 2', 'retry 3'])), k1, 'another url is another check');
});

t.test('verdicts(): kept between calls; only a changed virtual server gets a new record', async (t) => {
  const check = block('TCP_CHECK', 'retry 0', 'warmup 0', 'delay_loop 1');
  const { clock, fakes, out, engine } = rig(vsConf('10.0.0.1 80', rsConf('10.0.1.1 80', check)) + vsConf('10.0.0.2 80', rsConf('10.0.2.1 80', check)));
  fakes.script('10.0.1.1:80', 'ok', 'reset');
  engine.start();
  const v0 = engine.verdicts();
  await clock.advance(500);
  t.equal(engine.verdicts(), v0, 'no transition: the same answer');
  await clock.advance(1000);
  t.same(out.map((x) => [x.vs, x.change]), [['10.0.0.1:80 TCP', 'down']]);
  const v1 = engine.verdicts();
  t.not(v1, v0, 'a transition: a new answer');
  t.same(v1['10.0.0.1:80 TCP'], { '10.0.1.1:80': { up: false, weight: 1 } }, 'with the new verdict');
  t.same(v0['10.0.0.1:80 TCP'], { '10.0.1.1:80': { up: true, weight: 1 } }, 'the earlier answer is left as it was');
  t.equal(v1['10.0.0.2:80 TCP'], v0['10.0.0.2:80 TCP'], 'the unchanged virtual server keeps its record');
  engine.update(model(vsConf('10.0.0.2 80', rsConf('10.0.2.1 80', check))));
  t.same(Object.keys(engine.verdicts()), ['10.0.0.2:80 TCP'], 'a reload rebuilds the answer');
  engine.stop();
});
