// Connection synchronisation follows VRRP, in a real kernel (user-mode Linux, LVS-TUN lab):
// two vigil directors with `lvs_sync_daemon eth0 VI_LB`, an echo service on VIP:9000 served by
// three real servers in tunnel mode, one client connection sending a line every 50 ms
// (test/beds/uml/sync-failover.sh, sync-conn.mjs). Checked: the master director runs the master
// sync daemon and the backup the backup one, which holds the client's connection before any
// failover; stopping the master moves the VIP and the connection carries on through the new
// master to the same real server; the daemons swap roles both ways; and in the control without
// lvs_sync_daemon (removed by a reload, which stops the daemons) the same failover breaks the
// connection.
import t from 'tap';
import { repoScenario } from '../ipvs/fixtures/scenario.js';
import { describeUmlFailure, runUmlForTest } from '../lab/uml.js';
import { scenarioResult, scenarioText } from '../lab/uml-results.js';

const res = await runUmlForTest(t, { scenarios: [repoScenario('sync-failover')], memMb: 1024, scenarioTimeoutS: 300, timeoutMs: 400_000 });
const s = scenarioResult(res, 'sync-failover');
const file = (f: string): string => {
  try {
    return scenarioText(s, f);
  } catch {
    return '';
  }
};
const phases = new Map(
  file('phases')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => [l.split(' ')[0]!, Number(l.split(' ')[1]) / 1e6] as const),
);
const at = (p: string): number => phases.get(p) ?? Number.NaN;
interface Reply {
  ms: number;
  n: number;
  rs: string;
}
function client(f: string): { replies: Reply[]; closed?: { ms: number; why: string } } {
  const lines = file(f).split('\n');
  const replies = lines.filter((l) => /^\d+ \d+ rs\d$/.test(l)).map((l) => ({ ms: Number(l.split(' ')[0]) / 1e6, n: Number(l.split(' ')[1]), rs: l.split(' ')[2]! }));
  const c = lines.find((l) => l.startsWith('closed '));
  return { replies, ...(c ? { closed: { ms: Number(c.split(' ')[1]) / 1e6, why: c.split(' ')[2] ?? '' } } : {}) };
}
/** The longest time without a reply between a and b. */
function maxGap(rs: readonly Reply[], a: number, b: number): number {
  const ms = rs.filter((r) => r.ms >= a && r.ms <= b).map((r) => r.ms);
  let gap = 0;
  for (let i = 1; i < ms.length; i++) gap = Math.max(gap, ms[i]! - ms[i - 1]!);
  return gap;
}
const roles = (f: string): string[] => file(f).trim().split('\n').filter((l) => l !== '').map((l) => l.split(' ')[0]!);
/** The client's local address:port, from its `connected` line. */
const local = (log: string): string => /^connected \d+ (\S+)$/m.exec(file(log))?.[1] ?? 'none';
/** The IPVS connection entries (ipvsadm -Lnc) of one client connection. */
const clientConn = (f: string, log = 'client1.log'): string[] => file(f).split('\n').filter((l) => l.includes(` ${local(log)} `) && l.includes('192.0.2.100:9000'));

t.test('the guest ran the scenario to its end', async (t) => {
  t.ok(res.ok, res.ok ? 'run ok' : describeUmlFailure(res));
  t.equal(s.status, 0, s.stderr);
  t.equal(s.stderr.trim(), '', 'no step of the scenario complained');
  t.ok(phases.has('end'), `every phase ran: ${[...phases.keys()].join(' ')}`);
});

