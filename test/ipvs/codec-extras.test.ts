// Sync daemon (NEW/DEL/GET_DAEMON) and timeouts (SET/GET_CONFIG): encoders byte for byte against
// ipvsadm's requests and decoders against the kernel's replies, both captured in user-mode Linux
// (test/beds/uml/ipvs-extras-capture.sh, see test/ipvs/fixtures/README.md).
import { readFileSync } from 'node:fs';
import t from 'tap';
import { CMD, decodeConfigMessage, decodeDaemonMessage, daemonRequestAttrs, timeoutAttrs } from '../../src/ipvs/codec.js';
import { syncDaemonText } from '../../src/ipvs/types.js';
import { NLM_F_ACK, NLM_F_REQUEST, decodeMessages } from '../../src/netlink/codec.js';
import { encodeGenl } from '../../src/netlink/genl.js';
import { readHex } from './fixtures/scenario.js';

const fixture = (f: string): string => readFileSync(new URL(`./fixtures/${f}`, import.meta.url), 'utf8');
/** The IPVS request (not the controller's) in an `strace -e write=3` log. */
function ipvsRequest(f: string, cmd: number): Buffer {
  const out: Buffer[] = [];
  let cur: string[] | undefined;
  for (const line of fixture(f).split('\n')) {
    if (line.startsWith('sendmsg(')) (cur && out.push(Buffer.from(cur.join(''), 'hex'))), (cur = []);
    const m = /^ \| [0-9a-f]{5} {2}(.{48})/.exec(line);
    if (m && cur) cur.push(m[1]!.replace(/ /g, ''));
  }
  if (cur) out.push(Buffer.from(cur.join(''), 'hex'));
  const r = out.find((b) => b.readUInt16LE(4) !== 0x10 && b[16] === cmd);
  if (!r) throw new Error(`${f}: no request with cmd ${cmd}`);
  return r;
}
const normal = (b: Buffer): string => {
  const c = Buffer.from(b);
  c.fill(0, 8, 16);
  return c.toString('hex');
};
const ours = (family: number, cmd: number, attrs: Parameters<typeof encodeGenl>[5]) => normal(encodeGenl(family, NLM_F_REQUEST | NLM_F_ACK, 0, cmd, 1, attrs));
const unwrap = <T>(r: { ok: true; value: T } | { ok: false; error: Error }): T => {
  if (!r.ok) throw r.error;
  return r.value;
};

t.test('NEW_DAEMON, DEL_DAEMON and SET_CONFIG: what ipvsadm sends, byte for byte', async (t) => {
  const master = ipvsRequest('ipvsadm-start-daemon-master.strace', CMD.NEW_DAEMON);
  const fam = master.readUInt16LE(4);
  t.equal(ours(fam, CMD.NEW_DAEMON, daemonRequestAttrs({ state: 'master', ifname: 'sync0', syncId: 5 }, true)), normal(master), 'master on sync0, syncid 5, kernel defaults');
  const backup = ipvsRequest('ipvsadm-start-daemon-backup.strace', CMD.NEW_DAEMON);
  t.equal(
    ours(fam, CMD.NEW_DAEMON, daemonRequestAttrs({ state: 'backup', ifname: 'sync0', syncId: 6, maxlen: 1000, group: '239.1.2.3', port: 8850, ttl: 3 }, true)),
    normal(backup),
    'backup with maxlen, group, port (host order) and ttl',
  );
  t.equal(ours(fam, CMD.DEL_DAEMON, daemonRequestAttrs({ state: 'backup' }, false)), normal(ipvsRequest('ipvsadm-stop-daemon.strace', CMD.DEL_DAEMON)), 'stop the backup daemon');
  t.equal(ours(fam, CMD.SET_CONFIG, timeoutAttrs({ tcp: 7200, tcpFin: 60, udp: 120 })), normal(ipvsRequest('ipvsadm-set-timeout.strace', CMD.SET_CONFIG)), 'timeouts 7200 60 120');
});

t.test('GET_DAEMON and GET_CONFIG replies from the kernel', async (t) => {
  const daemons = readHex(fixture('get-daemon-dump.hex')).map((b) => unwrap(decodeDaemonMessage(decodeMessages(b)[0]!)));
  t.same(daemons, [
    { state: 'master', ifname: 'sync0', syncId: 5, maxlen: 1472, group: '224.0.0.81', port: 8848, ttl: 1 },
    { state: 'backup', ifname: 'sync0', syncId: 6, maxlen: 1024, group: '239.1.2.3', port: 8850, ttl: 3 },
  ]);
  // ipvsadm -L --daemon read the same kernel state with its own code
  const text = fixture('daemon.txt').trim().split('\n');
  t.same(
    daemons.map((d) => `${d.state} sync daemon (mcast=${d.ifname}, syncid=${d.syncId}, maxlen=${d.maxlen}, group=${d.group}, port=${d.port}, ttl=${d.ttl})`),
    text,
    'as ipvsadm -L --daemon prints them',
  );
  const cfg = unwrap(decodeConfigMessage(decodeMessages(readHex(fixture('get-config.hex'))[0]!)[0]!));
  t.same(cfg, { tcp: 7200, tcpFin: 60, udp: 120 });
  t.equal(fixture('timeout.txt').trim(), `Timeout (tcp tcpfin udp): ${cfg.tcp} ${cfg.tcpFin} ${cfg.udp}`, 'as ipvsadm -L --timeout prints them');
});

t.test('damaged replies are refused with a typed error, never thrown', async (t) => {
  const raw = [...readHex(fixture('get-daemon-dump.hex')), ...readHex(fixture('get-config.hex'))];
  let refused = 0;
  let n = 0;
  for (const b of raw)
    for (let len = 0; len <= b.length; len++) {
      const body = b.subarray(Math.min(16, len), len);
      const m = { type: 0x1c, flags: 0, seq: 0, pid: 0, body };
      for (const r of [decodeDaemonMessage(m), decodeConfigMessage(m)]) {
        n++;
        if (!r.ok) {
          refused++;
          if (r.error.code !== 'EIPVSDECODE') t.fail(`untyped error: ${r.error.message}`);
        }
      }
    }
  t.ok(refused > n / 2, `${refused} of ${n} truncations refused`);
  t.equal(syncDaemonText({ state: 'master', ifname: 'eth0', syncId: 5 }), 'master sync daemon eth0 id 5');
  t.equal(syncDaemonText({ state: 'backup' }), 'backup sync daemon');
});
