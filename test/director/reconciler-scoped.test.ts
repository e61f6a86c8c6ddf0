// The reconciler's scoped path: between kernel reads a reconcile diffs only the services whose
// desired entry changed. On a 1,000 × 10 table one weight change is one write, no read, one
// service diffed, and the unchanged entries are not even looked at (counted with getters); a
// rebuilt-but-equal table costs the same writes; calls during a run add up; a service that
// appears while a run is in progress is read first; random sequences with failures and changes
// by hand always converge to the desired table and never touch an unmanaged service.
import t from 'tap';
import { compileText } from '../../src/config/compile.js';
import type { LvsModel, RealServer, VirtualServer } from '../../src/config/schema/lvs.js';
import { type HealthView, desiredTable } from '../../src/director/desired.js';
import type { ServiceEntry } from '../../src/director/diff.js';
import { shareEntries } from '../../src/director/memo.js';
import { Reconciler, type ReconcilerOptions } from '../../src/director/reconciler.js';
import { FakeIpvs } from '../../src/ipvs/fake.js';
import { type Dest, type Service, type ServiceKey, serviceKey } from '../../src/ipvs/types.js';
import { FakeClock } from '../../src/util/clock.js';

/** FakeIpvs that counts reads too. */
class CountingIpvs extends FakeIpvs {
  reads = 0;
  override services(): Promise<Service[]> {
    this.reads++;
    return super.services();
  }
  override dests(s: ServiceKey): Promise<Dest[]> {
    this.reads++;
    return super.dests(s);
  }
}

const vip = (i: number) => `198.18.${i >> 8}.${i & 255}`;
const svc = (i: number, o: Partial<Service> = {}): Service => ({ family: 4, protocol: 'tcp', address: vip(i), port: 80, scheduler: 'wrr', flags: 0, timeout: 0, netmask: 32, ...o }) as Service;
const dest = (j: number, weight: number): Dest => ({ family: 4, address: `198.19.0.${j + 1}`, port: 80, forward: 'tun', weight, upperThreshold: 0, lowerThreshold: 0, tunType: 'ipip', tunPort: 0, tunFlags: 0 });
const entry = (i: number, w: (j: number) => number, reals = 10): ServiceEntry => ({ service: svc(i), dests: Array.from({ length: reals }, (_, j) => dest(j, w(j))) });
const table = (n: number, w: (i: number, j: number) => number): ServiceEntry[] => Array.from({ length: n }, (_, i) => entry(i, (j) => w(i, j)));
const quiet = { info() {}, warn() {}, error() {} };

function setup(o: Partial<ReconcilerOptions> = {}, ipvs = new CountingIpvs()) {
  const clock = new FakeClock();
  const r = new Reconciler({ ipvs, clock, log: quiet, resyncMs: 0, ...o });
  return { ipvs, clock, r };
}

/** The kernel's table as `service dest weight` lines (every service, every destination). */
async function snapshot(ipvs: FakeIpvs): Promise<string[]> {
  const out: string[] = [];
  for (const s of await ipvs.services()) {
    out.push(`${s.address}:${s.port} ${s.scheduler}`);
    for (const d of await ipvs.dests(s)) out.push(`${s.address}:${s.port} ${d.address} w${d.weight} ${d.forward}`);
  }
  return out.sort();
}
const lines = (tbl: readonly ServiceEntry[]): string[] =>
  tbl.flatMap((e) => [`${e.service.address}:${e.service.port} ${e.service.scheduler}`, ...e.dests.map((d) => `${e.service.address}:${e.service.port} ${d.address} w${d.weight} ${d.forward}`)]).sort();

/** An entry whose every property read is counted (to prove an unchanged entry is not looked at). */
function watched(e: ServiceEntry, counter: { n: number }): ServiceEntry {
  return {
    get service() {
      counter.n++;
      return e.service;
    },
    get dests() {
      counter.n++;
      return e.dests;
    },
  };
}

