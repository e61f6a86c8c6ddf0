import pino from 'pino';
import t from 'tap';
import type { LvsSyncDaemon } from '../../src/config/schema/global-args.js';
import { FakeIpvs } from '../../src/ipvs/fake.js';
import type { SyncDaemon } from '../../src/ipvs/types.js';
import type { Config } from '../../src/config/compile.js';
import { FakeClock } from '../../src/util/clock.js';
import { SyncDaemonControl, daemonMatches, syncdRetryMs, planSyncd, syncRole, syncdConfig, wantedDaemons } from '../../src/vrrp/sync-daemon.js';

const cfg: LvsSyncDaemon = { interface: 'eth0', instance: 'VI_1' };

t.test('the role follows the phase (keepalived: master daemon on MASTER, backup otherwise)', async (t) => {
  const table: { desc: string; input: [Parameters<typeof syncRole>[0], boolean]; want: string }[] = [
    { desc: 'MASTER', input: ['MASTER', false], want: 'master' },
    { desc: 'BACKUP', input: ['BACKUP', false], want: 'backup' },
    { desc: 'FAULT', input: ['FAULT', false], want: 'backup' },
    { desc: 'adopting start keeps the master daemon', input: ['BACKUP', true], want: 'master' },
    { desc: 'stopped', input: ['INIT', false], want: 'none' },
  ];
  for (const c of table) t.equal(syncRole(...c.input), c.want, c.desc);
});

t.test('wanted daemons: the sync id defaults to the VRID; options only when configured', async (t) => {
  t.same(wantedDaemons(cfg, 51, 'master'), [{ state: 'master', ifname: 'eth0', syncId: 51 }]);
  t.same(wantedDaemons({ ...cfg, syncId: 7, port: 9000, ttl: 2, maxlen: 1400, group: '239.1.1.1' }, 51, 'backup'), [
    { state: 'backup', ifname: 'eth0', syncId: 7, maxlen: 1400, group: '239.1.1.1', port: 9000, ttl: 2 },
  ]);
  t.same(wantedDaemons({ interface: 'eth0' }, 0, 'both').map((d) => d.state), ['master', 'backup'], 'no instance: both (the checker runs them)');
  t.same(wantedDaemons(cfg, 51, 'none'), []);
  t.same(wantedDaemons(undefined, 51, 'master'), [], 'not configured');
});

t.test('plan: only the difference, stops before starts', async (t) => {
  const k = (state: 'master' | 'backup', extra: Partial<SyncDaemon> = {}): SyncDaemon => ({ state, ifname: 'eth0', syncId: 51, maxlen: 1472, group: '224.0.0.81', port: 8848, ttl: 1, ...extra });
  const w = (state: 'master' | 'backup', extra: Partial<SyncDaemon> = {}): SyncDaemon => ({ state, ifname: 'eth0', syncId: 51, ...extra });
  const table: { desc: string; kernel: SyncDaemon[]; want: SyncDaemon[]; plan: { stop: string[]; start: string[] } }[] = [
    { desc: 'nothing running → start backup', kernel: [], want: [w('backup')], plan: { stop: [], start: ['backup'] } },
    { desc: 'already right (kernel defaults filled in) → nothing', kernel: [k('backup')], want: [w('backup')], plan: { stop: [], start: [] } },
    { desc: 'become master: stop backup, start master', kernel: [k('backup')], want: [w('master')], plan: { stop: ['backup'], start: ['master'] } },
    { desc: 'leave master', kernel: [k('master')], want: [w('backup')], plan: { stop: ['master'], start: ['backup'] } },
    { desc: 'leftovers of both after a crash, want master', kernel: [k('master'), k('backup')], want: [w('master')], plan: { stop: ['backup'], start: [] } },
    { desc: 'other sync id → restart', kernel: [k('backup', { syncId: 9 })], want: [w('backup')], plan: { stop: ['backup'], start: ['backup'] } },
    { desc: 'other port → restart', kernel: [k('master')], want: [w('master', { port: 9000 })], plan: { stop: ['master'], start: ['master'] } },
    { desc: 'stop', kernel: [k('master')], want: [], plan: { stop: ['master'], start: [] } },
  ];
  for (const c of table) {
    const p = planSyncd(c.kernel, c.want);
    t.same({ stop: p.stop, start: p.start.map((d) => d.state) }, c.plan, c.desc);
  }
  t.notOk(daemonMatches(k('backup', { ifname: 'eth1' }), w('backup')), 'another interface does not match');
});

