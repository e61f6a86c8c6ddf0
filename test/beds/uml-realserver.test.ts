// `vigil realserver` on a real kernel with ipip: one user-mode Linux boot (without ipip or
// ip6_tunnel loaded), one scenario (test/beds/uml/realserver.sh): vigil sets up a real server,
// a second run changes nothing, an IPVS tunnel service on a director reaches nginx on it through
// the VIP, a broken setup is named item by item by --check, and --undo restores what was saved.
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseIpvsStats } from '../lab/ipvsadm-text.js';
import { pidsByCmdline } from '../lab/state.js';
import { type UmlScenarioResult, describeUmlFailure, runUmlForTest } from '../lab/uml.js';
import { scenarioResult, scenarioText } from '../lab/uml-results.js';

const res = await runUmlForTest(t, {
  topology: null,
  // no ipip, no ip6_tunnel: vigil must get them loaded itself
  modules: ['ip_vs', 'ip_vs_rr', 'veth', 'bridge'],
  scenarios: [{ name: 'realserver', script: fileURLToPath(new URL('./uml/realserver.sh', import.meta.url)) }],
  scenarioTimeoutS: 170,
  timeoutMs: 240_000,
});

const s = (): UmlScenarioResult => scenarioResult(res, 'realserver');
const text = (f: string): string => scenarioText(s(), f);
const run = (step: string) => ({ rc: Number(text(`${step}.rc`).trim()), out: text(`${step}.out`), err: text(`${step}.err`) });
const sysctls = (f: string): Record<string, string> => Object.fromEntries(text(f).trim().split('\n').map((l) => l.split('=') as [string, string]));
interface IpAddr { ifname: string; flags: string[]; addr_info: { family: string; local: string; prefixlen: number }[] }
const addrs = (f: string): string[] => (JSON.parse(text(f) || '[]') as IpAddr[]).flatMap((i) => i.addr_info.filter((a) => !a.local.startsWith('fe80:')).map((a) => `${a.local}/${a.prefixlen}`));
const isUp = (f: string): boolean => (JSON.parse(text(f)) as IpAddr[])[0]?.flags.includes('UP') ?? false;

t.test('the guest booted and ran the scenario', async (t) => {
  t.ok(res.ok, res.ok ? 'run ok' : describeUmlFailure(res));
  t.same(res.scenarios.map((x) => [x.name, x.status]), [['realserver', 0]]);
  for (const line of s().stdout.trim().split('\n')) t.comment(line); // each vigil run and its time inside UML
});

t.test('setup on a fresh real server: ipip loaded, tunl0 up with the VIP, sysctls set', async (t) => {
  t.equal(text('ipip-before.txt').trim(), 'absent', 'ipip was not loaded before');
  const r = run('setup1');
  t.equal(r.rc, 0, r.err);
  t.match(r.out, /^changed: module ipip: loaded \(tunl0 is there now\)\nchanged: tunl0: set up\nchanged: VIP 10\.0\.0\.100: added 10\.0\.0\.100\/32 to tunl0\n/);
  t.match(r.err, /warning: tunl0: the director adds 20 bytes/);
  t.equal(text('ipip-after.txt').trim(), 'loaded', 'ipip loaded through the kernel module loader');
  t.same(addrs('tunl0-after-setup.json'), ['10.0.0.100/32'], 'tunl0 holds the VIP as /32');
  t.ok(isUp('tunl0-link-after-setup.json'), 'tunl0 is up');
  const before = sysctls('sysctls-before.txt');
  t.match(before, { 'net.ipv4.conf.all.rp_filter': '1', 'net.ipv4.conf.all.arp_ignore': '0', 'net.ipv4.conf.tunl0.rp_filter': '-' }, 'before: rp_filter 1, no tunl0');
  t.match(sysctls('sysctls-after-setup.txt'), {
    'net.ipv4.conf.all.arp_ignore': '1',
    'net.ipv4.conf.all.arp_announce': '2',
    'net.ipv4.conf.all.rp_filter': '0',
    'net.ipv4.conf.tunl0.arp_ignore': '1',
    'net.ipv4.conf.tunl0.arp_announce': '2',
    'net.ipv4.conf.tunl0.rp_filter': '0',
    'net.ipv4.conf.default.rp_filter': '1',
  }, 'after: tunnel mode sysctls on all and tunl0; conf.default untouched');
  const state = JSON.parse(text('state.json')) as { sysctls: Record<string, { saved: number; set: number }>; linksUp: string[] };
  t.same(state.sysctls['net.ipv4.conf.tunl0.rp_filter'], { saved: 1, set: 0 }, 'tunl0 was born with rp_filter 1 (conf.default): saved');
  t.same(state.linksUp, ['tunl0']);
});

t.test('a second run changes nothing; --check is clean', async (t) => {
  const r = run('setup2');
  t.equal(r.rc, 0, r.err);
  t.equal(r.out, 'vigil realserver: nothing changed: already set up for 10.0.0.100\n');
  const c = run('check-ok');
  t.equal(c.rc, 0, c.err);
  t.equal(c.out, 'vigil realserver: ok: 10.0.0.100 set up for tunnel mode\n');
});

