// Decoders of test/lab/wire against real keepalived captures, with tcpdump's own reading as the oracle.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { vrrpVectorsDir } from '../lab/vectors.js';
import { DecodeError, ipv6Str } from '../lab/wire/bytes.js';
import { type Packet, decodeFrame, decodePcap } from '../lab/wire/decode.js';
import { LINKTYPE, PcapError, readPcap } from '../lab/wire/pcap.js';
import { bursts, gratuitousArps, unsolicitedNAs, vrrpAdverts } from '../lab/wire/select.js';
import { tcpdumpRead } from '../lab/wire/tcpdump-text.js';

const DIR = vrrpVectorsDir();
const pcaps = readdirSync(DIR).filter((f) => f.endsWith('.pcap')).sort();
const load = (f: string): Packet[] => decodePcap(readFileSync(join(DIR, f)));
const usec = (p: Packet): string => `${p.tsNs / 1_000_000_000n}.${((p.tsNs / 1000n) % 1_000_000n).toString().padStart(6, '0')}`;

type Vector = Record<string, unknown> & { pcap: string; frame_hex: string; kind: string };
const vectors = JSON.parse(readFileSync(join(DIR, 'vectors.json'), 'utf8')) as Record<string, Vector>;

t.test('every capture decodes like tcpdump reads it', async (t) => {
  t.ok(pcaps.length >= 8, `found ${pcaps.length} captures`);
  for (const f of pcaps) {
    const got = load(f);
    const want = tcpdumpRead(join(DIR, f));
    t.equal(got.length, want.length, `${f}: frame count`);
    let checked = 0;
    for (const [i, w] of want.entries()) {
      const p = got[i];
      if (p === undefined) break;
      const at = `${f}#${i}`;
      t.equal(usec(p), w.ts, `${at} timestamp`);
      t.equal(p.link?.src, w.ethSrc, `${at} eth src`);
      t.equal(p.link?.dst, w.ethDst, `${at} eth dst`);
      if (w.ttl !== undefined) t.equal(p.ip?.ttl, w.ttl, `${at} ttl/hop limit`);
      if (w.ipSrc !== undefined) t.same([p.ip?.src, p.ip?.dst], [w.ipSrc, w.ipDst], `${at} ip src/dst`);
      if (w.vrrp !== undefined && p.vrrp === undefined) {
        // tcpdump prints what it can of a malformed message; the decoder must say why it refused
        t.ok(p.errors.some((e) => e.layer === 'vrrp'), `${at} malformed VRRP reported: ${p.errors.join('; ')}`);
      } else if (w.vrrp !== undefined) {
        const v = p.vrrp;
        t.same(
          v && { version: v.version, vrid: v.vrid, priority: v.priority, addrs: v.addresses },
          { version: w.vrrp.version, vrid: w.vrrp.vrid, priority: w.vrrp.priority, addrs: w.vrrp.addrs },
          `${at} vrrp`,
        );
        if (w.vrrp.interval !== undefined && v) {
          t.equal(v.version === 2 ? `${v.adverIntS}s` : `${v.maxAdverIntCs}cs`, w.vrrp.interval, `${at} interval`);
        }
        if (w.vrrp.auth !== undefined) t.equal(v?.authText, w.vrrp.auth, `${at} auth`);
      }
      if (w.arp !== undefined) {
        t.equal(p.arp?.op, w.arp.op === 'request' ? 1 : 2, `${at} arp op`);
        if (w.arp.op === 'request') t.same([p.arp?.spa, p.arp?.tpa], [w.arp.spa, w.arp.tpa], `${at} arp addrs`);
      }
      if (w.na !== undefined) {
        const fl = p.icmp6?.flags;
        const names = fl ? [fl.R && 'router', fl.S && 'solicited', fl.O && 'override'].filter(Boolean) : [];
        t.same([p.icmp6?.target, names], [w.na.target, w.na.flags], `${at} neighbour advertisement`);
      }
      checked++;
    }
    t.equal(checked, want.length, `${f}: all frames compared`);
  }
});

