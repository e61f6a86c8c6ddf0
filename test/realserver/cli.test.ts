// `vigil realserver` output and exit codes, over the in-memory FakeHost (the kernel one is tested
// in network namespaces and in UML).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Io } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { realserverCommand } from '../../src/cli/realserver.js';
import { FakeHost } from '../../src/realserver/fake.js';

function io(): Io & { stdout: string; stderr: string } {
  const o = { stdout: '', stderr: '', color: false, out(s: string) { o.stdout += s; }, err(s: string) { o.stderr += s; } };
  return o;
}
function dir(t: { teardown(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'vigil-rs-cli-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

t.test('setup, again, check, break, check, undo — text output', async (t) => {
  const sf = join(dir(t), 'rs.json');
  const h = new FakeHost();
  const run = async (...args: string[]) => {
    const o = io();
    const code = await realserverCommand([...args, '--state-file', sf], o, { host: () => h });
    return { code, ...o };
  };
  const a = await run('--vip', '10.0.0.100');
  t.equal(a.code, 0);
  t.match(a.stdout, /^changed: module ipip: loaded \(tunl0 is there now\)\nchanged: tunl0: set up\nchanged: VIP 10\.0\.0\.100: added 10\.0\.0\.100\/32 to tunl0\n/);
  t.match(a.stdout, /\nvigil realserver: 7 change\(s\); the values before are saved in .*rs\.json \(`vigil realserver --undo` restores them\)\n$/);
  t.match(a.stderr, /^warning: tunl0: the director adds 20 bytes/);
  t.ok(h.closed, 'the host is closed');

  const b = await run('--vip', '10.0.0.100');
  t.equal(b.code, 0);
  t.equal(b.stdout, 'vigil realserver: nothing changed: already set up for 10.0.0.100\n');

  const c = await run('--vip', '10.0.0.100', '--check');
  t.equal(c.code, 0);
  t.equal(c.stdout, 'vigil realserver: ok: 10.0.0.100 set up for tunnel mode\n');
  t.match(c.stderr, /warning: .*20 bytes/, '--check warns about the MTU too');

  // break it: VIP gone, arp_ignore back to 0, tunl0 down
  await h.deleteAddress('tunl0', 4, '10.0.0.100', 32);
  h.write('net.ipv4.conf.all.arp_ignore', 0);
  await h.setLinkUp('tunl0', false);
  const n = h.writes.length;
  const d = await run('--vip', '10.0.0.100', '--check');
  t.equal(d.code, 1);
  const problems = d.stdout.split('\n').filter((l) => l.startsWith('problem: '));
  t.same(problems, [
    'problem: tunl0: is down: tunnelled packets are dropped — fix: ip link set dev tunl0 up',
    'problem: VIP 10.0.0.100: not on tunl0: decapsulated packets for it are not accepted — fix: ip addr add 10.0.0.100/32 dev tunl0',
    problems[2]!,
  ]);
  t.match(problems[2], /^problem: net\.ipv4\.conf\.all\.arp_ignore: is 0, tunnel mode needs 1: .* — fix: sysctl -w net\.ipv4\.conf\.all\.arp_ignore=1$/);
  t.match(d.stdout, /vigil realserver: 3 problem\(s\); `vigil realserver --vip 10\.0\.0\.100` fixes the others\n$/);
  t.equal(h.writes.length, n, '--check wrote nothing');

  const e = await run('--undo');
  t.equal(e.code, 0);
  t.match(e.stdout, /kept: VIP 10\.0\.0\.100: not on tunl0, nothing to remove\n/);
  t.match(e.stdout, /changed: net\.ipv4\.conf\.all\.arp_announce: 2 → 0 \(restored\)\n/);
  t.match(e.stdout, /kept: net\.ipv4\.conf\.all\.arp_ignore: already 0/);
  t.match(e.stdout, /undone \(\d+ change\(s\)\); the tunnel module stays loaded\n$/);
  t.notOk(existsSync(sf));
});

t.test('--json for scripts', async (t) => {
  const sf = join(dir(t), 'rs.json');
  const h = new FakeHost();
  const o = io();
  t.equal(await realserverCommand(['--vip', '10.0.0.100,10.0.0.101', '--check', '--json', '--state-file', sf], o, { host: () => h }), 1);
  const j = JSON.parse(o.stdout) as { command: string; vips: string[]; ok: boolean; problems: { item: string; problem: string; fix: string }[]; warnings: string[] };
  t.match(j, { command: 'check', vips: ['10.0.0.100', '10.0.0.101'], ok: false });
  t.same(j.problems.map((p) => p.item), ['module ipip', 'VIP 10.0.0.100', 'VIP 10.0.0.101', 'net.ipv4.conf.all.arp_ignore', 'net.ipv4.conf.all.arp_announce']);
  t.equal(j.warnings.length, 1);
  t.equal(o.stderr, '', 'nothing on stderr with --json');
  const s = io();
  t.equal(await realserverCommand(['--vip', '10.0.0.100', '--json', '--state-file', sf], s, { host: () => h }), 0);
  t.match(JSON.parse(s.stdout), { command: 'setup', ok: true, changes: [{ item: 'module ipip' }], problems: [], stateFile: sf });
  const u = io();
  t.equal(await realserverCommand(['--undo', '--json', '--state-file', sf], u, { host: () => h }), 0);
  t.match(JSON.parse(u.stdout), { command: 'undo', ok: true, stateFile: sf, changes: [{ item: 'VIP 10.0.0.100' }] });
});

t.test('errors: a clean message and exit 1, never a stack', async (t) => {
  const sf = join(dir(t), 'rs.json');
  const a = io();
  t.equal(await realserverCommand(['--vip', '10.0.0.100', '--state-file', sf], a, { host: () => new FakeHost({ available: [] }) }), 1);
  t.match(a.stderr, /^vigil realserver: module ipip: the kernel has no ipip module.*nothing was changed\n$/);
  t.equal(a.stdout, '');
  const b = io();
  t.equal(await realserverCommand(['--vip', '10.0.0.100', '--json', '--state-file', sf], b, { host: () => new FakeHost({ available: [] }) }), 1);
  t.match(JSON.parse(b.stdout), { ok: false, error: { code: 'ENOMODULE', op: 'module ipip' } });
  const c = io();
  const h = new FakeHost({ addresses: [{ device: 'lo', family: 4, address: '10.0.0.100', prefix: 32 }] });
  t.equal(await realserverCommand(['--vip', '10.0.0.100', '--state-file', sf], c, { host: () => h }), 1);
  t.match(c.stderr, /vigil realserver: VIP 10\.0\.0\.100: is on lo, not tunl0 .* — fix: ip addr del 10\.0\.0\.100\/32 dev lo \(by hand\)\n/);
  t.match(c.stderr, /changed nothing: fix the problem\(s\) above by hand first/);
  t.same(h.writes, []);
});

t.test('usage errors exit 2 through main', async (t) => {
  const sf = join(dir(t), 'none.json');
  const cases: [string[], RegExp][] = [
    [['realserver'], /give at least one --vip/],
    [['realserver', '--vip', 'web1'], /'web1' is not an IPv4 or IPv6 address/],
    [['realserver', '--vip', '10.0.0.100/24'], /single address/],
    [['realserver', '--vip', '10.0.0.100', '--check', '--undo'], /cannot be combined/],
    [['realserver', '10.0.0.100'], /takes no arguments.*--vip 10\.0\.0\.100/],
    [['realserver', '--vip', '10.0.0.100', '--state-file', 'rel.json'], /absolute path/],
    [['realserver', '--undo', '--state-file', sf], /nothing to undo: no --vip given and no state file/],
    [['realserver', '--vip', '10.0.0.100', '--bogus'], /bogus/],
  ];
  for (const [argv, re] of cases) {
    const o = io();
    t.equal(await main(argv, o), 2, argv.join(' '));
    t.match(o.stderr, re);
  }
  const h = io();
  t.equal(await main(['realserver', '--help'], h), 0);
  t.match(h.stdout, /Usage: vigil realserver --vip ADDR.*\n[^]*larger of conf\.all and conf\.tunl0/);
  const m = io();
  await main(['--help'], m);
  t.match(m.stdout, /realserver +set up this machine as an LVS tunnel-mode real server/);
});