t.test('end to end: a client request through the director reaches the real server', async (t) => {
  t.equal(text('direct.txt'), 'rs\n', 'nginx answers on the real server address');
  t.match(text('ipvs.txt'), /TCP {2}10\.0\.0\.100:80 rr\n {2}-> 10\.0\.0\.21:80 +Tunnel +1/, 'IPVS tunnel service on the director');
  t.equal(text('through-vip.txt'), 'rs\nrs\nrs\n', 'three requests to the VIP answered by the real server');
  t.equal(text('through-vip.err'), '');
  const macs = Object.fromEntries(text('macs.txt').trim().split(' ').map((kv) => kv.split('=') as [string, string]));
  t.match(text('client-neigh.txt'), new RegExp(`lladdr ${macs['dir']}`), 'the client resolved the VIP to the director (the real server kept quiet: arp_ignore)');
  const stats = parseIpvsStats(text('ipvs-stats.txt'));
  const svc = stats.find((x) => x.addr === '10.0.0.100:80');
  t.ok(svc && svc.inPkts > 0, `director forwarded the requests (InPkts ${svc?.inPkts})`);
  t.equal(svc?.outPkts, 0, 'no reply went back through the director (tunnel mode: direct return)');
});

t.test('broken real server: --check exits 1 and names each problem', async (t) => {
  t.not(text('broken-curl.rc').trim(), '0', 'the request through the VIP fails while it is broken');
  const c = run('check-broken');
  t.equal(c.rc, 1);
  const lines = c.out.split('\n').filter((l) => l.startsWith('problem: '));
  t.equal(lines.length, 3, 'three problems, one line each');
  t.equal(lines[0], 'problem: tunl0: is down: tunnelled packets are dropped — fix: ip link set dev tunl0 up');
  t.equal(lines[1], 'problem: VIP 10.0.0.100: not on tunl0: decapsulated packets for it are not accepted — fix: ip addr add 10.0.0.100/32 dev tunl0');
  t.match(lines[2], /^problem: net\.ipv4\.conf\.all\.arp_ignore: is 0, tunnel mode needs 1: .* — fix: sysctl -w net\.ipv4\.conf\.all\.arp_ignore=1$/);
  const j = run('check-broken-json');
  t.equal(j.rc, 1);
  t.match(JSON.parse(j.out), { command: 'check', ok: false, problems: [{ item: 'tunl0' }, { item: 'VIP 10.0.0.100' }, { item: 'net.ipv4.conf.all.arp_ignore' }] });
});

t.test('--undo restores the saved sysctls, removes the VIP, leaves the module', async (t) => {
  const u = run('undo');
  t.equal(u.rc, 0, u.err);
  t.match(u.out, /changed: VIP 10\.0\.0\.100: removed 10\.0\.0\.100\/32 from tunl0\n/);
  t.match(u.out, /changed: net\.ipv4\.conf\.all\.rp_filter: 0 → 1 \(restored\)\n/);
  t.match(u.out, /kept: net\.ipv4\.conf\.all\.arp_ignore: already 0/);
  t.match(u.out, /changed: tunl0: set down/);
  const before = sysctls('sysctls-before.txt');
  const after = sysctls('sysctls-after-undo.txt');
  for (const k of Object.keys(after).filter((k) => !k.includes('.tunl0.'))) t.equal(after[k], before[k], `${k} back to ${before[k]}`);
  t.match(after, { 'net.ipv4.conf.tunl0.rp_filter': '1', 'net.ipv4.conf.tunl0.arp_ignore': '0', 'net.ipv4.conf.tunl0.arp_announce': '0' }, 'tunl0 back to what it was born with');
  t.same(addrs('tunl0-after-undo.json'), [], 'no VIP on tunl0');
  t.notOk(isUp('tunl0-link-after-undo.json'), 'tunl0 down again (setup had brought it up)');
  t.equal(text('state-after-undo.txt').trim(), 'absent', 'state file removed');
  t.equal(text('ipip-after-undo.txt').trim(), 'loaded', 'the module stays loaded');
});

t.test('IPv6 VIP: ip6_tunnel loaded, ip6tnl0 up with the VIP as /128, idempotent, undone', async (t) => {
  t.equal(text('ip6_tunnel-before.txt').trim(), 'absent');
  const a = run('v6-setup1');
  t.equal(a.rc, 0, a.err);
  t.match(a.out, /changed: module ip6_tunnel: loaded \(ip6tnl0 is there now\)\nchanged: ip6tnl0: set up\nchanged: VIP 2001:db8::100: added 2001:db8::100\/128 to ip6tnl0\n/);
  t.match(a.err, /adds 40 bytes/);
  t.equal(text('ip6_tunnel-after.txt').trim(), 'loaded');
  t.same(addrs('ip6tnl0-after-setup.json'), ['2001:db8::100/128']);
  t.equal(run('v6-setup2').out, 'vigil realserver: nothing changed: already set up for 2001:db8::100\n');
  t.equal(run('v6-check').rc, 0);
  const u = run('v6-undo');
  t.equal(u.rc, 0, u.err);
  t.same(addrs('ip6tnl0-after-undo.json'), [], 'VIP removed by an undo without --vip (from the state file)');
});

t.test('nothing left behind by the UML run', async (t) => {
  t.same(pidsByCmdline(`umid=${res.umid}`), [], 'no linux.uml process of this run');
});