// vectors.json key → how to read the same value from a decoded packet
const FIELDS: Record<string, (p: Packet) => unknown> = {
  eth_src: (p) => p.link?.src,
  eth_dst: (p) => p.link?.dst,
  ethertype: (p) => (p.link ? `0x${p.link.ethertype.toString(16).padStart(4, '0')}` : undefined),
  ip_version: (p) => p.ip?.version,
  ip_src: (p) => p.ip?.src,
  ip_dst: (p) => p.ip?.dst,
  ip_ttl: (p) => p.ipv4?.ttl,
  ip_tos: (p) => (p.ipv4 ? `0x${p.ipv4.tos.toString(16)}` : undefined),
  ip_id: (p) => p.ipv4?.id,
  ip_proto: (p) => p.ipv4?.protocol,
  ip_total_len: (p) => p.ipv4?.totalLength,
  ip_hdr_csum_ok: (p) => p.ipv4?.checksumOk,
  ip6_hop_limit: (p) => p.ipv6?.hopLimit,
  ip6_next_header: (p) => p.ipv6?.nextHeader,
  ip6_payload_len: (p) => p.ipv6?.payloadLength,
  ip6_tclass: (p) => (p.ipv6 ? `0x${p.ipv6.trafficClass.toString(16).padStart(2, '0')}` : undefined),
  ip6_flowlabel: (p) => (p.ipv6 ? `0x${p.ipv6.flowLabel.toString(16).padStart(5, '0')}` : undefined),
  vrrp_version: (p) => p.vrrp?.version,
  vrrp_type: (p) => p.vrrp?.type,
  vrrp_len: (p) => p.vrrp?.length,
  vrid: (p) => p.vrrp?.vrid,
  priority: (p) => p.vrrp?.priority,
  count: (p) => p.vrrp?.count,
  auth_type: (p) => p.vrrp?.authType,
  auth_data: (p) => p.vrrp?.authData,
  auth_data_ascii: (p) => p.vrrp?.authText,
  adver_int_s: (p) => p.vrrp?.adverIntS,
  max_adver_int_cs: (p) => p.vrrp?.maxAdverIntCs,
  rsvd: (p) => p.vrrp?.rsvd,
  checksum: (p) => (p.vrrp ? `0x${p.vrrp.checksum.toString(16).padStart(4, '0')}` : undefined),
  checksum_ok_vrrp_only: (p) => p.vrrp?.checksumVrrpOnly,
  checksum_ok_with_pseudo_header: (p) => p.vrrp?.checksumPseudo,
  addresses: (p) => p.vrrp?.addresses,
  arp_op: (p) => p.arp?.op,
  arp_sha: (p) => p.arp?.sha,
  arp_spa: (p) => p.arp?.spa,
  arp_tha: (p) => p.arp?.tha,
  arp_tpa: (p) => p.arp?.tpa,
  gratuitous: (p) => p.arp?.gratuitous,
  icmp6_type: (p) => p.icmp6?.type,
  icmp6_code: (p) => p.icmp6?.code,
  icmp6_csum_ok: (p) => p.icmp6?.checksumOk,
  na_target: (p) => p.icmp6?.target,
  na_flags: (p) => p.icmp6?.flags,
};

t.test('vectors.json fields match the decoded frames of their captures', async (t) => {
  const names = Object.keys(vectors);
  t.ok(names.length >= 10, `${names.length} vectors`);
  for (const name of names) {
    const v = vectors[name];
    if (v === undefined) continue;
    const p = load(v.pcap).find((x) => Buffer.from(x.frame).toString('hex') === v.frame_hex);
    if (!t.ok(p, `${name}: frame found in ${v.pcap}`) || p === undefined) continue;
    t.same(p.errors, [], `${name}: no decode errors`);
    let compared = 0;
    for (const [key, get] of Object.entries(FIELDS)) {
      if (!(key in v)) continue;
      t.same(get(p), v[key], `${name}.${key}`);
      compared++;
    }
    t.ok(compared >= 5, `${name}: ${compared} fields compared`);
    if (p.vrrp) t.ok(p.vrrp.checksumOk, `${name}: checksum valid by its version's rule`);
  }
});

