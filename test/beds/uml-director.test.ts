// The director layer against a real kernel: one user-mode Linux boot, two scenarios.
// - ipvs-extras-capture: ipvsadm starts both sync daemons and sets the timeouts; the kernel's
//   replies are captured again and must decode to what the golden fixtures hold.
// - director (test/director/fixtures/director-scenario.mjs on dist/): the Reconciler programs a
//   tunnel-mode service with three real servers from empty; a second process on the same table
//   (a restart after kill -9) makes zero netlink writes, counted by vigil and by strace; ipvsadm
//   changes a weight and deletes a real server, and the periodic re-read puts both right; down
//   verdicts remove one real server and set the inhibit_on_failure one to weight 0; sync daemons
//   and timeouts are set and read back, beside ipvsadm's view.
// - daemon-lifecycle (`vigil run`): a reload adding the first virtual_server starts the checker
//   child, one removing the last removes its service and stops it; the services vigil manages
//   survive a restart (<state-dir>/ipvs-managed.json): one dropped from the file while vigil was
//   down is removed at the next start, a service made by hand never is.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { pidsByCmdline } from '../lab/state.js';
import { type UmlScenarioResult, describeUmlFailure, runUmlForTest } from '../lab/uml.js';
import { scenarioResult, scenarioText } from '../lab/uml-results.js';
import { decodeConfigMessage, decodeDaemonMessage } from '../../src/ipvs/codec.js';
import { decodeMessages } from '../../src/netlink/codec.js';
import { readHex, repoScenario } from '../ipvs/fixtures/scenario.js';

const res = await runUmlForTest(t, { topology: null, scenarios: [repoScenario('ipvs-extras-capture'), repoScenario('director'), repoScenario('daemon-lifecycle')], timeoutMs: 300_000, scenarioTimeoutS: 120 });
const get = (name: string): UmlScenarioResult => scenarioResult(res, name);
const text = scenarioText;

interface RunResult { ok: boolean; writes: number; failed: number; adopted: number; read: boolean; outside: number }
interface Phase {
  first: RunResult;
  sentAfterFirst: { reads: number; writes: number };
  saveAfterFirst: string;
  status: { writes: number; outsideChanges: number; converged: boolean };
  fatal?: { message: string; stack: string };
  [k: string]: unknown;
}
const phase = (name: string): Phase => JSON.parse(text(get('director'), `${name}.json`)) as Phase;
const save = (s: unknown): string[] => String(s).trim().split('\n');
const logLines = (name: string) => text(get('director'), `${name}.log.jsonl`).trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string; reason?: string });

/** Write commands of the IPVS family (NEW/SET/DEL service and dest, daemons, config, zero, flush). */
const WRITE_CMDS = new Set([1, 2, 3, 5, 6, 7, 9, 10, 12, 14, 16, 17]);
/** Netlink messages the traced node process (the first pid in the log) sent to the IPVS family. */
function straceCount(log: string): { reads: number; writes: number } {
  const lines = log.split('\n').filter((l) => l.trim() !== '');
  const pid = lines[0]?.split(/\s+/)[0];
  let reads = 0;
  let writes = 0;
  for (const l of lines) {
    if (l.split(/\s+/)[0] !== pid || !/^\d+\s+sendto\(/.test(l) || !l.includes('nlmsg_type=IPVS')) continue;
    const cmd = /}, "\\x([0-9a-f]{2})/.exec(l)?.[1];
    if (cmd === undefined) throw new Error(`cannot read the genl command in: ${l.slice(0, 200)}`);
    if (WRITE_CMDS.has(parseInt(cmd, 16))) writes++;
    else reads++;
  }
  return { reads, writes };
}

t.test('the guest booted and ran the scenarios', async (t) => {
  t.ok(res.ok, res.ok ? 'run ok' : describeUmlFailure(res));
  t.same(res.scenarios.map((s) => [s.name, s.status]), [['ipvs-extras-capture', 0], ['director', 0], ['daemon-lifecycle', 0]]);
});

t.test('a fresh capture of sync daemons and timeouts matches the golden fixtures', async (t) => {
  const s = get('ipvs-extras-capture');
  const fixture = (f: string): string => readFileSync(new URL(`../ipvs/fixtures/${f}`, import.meta.url), 'utf8');
  const daemons = (raw: string) => readHex(raw).map((b) => decodeDaemonMessage(decodeMessages(b)[0]!));
  t.same(daemons(text(s, 'get-daemon-dump.hex')), daemons(fixture('get-daemon-dump.hex')), 'GET_DAEMON: the same two daemons');
  const cfg = (raw: string) => decodeConfigMessage(decodeMessages(readHex(raw)[0]!)[0]!);
  t.same(cfg(text(s, 'get-config.hex')), cfg(fixture('get-config.hex')), 'GET_CONFIG: the same timeouts');
  t.equal(text(s, 'daemon.txt'), fixture('daemon.txt'), 'ipvsadm -L --daemon as captured');
  t.equal(text(s, 'timeout.txt'), fixture('timeout.txt'), 'ipvsadm -L --timeout as captured');
});

