import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import t from 'tap';
import type { Config } from '../../src/config/compile.js';
import { call } from '../../src/control/client.js';
import { socketPeer } from '../../src/control/peer.js';
import { ControlServer } from '../../src/control/server.js';
import { FailoverControl } from '../../src/daemon/failover.js';
import { FakeClock } from '../../src/util/clock.js';
import { type FsmConfig, initialState, step } from '../../src/vrrp/fsm.js';
import { parseDuration } from '../../src/util/duration.js';
import { type Hold, type OverrideState, nextExpiry, parseFailoverParams, stepOverride } from '../../src/vrrp/override.js';

const T0 = Date.parse('2026-12-07T01:00:00Z');
/** A root caller as the control socket's peer credentials give it. */
const ROOT = { uid: 0, gid: 0, pid: 42 };

t.test('the hold machine: failover, release, expiry, forget', async (t) => {
  let s: OverrideState = {};
  let r = stepOverride(s, { type: 'failover', instances: ['VI_1', 'VI_2'], by: 'alice', reason: 'kernel upgrade', until: T0 + 60_000 }, T0);
  s = r.state;
  t.same(Object.keys(s), ['VI_1', 'VI_2']);
  t.same(r.actions.map((a) => [a.type, a.instance]), [['hold', 'VI_1'], ['hold', 'VI_2']]);
  t.match(r.reason, /failover by alice: kernel upgrade; holding BACKUP until 2026-12-07T01:01:00.000Z/);
  t.equal(nextExpiry(s), T0 + 60_000);
  // a repeated failover replaces reason and deadline but keeps the start
  r = stepOverride(s, { type: 'failover', instances: ['VI_1'], by: 'bob', reason: 'longer', until: T0 + 120_000 }, T0 + 1000);
  s = r.state;
  t.match(s.VI_1, { by: 'bob', reason: 'longer', since: T0, until: T0 + 120_000 });
  // nothing expires early
  t.same(stepOverride(s, { type: 'tick' }, T0 + 59_999).actions, []);
  r = stepOverride(s, { type: 'tick' }, T0 + 60_000);
  t.same(r.actions, [{ type: 'release', instance: 'VI_2', why: 'expired' }], 'VI_2 expires at its time');
  s = r.state;
  t.same(stepOverride(s, { type: 'release', instances: ['VI_9'], by: 'x', reason: 'y' }, T0).actions, [], 'releasing what is not held changes nothing');
  r = stepOverride(s, { type: 'forget', keep: ['VI_2'] }, T0);
  t.same(r.actions, [{ type: 'release', instance: 'VI_1', why: 'removed' }], 'a reload that removes an instance ends its hold');
  r = stepOverride({ VI_1: { by: 'a', reason: 'b', since: T0 } }, { type: 'release', instances: ['VI_1'], by: 'a', reason: 'done' }, T0);
  t.same(r.state, {});
  t.match(r.reason, /released by a: done/);
  t.equal(nextExpiry({ VI_1: { by: 'a', reason: 'b', since: T0 } }), undefined, 'no deadline without a timeout');
});

t.test('requests: bad ones are refused with a clear message; sync groups move together', async (t) => {
  const scope = { instances: ['VI_1', 'VI_2', 'VI_3'], groups: new Map([['G', ['VI_1', 'VI_2']]]) };
  const table: { desc: string; input: Record<string, unknown>; want: RegExp | Record<string, unknown> }[] = [
    { desc: 'all instances; a by in the params is not believed', input: { by: 'mallory' }, want: { release: false, instances: ['VI_1', 'VI_2', 'VI_3'], by: 'alice (uid 1000, pid 7)', reason: 'operator failover' } },
    { desc: 'a sync-group member brings its group', input: { instance: 'VI_2', reason: 'r' }, want: { instances: ['VI_2', 'VI_1'], reason: 'r', by: 'alice (uid 1000, pid 7)' } },
    { desc: 'outside any group', input: { instance: 'VI_3' }, want: { instances: ['VI_3'] } },
    { desc: 'timeout', input: { instance: 'VI_3', timeoutMs: 90_000 }, want: { until: T0 + 90_000 } },
    { desc: 'until', input: { instance: 'VI_3', until: '2026-12-07T03:00:00Z' }, want: { until: Date.parse('2026-12-07T03:00:00Z') } },
    { desc: 'release', input: { release: true, instance: 'VI_1' }, want: { release: true, instances: ['VI_1', 'VI_2'], reason: 'released' } },
    { desc: 'unknown instance', input: { instance: 'VI_9' }, want: /unknown instance 'VI_9'; known: VI_1, VI_2, VI_3/ },
    { desc: 'instance not a string', input: { instance: 5 }, want: /'instance' must be an instance name/ },
    { desc: 'timeout too short', input: { timeoutMs: 10 }, want: /timeout must be from 1s to 7d/ },
    { desc: 'timeout too long', input: { timeoutMs: 8 * 86_400_000 }, want: /timeout must be from 1s to 7d/ },
    { desc: 'timeout not a number', input: { timeoutMs: '5m' }, want: /timeout must be/ },
    { desc: 'until garbage', input: { until: 'tomorrow' }, want: /'until' must be a date and time/ },
    { desc: 'until in the past', input: { until: '2026-12-07T00:00:00Z' }, want: /is in the past/ },
    { desc: 'both', input: { timeoutMs: 5000, until: '2026-12-07T03:00:00Z' }, want: /not both/ },
    { desc: 'release with a timeout', input: { release: true, timeoutMs: 5000 }, want: /a release takes no timeout/ },
    { desc: 'multi-line reason', input: { reason: 'a\nb' }, want: /'reason' must be one line/ },
    { desc: 'release not boolean', input: { release: 'yes' }, want: /'release' must be true or false/ },
  ];
  for (const c of table) {
    const r = parseFailoverParams(c.input, scope, T0, 'alice (uid 1000, pid 7)');
    if (c.want instanceof RegExp) t.match(r, { ok: false, error: c.want }, c.desc);
    else t.match(r, { ok: true, req: c.want }, c.desc);
  }
  t.match(parseFailoverParams({}, { instances: [], groups: new Map() }, T0, 'x'), { ok: false, error: /no vrrp_instance/ });
});

