// The in-memory Ipvs has the kernel's error semantics (the same codes the UML bed test gets).
import t from 'tap';
import { FakeIpvs } from '../../src/ipvs/fake.js';
import { IpvsError } from '../../src/ipvs/ipvs.js';
import type { Dest, Service } from '../../src/ipvs/types.js';

const VIP = { family: 4, protocol: 'tcp', address: '192.0.2.100', port: 80 } as const;
const svc: Service = { ...VIP, scheduler: 'wrr', flags: 0, timeout: 0, netmask: 32 };
const rs = (address: string, weight = 1): Dest => ({ family: 4, address, port: 80, forward: 'tun', weight, upperThreshold: 0, lowerThreshold: 0, tunType: 'ipip', tunPort: 0, tunFlags: 0 });

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    if (!(e instanceof IpvsError)) throw e;
    return `${e.code} | ${e.message}`;
  }
}

t.test('writes and reads', async (t) => {
  const f = new FakeIpvs();
  await f.addService(svc);
  await f.addDest(VIP, rs('198.51.100.11', 3));
  await f.addDest(VIP, rs('198.51.100.12', 2));
  await f.editDest(VIP, rs('198.51.100.12', 0));
  t.same((await f.services()).map((s) => s.scheduler), ['wrr']);
  t.same((await f.dests(VIP)).map((d) => [d.address, d.weight]), [['198.51.100.11', 3], ['198.51.100.12', 0]]);
  t.same(await f.dests({ ...VIP, port: 81 }), [], 'dests of a missing service: empty, like the kernel');
  await f.editService({ ...svc, scheduler: 'wlc', flags: 1 | 2, timeout: 300 });
  t.match((await f.services())[0], { scheduler: 'wlc', flags: 1, timeout: 300 }, 'HASHED never stored');
  await f.deleteDest(VIP, { family: 4, address: '198.51.100.12', port: 80 });
  await f.flush();
  t.same(await f.services(), []);
  t.same(f.calls.map((c) => c.op), ['ipvs.addService', 'ipvs.addDest', 'ipvs.addDest', 'ipvs.editDest', 'ipvs.editService', 'ipvs.deleteDest', 'ipvs.flush'], 'writes recorded');
});

t.test('errors like the kernel', async (t) => {
  const f = new FakeIpvs();
  await f.addService(svc);
  await f.addDest(VIP, rs('198.51.100.11'));
  const cases: { desc: string; run: () => Promise<unknown>; want: string }[] = [
    { desc: 'existing dest', run: () => f.addDest(VIP, rs('198.51.100.11')), want: 'EEXIST | ipvs.addDest 192.0.2.100:80 → 198.51.100.11:80: EEXIST' },
    { desc: 'missing dest', run: () => f.deleteDest(VIP, rs('198.51.100.13')), want: 'ENOENT | ipvs.deleteDest 192.0.2.100:80 → 198.51.100.13:80: ENOENT' },
    { desc: 'edit missing dest', run: () => f.editDest(VIP, rs('198.51.100.13')), want: 'ENOENT | ipvs.editDest 192.0.2.100:80 → 198.51.100.13:80: ENOENT' },
    { desc: 'existing service', run: () => f.addService(svc), want: 'EEXIST | ipvs.addService 192.0.2.100:80: EEXIST' },
    { desc: 'unknown scheduler', run: () => f.addService({ ...svc, port: 81, scheduler: 'nosuch' }), want: 'ENOENT | ipvs.addService 192.0.2.100:81: ENOENT' },
    { desc: 'missing service', run: () => f.deleteService({ ...VIP, port: 81 }), want: 'ESRCH | ipvs.deleteService 192.0.2.100:81: ESRCH' },
    { desc: 'dest of missing service', run: () => f.addDest({ ...VIP, port: 81 }, rs('198.51.100.11')), want: 'ESRCH | ipvs.addDest 192.0.2.100:81 → 198.51.100.11:80: ESRCH' },
    { desc: 'negative weight', run: () => f.addDest(VIP, rs('198.51.100.14', -1)), want: 'ERANGE | ipvs.addDest 192.0.2.100:80 → 198.51.100.14:80: ERANGE' },
    { desc: 'lower above upper', run: () => f.addDest(VIP, { ...rs('198.51.100.14'), upperThreshold: 5, lowerThreshold: 6 }), want: 'ERANGE | ipvs.addDest 192.0.2.100:80 → 198.51.100.14:80: ERANGE' },
    { desc: 'gue without port', run: () => f.addDest(VIP, { ...rs('198.51.100.14'), tunType: 'gue' }), want: 'EINVAL | ipvs.addDest 192.0.2.100:80 → 198.51.100.14:80: EINVAL' },
    { desc: 'bad address', run: () => f.addDest(VIP, rs('198.51.100.300')), want: 'EINVAL | ipvs.addDest 192.0.2.100:80 → 198.51.100.300:80: EINVAL' },
  ];
  for (const c of cases) t.equal(await code(c.run()), c.want, c.desc);
  t.same((await f.dests(VIP)).map((d) => d.address), ['198.51.100.11'], 'refused writes changed nothing');
  f.failNext = { op: 'ipvs.editDest', code: 'EIO' };
  t.equal(await code(f.editDest(VIP, rs('198.51.100.11', 9))), 'EIO | ipvs.editDest 192.0.2.100:80 → 198.51.100.11:80: EIO', 'injected failure');
  t.equal((await f.dests(VIP))[0]?.weight, 1, 'an injected failure does not apply the write');
  f.close();
  t.match(await code(f.flush()), /^ECLOSED/, 'closed');
});

