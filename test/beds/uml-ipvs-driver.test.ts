// vigil's IPVS driver against a real kernel: one user-mode Linux boot, no topology, two scenarios:
// the driver scenario (test/ipvs/fixtures/driver-scenario.mjs on dist/) cross-checked with
// ipvsadm, and a fresh capture of the kernel's replies compared with the golden fixtures.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { parseIpvsList } from '../lab/ipvsadm-text.js';
import { pidsByCmdline } from '../lab/state.js';
import { type UmlScenarioResult, describeUmlFailure, runUmlForTest } from '../lab/uml.js';
import { scenarioResult, scenarioText } from '../lab/uml-results.js';
import { decodeDestMessage, decodeServiceMessage } from '../../src/ipvs/codec.js';
import { destConfig, destKey, serviceConfig, serviceKey } from '../../src/ipvs/types.js';
import { type NlMessage, decodeMessages } from '../../src/netlink/codec.js';
import { readHex, repoScenario } from '../ipvs/fixtures/scenario.js';

const res = await runUmlForTest(t, { topology: null, scenarios: [repoScenario('ipvs-driver'), repoScenario('ipvs-driver-capture')], timeoutMs: 120_000 });

const get = (name: string): UmlScenarioResult => scenarioResult(res, name);
const text = scenarioText;

interface ScenarioDest { address: string; port: number; forward: string; weight: number; upperThreshold: number; lowerThreshold: number; tunType: string }
interface ScenarioService { family: number; protocol?: string; address?: string; port?: number; fwmark?: number; scheduler: string; flags: number; timeout: number; netmask: number; dests: ScenarioDest[] }
interface ScenarioError { name: string; op: string; object: string; code: string; message: string; cause?: string }
interface Result {
  steps: string[];
  errors: Record<string, ScenarioError | null>;
  reads: { empty: ScenarioService[]; three: ScenarioService[]; final: ScenarioService[]; afterErrors: ScenarioService[]; destsOfMissing: unknown[]; afterDelete: number; afterFlush: number };
  info: { version: number; versionText: string; connTableSize: number };
  writeMs: number;
  fatal?: { message: string };
}

t.test('the guest booted and ran both scenarios', async (t) => {
  t.ok(res.ok, res.ok ? 'run ok' : describeUmlFailure(res));
  t.same(
    res.scenarios.map((s) => [s.name, s.status]),
    [
      ['ipvs-driver', 0],
      ['ipvs-driver-capture', 0],
    ],
  );
});

t.test('the driver programs the kernel: TUN wrr service, weight 0, delete, fwmark IPv6', async (t) => {
  const s = get('ipvs-driver');
  const r = JSON.parse(text(s, 'result.json')) as Result;
  t.notOk(r.fatal, r.fatal?.message ?? 'no unexpected error');
  t.comment(`9 writes and 2 full reads took ${r.writeMs} ms inside UML`);
  t.same(r.info, { version: 0x010201, versionText: '1.2.1', connTableSize: 4096 }, 'info(): version and connection table size');
  t.same(r.reads.empty, [], 'the guest starts with an empty table');
  const dests = (v: ScenarioService | undefined) => v?.dests.map((d) => [d.address, d.port, d.forward, d.weight, d.tunType]);
  t.same(dests(r.reads.three[0]), [
    ['198.51.100.13', 80, 'tun', 1, 'ipip'],
    ['198.51.100.12', 80, 'tun', 2, 'ipip'],
    ['198.51.100.11', 80, 'tun', 3, 'ipip'],
  ], 'three tunnel destinations (newest first, as the kernel lists them)');
  const [vip, fwm] = r.reads.final;
  t.match(vip, { family: 4, protocol: 'tcp', address: '192.0.2.100', port: 80, scheduler: 'wrr', flags: 0 }, 'service 192.0.2.100:80 wrr');
  t.same(dests(vip), [
    ['198.51.100.12', 80, 'tun', 0, 'ipip'],
    ['198.51.100.11', 80, 'tun', 3, 'ipip'],
  ], 'rs2 at weight 0, rs3 deleted');
  t.match(vip?.dests[1], { upperThreshold: 100, lowerThreshold: 10 }, 'thresholds read back');
  t.match(fwm, { family: 6, fwmark: 7, scheduler: 'wlc', flags: 1, timeout: 300, netmask: 64 }, 'fwmark 7 IPv6, edited to wlc persistent 300 /64');
  t.same(dests(fwm), [['2001:db8::11', 0, 'tun', 5, 'ipip']], 'its IPv6 tunnel destination');

  // ipvsadm's view of the same table (it reads it with its own code)
  const list = parseIpvsList(text(s, 'ipvsadm-final.txt'));
  t.same(
    list.map((v) => [v.proto, v.addr, v.scheduler, v.dests.map((d) => [d.addr, d.forward, d.weight])]),
    [
      ['TCP', '192.0.2.100:80', 'wrr', [['198.51.100.11:80', 'Tunnel', 3], ['198.51.100.12:80', 'Tunnel', 0]]],
      ['FWM', '7', 'IPv6', [['[2001:db8::11]:0', 'Tunnel', 5]]],
    ],
    'ipvsadm -Ln sees what vigil wrote',
  );
  t.match(text(s, 'ipvsadm-final.txt'), /FWM {2}7 IPv6 wlc persistent 300 mask 64/, 'ipvsadm: fwmark service scheduler and persistence');
  const save = text(s, 'ipvsadm-save.txt');
  t.match(save, /-a -t 192\.0\.2\.100:80 -r 198\.51\.100\.11:80 -i -w 3 --tun-type ipip/, 'ipvsadm -S: tun-type ipip');
  t.match(save, /-A -f 7 -6 -s wlc -p 300 -M 64/, 'ipvsadm -S: fwmark IPv6 service');
  t.same(r.reads.afterErrors, r.reads.final.map((v) => ({ ...v })), 'refused writes changed nothing');
  t.same(r.reads.destsOfMissing, [], 'dests() of a missing service is empty, as the kernel answers');
  t.equal(r.reads.afterDelete, 1, 'deleteService removed the fwmark service');
  t.equal(r.reads.afterFlush, 0, 'flush() empties the table');
  t.same(parseIpvsList(text(s, 'ipvsadm-after.txt')), [], 'ipvsadm agrees: empty after flush');
});