t.test('durations', async (t) => {
  const table: [string, number | undefined][] = [['90', 90_000], ['90s', 90_000], ['15m', 900_000], ['2h', 7_200_000], ['1d', 86_400_000], ['1h30m', 5_400_000], ['', undefined], ['5x', undefined], ['-1m', undefined], ['m', undefined], ['1h1d', undefined]];
  for (const [s, want] of table) t.equal(parseDuration(s), want, JSON.stringify(s));
});

t.test('the VRRP machine: yield hands over with a priority-0 advert and stays BACKUP', async (t) => {
  const cfg: FsmConfig = { version: 2, advertIntMs: 1000, preempt: true, preemptDelayMs: 0, primaryAddress: '10.0.0.1' };
  let s = step(cfg, initialState(cfg, 150, 0), { type: 'startup' }, 0).state;
  s = step(cfg, s, { type: 'masterDownTimer' }, 3600).state;
  t.equal(s.phase, 'MASTER');
  const r = step(cfg, s, { type: 'yield', reason: 'operator failover by alice: patching' }, 5000);
  t.equal(r.state.phase, 'BACKUP');
  t.same(r.actions.map((a) => a.type), ['sendAdvert', 'removeVips', 'notify']);
  t.match(r.actions[0], { type: 'sendAdvert', priority: 0 }, 'the priority-0 advert comes first');
  t.equal(r.reason, 'operator failover by alice: patching');
  t.same(step(cfg, r.state, { type: 'yield', reason: 'again' }, 5001).actions, [], 'a BACKUP does nothing');
  // held at priority 1: a peer at 100 is accepted as master, never preempted
  const held = step(cfg, r.state, { type: 'priority', priority: 1 }, 5001).state;
  const heard = step(cfg, held, { type: 'advert', from: '10.0.0.2', priority: 100, advertIntMs: 1000 }, 5600);
  t.equal(heard.state.phase, 'BACKUP');
  t.equal(heard.state.masterAddress, '10.0.0.2');
  // released (priority 150 again): the lower-priority master's adverts are discarded; Master_Down preempts
  const rel = step(cfg, heard.state, { type: 'priority', priority: 150 }, 6000).state;
  const ignored = step(cfg, rel, { type: 'advert', from: '10.0.0.2', priority: 100, advertIntMs: 1000 }, 6600);
  t.same(ignored.actions, []);
  t.equal(step(cfg, ignored.state, { type: 'masterDownTimer' }, ignored.state.timers.masterDown!).state.phase, 'MASTER', 'preempts after Master_Down');
});

