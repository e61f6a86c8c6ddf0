// The managed set outlives a restart (managed-store.ts + the reconciler's `managed`/`onManaged`):
// a virtual_server removed from the configuration while vigil was down is removed at the next
// start and logged with its reason; services vigil never managed are never touched; the set is
// written before a service is created and after one is deleted, atomically.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { ServiceEntry } from '../../src/director/diff.js';
import { MANAGED_FILE, hasManaged, loadManaged, saveManaged } from '../../src/director/managed-store.js';
import { Reconciler, type ReconcilerLog } from '../../src/director/reconciler.js';
import { FakeIpvs } from '../../src/ipvs/fake.js';
import { type Dest, type Service, serviceKey } from '../../src/ipvs/types.js';
import { FakeClock } from '../../src/util/clock.js';
import type { Config } from '../../src/config/compile.js';
import { childHasWork } from '../../src/daemon/child-engine.js';
import type { ChildKind } from '../../src/daemon/ipc.js';

const svc = (port: number): Service => ({ family: 4, protocol: 'tcp', address: '192.0.2.100', port, scheduler: 'wrr', flags: 0, timeout: 0, netmask: 32 }) as Service;
const dest = (n: number): Dest => ({ family: 4, address: `198.51.100.${n}`, port: 80, forward: 'tun', weight: 1, upperThreshold: 0, lowerThreshold: 0, tunType: 'ipip', tunPort: 0, tunFlags: 0 });
const entry = (port: number): ServiceEntry => ({ service: svc(port), dests: [dest(11)] });
const key = (port: number) => serviceKey(svc(port));