t.test('from an empty kernel: one service and three tunnel destinations, four writes', async (t) => {
  const p = phase('program');
  t.notOk(p.fatal, p.fatal?.message ?? 'no unexpected error');
  t.equal(text(get('director'), 'save-empty.txt'), '', 'the guest starts with an empty table');
  t.match(p.first, { ok: true, writes: 4, failed: 0, read: true });
  t.same(save(p.saveAfterFirst), [
    '-A -t 192.0.2.100:80 -s wrr',
    '-a -t 192.0.2.100:80 -r 198.51.100.11:80 -i -w 3 --tun-type ipip',
    '-a -t 192.0.2.100:80 -r 198.51.100.12:80 -i -w 2 --tun-type ipip',
    '-a -t 192.0.2.100:80 -r 198.51.100.13:80 -i -w 1 --tun-type ipip',
  ], 'ipvsadm -Sn');
  const traced = straceCount(text(get('director'), 'program.strace'));
  t.same(traced, p.sentAfterFirst, `strace counts what the driver counts (${traced.writes} writes, ${traced.reads} reads)`);
  t.equal(traced.writes, 4);
});

t.test('restart on the same table (as after kill -9): zero netlink writes', async (t) => {
  const p = phase('restart');
  t.notOk(p.fatal, p.fatal?.message ?? 'no unexpected error');
  t.match(p.first, { ok: true, writes: 0, adopted: 1, read: true });
  t.equal(p.status.writes, 0, 'the reconciler counted no write');
  t.equal(p.sentAfterFirst.writes, 0, 'the driver sent no write');
  const traced = straceCount(text(get('director'), 'restart.strace'));
  t.equal(traced.writes, 0, 'strace saw no write message to the IPVS family');
  t.ok(traced.reads >= 2, `it read the kernel (${traced.reads} dumps)`);
  t.same(save(p.saveAfterFirst), save(phase('program').saveAfterFirst), 'the table is untouched');
});

t.test('changes by hand with ipvsadm are put right by the periodic re-read and logged', async (t) => {
  const p = phase('live');
  t.notOk(p.fatal, p.fatal?.message ?? 'no unexpected error');
  t.match(p.first, { writes: 0, adopted: 1 }, 'a third process adopts too');
  t.match(save(p['saveByHand']).join('\n'), /198\.51\.100\.11:80 -i -w 9/, 'ipvsadm -e set weight 9');
  t.notMatch(String(p['saveByHand']), /198\.51\.100\.13/, 'ipvsadm -d removed rs3');
  t.equal(p['handWrites'], 2, 'two writes put it right');
  t.same(save(p['saveAfterResync']), save(phase('program').saveAfterFirst), 'back to the desired table');
  const outside = logLines('live').filter((l) => l.msg.startsWith('changed outside vigil'));
  t.same(outside.map((l) => [l.level, l.msg]), [
    ['warn', 'changed outside vigil: 192.0.2.100:80 → 198.51.100.11:80: weight 9, want 3'],
    ['warn', 'changed outside vigil: 192.0.2.100:80 → 198.51.100.13:80 is missing'],
  ]);
});

t.test('down verdicts: removed, or weight 0 with inhibit_on_failure; back at their weight', async (t) => {
  const p = phase('live');
  t.match(p['down'], { ok: true, writes: 2 });
  t.same(save(p['saveDown']), [
    '-A -t 192.0.2.100:80 -s wrr',
    '-a -t 192.0.2.100:80 -r 198.51.100.11:80 -i -w 0 --tun-type ipip',
    '-a -t 192.0.2.100:80 -r 198.51.100.13:80 -i -w 1 --tun-type ipip',
  ], 'rs1 (inhibit_on_failure) at weight 0, rs2 removed');
  t.match(p['up'], { ok: true, writes: 2 });
  t.same(save(p['saveUp']), save(phase('program').saveAfterFirst), 'both back at their weights');
  const writes = logLines('live').filter((l) => l.msg.startsWith('ipvs ') && l.reason === 'rs1, rs2 down');
  t.same(writes.map((l) => l.msg), ['ipvs editDest 192.0.2.100:80 → 198.51.100.11:80 weight 0 tun', 'ipvs deleteDest 192.0.2.100:80 → 198.51.100.12:80'], 'each write logged once with its reason');
});

