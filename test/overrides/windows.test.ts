// Maintenance windows on a fake clock and a fake cron scheduler: the keyword compiles (and bad
// schedules, time zones, durations and targets are errors at their line and column); a run drains
// its targets until its end and releases them then; a real server with its own override keeps it;
// a reload that removes a window releases it; node-cron's own scheduling (seconds, time zone) is
// checked against the real clock once.
import t from 'tap';
import pino from 'pino';
import { compileText } from '../../src/config/compile.js';
import { OverrideManager } from '../../src/overrides/manager.js';
import { type CronScheduler, WindowEngine, nodeCronScheduler } from '../../src/overrides/windows.js';
import { FakeClock } from '../../src/util/clock.js';

const log = pino({ level: 'silent' });
const VS = `virtual_server 192.0.2.100 80 {
  protocol TCP
  lvs_sched rr
  lvs_method TUN
  real_server 198.51.100.11 80 {
  }
  real_server 198.51.100.12 80 {
  }
}
`;

function compile(extra: string) {
  return compileText(VS + extra, 'k.conf', { interfaceExists: () => true });
}

t.test('vigil_maintenance_window compiles; mistakes are errors at their position', async (t) => {
  const ok = compile(`vigil_maintenance_window nightly {\n  schedule "0 30 3 * * *"\n  timezone Europe/Paris\n  duration 30m\n  target 192.0.2.100:80 198.51.100.12:80\n  reason "deploy"\n}\n`);
  t.same(ok.diagnostics.filter((d) => d.severity === 'error'), []);
  t.match(ok.config?.maintenanceWindows, [{ name: 'nightly', schedule: '0 30 3 * * *', timezone: 'Europe/Paris', durationMs: 1_800_000, targets: [{ vs: '192.0.2.100:80', rs: '198.51.100.12:80' }], reason: 'deploy' }]);
  const cases: { desc: string; body: string; want: RegExp; line: number }[] = [
    { desc: 'bad cron', body: 'schedule "61 * * * * *"\n  duration 60\n  target 192.0.2.100:80', want: /expects a cron expression/, line: 11 },
    { desc: 'too few fields', body: 'schedule "* * *"\n  duration 60\n  target 192.0.2.100:80', want: /expects a cron expression/, line: 11 },
    { desc: 'unknown zone', body: 'schedule "0 * * * * *"\n  timezone Mars/Olympus\n  duration 60\n  target 192.0.2.100:80', want: /unknown time zone 'Mars\/Olympus'/, line: 12 },
    { desc: 'bad duration', body: 'schedule "0 * * * * *"\n  duration 10y\n  target 192.0.2.100:80', want: /expects a duration from 1s to 7d/, line: 12 },
    { desc: 'unknown virtual server', body: 'schedule "0 * * * * *"\n  duration 60\n  target 192.0.2.99:80', want: /no virtual server '192.0.2.99:80'/, line: 13 },
    { desc: 'unknown real server', body: 'schedule "0 * * * * *"\n  duration 60\n  target 192.0.2.100:80 198.51.100.99:80', want: /no real server '198.51.100.99:80'/, line: 13 },
    { desc: 'no target', body: 'schedule "0 * * * * *"\n  duration 60', want: /needs at least one 'target VS \[RS\]'/, line: 10 },
    { desc: 'no schedule', body: 'duration 60\n  target 192.0.2.100:80', want: /needs 'schedule'/, line: 10 },
  ];
  for (const c of cases) {
    const r = compile(`vigil_maintenance_window w {\n  ${c.body}\n}\n`);
    const e = r.diagnostics.find((d) => d.severity === 'error');
    t.match(e?.message, c.want, c.desc);
    t.equal(e?.pos.line, c.line, `${c.desc}: line`);
    t.equal(r.config, undefined, `${c.desc}: nothing to run`);
  }
});

/** A cron scheduler whose runs the test starts. */
class FakeCron implements CronScheduler {
  readonly jobs = new Map<string, { fn: (at: number) => void; live: boolean }>();
  schedule(expression: string, _tz: string | undefined, fn: (at: number) => void) {
    const job = { fn, live: true };
    this.jobs.set(expression, job);
    return { cancel: () => void (job.live = false), nextRun: () => (job.live ? new Date('2026-12-08T02:30:00Z') : undefined) };
  }
  fire(expression: string, at: number): void {
    const j = this.jobs.get(expression);
    if (j?.live) j.fn(at);
  }
}

