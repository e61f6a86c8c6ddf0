import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { garpFrame, macBytes, unsolicitedNaFrame } from '../../src/net/frames.js';
import { sharedDir } from '../helpers/paths.js';

const vectors = JSON.parse(fs.readFileSync(path.join(sharedDir, 'vectors/vrrp/vectors.json'), 'utf8')) as Record<string, { frame_hex: string; eth_src: string; arp_spa?: string; na_target?: string }>;

t.test('gratuitous ARP equals keepalived’s byte for byte', async (t) => {
  for (const name of ['v2_garp', 'v2_garp_vmac']) {
    const v = vectors[name]!;
    t.equal(garpFrame(v.eth_src, v.arp_spa!).toString('hex'), v.frame_hex, name);
  }
});

t.test('unsolicited NA equals keepalived’s byte for byte', async (t) => {
  const v = vectors.v3_ipv6_unsolicited_na!;
  t.equal(unsolicitedNaFrame(v.eth_src, v.na_target!).toString('hex'), v.frame_hex);
});

t.test('bad MAC is rejected', async (t) => {
  t.throws(() => macBytes('02:77:00:00:00'));
  t.throws(() => macBytes('zz:77:00:00:00:01'));
});
