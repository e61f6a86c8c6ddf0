import t from 'tap';
import { type Op, type ServiceEntry, apply, applyInPlace, byKey, diff, diffKeys, sameEntry } from '../../src/director/diff.js';
import { FakeIpvs } from '../../src/ipvs/fake.js';
import { type Dest, type Service, serviceKey } from '../../src/ipvs/types.js';

const svc = (port: number, o: Partial<Service> = {}): Service => ({ family: 4, protocol: 'tcp', address: '192.0.2.100', port, scheduler: 'wrr', flags: 0, timeout: 0, netmask: 32, ...o }) as Service;
const dest = (n: number, o: Partial<Dest> = {}): Dest => ({ family: 4, address: `198.51.100.${n}`, port: 80, forward: 'tun', weight: 10, upperThreshold: 0, lowerThreshold: 0, tunType: 'ipip', tunPort: 0, tunFlags: 0, ...o });
const entry = (s: Service, ...d: Dest[]): ServiceEntry => ({ service: s, dests: d });
const keys = (...e: ServiceEntry[]) => new Set(e.map((x) => serviceKey(x.service)));
const ops = (o: readonly Op[]) => o.map((x) => `${x.op} ${'dest' in x ? x.dest.address : ''}`.trim());

const cases: { desc: string; desired: ServiceEntry[]; current: ServiceEntry[]; managed?: Set<string>; want: string[]; adopted?: number; unmanaged?: number }[] = [
  { desc: 'empty kernel: create everything, services first', desired: [entry(svc(80), dest(1), dest(2))], current: [], want: ['addService', 'addDest 198.51.100.1', 'addDest 198.51.100.2'] },
  { desc: 'identical: adopt, no write (restart after kill -9)', desired: [entry(svc(80), dest(1), dest(2))], current: [entry(svc(80), dest(1), dest(2))], want: [], adopted: 1 },
  { desc: 'counters do not count as a difference', desired: [entry(svc(80), dest(1))], current: [entry(svc(80), dest(1, { conns: { active: 9, inactive: 1, persistent: 0 } }))], want: [], adopted: 1 },
  { desc: 'a failed real server: weight 0 is an edit', desired: [entry(svc(80), dest(1), dest(2, { weight: 0 }))], current: [entry(svc(80), dest(1), dest(2))], want: ['editDest 198.51.100.2'] },
  { desc: 'a removed real server: delete after the adds', desired: [entry(svc(80), dest(1), dest(3))], current: [entry(svc(80), dest(1), dest(2))], want: ['addDest 198.51.100.3', 'deleteDest 198.51.100.2'] },
  { desc: 'scheduler changed: edit the service, keep destinations', desired: [entry(svc(80, { scheduler: 'wlc' }), dest(1))], current: [entry(svc(80), dest(1))], want: ['editService'] },
  { desc: 'a destination added by hand is removed', desired: [entry(svc(80), dest(1))], current: [entry(svc(80), dest(1), dest(9))], want: ['deleteDest 198.51.100.9'] },
  { desc: 'a managed service dropped from the config is deleted', desired: [], current: [entry(svc(80), dest(1))], managed: keys(entry(svc(80))), want: ['deleteService'] },
  { desc: 'an unmanaged service is left alone', desired: [entry(svc(80), dest(1))], current: [entry(svc(80), dest(1)), entry(svc(443), dest(5))], want: [], adopted: 1, unmanaged: 1 },
];

for (const c of cases)
  t.test(c.desc, async (t) => {
    const managed = c.managed ?? keys(...c.desired);
    const p = diff(c.desired, c.current, managed);
    t.same(ops(p.ops), c.want);
    if (c.adopted !== undefined) t.equal(p.adopted, c.adopted);
    if (c.unmanaged !== undefined) t.equal(p.unmanaged.length, c.unmanaged);
    t.same(ops(diff(c.desired, apply(c.current, p.ops), managed).ops), [], 'applying the plan converges');
  });

t.test('random tables always converge and never touch unmanaged services', async (t) => {
  let seed = 42;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
  const table = (): ServiceEntry[] => {
    const out: ServiceEntry[] = [];
    for (let p = 80; p < 86; p++) {
      if (rnd(3) === 0) continue;
      const ds: Dest[] = [];
      for (let n = 1; n < 7; n++) if (rnd(2)) ds.push(dest(n, { weight: rnd(4), forward: rnd(5) ? 'tun' : 'dr' }));
      out.push(entry(svc(p, { scheduler: rnd(2) ? 'wrr' : 'rr' }), ...ds));
    }
    return out;
  };
  for (let i = 0; i < 500; i++) {
    const desired = table();
    const current = table();
    const managed = new Set([...desired, ...current].filter(() => rnd(4) > 0).map((e) => serviceKey(e.service)));
    for (const e of desired) managed.add(serviceKey(e.service));
    const p = diff(desired, current, managed);
    const after = apply(current, p.ops);
    if (diff(desired, after, managed).ops.length !== 0) return void t.fail(`round ${i} did not converge`);
    for (const e of current)
      if (!managed.has(serviceKey(e.service)) && !after.some((a) => serviceKey(a.service) === serviceKey(e.service))) return void t.fail(`round ${i} removed an unmanaged service`);
    if (p.ops.some((o) => o.op === 'deleteService' && !managed.has(serviceKey(o.service)))) return void t.fail(`round ${i} deletes an unmanaged service`);
  }
  t.pass('500 random pairs converge');
});

