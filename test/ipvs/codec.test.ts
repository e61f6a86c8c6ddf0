// IPVS and generic-netlink codecs against golden bytes from a real kernel and from ipvsadm
// (captured in user-mode Linux, see test/ipvs/fixtures/README.md).
import { readFileSync } from 'node:fs';
import t from 'tap';
import { CMD, CMD_ATTR, SVC_ATTR, decodeDestMessage, decodeInfoMessage, decodeServiceMessage, destAttrs, requestAttrs, serviceAttrs } from '../../src/ipvs/codec.js';
import {
  type Dest,
  type Service,
  SVC_F_HASHED,
  destEqual,
  destKey,
  destText,
  serviceConfig,
  serviceEqual,
  serviceKey,
  serviceText,
} from '../../src/ipvs/types.js';
import { NLM_F_ACK, NLM_F_REQUEST, attr, decodeAttrs, decodeMessages, encodeAttrs, iterAttrs } from '../../src/netlink/codec.js';
import { decodeFamily, decodeGenl, encodeGenl, encodeGetFamily } from '../../src/netlink/genl.js';
import { readHex } from './fixtures/scenario.js';

const fixture = (f: string): string => readFileSync(new URL(`./fixtures/${f}`, import.meta.url), 'utf8');
const messages = (f: string) => readHex(fixture(f)).map((b) => {
  const m = decodeMessages(b)[0];
  if (m === undefined) throw new Error(`${f}: not a netlink message`);
  return m;
});
/** The netlink requests in an `strace -e write=3` log, in order. */
function straceRequests(f: string): Buffer[] {
  const out: Buffer[] = [];
  let cur: string[] | undefined;
  for (const line of fixture(f).split('\n')) {
    if (line.startsWith('sendmsg(')) out.push(...(cur ? [Buffer.from(cur.join(''), 'hex')] : [])), (cur = []);
    const m = /^ \| [0-9a-f]{5} {2}(.{48})/.exec(line);
    if (m && cur) cur.push(m[1]!.replace(/ /g, ''));
  }
  if (cur) out.push(Buffer.from(cur.join(''), 'hex'));
  return out;
}
/** Zeroes nlmsg_seq and nlmsg_pid, which differ per run. */
const normal = (b: Buffer): Buffer => {
  const c = Buffer.from(b);
  c.fill(0, 8, 16);
  return c;
};
const config = (s: Service) => serviceConfig(s);
const unwrap = <T>(r: { ok: true; value: T } | { ok: false; error: Error }): T => {
  if (!r.ok) throw r.error;
  return r.value;
};
const IPVS_ID = (() => {
  const f = decodeFamily(messages('ctrl-getfamily-ipvs.hex')[0]!);
  if (!f) throw new Error('no family in fixture');
  return f.id;
})();

t.test('generic netlink: family resolution', async (t) => {
  const fam = decodeFamily(messages('ctrl-getfamily-ipvs.hex')[0]!);
  t.match(fam, { name: 'IPVS', version: 1 }, 'the kernel names the family IPVS, version 1');
  const ipvsadm = straceRequests('ipvsadm-add-service.strace');
  t.same(normal(encodeGetFamily(1, 'IPVS')), normal(ipvsadm[0]!), 'CTRL_CMD_GETFAMILY is byte-for-byte what ipvsadm sends');
  t.equal(ipvsadm.find((b) => b.readUInt16LE(4) !== 0x10)?.readUInt16LE(4), fam?.id, 'ipvsadm then addresses the id the controller gave');
  t.same(encodeGenl(0x1c, 1, 7, 15, 1).toString('hex'), '140000001c000100070000000000000' + '00f010000', 'genl header: cmd, version, reserved');
  t.same(decodeGenl({ type: 0x1c, flags: 0, seq: 0, pid: 0, body: Buffer.from([15]) }), undefined, 'a body shorter than genlmsghdr is refused');
  t.equal(decodeFamily({ type: 0x10, flags: 0, seq: 0, pid: 0, body: Buffer.from('03020000', 'hex') }), undefined, 'a reply without the id is refused');
});

