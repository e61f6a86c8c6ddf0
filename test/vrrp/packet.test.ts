import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { addressBytes, addressText, decode, encode, internetChecksum } from '../../src/vrrp/packet.js';
import { sharedDir } from '../helpers/paths.js';

// Golden vectors captured from keepalived 2.2.7 (shared/vectors/vrrp/vectors.json).
interface Vector {
  kind: string;
  ip_version: 4 | 6;
  ip_src: string;
  ip_dst: string;
  vrrp_version?: 2 | 3;
  vrid?: number;
  priority?: number;
  count?: number;
  checksum?: string;
  auth_type?: number;
  auth_data?: string;
  auth_data_ascii?: string;
  adver_int_s?: number;
  max_adver_int_cs?: number;
  addresses?: string[];
  vrrp_hex?: string;
  description: string;
}
const vectors = JSON.parse(fs.readFileSync(path.join(sharedDir, 'vectors/vrrp/vectors.json'), 'utf8')) as Record<string, Vector>;
const adverts = Object.entries(vectors).filter(([, v]) => v.kind === 'vrrp');

t.test('there are golden adverts for v2, v3, IPv4, IPv6, auth', async (t) => {
  t.ok(adverts.length >= 13);
  t.ok(adverts.some(([, v]) => v.vrrp_version === 2 && v.auth_type === 1));
  t.ok(adverts.some(([, v]) => v.vrrp_version === 3 && v.ip_version === 6));
});

for (const [name, v] of adverts) {
  t.test(`decode ${name}: ${v.description}`, async (t) => {
    const buf = Buffer.from(v.vrrp_hex!, 'hex');
    const r = decode(buf, v.ip_version, { src: v.ip_src, dst: v.ip_dst });
    if (!r.ok) return void t.fail(r.error.message);
    const a = r.advert;
    t.equal(a.version, v.vrrp_version);
    t.equal(a.vrid, v.vrid);
    t.equal(a.priority, v.priority);
    t.same(a.addresses, v.addresses);
    t.equal(a.checksum, parseInt(v.checksum!, 16));
    const wantInt = v.vrrp_version === 2 ? v.adver_int_s! * 1000 : (v.max_adver_int_cs ?? 0) * 10;
    t.equal(a.advertIntMs, wantInt);
    if (v.vrrp_version === 2) {
      t.equal(a.authType, v.auth_type);
      t.equal(a.authData!.toString('hex'), v.auth_data);
    }
  });
  t.test(`encode ${name} byte for byte`, async (t) => {
    const enc = encode(
      {
        version: v.vrrp_version!,
        vrid: v.vrid!,
        priority: v.priority!,
        advertIntMs: v.vrrp_version === 2 ? v.adver_int_s! * 1000 : (v.max_adver_int_cs ?? 0) * 10,
        addresses: v.addresses!,
        family: v.ip_version,
        ...(v.auth_type ? { authType: v.auth_type, password: v.auth_data_ascii ?? '' } : {}),
      },
      { src: v.ip_src, dst: v.ip_dst },
    );
    t.equal(enc.toString('hex'), v.vrrp_hex);
  });
}

t.test('v3 checksum needs the pseudo-header (for IPv4 too)', async (t) => {
  const [, v] = adverts.find(([n]) => n === 'v3_advert_prio150')!;
  const buf = Buffer.from(v.vrrp_hex!, 'hex');
  t.not(internetChecksum(buf), 0, 'message-only checksum does not verify');
  const wrongSrc = decode(buf, 4, { src: '192.168.77.9', dst: v.ip_dst });
  t.match(wrongSrc, { ok: false, error: { code: 'bad-checksum' } });
});

// Negative cases (shared/vectors/vrrp/negative_cases.txt): IPv4 packets as sent on the wire.
const negatives = fs
  .readFileSync(path.join(sharedDir, 'vectors/vrrp/negative_cases.txt'), 'utf8')
  .split('\n')
  .map((l) => /^(\w+) ([0-9a-f]{40,})$/.exec(l))
  .filter((m): m is RegExpExecArray => m !== null)
  .map((m) => ({ name: m[1]!, ip: Buffer.from(m[2]!, 'hex') }));
const ipv4 = (b: Buffer) => ({ ttl: b[8]!, src: addressText(b.subarray(12, 16), 4), dst: addressText(b.subarray(16, 20), 4), payload: b.subarray((b[0]! & 15) * 4) });

// What the codec alone must say (TTL, VRID, auth, interval and address checks are per-instance
// validation, tested with the receive path).
const codecVerdict: Record<string, string> = {
  short: 'too-short',
  garbage: 'length-mismatch',
  garbage_vrid51: 'length-mismatch', // keepalived: "vrrp packet too short, length 40 and expect 984"
  zeros_vrid51: 'length-mismatch', // keepalived: "vrrp packet too long, length 40 and expect 28"
  count_mismatch: 'length-mismatch',
  bad_checksum: 'bad-checksum',
  bad_type: 'bad-type',
  v3_nopseudo_csum: 'bad-checksum',
};

t.test('negative vectors decode to typed errors, never a throw', async (t) => {
  t.ok(negatives.length >= 20, `${negatives.length} crafted packets`);
  for (const n of negatives) {
    const p = ipv4(n.ip);
    let r;
    t.doesNotThrow(() => (r = decode(p.payload, 4, { src: p.src, dst: p.dst })), n.name);
    const want = codecVerdict[n.name];
    if (want) t.match(r, { ok: false, error: { code: want } }, `${n.name} → ${want}`);
    else t.match(r, { ok: true }, `${n.name} decodes (rejected later by instance checks)`);
  }
});

t.test('every truncation and bit flip of a golden advert is handled', async (t) => {
  let errors = 0;
  for (const [, v] of adverts) {
    const buf = Buffer.from(v.vrrp_hex!, 'hex');
    for (let len = 0; len < buf.length; len++) if (!decode(buf.subarray(0, len), v.ip_version, { src: v.ip_src, dst: v.ip_dst }).ok) errors++;
    for (let bit = 0; bit < buf.length * 8; bit++) {
      const m = Buffer.from(buf);
      m[bit >> 3] = m[bit >> 3]! ^ (1 << (bit & 7));
      const r = decode(m, v.ip_version, { src: v.ip_src, dst: v.ip_dst });
      t.notOk(r.ok, `bit ${bit} of ${v.description} is caught`);
    }
  }
  t.ok(errors > 0);
});

t.test('address helpers', async (t) => {
  const cases: [string, 4 | 6, string][] = [
    ['192.168.77.100', 4, 'c0a84d64'],
    ['fd00::100', 6, 'fd000000000000000000000000000100'],
    ['fe80::77:ff:fe00:1', 6, 'fe80000000000000007700fffe000001'],
    ['::', 6, '00000000000000000000000000000000'],
    ['::ffff:1.2.3.4', 6, '00000000000000000000ffff01020304'],
  ];
  for (const [a, f, hex] of cases) t.equal(addressBytes(a, f).toString('hex'), hex, a);
  t.equal(addressText(Buffer.from('fd000000000000000000000000000100', 'hex'), 6), 'fd00::100');
  t.equal(addressText(Buffer.from('20010db8000000010000000000000001', 'hex'), 6), '2001:db8:0:1::1');
  t.throws(() => addressBytes('1.2.3', 4));
  t.throws(() => encode({ version: 3, vrid: 1, priority: 1, advertIntMs: 1000, addresses: ['1.2.3.4'], family: 4 }), 'v3 needs IPs');
});