t.test('the supervisor side: expiry on the fake clock, resend after a child restart, kept in the state file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-failover-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'failover.json');
  const clock = new FakeClock();
  let wall = T0;
  const sent: Record<string, Hold>[] = [];
  let up = true;
  const config = { vrrpInstances: [{ name: 'VI_1' }, { name: 'VI_2' }], vrrpSyncGroups: [] } as unknown as Config;
  const sup = {
    current: config,
    override: async (_k: string, holds: Readonly<Record<string, Hold>>) => {
      if (!up) throw new Error('vrrp child is restarting');
      sent.push({ ...holds });
      return Object.fromEntries(Object.keys(holds).map((i) => [i, 'BACKUP']));
    },
  };
  const log = pino({ level: 'silent' });
  const fc = new FailoverControl({ sup, log, file, clock, wallNow: () => wall });
  const a = await fc.handle({ instance: 'VI_1', reason: 'disk swap', timeoutMs: 60_000 }, ROOT);
  t.match(a, { action: 'failover', instances: ['VI_1'], holds: { VI_1: { by: 'root (uid 0, pid 42)', reason: 'disk swap', until: '2026-12-07T01:01:00.000Z' } }, states: { VI_1: 'BACKUP' } });
  t.same(Object.keys(JSON.parse(readFileSync(file, 'utf8')) as object), ['VI_1'], 'written to the state file');
  await t.rejects(fc.handle({ instance: 'nope' }, ROOT), { errorCode: 'bad-request', message: /unknown instance 'nope'/ });
  t.equal(sent.length, 1, 'a refused request sends nothing');
  // the child is down when the next change comes: kept, sent when it is ready again
  up = false;
  const b = await fc.handle({ instance: 'VI_2' }, ROOT);
  t.match(b.note, /gets the holds when it is ready/);
  up = true;
  fc.resend();
  await new Promise((r) => setImmediate(r));
  t.same(Object.keys(sent.at(-1)!), ['VI_1', 'VI_2'], 'the restarted child gets every hold');
  // a daemon restart reads the file back
  const fc2 = new FailoverControl({ sup, log, file, clock: new FakeClock(), wallNow: () => wall });
  t.same(Object.keys(fc2.view()), ['VI_1', 'VI_2'], 'holds survive a daemon restart');
  fc2.close();
  // VI_1 expires on time
  wall = T0 + 60_000;
  clock.advance(60_000);
  await new Promise((r) => setImmediate(r));
  t.same(Object.keys(fc.view()), ['VI_2'], 'VI_1 released at its deadline');
  t.same(Object.keys(sent.at(-1)!), ['VI_2']);
  t.match(fc.counts, { hold: 2, expired: 1, release: 0 });
  await fc.handle({ release: true }, ROOT);
  t.same(fc.view(), {});
  t.equal(fc.counts.release, 1);
  fc.close();
});

t.test('who asked comes from the socket peer credentials, as for the overrides; a non-root caller is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-failover-peer-'));
  const sock = join(dir, 'v.sock');
  const sent: Record<string, Hold>[] = [];
  const config = { vrrpInstances: [{ name: 'VI_1' }], vrrpSyncGroups: [] } as unknown as Config;
  const sup = { current: config, override: async (_k: string, holds: Readonly<Record<string, Hold>>) => (sent.push({ ...holds }), {}) };
  const fc = new FailoverControl({ sup, log: pino({ level: 'silent' }), clock: new FakeClock(), wallNow: () => T0 });
  const server = new ControlServer(sock, { failover: (p, caller) => fc.handle(p, caller) }, pino({ level: 'silent' }), socketPeer);
  await server.listen();
  t.teardown(async () => {
    fc.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // root (this test), claiming to be someone else: the hold names the real caller
  const r = await call(sock, 'failover', { instance: 'VI_1', by: 'mallory', reason: 'disk swap' });
  t.match(r, { result: { holds: { VI_1: { by: `root (uid 0, pid ${process.pid})`, reason: 'disk swap' } } } });
  // nobody, on a socket opened up for the test: refused by the daemon, nothing changes
  chmodSync(dir, 0o755);
  chmodSync(sock, 0o666);
  const client = `const n=require('net');const c=n.connect(${JSON.stringify(sock)});c.on('connect',()=>c.write(JSON.stringify({id:1,method:'failover',params:{release:true,by:'root'}})+'\\n'));c.on('data',d=>{process.stdout.write(d);c.end()});c.on('error',e=>{console.log('ERR',e.code)})`;
  // env -i: tap's process hooks would load into the nobody process and fail on the root-only .tap folder
  const o = await promisify(execFile)('env', ['-i', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, process.execPath, '-e', client], { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 10_000 });
  const ans = JSON.parse(o.stdout) as { error?: { code: string; message: string } };
  t.equal(ans.error?.code, 'forbidden', o.stdout + o.stderr);
  t.match(ans.error?.message, /failover --release needs root; the caller is nobody \(uid 65534, pid \d+\)/);
  t.same(Object.keys(fc.view()), ['VI_1'], 'the hold is still there');
  t.equal(sent.length, 1, 'the VRRP child was told only of the root request');
});

t.test('a state dir that cannot be written (a file in its place): the hold is made and logged, not thrown', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-failover-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const notADir = join(dir, 'state');
  writeFileSync(notADir, 'a file where the state dir should be\n');
  const errors: string[] = [];
  const log = pino({ level: 'error' }, { write: (l: string) => void errors.push(String((JSON.parse(l) as { msg: string }).msg)) });
  const config = { vrrpInstances: [{ name: 'VI_1' }], vrrpSyncGroups: [] } as unknown as Config;
  const fc = new FailoverControl({ sup: { current: config, override: async () => ({ VI_1: 'BACKUP' }) }, log, file: join(notADir, 'failover.json'), clock: new FakeClock(), wallNow: () => T0 });
  t.teardown(() => fc.close());
  const a = await fc.handle({ instance: 'VI_1', reason: 'r' }, ROOT);
  t.same(Object.keys(a.holds), ['VI_1'], 'the hold is in force');
  t.match(errors, [/cannot write the failover holds to .*state\/failover\.json: (EEXIST|ENOTDIR).*they hold until this daemon stops/]);
  t.equal(readFileSync(notADir, 'utf8'), 'a file where the state dir should be\n', 'the file is untouched');
});