t.test('one weight change among 11,000 objects: one write, no read, one service diffed', async (t) => {
  const { ipvs, r } = setup();
  const counter = { n: 0 };
  const other = { n: 0 };
  const t0 = table(1000, () => 1).map((e, i) => watched(e, i === 500 ? other : counter));
  t.match(await r.reconcile(t0, 'program'), { ok: true, writes: 11_000, read: true, diffed: 1000 });
  const calls = ipvs.calls.length;
  const reads = ipvs.reads;
  counter.n = 0;

  const t1 = t0.slice();
  t1[500] = entry(500, (j) => (j === 3 ? 7 : 1)); // the structurally shared table a caller builds
  const res = await r.reconcile(t1, 'rs 198.19.0.4 weight 7');
  t.match(res, { ok: true, writes: 1, failed: 0, read: false, diffed: 1, adopted: 999, unmanaged: 0 });
  t.same(ipvs.calls.slice(calls), [{ op: 'ipvs.editDest', object: '198.18.1.244:80 → 198.19.0.4:80' }], 'exactly the needed write');
  t.equal(ipvs.reads, reads, 'the kernel is not read');
  t.equal(counter.n, 0, 'the 999 unchanged entries are not even looked at');

  // the same change as a table rebuilt from scratch (new objects everywhere): compared field by field
  const t2 = table(1000, (i, j) => (i === 500 && j === 3 ? 8 : 1));
  const res2 = await r.reconcile(t2, 'rebuilt table, rs weight 8');
  t.match(res2, { ok: true, writes: 1, read: false, diffed: 1, adopted: 999 });
  t.same(ipvs.calls.slice(calls + 1), [{ op: 'ipvs.editDest', object: '198.18.1.244:80 → 198.19.0.4:80' }]);
  t.match(await r.reconcile(table(1000, (i, j) => (i === 500 && j === 3 ? 8 : 1)), 'equal table again'), { ok: true, writes: 0, diffed: 0, read: false });

  t.same(await snapshot(ipvs), lines(t2), 'the kernel holds the desired table');
  t.equal(r.status().converged, true);
  r.stop();
});

t.test('scoped: removed and added destinations and services, and a removed service', async (t) => {
  const { ipvs, r } = setup();
  const base = table(50, () => 1);
  await r.reconcile(base, 'program');
  const calls = ipvs.calls.length;
  const reads = ipvs.reads;
  const t1 = base.slice(0, 49); // service 49 dropped
  t1[10] = { service: svc(10), dests: [...base[10]!.dests.slice(1), dest(20, 5)] }; // one dest out, one in
  t1[11] = { service: svc(11, { scheduler: 'wlc' }), dests: base[11]!.dests }; // scheduler change
  const res = await r.reconcile(t1, 'mixed');
  t.match(res, { ok: true, writes: 4, read: false, diffed: 3, adopted: 47 });
  t.same(ipvs.calls.slice(calls).map((c) => c.op), ['ipvs.editService', 'ipvs.addDest', 'ipvs.deleteDest', 'ipvs.deleteService'], 'safe order kept');
  t.equal(ipvs.reads, reads);
  t.equal(r.status().managed, 49, 'the dropped service is no longer vigil\'s');
  // a service vigil never managed may already exist (made by hand): it is read, not added blindly
  await ipvs.addService(svc(60));
  const res2 = await r.reconcile([...t1, entry(60, () => 2, 2)], 'reload adds 60');
  t.match(res2, { ok: true, writes: 2, failed: 0, read: true, diffed: 50 });
  t.same(await snapshot(ipvs), lines([...t1, entry(60, () => 2, 2)]));
  r.stop();
});

t.test('a service listed twice: the last entry wins, as in the whole diff', async (t) => {
  const { ipvs, r } = setup();
  const one = (w: number) => entry(1, () => w, 2);
  await r.reconcile([entry(0, () => 1, 2), one(1), one(2)], 'twice');
  t.same(await snapshot(ipvs), lines([entry(0, () => 1, 2), one(2)]));
  t.match(await r.reconcile([entry(0, () => 1, 2), one(1), one(3)], 'second changed'), { ok: true, writes: 2, diffed: 1 });
  t.same(await snapshot(ipvs), lines([entry(0, () => 1, 2), one(3)]));
  t.match(await r.reconcile([entry(0, () => 1, 2), one(3), one(1)], 'swapped'), { ok: true, writes: 2, diffed: 1 });
  t.same(await snapshot(ipvs), lines([entry(0, () => 1, 2), one(1)]));
  await r.reconcile([entry(0, () => 1, 2), one(2), one(1)], 'swapped back');
  t.match(await r.reconcile([entry(0, () => 1, 2), one(2)], 'the second dropped: the first, unchanged in place, now counts'), { ok: true, writes: 2, diffed: 1 });
  t.same(await snapshot(ipvs), lines([entry(0, () => 1, 2), one(2)]));
  r.stop();
});

