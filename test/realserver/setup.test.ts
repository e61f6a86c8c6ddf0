// setup / check / undo over the in-memory FakeHost (and one run with sysctls on a temp /proc/sys).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { RealServerError } from '../../src/realserver/errors.js';
import { FakeHost, MemorySysctls, freshSysctls } from '../../src/realserver/fake.js';
import { parseVips } from '../../src/realserver/model.js';
import { check, setup, undo } from '../../src/realserver/realserver.js';
import { readState } from '../../src/realserver/state.js';
import { SysctlFs } from '../../src/realserver/sysctl.js';

function stateFile(t: { teardown(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'vigil-rs-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return join(d, 'run/vigil/realserver.json');
}
const V = parseVips(['10.0.0.100']);
// a systemd machine: rp_filter 2 in conf.all and conf.default, so tunl0 is born with 2
const systemd = (): MemorySysctls => new MemorySysctls({ ...freshSysctls(), 'net.ipv4.conf.all.rp_filter': 2, 'net.ipv4.conf.default.rp_filter': 2 });

t.test('fresh machine: setup does everything, a second run nothing, check is clean', async (t) => {
  const sf = stateFile(t);
  const h = new FakeHost({ sysctls: systemd() });
  const before = new Map((h.sysctls as MemorySysctls).values);
  const r = await setup(h, V, sf);
  t.same(r.blockers, []);
  t.same(h.writes, [
    'modprobe ipip',
    'link tunl0 up',
    'addr add 10.0.0.100/32 dev tunl0',
    'sysctl net.ipv4.conf.all.arp_ignore=1',
    'sysctl net.ipv4.conf.all.arp_announce=2',
    'sysctl net.ipv4.conf.all.rp_filter=0',
    'sysctl net.ipv4.conf.tunl0.arp_ignore=1',
    'sysctl net.ipv4.conf.tunl0.arp_announce=2',
    'sysctl net.ipv4.conf.tunl0.rp_filter=0',
  ]);
  t.same(r.changes.slice(0, 4), [
    { item: 'module ipip', what: 'loaded (tunl0 is there now)' },
    { item: 'tunl0', what: 'set up' },
    { item: 'VIP 10.0.0.100', what: 'added 10.0.0.100/32 to tunl0' },
    { item: 'net.ipv4.conf.all.arp_ignore', what: '0 → 1' },
  ]);
  t.equal(r.stateFile, sf);
  t.same(readState(sf), {
    version: 1,
    vips: ['10.0.0.100'],
    sysctls: {
      'net.ipv4.conf.all.arp_ignore': { saved: 0, set: 1 },
      'net.ipv4.conf.all.arp_announce': { saved: 0, set: 2 },
      'net.ipv4.conf.all.rp_filter': { saved: 2, set: 0 },
      'net.ipv4.conf.tunl0.arp_ignore': { saved: 0, set: 1 },
      'net.ipv4.conf.tunl0.arp_announce': { saved: 0, set: 2 },
      'net.ipv4.conf.tunl0.rp_filter': { saved: 2, set: 0 },
    },
    linksUp: ['tunl0'],
  });
  t.equal(r.warnings.length, 1, 'the MTU warning');
  t.same((await check(h, V)).problems, [], 'check: no problem');

  const n = h.writes.length;
  const again = await setup(h, V, sf);
  t.same([again.changes, h.writes.length, again.stateFile], [[], n, undefined], 'second run: zero changes, zero writes, state not rewritten');

  const u = await undo(h, V, sf);
  t.same(u.changes.map((c) => `${c.item}: ${c.what}`), [
    'VIP 10.0.0.100: removed 10.0.0.100/32 from tunl0',
    'net.ipv4.conf.all.arp_ignore: 1 → 0 (restored)',
    'net.ipv4.conf.all.arp_announce: 2 → 0 (restored)',
    'net.ipv4.conf.all.rp_filter: 0 → 2 (restored)',
    'net.ipv4.conf.tunl0.arp_ignore: 1 → 0 (restored)',
    'net.ipv4.conf.tunl0.arp_announce: 2 → 0 (restored)',
    'net.ipv4.conf.tunl0.rp_filter: 0 → 2 (restored)',
    'tunl0: set down (setup had brought it up)',
  ]);
  const after = (h.sysctls as MemorySysctls).values;
  for (const [k, v] of before) t.equal(after.get(k), v, `${k} back to ${v}`);
  t.ok(h.loaded.has('ipip'), 'the module stays loaded');
  t.same(h.addressTable, [], 'no VIP left');
  t.notOk(existsSync(sf), 'state file removed');
  t.same((await undo(h, V, sf)).changes, [], 'undo again: nothing to do');
});

t.test('half-configured machine: only the difference changes', async (t) => {
  const sf = stateFile(t);
  const s = systemd();
  s.define('net.ipv4.conf.tunl0.arp_ignore', 1);
  s.define('net.ipv4.conf.tunl0.arp_announce', 2);
  s.define('net.ipv4.conf.tunl0.rp_filter', 2);
  const h = new FakeHost({ sysctls: s, loaded: ['ipip'], links: [{ name: 'lo', up: true }, { name: 'eth0', up: true }, { name: 'tunl0', up: true }], addresses: [{ device: 'tunl0', family: 4, address: '10.0.0.100', prefix: 32 }] });
  await setup(h, V, sf);
  t.same(h.writes, ['sysctl net.ipv4.conf.all.arp_ignore=1', 'sysctl net.ipv4.conf.all.arp_announce=2', 'sysctl net.ipv4.conf.all.rp_filter=0', 'sysctl net.ipv4.conf.tunl0.rp_filter=0']);
  t.same(readState(sf)?.linksUp, [], 'tunl0 was up already: undo leaves it up');
  await undo(h, [], sf);
  t.same(h.linkTable.find((l) => l.name === 'tunl0')?.up, true, 'tunl0 still up after undo');
  t.same(h.addressTable, [], 'the recorded VIP is removed by an undo without --vip');
});

t.test('a VIP on another interface: setup refuses and changes nothing', async (t) => {
  const sf = stateFile(t);
  const h = new FakeHost({ addresses: [{ device: 'eth0', family: 4, address: '10.0.0.100', prefix: 24 }] });
  const r = await setup(h, V, sf);
  t.same(r.changes, []);
  t.match(r.blockers, [{ item: 'VIP 10.0.0.100', problem: /is on eth0/, fix: 'ip addr del 10.0.0.100/24 dev eth0' }]);
  t.same(h.writes, [], 'no write at all (not even the module)');
  t.notOk(existsSync(sf), 'no state file');
});

t.test('no ipip module: ENOMODULE before any change', async (t) => {
  const sf = stateFile(t);
  const h = new FakeHost({ available: [] });
  const err = await setup(h, V, sf).then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof RealServerError, 'a RealServerError');
  t.match(err, { code: 'ENOMODULE', message: /ipip/ });
  t.same(h.writes, []);
  t.notOk(existsSync(sf));
  t.match((await check(h, V)).problems[0], { item: 'module ipip', fix: 'modprobe ipip' }, 'check names the module');
});

t.test('undo leaves a sysctl someone changed since setup, and says so', async (t) => {
  const sf = stateFile(t);
  const h = new FakeHost({ sysctls: systemd() });
  await setup(h, V, sf);
  h.sysctls.write('net.ipv4.conf.all.rp_filter', 1); // an operator's own choice since
  h.sysctls.write('net.ipv4.conf.all.arp_ignore', 0); // already back to the saved value
  const u = await undo(h, V, sf);
  t.match(u.kept, [/net\.ipv4\.conf\.all\.arp_ignore: already 0/, /net\.ipv4\.conf\.all\.rp_filter: left at 1: changed since setup \(which set 0; 2 before\)/]);
  t.equal(h.read('net.ipv4.conf.all.rp_filter'), 1);
});

t.test('setup twice with a changed VIP list keeps the first saved values', async (t) => {
  const sf = stateFile(t);
  const h = new FakeHost({ sysctls: systemd() });
  await setup(h, V, sf);
  h.sysctls.write('net.ipv4.conf.tunl0.rp_filter', 1);
  const r = await setup(h, parseVips(['10.0.0.100', '10.0.0.101']), sf);
  t.same(r.changes.map((c) => c.item), ['VIP 10.0.0.101', 'net.ipv4.conf.tunl0.rp_filter']);
  t.same(readState(sf)?.sysctls['net.ipv4.conf.tunl0.rp_filter'], { saved: 2, set: 0 }, 'saved stays the value before vigil');
  t.same(readState(sf)?.vips, ['10.0.0.100', '10.0.0.101']);
  await undo(h, [], sf);
  t.same(h.addressTable, [], 'both VIPs removed');
  t.equal(h.read('net.ipv4.conf.tunl0.rp_filter'), 2);
});

t.test('a corrupt state file stops setup before any change', async (t) => {
  const sf = stateFile(t);
  mkdirSync(dirname(sf), { recursive: true });
  writeFileSync(sf, 'garbage');
  const h = new FakeHost();
  await t.rejects(setup(h, V, sf), { code: 'ESTATE' });
  t.same(h.writes, []);
});

t.test('IPv6 and IPv4 VIPs together', async (t) => {
  const sf = stateFile(t);
  const h = new FakeHost();
  const vips = parseVips(['10.0.0.100', '2001:db8::100']);
  const r = await setup(h, vips, sf);
  t.same(h.writes.slice(0, 5), ['modprobe ipip', 'modprobe ip6_tunnel', 'link tunl0 up', 'link ip6tnl0 up', 'addr add 10.0.0.100/32 dev tunl0']);
  t.ok(h.writes.includes('addr add 2001:db8::100/128 dev ip6tnl0'));
  t.equal(r.warnings.length, 2);
  t.same((await check(h, vips)).problems, []);
  await undo(h, vips, sf);
  t.same(h.addressTable, []);
});

t.test('with sysctls under a temp /proc/sys root', async (t) => {
  const sf = stateFile(t);
  const root = mkdtempSync(join(tmpdir(), 'vigil-procsys-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const file = (k: string) => join(root, ...k.split('.'));
  const init: Record<string, string> = {};
  for (const d of ['all', 'tunl0']) for (const [c, v] of [['arp_ignore', '0'], ['arp_announce', '1'], ['rp_filter', '1']] as const) init[`net.ipv4.conf.${d}.${c}`] = v;
  for (const [k, v] of Object.entries(init)) {
    mkdirSync(dirname(file(k)), { recursive: true });
    writeFileSync(file(k), `${v}\n`);
  }
  const h = new FakeHost({ sysctls: new SysctlFs(root), loaded: ['ipip'], links: [{ name: 'eth0', up: true }, { name: 'tunl0', up: false }] });
  await setup(h, V, sf);
  const now = (k: string) => readFileSync(file(k), 'utf8');
  t.same(
    Object.keys(init).map((k) => [k, now(k)]),
    Object.keys(init).map((k) => [k, k.endsWith('arp_ignore') ? '1\n' : k.endsWith('arp_announce') ? '2\n' : '0\n']),
    'every file holds the value tunnel mode needs',
  );
  t.same((await check(h, V)).problems, []);
  await undo(h, V, sf);
  t.same(
    Object.keys(init).map((k) => [k, now(k)]),
    Object.entries(init).map(([k, v]) => [k, `${v}\n`]),
    'undo wrote the saved values back',
  );
});