t.test('with the VRRP master on dir1: master daemon there, backup daemon on dir2, which holds the connection', async (t) => {
  t.same(roles('daemons-start-dir1.txt'), ['master'], `dir1: ${file('daemons-start-dir1.txt')}`);
  t.same(roles('daemons-start-dir2.txt'), ['backup'], `dir2: ${file('daemons-start-dir2.txt')}`);
  t.match(file('daemons-start-dir1.txt'), /mcast=eth0, syncid=51/, 'on eth0, sync id = the VRID');
  t.equal(clientConn('conns-synced-dir1.txt').length, 1, 'dir1 forwards the client connection');
  const synced = clientConn('conns-synced-dir2.txt');
  t.equal(synced.length, 1, `dir2 (backup) holds the synced entry before any failover:\n${file('conns-synced-dir2.txt')}`);
  t.match(synced[0] ?? '', /ESTABLISHED/);
  const st = JSON.parse(file('status-synced-dir1.json') || '{}') as { vrrp?: { name: string; syncDaemon?: { wanted: string[]; running: string[] } }[] };
  t.match(st.vrrp?.find((v) => v.name === 'VI_LB')?.syncDaemon, { wanted: ['master'], running: [/^master sync daemon eth0 id 51/] }, 'vigil status shows the sync daemon');
});

t.test('failover: dir1 stopped, dir2 takes the VIP and the master daemon; the connection carries on', async (t) => {
  t.ok(at('dir2-master') > at('failover'), 'dir2 took the VIP');
  t.ok(phases.has('dir2-daemon-master'), 'dir2 runs the master daemon');
  t.same(roles('daemons-failover-dir2.txt'), ['master'], 'only the master daemon on dir2');
  t.same(roles('daemons-failover-dir1.txt'), [], 'the stopped vigil stopped its daemon');
  t.equal(clientConn('conns-failover-dir2.txt').length, 1, 'dir2 forwards the connection');
  const c = client('client1.log');
  t.notOk(c.closed, `the connection never closed${c.closed ? ` (closed: ${c.closed.why})` : ''}`);
  t.same([...new Set(c.replies.map((r) => r.rs))].length, 1, `one real server the whole time: ${[...new Set(c.replies.map((r) => r.rs))].join(', ')}`);
  const after = c.replies.filter((r) => r.ms > at('dir2-master') + 1000);
  t.ok(after.length > 20, `replies through dir2 after the failover: ${after.length}`);
  const gap = maxGap(c.replies, at('failover') - 1000, at('failback'));
  t.comment(`longest silence of the connection across the failover: ${Math.round(gap)} ms (VIP moved ${Math.round(at('dir2-master') - at('failover'))} ms after the stop)`);
  t.ok(gap < 10_000, `the connection stalled at most ${Math.round(gap)} ms`);
});

t.test('failback: dir1 restarts with the backup daemon, preempts, and the daemons swap back', async (t) => {
  t.ok(phases.has('dir1-daemon-backup'), 'the restarted dir1 starts the backup daemon');
  t.ok(phases.has('dir1-master-again'), 'dir1 took the VIP back');
  t.ok(phases.has('swapped-back'), 'dir1 master daemon, dir2 backup daemon again');
  t.same(roles('daemons-failback-dir1.txt'), ['master']);
  t.same(roles('daemons-failback-dir2.txt'), ['backup']);
  const c = client('client1.log');
  const after = c.replies.filter((r) => r.ms > at('dir1-master-again') + 1000 && r.ms < at('failback-done'));
  t.ok(after.length > 20, `the connection carries on through dir1 after the failback: ${after.length} replies`);
  t.comment(`longest silence across the failback: ${Math.round(maxGap(c.replies, at('failback'), at('failback-done')))} ms`);
});

t.test('control without lvs_sync_daemon: the reload stops the daemons and the same failover breaks the connection', async (t) => {
  t.ok(phases.has('nosync-daemons-stopped'), 'the reload stopped the daemons on both directors');
  t.not(local('client2.log'), 'none', 'the second connection was made');
  t.equal(clientConn('conns-nosync-dir2.txt', 'client2.log').length, 0, `dir2 has no entry for the new connection (${local('client2.log')})`);
  t.ok(phases.has('nosync-dir2-master'), 'dir2 took the VIP');
  const c = client('client2.log');
  t.ok(c.replies.length > 20, `the second connection worked before: ${c.replies.length} replies`);
  const after = c.replies.filter((r) => r.ms > at('nosync-dir2-master') + 500);
  t.ok(c.closed !== undefined || after.length === 0, `it broke after the failover (${c.closed ? `closed: ${c.closed.why}` : 'no reply'})`);
});