function logger(): ReconcilerLog & { lines: { level: string; obj: Record<string, unknown>; msg: string }[] } {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

const ports = async (ipvs: FakeIpvs) => (await ipvs.services()).map((s) => s.port ?? 0).sort((a, b) => a - b);

function stateDir(t: Test): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-managed-'));
  t.teardown(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

t.test('a restart removes the services vigil created that the configuration dropped meanwhile, and only those', async (t) => {
  const file = path.join(stateDir(t), MANAGED_FILE);
  const ipvs = new FakeIpvs();
  // first life: 80 and 443 configured; 8080 is someone else's
  await ipvs.addService(svc(8080));
  const log1 = logger();
  const saves: string[][] = [];
  const first = new Reconciler({
    ipvs, clock: new FakeClock(), log: log1,
    managed: { keys: loadManaged(file, log1), source: file },
    onManaged: (keys) => {
      saves.push([...keys].sort());
      saveManaged(file, keys, log1);
    },
  });
  const before = ipvs.calls.length;
  const pending = first.reconcile([entry(80), entry(443)], 'config loaded');
  t.equal(ipvs.calls.length, before, 'the set is saved before any service is created');
  t.same(saves, [[key(443), key(80)].sort()]);
  await pending;
  t.same(await ports(ipvs), [80, 443, 8080]);
  t.same(loadManaged(file, log1).sort(), [key(443), key(80)].sort(), 'kept in the state directory');
  first.stop(); // vigil stops (IPVS stays); 443 is removed from keepalived.conf meanwhile

  const log2 = logger();
  const second = new Reconciler({ ipvs, clock: new FakeClock(), log: log2, managed: { keys: loadManaged(file, log2), source: file }, onManaged: (keys) => saveManaged(file, keys, log2) });
  const r = await second.reconcile([entry(80)], 'start: configured table');
  t.match(r, { ok: true, writes: 1, adopted: 1, unmanaged: 1 });
  t.same(await ports(ipvs), [80, 8080], '443 removed; 8080 (never vigil\'s) untouched; 80 adopted');
  t.same(ipvs.calls.slice(-1).map((c) => c.op), ['ipvs.deleteService'], 'one write, no flush');
  const line = log2.lines.find((l) => l.obj.op === 'deleteService');
  t.match(line, { obj: { vs: '192.0.2.100:443', reason: /no longer configured; vigil created it before this start \(.*ipvs-managed\.json\)/ }, msg: /ipvs deleteService 192\.0\.2\.100:443 \(.*no longer configured/ }, 'logged with its reason');
  t.same(loadManaged(file, log2), [key(80)], 'the set on disk follows');
  second.stop();
});

t.test('an inherited service that is gone from the kernel is forgotten; one configured again is kept and not logged as stale', async (t) => {
  const file = path.join(stateDir(t), MANAGED_FILE);
  saveManaged(file, [key(80), key(443), key(25)], logger());
  const ipvs = new FakeIpvs();
  await ipvs.addService(svc(80)); // 443 and 25 were removed by hand (or by lvs_flush) while vigil was down
  const log = logger();
  const r = new Reconciler({ ipvs, clock: new FakeClock(), log, managed: { keys: loadManaged(file, log), source: file }, onManaged: (keys) => saveManaged(file, keys, log) });
  const res = await r.reconcile([entry(80), entry(25)], 'start');
  t.match(res, { ok: true });
  t.same(await ports(ipvs), [25, 80]);
  t.same(loadManaged(file, log).sort(), [key(25), key(80)].sort(), '443 forgotten');
  t.notOk(log.lines.some((l) => /no longer configured/.test(l.msg)), 'nothing removed, nothing logged as stale');
  r.stop();
});

t.test('the store: missing, malformed and unwritable files', async (t) => {
  const dir = stateDir(t);
  const log = logger();
  const file = path.join(dir, 'sub', MANAGED_FILE);
  t.same(loadManaged(file, log), [], 'no file: empty, silently');
  t.equal(log.lines.length, 0);
  t.notOk(hasManaged(file));
  saveManaged(file, ['b', 'a'], log);
  t.same(JSON.parse(fs.readFileSync(file, 'utf8')), { version: 1, services: ['a', 'b'] });
  t.equal(fs.statSync(file).mode & 0o777, 0o600);
  t.ok(hasManaged(file));
  t.same(fs.readdirSync(path.dirname(file)), [MANAGED_FILE], 'no temporary file left');
  saveManaged(file, [], log);
  t.notOk(hasManaged(file), 'an empty set needs no checker');
  for (const bad of ['{', '{"version":2,"services":[]}', '{"version":1,"services":[1]}']) {
    fs.writeFileSync(file, bad);
    t.same(loadManaged(file, log), [], `${bad}: empty`);
  }
  t.equal(log.lines.filter((l) => l.level === 'error' && /malformed/.test(l.msg)).length, 3, 'each malformed file logged');
  fs.writeFileSync(path.join(dir, 'plain'), '');
  saveManaged(path.join(dir, 'plain', MANAGED_FILE), ['a'], log);
  t.match(log.lines.at(-1), { level: 'error', msg: /cannot write the managed IPVS services/ }, 'a failed write is logged, not thrown');
});

t.test('which child has work: a checker also starts to remove services left from before a restart', async (t) => {
  const c = (vs: number, vi: number) => ({ virtualServers: new Array(vs).fill({}), vrrpInstances: new Array(vi).fill({}) }) as unknown as Config;
  const table: { desc: string; input: [ChildKind, Config, boolean]; want: boolean }[] = [
    { desc: 'checker with a virtual_server', input: ['checker', c(1, 0), false], want: true },
    { desc: 'checker without', input: ['checker', c(0, 1), false], want: false },
    { desc: 'checker without, services left from before', input: ['checker', c(0, 1), true], want: true },
    { desc: 'vrrp with an instance', input: ['vrrp', c(1, 1), false], want: true },
    { desc: 'vrrp without, but a checker', input: ['vrrp', c(1, 0), false], want: false },
    { desc: 'vrrp with neither: the body of the daemon', input: ['vrrp', c(0, 0), false], want: true },
  ];
  for (const x of table) t.equal(childHasWork(...x.input), x.want, x.desc);
});
