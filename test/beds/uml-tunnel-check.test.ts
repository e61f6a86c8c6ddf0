// vigil's tunnel_check against a real kernel: one user-mode Linux boot, the LVS-TUN topology
// (client, dir1, dir2, rs1..3 with nginx and the VIP on tunl0), the scenario run from dir1 on dist/
// (test/beds/uml/tunnel-check.mjs). The Reconciler programs the tunnel-mode service and one fwmark
// service per real server; the probes are probeFor's, from the compiled configuration, each
// HTTP_GET with the digest of its own real server's page, so a probe steered anywhere else fails.
// - every real server passes its tunnel check through the VIP;
// - the VIP taken off rs2's tunl0: rs2's tunnel check fails, a plain HTTP_GET of rs2's own address
//   still passes, rs1 and rs3 still pass; the VIP put back: rs2 passes again;
// - the director holding the VIP itself: the replies (from the VIP) are martians to it until
//   accept_local=1 on the interface they arrive on, then all pass, whatever its rp_filter (the
//   documented requirement);
// - a reload without rs3 deletes its fwmark service only;
// - IPv6: an IPv6 virtual server (addresses added to the topology by the scenario) gets a family-6
//   fwmark service; the tunnel check passes over ip6ip6, fails with the VIP off rs1's ip6tnl0 while
//   a plain TCP_CHECK of rs1's own address passes, passes again with it back;
// - a restart adopts everything, no write;
// - tcpdump on the real servers' bridge sees the probes as ipip / ip6ip6 from dir1 to each real
//   server, addressed inside to the VIP.
import t from 'tap';
import { pidsByCmdline } from '../lab/state.js';
import { type UmlScenarioResult, describeUmlFailure, runUmlForTest } from '../lab/uml.js';
import { scenarioResult, scenarioText } from '../lab/uml-results.js';
import { repoScenario } from '../ipvs/fixtures/scenario.js';

const res = await runUmlForTest(t, { scenarios: [repoScenario('tunnel-check')], timeoutMs: 180_000, scenarioTimeoutS: 120 });
const get = (): UmlScenarioResult => scenarioResult(res, 'tunnel-check');

type Runs = Record<string, { name: string; reasons: string[]; detail: string }>;
interface Result {
  fatal?: { message: string; stack: string };
  tunnels: { service: string; fwmark: number; realServer: string }[];
  problems: string[];
  program: { ok: boolean; writes: number };
  saveProgram: string;
  names: Record<string, string[]>;
  allUp: Runs;
  rs2TunlAddrs: string;
  vipOff: Runs;
  vipBack: Runs;
  conns: string;
  acceptLocalBefore: { all: string; eth0: string };
  vipHeld: Runs;
  vipHeldAcceptLocal: Runs;
  rpFilter: Record<string, string>;
  reload: { ok: boolean; writes: number };
  saveReload: string;
  v6Tunnels: { service: string; fwmark: number; realServer: string }[];
  v6Program: { ok: boolean; writes: number };
  saveV6: string;
  v6Names: string[];
  v6Up: Runs;
  v6Off: Runs;
  v6Back: Runs;
  restart: { ok: boolean; writes: number; adopted: number };
  saveFinal: string;
}
const result = (): Result => JSON.parse(scenarioText(get(), 'result.json')) as Result;
const reasons = (runs: Runs): Record<string, string[]> => Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.reasons]));
const lines = (s: string): string[] => s.trim().split('\n');
/** base 0x7f000000 + the low 24 bits of 198.51.100.N */
const mark = (n: number): number => 0x7f000000 + ((51 << 16) | (100 << 8) | n);

t.test('the guest booted and ran the scenario', async (t) => {
  t.ok(res.ok, res.ok ? 'run ok' : describeUmlFailure(res));
  t.same(res.scenarios.map((s) => [s.name, s.status]), [['tunnel-check', 0]]);
  t.notOk(result().fatal, result().fatal?.stack ?? 'no unexpected error');
});