t.test('calls during a run add up: the next run diffs every service changed meanwhile', async (t) => {
  const { ipvs, r } = setup();
  const base = table(20, () => 1);
  await r.reconcile(base, 'program');
  const a = base.slice();
  a[3] = entry(3, () => 2);
  const b = a.slice();
  b[7] = entry(7, () => 3);
  const p1 = r.reconcile(table(20, () => 1), 'nothing');
  const p2 = r.reconcile(a, 'rs on 3');
  const p3 = r.reconcile(b, 'rs on 7');
  const [r1, r2, r3] = await Promise.all([p1, p2, p3]);
  t.match(r1, { writes: 0, diffed: 0 });
  t.equal(r2, r3, 'served by one run');
  t.match(r2, { ok: true, writes: 20, diffed: 2, read: false, reason: 'rs on 3; rs on 7' });
  t.same(await snapshot(ipvs), lines(b));
  r.stop();
});

t.test('a service added while a run is in progress is read before it is written', async (t) => {
  const ipvs = new CountingIpvs();
  const { r } = setup({}, ipvs);
  const base = table(3, () => 1);
  await r.reconcile(base, 'program');
  await ipvs.addService(svc(9)); // made by hand, with one of the destinations vigil will want
  await ipvs.addDest(svc(9), dest(0, 4));
  const p1 = r.reconcile([entry(0, () => 2), base[1]!, base[2]!], 'weights'); // starts a run
  const p2 = r.reconcile([entry(0, () => 2), base[1]!, base[2]!, entry(9, () => 4, 2)], 'reload adds 9');
  t.match(await p1, { ok: true, writes: 10 });
  t.match(await p2, { ok: true, read: true, writes: 1, failed: 0 }, 'only the missing destination, no EEXIST');
  t.equal(r.status().failedWrites, 0);
  r.stop();
});

t.test('after a refused write the next run reads the kernel and diffs the whole table', async (t) => {
  const { ipvs, clock, r } = setup({ backoff: { firstMs: 100 } });
  const base = table(10, () => 1);
  await r.reconcile(base, 'program');
  ipvs.failNext = { op: 'ipvs.editDest', code: 'ENOMEM' };
  const t1 = base.slice();
  t1[4] = entry(4, () => 2);
  t.match(await r.reconcile(t1, 'weights'), { ok: false, writes: 10, failed: 1, diffed: 1 });
  // a call before the retry is due: not scoped (its changes were taken by the failed run), a full read
  t.match(await r.reconcile(t1.slice(), 'same table again'), { ok: true, read: true, writes: 1, diffed: 10 }, 'only the refused write is sent again');
  clock.advance(100);
  await new Promise((res) => setImmediate(res));
  await r.idle();
  t.equal(r.status().converged, true);
  t.same(await snapshot(ipvs), lines(t1));
  const t2 = t1.slice();
  t2[5] = entry(5, () => 3);
  t.match(await r.reconcile(t2, 'after the retry'), { ok: true, read: false, writes: 10, diffed: 1 }, 'scoped again once converged');
  r.stop();
});