t.test('v2_ipv4: adverts by priority, GARP bursts of 5, TTL 255, takeover timing', async (t) => {
  const pk = load('v2_ipv4.pcap');
  const ads = vrrpAdverts(pk, 51);
  const byPrio = new Map<number, number>();
  for (const a of ads) byPrio.set(a.vrrp.priority, (byPrio.get(a.vrrp.priority) ?? 0) + 1);
  const oracle = tcpdumpRead(join(DIR, 'v2_ipv4.pcap')).filter((l) => l.vrrp);
  for (const prio of [150, 100, 0]) {
    t.equal(byPrio.get(prio), oracle.filter((l) => l.vrrp?.priority === prio).length, `adverts with priority ${prio}`);
  }
  t.equal(byPrio.get(0), 2, 'one priority-0 advert per graceful stop (A, then B)');
  t.ok(ads.every((a) => a.ip?.ttl === 255 && a.vrrp.checksumOk), 'every advert: TTL 255 and valid checksum');
  const garps = bursts(gratuitousArps(pk, '192.168.77.100'), 1);
  t.ok(garps.length >= 3, `${garps.length} GARP bursts`);
  t.ok(garps.every((b) => b.length === 5), `bursts of 5: ${garps.map((b) => b.length).join(',')}`);
  t.ok(garps.every((b) => b.every((g) => g.arp?.op === 1 && g.link?.dst === 'ff:ff:ff:ff:ff:ff')), 'GARPs are broadcast requests');
  // the first GARP of each burst sits in the same ms as a MASTER advert of its sender, or 5 s after one
  const stopA = ads.find((a) => a.vrrp.priority === 0);
  const firstB = ads.find((a) => stopA && a.tsMs > stopA.tsMs && a.vrrp.priority === 100);
  t.ok(stopA && firstB, 'priority-0 advert of A followed by an advert of B');
  if (stopA && firstB) {
    const ms = firstB.tsMs - stopA.tsMs;
    // RFC 3768 §6.4.2 skew time for priority 100: (256 - 100) / 256 s = 609 ms
    t.ok(Math.abs(ms - 609.4) < 5, `B takes over ${ms.toFixed(1)} ms after the priority-0 advert (skew time 609 ms)`);
  }
});

t.test('v3_ipv6: hop limit 255, unsolicited NAs with O only from the VIP', async (t) => {
  const pk = load('v3_ipv6.pcap');
  const ads = vrrpAdverts(pk, 51);
  t.ok(ads.length >= 5, `${ads.length} adverts`);
  t.ok(ads.every((a) => a.ipv6?.hopLimit === 255 && a.ip?.dst === 'ff02::12'), 'hop limit 255 to ff02::12');
  t.ok(ads.every((a) => a.vrrp.checksumPseudo && !a.vrrp.checksumVrrpOnly), 'v3 checksum covers the pseudo-header');
  t.ok(ads.every((a) => a.ip?.src.startsWith('fe80::')), 'adverts come from link-local addresses');
  const nas = unsolicitedNAs(pk, 'fd00::100');
  t.ok(nas.length >= 5, `${nas.length} unsolicited NAs`);
  for (const na of nas) {
    t.same(na.icmp6?.flags, { R: false, S: false, O: true }, `NA #${na.index} flags`);
    t.same([na.ip?.src, na.ip?.dst, na.ip?.ttl], ['fd00::100', 'ff02::1', 255], `NA #${na.index} src/dst/hop limit`);
    t.equal(na.icmp6?.targetLinkAddr, na.link?.src, `NA #${na.index} target link-layer option is the sender MAC`);
    t.ok(na.icmp6?.checksumOk, `NA #${na.index} checksum`);
  }
  t.ok(bursts(nas, 1).every((b) => b.length === 5), 'NAs come in bursts of 5');
});

t.test('robust_* captures: crafted packets decode without throwing, errors typed', async (t) => {
  for (const f of pcaps.filter((x) => x.startsWith('robust_'))) {
    const pk = load(f);
    const crafted = pk.filter((p) => p.ip?.src === '192.168.77.10' && p.ip.protocol === 112);
    t.ok(crafted.length >= 1, `${f}: ${crafted.length} crafted frames from the third host`);
    t.ok(pk.flatMap((p) => p.errors).every((e) => e instanceof DecodeError), `${f}: errors are DecodeError`);
  }
});