t.test('answers settle asynchronously', async (t) => {
  const f = new FakeIpvs();
  let settled = false;
  const p = f.addService(svc).then(() => (settled = true));
  t.notOk(settled, 'not settled synchronously');
  await p;
  t.ok(settled);
});

t.test('apply: in order, refusals come back as values, later ops still run', async (t) => {
  const f = new FakeIpvs();
  const res = await f.apply([
    { op: 'addService', service: svc },
    { op: 'addDest', service: VIP, dest: rs('198.51.100.11') },
    { op: 'addDest', service: VIP, dest: rs('198.51.100.11') },
    { op: 'addDest', service: VIP, dest: rs('198.51.100.12') },
  ]);
  t.same(res.map((e) => e?.code), [undefined, undefined, 'EEXIST', undefined]);
  t.equal(res[2]?.message, 'ipvs.addDest 192.0.2.100:80 → 198.51.100.11:80: EEXIST');
  t.same((await f.dests(VIP)).map((d) => d.address), ['198.51.100.11', '198.51.100.12']);
});

t.test('sync daemons and timeouts, with the kernel answers seen in UML', async (t) => {
  const f = new FakeIpvs();
  await f.startDaemon({ state: 'master', ifname: 'eth0', syncId: 5 });
  await f.startDaemon({ state: 'backup', ifname: 'eth0', syncId: 6, group: '239.1.2.3', port: 8850, ttl: 3 });
  t.same(await f.daemons(), [
    { state: 'master', ifname: 'eth0', syncId: 5, maxlen: 1472, group: '224.0.0.81', port: 8848, ttl: 1 },
    { state: 'backup', ifname: 'eth0', syncId: 6, maxlen: 1472, group: '239.1.2.3', port: 8850, ttl: 3 },
  ], 'defaults filled in as the kernel reports them');
  t.equal(await code(f.startDaemon({ state: 'master', ifname: 'eth0', syncId: 5 })), 'EEXIST | ipvs.startDaemon master sync daemon eth0 id 5: EEXIST');
  t.equal(await code(f.startDaemon({ state: 'master', ifname: 'nosuch0', syncId: 5 })), 'ENODEV | ipvs.startDaemon master sync daemon nosuch0 id 5: ENODEV');
  await f.stopDaemon('master');
  await f.stopDaemon('backup');
  t.equal(await code(f.stopDaemon('backup')), 'ESRCH | ipvs.stopDaemon backup sync daemon: ESRCH');
  t.same(await f.daemons(), []);
  t.same(await f.timeouts(), { tcp: 900, tcpFin: 120, udp: 300 }, 'kernel defaults');
  await f.setTimeouts({ tcp: 7200, tcpFin: 0, udp: 120 });
  t.same(await f.timeouts(), { tcp: 7200, tcpFin: 120, udp: 120 }, '0 leaves one as it is');
  f.failReads = 'EIO';
  await t.rejects(f.services(), { name: 'IpvsError', code: 'EIO' }, 'failReads');
});