const tcp80: Service = { family: 4, protocol: 'tcp', address: '192.0.2.100', port: 80, scheduler: 'wrr', flags: 0, timeout: 0, netmask: 32 };
const wantServices: Service[] = [
  { family: 4, protocol: 'tcp', address: '192.0.2.102', port: 8080, scheduler: 'wlc', flags: 1, timeout: 120, netmask: 32 },
  { family: 4, protocol: 'udp', address: '192.0.2.101', port: 53, scheduler: 'rr', flags: 1 | 4, timeout: 300, netmask: 24 },
  tcp80,
  { family: 6, protocol: 'tcp', address: '2001:db8::100', port: 443, scheduler: 'rr', flags: 1, timeout: 60, netmask: 64 },
  { family: 6, fwmark: 7, scheduler: 'wlc', flags: 0, timeout: 0, netmask: 128 },
];
const tun = { forward: 'tun', upperThreshold: 0, lowerThreshold: 0, tunType: 'ipip', tunPort: 0, tunFlags: 0 } as const;
const wantDests: Dest[][] = [
  [],
  [
    { family: 4, address: '198.51.100.12', port: 5353, forward: 'nat', weight: 5, upperThreshold: 0, lowerThreshold: 0, tunType: 'ipip', tunPort: 0, tunFlags: 0 },
    { family: 4, address: '198.51.100.11', port: 53, forward: 'dr', weight: 1, upperThreshold: 0, lowerThreshold: 0, tunType: 'ipip', tunPort: 0, tunFlags: 0 },
  ],
  [
    { ...tun, family: 4, address: '198.51.100.13', port: 80, weight: 0, tunType: 'gre' },
    { ...tun, family: 4, address: '198.51.100.12', port: 80, weight: 2, tunType: 'gue', tunPort: 6080, tunFlags: 1 },
    { ...tun, family: 4, address: '198.51.100.11', port: 80, weight: 3, upperThreshold: 100, lowerThreshold: 10 },
  ],
  [{ ...tun, family: 6, address: '2001:db8::12', port: 443, weight: 2 }],
  [{ ...tun, family: 6, address: '2001:db8::11', port: 0, weight: 4 }],
];

t.test('GET_SERVICE dump from the kernel', async (t) => {
  const got = messages('get-service-dump.hex').map((m) => unwrap(decodeServiceMessage(m)));
  t.same(got.map(config), wantServices, 'every service: protocol/address/port or fwmark, IPv4/IPv6, scheduler, flags, timeout, netmask');
  t.match(got[1]?.stats, { conns: 1n, inPkts: 1n, outPkts: 0n, inBytes: 34n, outBytes: 0n }, 'counters of the UDP service after one datagram (STATS64)');
  t.match(got[0]?.stats, { conns: 0n, inPkts: 0n, inBytes: 0n }, 'counters of an idle service');
});

t.test('GET_DEST dumps from the kernel', async (t) => {
  const svcs = messages('get-service-dump.hex').map((m) => unwrap(decodeServiceMessage(m)));
  for (const [i, want] of wantDests.entries()) {
    const got = messages(`get-dest-dump-${i}.hex`).map((m) => unwrap(decodeDestMessage(m, svcs[i]!.family)));
    t.same(
      got.map(({ conns: _c, stats: _s, ...d }) => d),
      want,
      `dests of ${serviceText(svcs[i]!)}`,
    );
    for (const d of got) {
      // the one datagram went to this destination and left a persistence template
      const persistent = d.address === '198.51.100.12' && d.port === 5353 ? 1 : 0;
      t.same(d.conns, { active: 0, inactive: 0, persistent }, `${destText(d)}: connection counts decoded`);
    }
  }
  const udp = messages('get-dest-dump-1.hex').map((m) => unwrap(decodeDestMessage(m)));
  t.equal(udp.reduce((n, d) => n + (d.stats?.conns ?? 0n), 0n), 1n, 'the one UDP connection is counted on one destination');
});

t.test('GET_INFO from the kernel', async (t) => {
  t.same(unwrap(decodeInfoMessage(messages('get-info.hex')[0]!)), { version: 0x010201, versionText: '1.2.1', connTableSize: 4096 });
});