t.test('kernel errors come back typed, naming the object', async (t) => {
  const r = JSON.parse(text(get('ipvs-driver'), 'result.json')) as Result;
  const cases: [string, string, string, string][] = [
    ['addDest existing', 'ipvs.addDest', '192.0.2.100:80 → 198.51.100.11:80', 'EEXIST'],
    ['deleteDest missing', 'ipvs.deleteDest', '192.0.2.100:80 → 198.51.100.13:80', 'ENOENT'],
    ['editDest missing', 'ipvs.editDest', '192.0.2.100:80 → 198.51.100.13:80', 'ENOENT'],
    ['addService existing', 'ipvs.addService', '192.0.2.100:80', 'EEXIST'],
    ['addService unknown scheduler', 'ipvs.addService', '192.0.2.100:81', 'ENOENT'],
    ['deleteService missing', 'ipvs.deleteService', '192.0.2.100:81', 'ESRCH'],
    ['addDest to missing service', 'ipvs.addDest', '192.0.2.100:81 → 198.51.100.11:80', 'ESRCH'],
    ['addDest negative weight', 'ipvs.addDest', '192.0.2.100:80 → 198.51.100.14:80', 'ERANGE'],
    ['addDest lower threshold above upper', 'ipvs.addDest', '192.0.2.100:80 → 198.51.100.14:80', 'ERANGE'],
    ['addDest gue without port', 'ipvs.addDest', '192.0.2.100:80 → 198.51.100.14:80', 'EINVAL'],
    ['addDest bad address', 'ipvs.addDest', '192.0.2.100:80 → 198.51.100.300:80', 'EINVAL'],
  ];
  for (const [desc, op, object, code] of cases) {
    t.match(r.errors[desc], { name: 'IpvsError', op, object, code, message: `${op} ${object}: ${code}` }, `${desc}: ${r.errors[desc]?.message}`);
  }
  t.equal(r.errors['addDest existing']?.cause, 'EEXIST', 'the NetlinkError is kept as cause');
});

t.test('a fresh capture from this kernel matches the golden fixtures', async (t) => {
  const s = get('ipvs-driver-capture');
  const fixture = (f: string): string => readFileSync(new URL(`../ipvs/fixtures/${f}`, import.meta.url), 'utf8');
  // The kernel lists services in hash order, which is seeded per boot: compare by key.
  const table = (read: (f: string) => string) => {
    const one = <T>(b: Buffer, dec: (m: NlMessage) => { ok: true; value: T } | { ok: false; error: Error }): T => {
      const m = decodeMessages(b)[0];
      const r = m === undefined ? undefined : dec(m);
      if (!r?.ok) throw new Error(`undecodable: ${r?.error.message}`);
      return r.value;
    };
    return readHex(read('get-service-dump.hex'))
      .map((b, i) => {
        const svc = serviceConfig(one(b, decodeServiceMessage));
        const dests = readHex(read(`get-dest-dump-${i}.hex`)).map((d) => destConfig(one(d, (m) => decodeDestMessage(m, svc.family))));
        return { key: serviceKey(svc), svc, dests: dests.sort((a, b) => destKey(a).localeCompare(destKey(b))) };
      })
      .sort((a, b) => a.key.localeCompare(b.key));
  };
  const fresh = table((f) => text(s, f));
  t.equal(fresh.length, 5, 'five services captured');
  t.same(fresh, table(fixture), 'services and destinations (configuration) equal the fixtures');
  t.equal(text(s, 'get-info.hex').slice(32), fixture('get-info.hex').slice(32), 'GET_INFO bytes (after seq/pid)');
  t.equal(text(s, 'save.txt'), fixture('save.txt'), 'the same table as when the fixtures were captured');
});

t.test('nothing left behind by the UML run', async (t) => {
  t.same(pidsByCmdline(`umid=${res.umid}`), [], 'no linux.uml process of this run');
});
