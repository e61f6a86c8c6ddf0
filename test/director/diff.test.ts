import t from 'tap';
import { type Op, type ServiceEntry, apply, diff } from '../../src/director/diff.js';
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