t.test('encoders: byte-for-byte what ipvsadm sends', async (t) => {
  const svcReq = straceRequests('ipvsadm-add-service.strace').find((b) => b.readUInt16LE(4) === IPVS_ID && b[16] === CMD.NEW_SERVICE);
  const ours = encodeGenl(IPVS_ID, NLM_F_REQUEST | NLM_F_ACK, 1, CMD.NEW_SERVICE, 1, requestAttrs({ s: wantServices[0]!, full: true }));
  t.same(normal(ours).toString('hex'), normal(svcReq!).toString('hex'), 'NEW_SERVICE tcp 192.0.2.102:8080 wlc persistent 120');
  const destReq = straceRequests('ipvsadm-add-dest.strace').find((b) => b.readUInt16LE(4) === IPVS_ID && b[16] === CMD.NEW_DEST);
  const theirs = decodeAttrs(destReq!.subarray(20)).get(CMD_ATTR.DEST);
  const mine = decodeAttrs(encodeAttrs([attr.nested(CMD_ATTR.DEST, destAttrs(wantDests[3]![0]!, true))])).get(CMD_ATTR.DEST);
  t.same(mine?.toString('hex'), theirs?.toString('hex'), 'NEW_DEST [2001:db8::12]:443 tunnel weight 2: the DEST attribute');
  t.same(
    decodeAttrs(encodeAttrs(serviceAttrs(wantServices[3]!, false))),
    new Map([...decodeAttrs(decodeAttrs(destReq!.subarray(20)).get(CMD_ATTR.SERVICE)!)].filter(([k]) => k <= SVC_ATTR.PORT)),
    'the service key in NEW_DEST: af, protocol, address, port',
  );
});

t.test('encoders agree with what the kernel reports', async (t) => {
  for (const m of messages('get-service-dump.hex')) {
    const svc = unwrap(decodeServiceMessage(m));
    const kernel = [...iterAttrs(decodeAttrs(decodeGenl(m)!.attrs).get(CMD_ATTR.SERVICE)!)]
      .filter(([k]) => k !== SVC_ATTR.STATS && k !== SVC_ATTR.STATS64)
      .map(([k, v]): [number, Buffer] => (k === SVC_ATTR.FLAGS ? [k, Buffer.from([v[0]! & ~SVC_F_HASHED, ...v.subarray(1)])] : [k, v]));
    t.ok((decodeAttrs(decodeAttrs(decodeGenl(m)!.attrs).get(CMD_ATTR.SERVICE)!).get(SVC_ATTR.FLAGS)![0]! & SVC_F_HASHED) !== 0, 'the kernel reports HASHED');
    t.same(encodeAttrs(serviceAttrs(svc, true)).toString('hex'), encodeAttrs(kernel.map(([type, data]) => ({ type, data }))).toString('hex'), serviceText(svc));
  }
  for (const i of wantDests.keys())
    for (const m of messages(`get-dest-dump-${i}.hex`)) {
      const d = unwrap(decodeDestMessage(m));
      const kernel = decodeAttrs(decodeAttrs(decodeGenl(m)!.attrs).get(CMD_ATTR.DEST)!);
      for (const [type, data] of iterAttrs(encodeAttrs(destAttrs(d, true)))) t.same(data, kernel.get(type), `${destText(d)} attribute ${type}`);
    }
});

