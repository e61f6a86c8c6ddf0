// IPVS tunnel mode in a real kernel: one user-mode Linux boot, several scenarios (see test/beds/uml/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseIpvsList, parseIpvsStats } from '../lab/ipvsadm-text.js';
import { pidsByCmdline } from '../lab/state.js';
import { type UmlScenarioResult, describeUmlFailure, runUmlForTest } from '../lab/uml.js';
import { scenarioResult, scenarioText } from '../lab/uml-results.js';
import { type Packet, decodePcap } from '../lab/wire/decode.js';

const scenario = (name: string) => ({ name, script: fileURLToPath(new URL(`./uml/${name}.sh`, import.meta.url)) });
// Addresses of test/lab/uml-topology.sh (inside the guest only)
const VIP = '192.0.2.100';
const VIP2 = '192.0.2.101';
const CLIENT = '192.0.2.10';
const DIR1 = '192.0.2.11';
const RS = { rs1: '198.51.100.11', rs2: '198.51.100.12', rs3: '198.51.100.13' } as const;

const res = await runUmlForTest(t, { scenarios: [scenario('ipvs-tun-rr'), scenario('ipvs-stats')], timeoutMs: 170_000 });

const get = (name: string): UmlScenarioResult => scenarioResult(res, name);
const text = scenarioText;
function countBodies(body: string): Record<string, number> {
  const c: Record<string, number> = {};
  for (const l of body.split('\n').filter(Boolean)) c[l] = (c[l] ?? 0) + 1;
  return c;
}

t.test('the guest booted, built the topology and ran every scenario', async (t) => {
  t.ok(res.ok, res.ok ? 'run ok' : describeUmlFailure(res));
  t.equal(res.exitCode, 0, 'linux.uml powered off cleanly');
  t.equal(res.topology.status, 0, 'LVS-TUN topology came up');
  t.same(
    res.scenarios.map((s) => [s.name, s.status]),
    [
      ['ipvs-tun-rr', 0],
      ['ipvs-stats', 0],
    ],
    'both scenarios ran in the same boot and exited 0',
  );
});

t.test('tunnel mode round robin, weight 0 and back', async (t) => {
  const s = get('ipvs-tun-rr');
  if (s.status !== 0) return t.fail(`scenario failed: ${s.stderr}`);
  const before = parseIpvsList(text(s, 'ipvs-before.txt'));
  t.same(
    before.map((v) => [v.addr, v.scheduler, v.dests.map((d) => [d.addr, d.forward, d.weight])]),
    [[`${VIP}:80`, 'rr', Object.values(RS).map((a) => [`${a}:80`, 'Tunnel', 1])]],
    'service VIP:80 rr with three tunnel-mode real servers',
  );
  const p1 = countBodies(text(s, 'phase1.txt'));
  t.same(Object.keys(p1).sort(), ['rs1', 'rs2', 'rs3'], `phase 1 answered by all: ${JSON.stringify(p1)}`);
  t.equal(Object.values(p1).reduce((a, b) => a + b, 0), 30, '30 answers');
  for (const [rs, n] of Object.entries(p1)) t.ok(n >= 8 && n <= 12, `${rs} got ${n} of 30 (~10)`);
  const w0 = parseIpvsList(text(s, 'ipvs-weight0.txt'))[0]?.dests.find((d) => d.addr === `${RS.rs2}:80`);
  t.equal(w0?.weight, 0, 'rs2 has weight 0');
  const p2 = countBodies(text(s, 'phase2.txt'));
  t.notOk(p2['rs2'], `rs2 out of rotation: ${JSON.stringify(p2)}`);
  t.equal((p2['rs1'] ?? 0) + (p2['rs3'] ?? 0), 30, 'rs1 and rs3 answered all 30');
  const p3 = countBodies(text(s, 'phase3.txt'));
  t.ok((p3['rs2'] ?? 0) >= 8, `rs2 back in rotation: ${JSON.stringify(p3)}`);
});

