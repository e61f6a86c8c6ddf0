import t from 'tap';
import type { ReceivedPacket } from '../../src/net/vrrp-socket.js';
import { addressText } from '../../src/vrrp/packet.js';
import { type InstanceView, validateAdvert } from '../../src/vrrp/receive.js';
import { keepalivedVerdict, negativeCases } from '../helpers/negative-vectors.js';

// Every crafted packet of shared/vectors/vrrp/negative_cases.txt, validated against the instance
// keepalived ran, must get the verdict keepalived gave it — and the same log wording.
const base: InstanceView = {
  name: 'VI_51',
  vrid: 51,
  version: 2,
  advertIntMs: 1000,
  addresses: new Set(['192.168.77.100']),
  own: new Set(['192.168.77.1']),
};
const sections: Record<string, InstanceView> = {
  v2: base,
  v2b: base,
  v2auth: { ...base, auth: { type: 'PASS', pass: 's3cr3t' } },
  v3: { ...base, version: 3 },
  v3b: { ...base, version: 3 },
};
const verdictOf = keepalivedVerdict;
const cases = negativeCases();

t.test('all sections parsed', async (t) => {
  t.same([...new Set(cases.map((c) => c.section))], Object.keys(sections));
  t.ok(cases.length >= 25, `${cases.length} cases`);
});

for (const c of cases) {
  t.test(`${c.section}/${c.name}`, async (t) => {
    const ihl = (c.ip[0]! & 15) * 4;
    const p: ReceivedPacket = {
      family: 4,
      ttl: c.ip[8]!,
      headerLength: ihl,
      src: addressText(c.ip.subarray(12, 16), 4),
      dst: addressText(c.ip.subarray(16, 20), 4),
      payload: c.ip.subarray(ihl),
    };
    const inst = sections[c.section]!;
    const v = validateAdvert(p, (vrid) => (vrid === inst.vrid ? inst : undefined));
    const want = verdictOf(c.log);
    if (want === 'ok') t.ok(v.ok, `accepted (${v.ok ? '' : v.message})`);
    else if (want === 'silent') t.match(v, { ok: false, code: 'unknown-vrid' });
    else {
      t.match(v, { ok: false, code: want });
      // Same wording as keepalived, so existing log alerts keep matching.
      if (!v.ok) t.equal(v.message, c.log, 'log line matches keepalived');
    }
  });
}

t.test('own packets and unicast peers', async (t) => {
  const inst: InstanceView = { ...base, peers: new Set(['192.168.77.2']) };
  const adv = Buffer.from('2133960100013abdc0a84d640000000000000000', 'hex');
  const mk = (src: string): ReceivedPacket => ({ family: 4, ttl: 255, headerLength: 20, src, dst: '224.0.0.18', payload: adv });
  t.match(validateAdvert(mk('192.168.77.1'), () => inst), { ok: false, code: 'own' });
  t.match(validateAdvert(mk('192.168.77.9'), () => inst), { ok: false, code: 'unknown-peer' });
  t.match(validateAdvert(mk('192.168.77.2'), () => inst), { ok: true });
  t.match(validateAdvert(mk('192.168.77.2'), () => ({ ...inst, addresses: new Set(['192.168.77.100', '192.168.77.101']) })), { ok: false, code: 'addresses' });
  t.match(validateAdvert(mk('192.168.77.2'), () => ({ ...inst, skipCheckAddresses: true, addresses: new Set(['10.0.0.1']) })), { ok: true });
  // Unicast: no 255 requirement (keepalived sends IPv6 unicast with hop limit 64), only min/max_ttl.
  const ttl64 = { ...mk('192.168.77.2'), ttl: 64 };
  t.match(validateAdvert(ttl64, () => inst), { ok: false, code: 'ttl' }, 'multicast-style instance wants 255');
  t.match(validateAdvert(ttl64, () => ({ ...inst, unicastTtl: new Map() })), { ok: true }, 'unicast: any TTL by default');
  t.match(validateAdvert(ttl64, () => ({ ...inst, unicastTtl: new Map([['192.168.77.2', { min: 250 }]]) })), { ok: false, code: 'ttl' }, 'unicast min_ttl');
});