t.test('key() and equal() ignore counters', async (t) => {
  const got = messages('get-service-dump.hex').map((m) => unwrap(decodeServiceMessage(m)));
  const udp = got[1]!;
  const cases: { desc: string; a: Service; b: Service; want: boolean }[] = [
    { desc: 'kernel copy (with counters) vs configuration', a: udp, b: wantServices[1]!, want: true },
    { desc: 'other scheduler', a: udp, b: { ...wantServices[1]!, scheduler: 'wrr' }, want: false },
    { desc: 'other persistence timeout', a: udp, b: { ...wantServices[1]!, timeout: 301 }, want: false },
    { desc: 'one-packet flag off', a: udp, b: { ...wantServices[1]!, flags: 1 }, want: false },
    { desc: 'HASHED is kernel-internal', a: udp, b: { ...wantServices[1]!, flags: 1 | 2 | 4 }, want: true },
    { desc: 'other netmask', a: udp, b: { ...wantServices[1]!, netmask: 16 }, want: false },
    { desc: 'other port', a: tcp80, b: { ...tcp80, port: 81 }, want: false },
  ];
  for (const c of cases) t.equal(serviceEqual(c.a, c.b), c.want, c.desc);
  t.equal(serviceKey(udp), serviceKey(wantServices[1]!), 'same key with and without counters');
  t.not(serviceKey({ family: 4, fwmark: 7 }), serviceKey({ family: 6, fwmark: 7 }), 'fwmark keys differ per family');
  const d = wantDests[2]![2]!;
  const dk = messages('get-dest-dump-2.hex').map((m) => unwrap(decodeDestMessage(m)))[2]!;
  const dcases: { desc: string; a: Dest; b: Dest; want: boolean }[] = [
    { desc: 'kernel copy (with counters) vs configuration', a: dk, b: d, want: true },
    { desc: 'weight', a: d, b: { ...d, weight: 0 }, want: false },
    { desc: 'upper threshold', a: d, b: { ...d, upperThreshold: 0 }, want: false },
    { desc: 'tunnel type', a: d, b: { ...d, tunType: 'gre' }, want: false },
    { desc: 'forwarding', a: d, b: { ...d, forward: 'dr' }, want: false },
    { desc: 'tunnel fields do not matter for DR', a: { ...d, forward: 'dr' }, b: { ...d, forward: 'dr', tunType: 'gue', tunPort: 1 }, want: true },
  ];
  for (const c of dcases) t.equal(destEqual(c.a, c.b), c.want, `dest: ${c.desc}`);
  t.equal(destKey(dk), destKey(d), 'dest key ignores counters');
});

t.test('names of objects in errors and logs', async (t) => {
  const cases: [string, string][] = [
    [serviceText(tcp80), '192.0.2.100:80'],
    [serviceText(wantServices[1]!), 'udp 192.0.2.101:53'],
    [serviceText(wantServices[3]!), '[2001:db8::100]:443'],
    [serviceText(wantServices[4]!), 'fwmark 7 IPv6'],
    [serviceText({ family: 4, fwmark: 9 }), 'fwmark 9'],
    [destText(wantDests[3]![0]!), '[2001:db8::12]:443'],
    [destText(wantDests[2]![0]!), '198.51.100.13:80'],
  ];
  for (const [got, want] of cases) t.equal(got, want);
});

t.test('decoders never throw on damaged kernel input', async (t) => {
  const all = ['get-service-dump.hex', ...[...wantDests.keys()].map((i) => `get-dest-dump-${i}.hex`), 'get-info.hex'].flatMap((f) => readHex(fixture(f)));
  let refused = 0;
  let n = 0;
  let seed = 0x1234;
  const rnd = (k: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % k);
  for (const raw of all) {
    const variants: Buffer[] = [];
    for (let len = 0; len < raw.length; len += 3) variants.push(raw.subarray(0, len));
    for (let i = 0; i < 200; i++) {
      const b = Buffer.from(raw);
      const at = rnd(b.length);
      b[at] = (b[at] ?? 0) ^ (1 << rnd(8));
      variants.push(b);
    }
    for (const v of variants) {
      // a truncated datagram is cut by decodeMessages; feed the body through as well to reach the attribute decoders
      const msgs = [...decodeMessages(v), { type: 0x1c, flags: 0, seq: 0, pid: 0, body: v.subarray(Math.min(16, v.length)) }];
      for (const m of msgs) {
        n++;
        for (const r of [decodeServiceMessage(m), decodeDestMessage(m), decodeInfoMessage(m)]) if (!r.ok) refused++;
      }
    }
  }
  t.ok(n > 1000, `${n} damaged messages decoded without an exception`);
  t.ok(refused > 0, `${refused} decodes refused with a typed error`);
  const r = decodeServiceMessage({ type: 0x1c, flags: 0, seq: 0, pid: 0, body: Buffer.from('04010000', 'hex') });
  t.match(r, { ok: false, error: { code: 'EIPVSDECODE', message: /no nested attribute 1/ } }, 'a reply without a service attribute');
  const noAf = encodeGenl(0x1c, 0, 0, CMD.NEW_SERVICE, 1, [attr.nested(CMD_ATTR.SERVICE, [attr.u16(SVC_ATTR.AF, 99)])]);
  t.match(decodeServiceMessage(decodeMessages(noAf)[0]!), { ok: false, error: { message: /address family 99/ } }, 'an unknown address family');
});