t.test('the Reconciler programs one fwmark service per real server, its real server alone in it', async (t) => {
  const r = result();
  t.equal(scenarioText(get(), 'save-empty.txt'), '', 'dir1 starts with an empty table');
  t.same(r.problems, []);
  t.same(r.tunnels.map((x) => [x.fwmark, x.realServer]), [[mark(11), '198.51.100.11'], [mark(12), '198.51.100.12'], [mark(13), '198.51.100.13']]);
  t.match(r.program, { ok: true, writes: 1 + 3 + 3 * 2 });
  t.same(lines(r.saveProgram), [
    '-A -t 192.0.2.100:80 -s wrr',
    '-a -t 192.0.2.100:80 -r 198.51.100.11:80 -i -w 1 --tun-type ipip',
    '-a -t 192.0.2.100:80 -r 198.51.100.12:80 -i -w 1 --tun-type ipip',
    '-a -t 192.0.2.100:80 -r 198.51.100.13:80 -i -w 1 --tun-type ipip',
    `-A -f ${mark(11)} -s rr`,
    `-a -f ${mark(11)} -r 198.51.100.11:0 -i -w 1 --tun-type ipip`,
    `-A -f ${mark(12)} -s rr`,
    `-a -f ${mark(12)} -r 198.51.100.12:0 -i -w 1 --tun-type ipip`,
    `-A -f ${mark(13)} -s rr`,
    `-a -f ${mark(13)} -r 198.51.100.13:0 -i -w 1 --tun-type ipip`,
  ], 'ipvsadm -Sn');
  t.same(r.names, {
    rs1: ['HTTP_GET 192.0.2.100:80 via 198.51.100.11'],
    rs2: ['HTTP_GET 192.0.2.100:80 via 198.51.100.12', 'HTTP_GET 198.51.100.12:80'],
    rs3: ['HTTP_GET 192.0.2.100:80 via 198.51.100.13'],
  }, 'the checkers, as logs and status name them');
});

t.test('every real server passes its tunnel check through the VIP', async (t) => {
  t.same(reasons(result().allUp), { 'rs1 tunnel': ['ok', 'ok'], 'rs2 tunnel': ['ok', 'ok'], 'rs2 plain': ['ok', 'ok'], 'rs3 tunnel': ['ok', 'ok'] });
});

t.test('the VIP off rs2’s tunl0: its tunnel check fails, its own address still answers', async (t) => {
  const r = result();
  t.notMatch(r.rs2TunlAddrs, /192\.0\.2\.100/, 'rs2’s tunl0 no longer holds the VIP');
  t.same(reasons(r.vipOff), { 'rs1 tunnel': ['ok', 'ok'], 'rs2 tunnel': ['timeout', 'timeout'], 'rs2 plain': ['ok', 'ok'], 'rs3 tunnel': ['ok', 'ok'] });
  t.match(r.vipOff['rs2 tunnel']?.detail, /no answer within 1000 ms \(connect\)/);
  t.same(reasons(r.vipBack), { 'rs1 tunnel': ['ok', 'ok'], 'rs2 tunnel': ['ok', 'ok'], 'rs2 plain': ['ok', 'ok'], 'rs3 tunnel': ['ok', 'ok'] }, 'put back: passes again');
});

t.test('a director holding the VIP needs accept_local on the interface the replies arrive on', async (t) => {
  const r = result();
  t.same(r.acceptLocalBefore, { all: '0', eth0: '0' });
  t.same(reasons(r.vipHeld), { 'rs1 tunnel': ['timeout'] }, 'accept_local=0: the reply from the VIP is a martian to dir1');
  t.same(reasons(r.vipHeldAcceptLocal), { 'rs1 tunnel': ['ok'], 'rs2 tunnel': ['ok'], 'rs2 plain': ['ok'], 'rs3 tunnel': ['ok'] }, 'accept_local=1 on eth0: all pass');
  t.same(r.rpFilter, { 1: 'ok', 2: 'ok' }, 'with accept_local=1 also under strict or loose rp_filter (the VIP is on that interface)');
});