t.test('a run drains its targets until its end; own overrides are kept; removal releases', async (t) => {
  const clock = new FakeClock();
  const base = Date.parse('2026-12-07T03:00:00Z');
  const changes: string[] = [];
  const manager = new OverrideManager({ clock, wallNow: () => base + clock.now(), log, onChange: (r) => changes.push(r) });
  const fake = new FakeCron();
  const windows = new WindowEngine({ manager, scheduler: fake, wallNow: () => base + clock.now(), log });
  const cfg = compile(`vigil_maintenance_window nightly {\n  schedule "0 0 3 * * *"\n  duration 10m\n  target 192.0.2.100:80\n}\n`).config!;
  windows.update(cfg);
  t.match(windows.report(), [{ name: 'nightly', active: false, nextRun: '2026-12-08T02:30:00.000Z', targets: ['192.0.2.100:80 (all)'] }]);

  manager.request(cfg.virtualServers, { action: 'disable', vs: '192.0.2.100:80', rs: '198.51.100.11:80', who: 'op', reason: 'broken disk' });
  // the timer fired 700 ms late: the run still ends 10 min after its scheduled second
  clock.advance(700);
  fake.fire('0 0 3 * * *', base);
  t.match(manager.list(), [
    { rs: '198.51.100.11:80', action: 'disable', source: 'cli' },
    { rs: '198.51.100.12:80', action: 'drain', source: 'window:nightly', who: 'maintenance window nightly', until: '2026-12-07T03:10:00.000Z', reason: 'maintenance window nightly' },
  ]);
  t.match(windows.report(), [{ active: true, endsAt: '2026-12-07T03:10:00.000Z' }]);

  clock.advance(10 * 60_000 - 700 - 1);
  t.equal(manager.get('192.0.2.100:80 TCP', '198.51.100.12:80')?.action, 'drain', '1 ms before the end: still drained');
  clock.advance(1);
  t.equal(manager.get('192.0.2.100:80 TCP', '198.51.100.12:80'), undefined, 'released on time');
  t.equal(manager.get('192.0.2.100:80 TCP', '198.51.100.11:80')?.action, 'disable', 'the operator override is untouched');
  t.match(windows.report(), [{ active: false }]);
  t.same(manager.counts(), { disable: 1, 'window-start': 1, 'window-end': 1 });
  t.match(changes.at(-1), /198.51.100.12:80: drain ended \(maintenance window nightly ended at 2026-12-07T03:10:00.000Z\); health decides/);

  // a run (a scheduled time out of reach is ignored: the run counts from now), then a reload without the window: released at once
  fake.fire('0 0 3 * * *', 0);
  t.equal(manager.get('192.0.2.100:80 TCP', '198.51.100.12:80')?.until, new Date(base + clock.now() + 10 * 60_000).toISOString());
  t.equal(manager.get('192.0.2.100:80 TCP', '198.51.100.12:80')?.source, 'window:nightly');
  windows.update(compile('').config!);
  t.equal(manager.get('192.0.2.100:80 TCP', '198.51.100.12:80'), undefined, 'window removed by a reload: released');
  t.same(windows.report(), []);
  t.equal(fake.jobs.get('0 0 3 * * *')?.live, false, 'its schedule cancelled');
  windows.stop();
  manager.stop();
});

t.test('node-cron: a schedule with seconds in a time zone fires on the second (real clock)', async (t) => {
  const fired: number[] = [];
  const scheduled: number[] = [];
  const h = nodeCronScheduler.schedule('* * * * * *', 'Asia/Kolkata', (at) => (fired.push(Date.now()), scheduled.push(at)));
  t.teardown(() => h.cancel());
  const next = h.nextRun();
  t.ok(next && next.getTime() > Date.now() - 10 && next.getTime() <= Date.now() + 1000, `next run within a second: ${next?.toISOString()}`);
  await new Promise((r) => setTimeout(r, 2300));
  t.ok(fired.length >= 2, `fired ${fired.length} times in 2.3 s`);
  for (const f of fired) t.ok(f % 1000 < 300, `on the second (+${f % 1000} ms)`);
  for (const [i, at] of scheduled.entries()) t.ok(at % 1000 === 0 && at <= fired[i]! && fired[i]! - at < 300, `given its scheduled second (${new Date(at).toISOString()})`);
});