t.test('the plan applies on the IPVS fake with no error and reads back as desired', async (t) => {
  const ipvs = new FakeIpvs();
  const current = [entry(svc(80), dest(1), dest(2)), entry(svc(443), dest(7))];
  for (const e of current) {
    await ipvs.addService(e.service);
    for (const d of e.dests) await ipvs.addDest(e.service, d);
  }
  const desired = [entry(svc(80, { scheduler: 'wlc' }), dest(1, { weight: 0 }), dest(3))];
  const plan = diff(desired, current, keys(...current));
  const before = ipvs.calls.length;
  for (const o of plan.ops) {
    if (o.op === 'addService') await ipvs.addService(o.service);
    else if (o.op === 'editService') await ipvs.editService(o.service);
    else if (o.op === 'deleteService') await ipvs.deleteService(o.service);
    else if (o.op === 'addDest') await ipvs.addDest(o.service, o.dest);
    else if (o.op === 'editDest') await ipvs.editDest(o.service, o.dest);
    else await ipvs.deleteDest(o.service, o.dest);
  }
  const services = await ipvs.services();
  t.same(services.map((s) => [s.port, s.scheduler]), [[80, 'wlc']]);
  const ds = await ipvs.dests(svc(80));
  t.same(ds.map((d) => [d.address, d.weight]).sort(), [['198.51.100.1', 0], ['198.51.100.3', 10]]);
  t.equal(ipvs.calls.length - before, plan.ops.length, 'one kernel write per planned operation');
});

t.test('diffKeys: the diff limited to the named services', async (t) => {
  const desired = byKey([entry(svc(80), dest(1, { weight: 5 })), entry(svc(443), dest(2)), entry(svc(8443), dest(3))]);
  const current = byKey([entry(svc(80), dest(1)), entry(svc(443), dest(9)), entry(svc(22), dest(4)), entry(svc(23))]);
  const managed = new Set([...desired.keys(), serviceKey(svc(22))]);
  const only80 = diffKeys(desired, current, [serviceKey(svc(80))], managed);
  t.same(ops(only80.ops), ['editDest 198.51.100.1'], 'the other differences are not looked at');
  const some = diffKeys(desired, current, [serviceKey(svc(22)), serviceKey(svc(8443)), serviceKey(svc(23)), serviceKey(svc(8443))], managed);
  t.same(ops(some.ops), ['addService', 'addDest 198.51.100.3', 'deleteService'], 'creates first, removes last; a repeated key counts once');
  t.same(some.unmanaged, [serviceKey(svc(23))]);
  const all = diff([...desired.values()], [...current.values()], managed);
  const union = diffKeys(desired, current, [...new Set([...desired.keys(), ...current.keys()])], managed);
  t.same(union, all, 'with every key it is the whole diff');
});

t.test('applyInPlace rebuilds only the services the operations name', async (t) => {
  const a = entry(svc(80), dest(1), dest(2));
  const b = entry(svc(443), dest(3));
  const table = byKey([a, b]);
  applyInPlace(table, [
    { op: 'editDest', service: svc(80), dest: dest(1, { weight: 3 }) },
    { op: 'deleteDest', service: svc(80), dest: dest(2) },
    { op: 'addService', service: svc(8080) },
    { op: 'addDest', service: svc(8080), dest: dest(7) },
  ]);
  t.equal(table.get(serviceKey(svc(443))), b, 'an untouched service keeps its object');
  t.same(table.get(serviceKey(svc(80)))?.dests.map((d) => [d.address, d.weight]), [['198.51.100.1', 3]]);
  t.same(table.get(serviceKey(svc(8080)))?.dests.map((d) => d.address), ['198.51.100.7']);
  applyInPlace(table, [{ op: 'deleteService', service: svc(80) }]);
  t.same([...table.keys()], [serviceKey(svc(443)), serviceKey(svc(8080))]);
});

t.test('sameEntry: field by field, counters ignored, any configuration difference found', async (t) => {
  const base = entry(svc(80), dest(1), dest(2));
  const cases: { desc: string; other: ServiceEntry; want: boolean }[] = [
    { desc: 'the same object', other: base, want: true },
    { desc: 'an equal copy', other: entry(svc(80), dest(1), dest(2)), want: true },
    { desc: 'counters differ', other: entry(svc(80), dest(1, { conns: { active: 3, inactive: 0, persistent: 0 } }), dest(2)), want: true },
    { desc: 'a weight', other: entry(svc(80), dest(1), dest(2, { weight: 11 })), want: false },
    { desc: 'thresholds', other: entry(svc(80), dest(1, { upperThreshold: 5 }), dest(2)), want: false },
    { desc: 'tunnel flags', other: entry(svc(80), dest(1, { tunFlags: 1 }), dest(2)), want: false },
    { desc: 'forwarding', other: entry(svc(80), dest(1, { forward: 'dr' }), dest(2)), want: false },
    { desc: 'one destination fewer', other: entry(svc(80), dest(1)), want: false },
    { desc: 'another order (counted as a change: only costs a diff)', other: entry(svc(80), dest(2), dest(1)), want: false },
    { desc: 'the scheduler', other: entry(svc(80, { scheduler: 'rr' }), dest(1), dest(2)), want: false },
    { desc: 'persistence', other: entry(svc(80, { flags: 1, timeout: 300 }), dest(1), dest(2)), want: false },
    { desc: 'netmask', other: entry(svc(80, { netmask: 24 }), dest(1), dest(2)), want: false },
    { desc: 'the port', other: entry(svc(81), dest(1), dest(2)), want: false },
    { desc: 'the persistence engine', other: entry(svc(80, { peName: 'sip' }), dest(1), dest(2)), want: false },
  ];
  for (const c of cases) t.equal(sameEntry(base, c.other), c.want, c.desc);
});