t.test('a reload without rs3 removes its fwmark service only; a restart writes nothing', async (t) => {
  const r = result();
  t.match(r.reload, { ok: true, writes: 2 }, 'rs3 out of the service, and its fwmark service deleted');
  t.notMatch(r.saveReload, /198\.51\.100\.13/);
  t.notMatch(r.saveReload, new RegExp(`-f ${mark(13)}`));
  t.equal(lines(r.saveReload).length, 7, 'the service with rs1 and rs2, two fwmark services');
});

t.test('IPv6: a family-6 fwmark service, the check over ip6ip6', async (t) => {
  const r = result();
  const m6 = 0x7f000011; // base + the low 24 bits of 2001:db8:2::11
  t.same(r.v6Tunnels.map((x) => [x.service, x.realServer]).slice(-1), [[`fwmark ${m6} IPv6`, '2001:db8:2::11']]);
  t.match(r.v6Program, { ok: true, writes: 4 }, 'service and destination, fwmark service and destination');
  const v6Lines = lines(r.saveV6).filter((l) => l.includes('2001:db8') || l.includes(`-f ${m6} `));
  t.same(v6Lines, [
    '-A -t [2001:db8:1::100]:8080 -s rr',
    '-a -t [2001:db8:1::100]:8080 -r [2001:db8:2::11]:8080 -i -w 1 --tun-type ipip',
    `-A -f ${m6} -6 -s rr`,
    `-a -f ${m6} -6 -r [2001:db8:2::11]:0 -i -w 1 --tun-type ipip`,
  ], 'ipvsadm -Sn, the IPv6 lines');
  t.equal(lines(r.saveV6).length, 7 + 4, 'beside the IPv4 ones');
  t.same(r.v6Names, ['TCP_CHECK [2001:db8:1::100]:8080 via 2001:db8:2::11', 'TCP_CHECK [2001:db8:2::11]:8080']);
  t.same(reasons(r.v6Up), { 'rs1 tunnel': ['ok', 'ok'], 'rs1 plain': ['ok', 'ok'] });
  t.same(reasons(r.v6Off), { 'rs1 tunnel': ['timeout', 'timeout'], 'rs1 plain': ['ok', 'ok'] }, 'the VIP off ip6tnl0: the tunnel check fails, the own address answers');
  t.same(reasons(r.v6Back), { 'rs1 tunnel': ['ok', 'ok'], 'rs1 plain': ['ok', 'ok'] });
});

t.test('a restart adopts everything: no write', async (t) => {
  const r = result();
  t.match(r.restart, { ok: true, writes: 0, adopted: 5 });
  t.equal(r.saveFinal, r.saveV6, 'the table is left as it was');
});

t.test('on the wire: ipip from dir1 to each real server, the VIP inside', async (t) => {
  const cap = scenarioText(get(), 'capture.txt');
  for (const n of [11, 12, 13]) {
    const re = new RegExp(`IP 192\\.0\\.2\\.11 > 198\\.51\\.100\\.${n}: IP 192\\.0\\.2\\.11\\.\\d+ > 192\\.0\\.2\\.100\\.80: Flags \\[S\\]`);
    t.match(cap, re, `a SYN to the VIP encapsulated to rs ${n}`);
  }
  t.notMatch(cap, /IP 192\.0\.2\.100\.\d+ > 192\.0\.2\.100/, 'never from the VIP: the source is dir1’s own address');
  t.match(cap, /IP6 2001:db8:1::11 > 2001:db8:2::11: IP6 2001:db8:1::11\.\d+ > 2001:db8:1::100\.8080: Flags \[S\]/, 'IPv6: a SYN to the VIP in ip6ip6 to rs1');
});

t.test('nothing left behind by the UML run', async (t) => {
  t.same(pidsByCmdline(`umid=${res.umid}`), [], 'no linux.uml process of this run');
});