t.test('the control applies transitions in order against an IPVS table and coalesces bursts', async (t) => {
  const ipvs = new FakeIpvs();
  let opened = 0;
  const ctl = new SyncDaemonControl(async () => (opened++, ipvs), pino({ level: 'silent' }), 'VI_1');
  await ctl.set(wantedDaemons(cfg, 51, 'backup'), 'start');
  t.same((await ipvs.daemons()).map((d) => d.state), ['backup']);
  await ctl.set(wantedDaemons(cfg, 51, 'master'), 'BACKUP→MASTER');
  t.same((await ipvs.daemons()).map((d) => d.state), ['master']);
  t.match(ctl.status(), { instance: 'VI_1', wanted: ['master'], running: ['master sync daemon eth0 id 51'], lastChange: { reason: 'BACKUP→MASTER' } });
  // a restart that finds the right daemon changes nothing
  const writes = ipvs.calls.length;
  await ctl.set(wantedDaemons(cfg, 51, 'master'), 'start again');
  t.equal(ipvs.calls.length, writes, 'no write when the kernel already runs it');
  // burst: MASTER→BACKUP→MASTER→BACKUP at once ends as backup
  const ps = ['backup', 'master', 'backup'].map((r) => ctl.set(wantedDaemons(cfg, 51, r as 'master' | 'backup'), r));
  await Promise.all(ps);
  t.same((await ipvs.daemons()).map((d) => d.state), ['backup'], 'the last wanted state wins');
  t.ok(ipvs.calls.length - writes <= 4, `the burst coalesced (${ipvs.calls.length - writes} writes)`);
  // an unknown interface fails, is reported, and a later set retries
  await ctl.set(wantedDaemons({ ...cfg, interface: 'nosuch0' }, 51, 'master'), 'bad interface');
  t.match(ctl.status().error, /ENODEV/);
  await ctl.set(wantedDaemons(cfg, 51, 'master'), 'fixed');
  t.notOk(ctl.status().error, 'error cleared');
  await ctl.set([], 'shutdown');
  t.same(await ipvs.daemons(), [], 'stopped on shutdown');
  t.equal(opened, 1, 'IPVS opened once');
});

t.test('a failed start is retried on a schedule (1 s doubling to 60 s) until it works; a new set() starts over', async (t) => {
  t.same([1, 2, 3, 6, 7, 8, 50].map((n) => syncdRetryMs(n)), [1000, 2000, 4000, 32_000, 60_000, 60_000, 60_000], 'the schedule');
  const ipvs = new FakeIpvs();
  const clock = new FakeClock();
  const lines: { msg: string; retryInMs?: number }[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as { msg: string }) });
  const ctl = new SyncDaemonControl(async () => ipvs, log, 'VI_1', { clock, wallNow: () => Date.UTC(2026, 0, 2, 3, 4, 5) });
  // the daemon of this state cannot start (its interface appears later: a VLAN created after vigil started)
  let failing: string | undefined = 'backup';
  ipvs.failWhen = (op, object) => (op === 'ipvs.startDaemon' && failing !== undefined && object.startsWith(failing) ? 'ENODEV' : undefined);
  const settle = async () => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  };
  await ctl.set(wantedDaemons(cfg, 51, 'backup'), 'start');
  t.match(ctl.status().error, /ENODEV/);
  const tries = () => ipvs.calls.filter((c) => c.op === 'ipvs.startDaemon').length;
  t.equal(tries(), 1);
  clock.advance(999);
  await settle();
  t.equal(tries(), 1, 'not before 1 s');
  clock.advance(1);
  await settle();
  t.equal(tries(), 2, 'retried after 1 s');
  clock.advance(2000);
  await settle();
  t.equal(tries(), 3, 'then after 2 s more');
  clock.advance(3999);
  await settle();
  t.equal(tries(), 3, 'then 4 s');
  t.same(lines.filter((l) => l.retryInMs !== undefined).map((l) => l.retryInMs), [1000, 2000, 4000], 'each failure logged with its next delay');
  failing = undefined;
  clock.advance(1);
  await settle();
  t.equal(tries(), 4);
  t.same((await ipvs.daemons()).map((d) => d.state), ['backup'], 'running once the interface exists');
  t.notOk(ctl.status().error, 'error cleared');
  t.match(ctl.status().lastChange, { reason: 'start', at: '2026-01-02T03:04:05.000Z' }, 'change time from the injected wall clock');
  t.ok(lines.some((l) => /as wanted after 4 attempts/.test(l.msg)));
  clock.advance(600_000);
  await settle();
  t.equal(tries(), 4, 'no retry once it worked');
  // a new failure starts at 1 s again; a set() meanwhile cancels the pending retry; close() ends them
  failing = 'master';
  await ctl.set(wantedDaemons(cfg, 51, 'master'), 'BACKUP→MASTER');
  clock.advance(1000);
  await settle();
  t.equal(tries(), 6, 'retried after 1 s');
  await ctl.set(wantedDaemons(cfg, 51, 'backup'), 'MASTER→BACKUP');
  t.equal(tries(), 7, 'the backup daemon started again');
  t.notOk(ctl.status().error);
  clock.advance(120_000);
  await settle();
  t.equal(tries(), 7, 'the master retry was cancelled by the new wanted set');
  await ctl.set(wantedDaemons(cfg, 51, 'master'), 'BACKUP→MASTER');
  ctl.close();
  clock.advance(120_000);
  await settle();
  t.equal(tries(), 8, 'no retry after close()');
});

t.test('the configured daemon: global lvs_sync_daemon, else the deprecated per-instance interface', async (t) => {
  const c = (globalDefs: object, vrrpInstances: object[]) => ({ globalDefs, vrrpInstances }) as unknown as Config;
  t.same(syncdConfig(c({ lvsSyncDaemon: cfg }, [{ name: 'VI_2', lvsSyncDaemonInterface: 'eth1' }])), cfg, 'the global one wins');
  t.same(syncdConfig(c({}, [{ name: 'VI_1' }, { name: 'VI_2', lvsSyncDaemonInterface: 'eth1' }, { name: 'VI_3', lvsSyncDaemonInterface: 'eth2' }])), { interface: 'eth1', instance: 'VI_2' }, 'the first instance that has one');
  t.equal(syncdConfig(c({}, [{ name: 'VI_1' }])), undefined);
});