// negative_cases.txt: what the decoder must make visible for each crafted packet (so a checker can drop it)
type Expect = (p: Packet) => Record<string, unknown>;
const vr = (p: Packet): NonNullable<Packet['vrrp']> | Record<string, never> => p.vrrp ?? {};
const err = (p: Packet): string | undefined => p.errors.map((e) => `${e.layer}:${e.code}`).join(',') || undefined;
const NEGATIVE: Record<string, [Expect, Record<string, unknown>]> = {
  garbage: [(p) => ({ err: err(p) }), { err: 'vrrp:EBADVER' }],
  garbage_vrid51: [(p) => ({ err: err(p) }), { err: 'vrrp:EBADVER' }],
  zeros_vrid51: [(p) => ({ err: err(p) }), { err: 'vrrp:EBADVER' }],
  short: [(p) => ({ err: err(p) }), { err: 'vrrp:ETRUNC' }],
  count_mismatch: [(p) => ({ err: err(p) }), { err: 'vrrp:EBADLEN' }],
  ttl64: [(p) => ({ ttl: p.ip?.ttl, ok: vr(p).checksumOk }), { ttl: 64, ok: true }],
  v3_ttl64: [(p) => ({ ttl: p.ip?.ttl, ok: vr(p).checksumOk }), { ttl: 64, ok: true }],
  wrong_vrid: [(p) => ({ vrid: vr(p).vrid, ok: vr(p).checksumOk }), { vrid: 52, ok: true }],
  v3_wrong_vrid: [(p) => ({ vrid: vr(p).vrid, ok: vr(p).checksumOk }), { vrid: 52, ok: true }],
  bad_checksum: [(p) => ({ ok: vr(p).checksumOk, err: err(p) }), { ok: false, err: undefined }],
  adv_mismatch: [(p) => ({ s: vr(p).adverIntS, ok: vr(p).checksumOk }), { s: 2, ok: true }],
  v3_adv_mismatch: [(p) => ({ cs: vr(p).maxAdverIntCs, ok: vr(p).checksumOk }), { cs: 200, ok: true }],
  v3_adv_mismatch_lowprio: [(p) => ({ cs: vr(p).maxAdverIntCs, prio: vr(p).priority }), { cs: 200, prio: 50 }],
  wrong_version: [(p) => ({ v: vr(p).version, pseudo: vr(p).checksumPseudo }), { v: 3, pseudo: true }],
  bad_type: [(p) => ({ type: vr(p).type, ok: vr(p).checksumOk }), { type: 2, ok: true }],
  vip_mismatch: [(p) => ({ a: vr(p).addresses, ok: vr(p).checksumOk }), { a: ['192.168.77.200'], ok: true }],
  v3_vip_mismatch: [(p) => ({ a: vr(p).addresses, ok: vr(p).checksumOk }), { a: ['192.168.77.200'], ok: true }],
  valid_prio200: [(p) => ({ v: vr(p).version, prio: vr(p).priority, ok: vr(p).checksumOk }), { v: 2, prio: 200, ok: true }],
  v3_valid_prio200: [(p) => ({ v: vr(p).version, prio: vr(p).priority, ok: vr(p).checksumOk }), { v: 3, prio: 200, ok: true }],
  v3_nopseudo_csum: [(p) => ({ only: vr(p).checksumVrrpOnly, ok: vr(p).checksumOk }), { only: true, ok: false }],
  no_auth: [(p) => ({ type: vr(p).authType }), { type: 0 }],
  wrong_pass: [(p) => ({ type: vr(p).authType, text: vr(p).authText }), { type: 1, text: 'wrong!' }],
  wrong_authtype: [(p) => ({ type: vr(p).authType, text: vr(p).authText }), { type: 2, text: 's3cr3t' }],
  right_pass: [(p) => ({ type: vr(p).authType, text: vr(p).authText, ok: vr(p).checksumOk }), { type: 1, text: 's3cr3t', ok: true }],
};

t.test('negative_cases.txt: each crafted packet shows its defect', async (t) => {
  const lines = readFileSync(join(DIR, 'negative_cases.txt'), 'utf8').split('\n');
  const cases = lines.map((l) => /^(\w+) ([0-9a-f]+)$/.exec(l)).filter((m) => m !== null);
  t.ok(cases.length >= 20, `${cases.length} cases`);
  for (const [, name = '', hexStr = ''] of cases) {
    const data = Buffer.from(hexStr, 'hex');
    const p = decodeFrame(LINKTYPE.RAW, { index: 0, tsNs: 0n, tsMs: 0, capLen: data.length, origLen: data.length, data });
    const e = NEGATIVE[name];
    if (!t.ok(e, `${name}: expectation known`) || e === undefined) continue;
    t.same(e[0](p), e[1], name);
  }
});