t.test('replies go from the real servers to the client, never through the director', async (t) => {
  const s = get('ipvs-tun-rr');
  if (s.status !== 0) return t.fail('scenario failed');
  const macs = Object.fromEntries(text(s, 'macs.env').trim().split('\n').map((l) => l.split('=') as [string, string]));
  const pcap = (f: string): Packet[] => {
    const b = s.files.get(f);
    if (b === undefined) throw new Error(`no ${f}`);
    return decodePcap(b);
  };
  for (const ns of ['dir1', 'client']) {
    const log = text(s, `tcpdump-${ns}.log`);
    t.match(log, /\n0 packets dropped by kernel/, `capture in ${ns} is complete`);
  }
  const d1 = pcap('dir1.pcap');
  const cl = pcap('client.pcap');
  const isReply = (p: Packet): boolean => (p.ip?.src === VIP && p.tcp?.sport === 80) || (p.inner?.ip?.src === VIP && p.inner.tcp?.sport === 80);

  // at the director: requests in, IP-in-IP out to each real server, no reply at all
  const requestsIn = d1.filter((p) => p.ip?.dst === VIP && p.tcp?.dport === 80 && p.link?.dst === macs['dir1']);
  const tunneled = d1.filter((p) => p.ip?.protocol === 4 && p.ip.src === DIR1);
  // a connection is its client port + initial sequence number (a retransmitted SYN is the same connection)
  const conn = (tcp: Packet['tcp']): string => `${tcp?.sport}/${tcp?.seq}`;
  const synsIn = new Set(requestsIn.filter((p) => p.tcp?.flags.syn).map((p) => conn(p.tcp)));
  const synsOut = new Set(tunneled.filter((p) => p.inner?.tcp?.flags.syn).map((p) => conn(p.inner?.tcp)));
  t.equal(synsIn.size, 90, '90 connections reached dir1');
  t.same([...synsOut].sort(), [...synsIn].sort(), 'every connection was forwarded over IP-in-IP');
  t.same([...new Set(tunneled.map((p) => p.ip?.dst))].sort(), Object.values(RS).sort(), 'tunnelled to all three real servers');
  t.ok(
    tunneled.every((p) => p.inner?.ip?.src === CLIENT && p.inner.ip.dst === VIP && p.inner.tcp?.dport === 80),
    `the ${tunneled.length} inner packets are client requests to VIP:80`,
  );
  t.equal(d1.filter(isReply).length, 0, 'dir1 saw no packet from VIP:80 (no reply passed through it)');

  // at the client: replies from VIP:80 arrive from the router's MAC, requests leave to dir1's MAC
  const replies = cl.filter(isReply);
  t.ok(replies.length >= 90 * 2, `${replies.length} reply packets reached the client`);
  t.ok(replies.every((p) => p.link?.src === macs['router']), 'every reply came via the router, none from dir1');
  t.ok(replies.every((p) => p.ip?.ttl === 63), 'replies crossed exactly one router hop (TTL 64 - 1)');
  const data = new Map<string, string>(); // one entry per reply segment, retransmissions collapsed
  for (const p of replies) if (p.tcp && p.tcp.payload.length > 0) data.set(`${p.tcp.dport}/${p.tcp.seq}`, Buffer.from(p.tcp.payload).toString());
  const onWire = countBodies([...data.values()].map((d) => /\r\n\r\n(rs\d)\n$/.exec(d)?.[1] ?? 'other').join('\n'));
  const inFiles = countBodies(['phase1.txt', 'phase2.txt', 'phase3.txt'].map((f) => text(s, f)).join(''));
  t.same(onWire, inFiles, `the HTTP bodies on the wire are those curl got: ${JSON.stringify(onWire)}`);
  const toVip = cl.filter((p) => p.ip?.dst === VIP && p.tcp?.dport === 80);
  t.ok(toVip.length > 0 && toVip.every((p) => p.link?.dst === macs['dir1']), 'requests to the VIP go to dir1 MAC');
});

t.test('second scenario in the same boot: list shows Tunnel, stats after the estimator', async (t) => {
  const s = get('ipvs-stats');
  if (s.status !== 0) return t.fail(`scenario failed: ${s.stderr}`);
  const list = parseIpvsList(text(s, 'list.txt'));
  t.same(
    list.map((v) => [v.addr, v.scheduler, v.dests.map((d) => [d.forward, d.weight])]),
    [[`${VIP2}:80`, 'wrr', [['Tunnel', 3], ['Tunnel', 2], ['Tunnel', 1]]]],
    'dir2 table: VIP2 wrr, Tunnel forwarding, weights 3:2:1',
  );
  const bodies = countBodies(text(s, 'bodies.txt'));
  t.same(bodies, { rs1: 6, rs2: 4, rs3: 2 }, 'wrr 3:2:1 over 12 connections');
  const st = parseIpvsStats(text(s, 'stats.txt'))[0];
  if (!t.ok(st, 'stats row for VIP2') || st === undefined) return;
  t.equal(st.conns, 12, '12 connections counted');
  t.ok(st.inPkts >= 12 * 4, `${st.inPkts} packets in`);
  t.equal(st.outPkts, 0, 'no packet out: in tunnel mode replies bypass the director');
  t.same(
    st.dests.map((d) => [d.addr, d.conns]),
    [
      [`${RS.rs1}:80`, 6],
      [`${RS.rs2}:80`, 4],
      [`${RS.rs3}:80`, 2],
    ],
    'per real server connections match the bodies',
  );
});

t.test('nothing left behind by the UML run', async (t) => {
  t.same(pidsByCmdline(`umid=${res.umid}`), [], 'no linux.uml process of this run');
  t.notOk(existsSync(res.workDir) && res.keptDir === undefined, 'run folder removed (kept only on failure)');
});