t.test('random sequences: scoped runs, failures, changes by hand and re-reads always converge', async (t) => {
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), (seed >>> 12) % n);
  const ipvs = new CountingIpvs();
  await ipvs.addService({ ...svc(99), scheduler: 'rr' }); // not vigil's, must never change
  await ipvs.addDest(svc(99), dest(1, 9));
  const setupCalls = ipvs.calls.length;
  const { clock, r } = setup({ backoff: { firstMs: 10, maxMs: 10 } }, ipvs);
  const randomEntry = (i: number): ServiceEntry => ({
    service: svc(i, { scheduler: rnd(4) ? 'wrr' : 'rr' }),
    dests: Array.from({ length: 6 }, (_, j) => j).filter(() => rnd(3) > 0).map((j) => dest(j, rnd(4))),
  });
  let desired: ServiceEntry[] = Array.from({ length: 12 }, (_, i) => randomEntry(i));
  let scoped = 0;
  for (let round = 0; round < 300; round++) {
    const next = rnd(3) ? desired.slice() : desired.map((e) => ({ service: { ...e.service }, dests: e.dests.map((d) => ({ ...d })) }));
    for (let c = rnd(4); c > 0; c--) {
      const i = rnd(14);
      const at = next.findIndex((e) => e.service.address === vip(i));
      if (at >= 0 && rnd(5) === 0) next.splice(at, 1);
      else if (at >= 0) next[at] = randomEntry(i);
      else next.push(randomEntry(i));
    }
    desired = next;
    if (rnd(8) === 0) {
      // a change by hand in a managed service: the periodic re-read puts it right
      ipvs.failNext = undefined;
      const s = (await ipvs.services()).find((x) => x.address !== vip(99));
      const ds = s ? await ipvs.dests(s) : [];
      if (s && ds[0]) await ipvs.editDest(s, { ...ds[0], weight: 77 });
      else if (s) await ipvs.addDest(s, dest(5, 66));
      await r.resync('re-read');
    }
    if (rnd(6) === 0) ipvs.failNext = { op: rnd(2) ? 'ipvs.addDest' : 'ipvs.editDest', code: 'ENOMEM' };
    const res = await r.reconcile(desired, `round ${round}`);
    if (res.ok && !res.read) scoped++;
    for (let i = 0; i < 5 && !r.status().converged; i++) {
      clock.advance(10);
      await new Promise((res) => setImmediate(res));
      await r.idle();
    }
    const want = lines([...desired, { service: { ...svc(99), scheduler: 'rr' }, dests: [dest(1, 9)] }]);
    const have = await snapshot(ipvs);
    if (have.join('\n') !== want.join('\n')) return void t.same(have, want, `round ${round}: kernel differs from desired`);
  }
  t.ok(scoped > 150, `most runs were scoped (${scoped} of 300)`);
  t.ok(r.status().failedWrites > 10, `refused writes were retried (${r.status().failedWrites})`);
  t.ok(r.status().outsideChanges > 10, `changes by hand were put right (${r.status().outsideChanges})`);
  t.equal(ipvs.calls.slice(setupCalls).filter((c) => c.op === 'ipvs.flush' || c.object.startsWith('198.18.0.99:')).length, 0, 'never a flush, the unmanaged service untouched');
  r.stop();
});

t.test('shareEntries keeps unchanged entries as the same objects', async (t) => {
  const a = table(5, () => 1);
  t.equal(shareEntries(a, table(5, () => 1)), a, 'nothing changed: the previous table itself');
  const b = shareEntries(a, table(5, (i) => (i === 2 ? 2 : 1)));
  t.same(b.map((e, i) => e === a[i]), [true, true, false, true, true]);
  const reordered = shareEntries(a, [...table(5, () => 1)].reverse());
  t.same(reordered.map((e) => a.indexOf(e)), [4, 3, 2, 1, 0], 'found by key when the order changed');
  t.equal(shareEntries(undefined, a), a);
  const c = shareEntries(a, table(4, () => 1));
  t.not(c, a, 'a removed service makes a new table');
  t.same(c.map((e, i) => e === a[i]), [true, true, true, true]);
});

t.test('desiredTable + shareEntries: one health change rebuilds one entry, and the reconciler diffs one service', async (t) => {
  const src = Array.from(
    { length: 30 },
    (_, i) => `virtual_server ${vip(i)} 80 {\n  protocol TCP\n  lvs_sched wrr\n  lvs_method TUN\n${[1, 2, 3].map((n) => `  real_server 198.19.0.${n} 80 {\n    weight ${n}\n    TCP_CHECK {\n      connect_timeout 1\n    }\n  }`).join('\n')}\n}\n`,
  ).join('');
  const compiled = compileText(src, 'k.conf');
  if (!compiled.config) throw new Error(compiled.diagnostics.map((d) => d.message).join('\n'));
  const model: LvsModel = compiled.config;
  const down = new Set<string>();
  const health: HealthView = (vs: VirtualServer, rs: RealServer) => ({ up: !down.has(`${vs.kind === 'ip' ? vs.address : ''} ${rs.address}`), weight: rs.weight });
  let last: readonly ServiceEntry[] | undefined;
  const compute = () => (last = shareEntries(last, desiredTable({ lvs: model, health }).table));
  const { ipvs, r } = setup();
  const t0 = compute();
  await r.reconcile(t0, 'config loaded');
  down.add(`${vip(17)} 198.19.0.2`);
  const t1 = compute();
  t.same(t1.map((e, i) => e === t0[i]).filter((x) => !x).length, 1, 'one entry rebuilt');
  const calls = ipvs.calls.length;
  t.match(await r.reconcile(t1, 'rs down'), { ok: true, writes: 1, diffed: 1, read: false });
  t.same(ipvs.calls.slice(calls), [{ op: 'ipvs.deleteDest', object: `${vip(17)}:80 → 198.19.0.2:80` }]);
  t.equal(serviceKey(t1[17]!.service), serviceKey(svc(17)));
  r.stop();
});