t.test('fuzz: truncations and bit flips of every frame never throw', async (t) => {
  let n = 0;
  for (const f of pcaps) {
    const file = readPcap(readFileSync(join(DIR, f)));
    for (const r of file.records) {
      for (let len = 0; len < r.data.length; len++) {
        decodeFrame(file.linktype, { ...r, data: r.data.subarray(0, len) });
        n++;
      }
      for (let i = 0; i < 20; i++) {
        const d = Uint8Array.from(r.data);
        const at = (i * 7919) % d.length;
        d[at] = (d[at] ?? 0) ^ (1 << i % 8);
        decodeFrame(file.linktype, { ...r, data: d });
        n++;
      }
    }
  }
  t.ok(n > 1000, `${n} mutated frames decoded without an exception`);
});

t.test('pcap reader: byte order, ns magic, SLL2, truncation, bad magic', async (t) => {
  const orig = readFileSync(join(DIR, 'v2_ipv4.pcap'));
  const le = readPcap(orig);
  // rewrite as big-endian with nanosecond timestamps
  const be = Buffer.from(orig);
  be.writeUInt32BE(0xa1b23c4d, 0);
  be.writeUInt16BE(orig.readUInt16LE(4), 4);
  be.writeUInt16BE(orig.readUInt16LE(6), 6);
  for (const o of [8, 12, 16, 20]) be.writeUInt32BE(orig.readUInt32LE(o), o);
  let off = 24;
  while (off < orig.length) {
    for (const o of [0, 8, 12]) be.writeUInt32BE(orig.readUInt32LE(off + o), off + o);
    be.writeUInt32BE(orig.readUInt32LE(off + 4) * 1000, off + 4);
    off += 16 + orig.readUInt32LE(off + 8);
  }
  const bf = readPcap(be);
  t.ok(bf.nanosecond, 'nanosecond magic recognised');
  t.same(bf.records.map((r) => r.tsNs), le.records.map((r) => r.tsNs), 'same timestamps from either byte order');
  t.same(bf.records.map((r) => r.tsMs), le.records.map((r) => r.tsMs), 'same ms timestamps');
  const trunc = readPcap(orig.subarray(0, orig.length - 3));
  t.ok(trunc.truncated, 'a cut file is flagged truncated');
  t.equal(trunc.records.length, le.records.length - 1, 'complete records before the cut are kept');
  t.throws(() => readPcap(Buffer.from('not a pcap at all, really not')), PcapError);
  // SLL2: 20-byte cooked header instead of the 14-byte Ethernet header
  const first = le.records[0];
  if (first === undefined) throw new Error('empty capture');
  const sll2 = Buffer.alloc(first.data.length + 6);
  sll2.writeUInt16BE(first.data[12]! * 256 + first.data[13]!, 0);
  sll2.writeUInt16BE(1, 8); // ARPHRD_ETHER
  sll2[10] = 2; // multicast
  sll2[11] = 6;
  Buffer.from(first.data.subarray(6, 12)).copy(sll2, 12);
  Buffer.from(first.data.subarray(14)).copy(sll2, 20);
  const a = decodeFrame(LINKTYPE.EN10MB, first);
  const b = decodeFrame(LINKTYPE.LINUX_SLL2, { ...first, data: sll2 });
  t.same([b.link?.kind, b.link?.src, b.link?.pkttype], ['sll2', a.link?.src, 2], 'SLL2 header');
  t.same(b.vrrp, a.vrrp, 'same VRRP decoded behind SLL2');
});

t.test('ipv6Str follows RFC 5952', async (t) => {
  const cases: { desc: string; input: string; want: string }[] = [
    { desc: 'longest zero run', input: 'fd000000000000000000000000000100', want: 'fd00::100' },
    { desc: 'link-local', input: 'fe80000000000000007700fffe000001', want: 'fe80::77:ff:fe00:1' },
    { desc: 'first of equal runs', input: '20010db8000000000001000000000001', want: '2001:db8::1:0:0:1' },
    { desc: 'single zero group not compressed', input: '20010db8000000010001000100010001', want: '2001:db8:0:1:1:1:1:1' },
    { desc: 'all zero', input: '00000000000000000000000000000000', want: '::' },
    { desc: 'trailing run', input: 'ff020000000000000000000000000000', want: 'ff02::' },
  ];
  for (const c of cases) t.equal(ipv6Str(Buffer.from(c.input, 'hex')), c.want, c.desc);
});