t.test('sync daemons started, read back as ipvsadm shows them, refused with typed errors, stopped', async (t) => {
  const p = phase('live');
  const daemons = p['daemons'] as { state: string; ifname: string; syncId: number; maxlen: number; group: string; port: number; ttl: number }[];
  t.same(daemons, [
    { state: 'master', ifname: 'sync0', syncId: 5, maxlen: 1472, group: '224.0.0.81', port: 8848, ttl: 1 },
    { state: 'backup', ifname: 'sync0', syncId: 6, maxlen: 1472, group: '239.1.2.3', port: 8850, ttl: 3 },
  ]);
  t.same(
    daemons.map((d) => `${d.state} sync daemon (mcast=${d.ifname}, syncid=${d.syncId}, maxlen=${d.maxlen}, group=${d.group}, port=${d.port}, ttl=${d.ttl})`),
    save(p['daemonText']),
    'ipvsadm -L --daemon agrees',
  );
  t.match(p['daemonErrors'], {
    twice: { name: 'IpvsError', code: 'EEXIST', message: 'ipvs.startDaemon master sync daemon sync0 id 5: EEXIST' },
    noIf: { code: 'ENODEV', message: 'ipvs.startDaemon master sync daemon nosuch0 id 5: ENODEV' },
    stopNone: { code: 'ESRCH', message: 'ipvs.stopDaemon backup sync daemon: ESRCH' },
  });
  t.same(p['daemonsAfterStop'], [], 'both stopped');
});

t.test('timeouts set and read back', async (t) => {
  const p = phase('live');
  t.same(p['timeoutsBefore'], { tcp: 900, tcpFin: 120, udp: 300 }, 'the kernel defaults');
  t.same(p['timeouts'], { tcp: 7200, tcpFin: 60, udp: 120 });
  t.equal(String(p['timeoutText']).trim(), 'Timeout (tcp tcpfin udp): 7200 60 120', 'ipvsadm -L --timeout agrees');
  t.same(p['timeoutsPartial'], { tcp: 7200, tcpFin: 30, udp: 120 }, 'a 0 leaves that timeout as it was');
  t.same(save(text(get('director'), 'save-final.txt')), save(phase('program').saveAfterFirst), 'the table is left in place when vigil stops');
});

t.test('vigil run: reloads start and stop the checker child as the configuration gives it work', async (t) => {
  const lc = get('daemon-lifecycle');
  const steps = Object.fromEntries(text(lc, 'steps').trim().split('\n').map((l) => [l.split(' ')[0], l.slice(l.indexOf(' ') + 1)]));
  t.notOk(lc.files.get('errors')?.toString(), 'every start reached its children');
  t.equal(steps['empty'], 'children=[vrrp:running] services=[]', 'no virtual_server: no checker child');
  t.equal(text(lc, 'reload-add.status').trim(), '0', text(lc, 'reload-add.out'));
  t.match(text(lc, 'reload-add.out'), /checker child started/);
  t.equal(steps['added'], 'children=[checker:running] services=[203.0.113.1:80]', 'the first virtual_server: the checker started and programmed it');
  t.equal(text(lc, 'reload-drop.status').trim(), '0', text(lc, 'reload-drop.out'));
  t.match(text(lc, 'reload-drop.out'), /checker child stopped/);
  t.equal(steps['dropped'], 'children=[vrrp:running] services=[]', 'the last one removed: its service gone, the checker stopped');
});

t.test('vigil run: the managed services survive a restart; one dropped meanwhile is removed, one made by hand never', async (t) => {
  const lc = get('daemon-lifecycle');
  const steps = Object.fromEntries(text(lc, 'steps').trim().split('\n').map((l) => [l.split(' ')[0], l.slice(l.indexOf(' ') + 1)]));
  t.equal(steps['stopped'], 'children=[none] services=[203.0.113.1:80 203.0.113.2:80 203.0.113.9:80]', 'vigil stopped; IPVS left in place');
  t.same(text(lc, 'stop-codes').trim().split('\n'), ['0', '0', '0'], 'clean stops');
  t.match(JSON.parse(text(lc, 'managed-before.json')), { version: 1, services: ['tcp|4|203.0.113.1|80', 'tcp|4|203.0.113.2|80'] }, 'the hand-made service is not vigil\'s');
  t.equal(steps['restart-one'], 'children=[checker:running] services=[203.0.113.1:80 203.0.113.9:80]', '.2 removed at start, .1 adopted, .9 untouched');
  t.same(JSON.parse(text(lc, 'managed-one.json')).services, ['tcp|4|203.0.113.1|80']);
  t.equal(steps['restart-none'], 'children=[vrrp:running checker:running] services=[203.0.113.9:80]', 'a checker started for the leftover alone and removed it');
  t.same(JSON.parse(text(lc, 'managed-none.json')).services, []);
  const log = text(lc, 'vigil.log').trim().split('\n').flatMap((l) => { try { return [JSON.parse(l) as { msg?: string; op?: string }]; } catch { return []; } });
  t.ok(log.some((l) => l.op === 'deleteService' && /deleteService 203\.0\.113\.2:80 \(.*no longer configured; vigil created it before this start/.test(l.msg ?? '')), 'the removal logged with its reason');
  t.notOk(log.some((l) => /203\.0\.113\.9/.test(l.msg ?? '') && l.op === 'deleteService'), 'never a write to the hand-made service');
  t.notOk(log.some((l) => /flush/i.test(l.op ?? '')), 'no flush');
});

t.test('nothing left behind by the UML run', async (t) => {
  t.same(pidsByCmdline(`umid=${res.umid}`), [], 'no linux.uml process of this run');
});
