import { addressBytes, internetChecksum } from '../vrrp/packet.js';

/*
 * Ethernet frames announcing a VIP after a takeover, pure: a gratuitous ARP request (RFC 5227
 * §3; keepalived sends requests, sender = target = VIP) and an unsolicited neighbour
 * advertisement (RFC 4861 §7.2.6; keepalived: from the VIP to ff02::1, only the O flag).
 */

/** "02:77:00:00:00:01" → 6 bytes. */
export function macBytes(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) throw new RangeError(`'${mac}' is not a MAC address`);
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

/** Gratuitous ARP request for `vip` from `mac` (42 bytes, unpadded as keepalived sends it). */
export function garpFrame(mac: string, vip: string): Buffer {
  const m = macBytes(mac);
  const ip = addressBytes(vip, 4);
  const bcast = Buffer.alloc(6, 0xff);
  const arp = Buffer.alloc(28);
  arp.writeUInt16BE(1, 0); // htype Ethernet
  arp.writeUInt16BE(0x0800, 2); // ptype IPv4
  arp[4] = 6;
  arp[5] = 4;
  arp.writeUInt16BE(1, 6); // op: request
  m.copy(arp, 8);
  ip.copy(arp, 14);
  bcast.copy(arp, 18);
  ip.copy(arp, 24);
  return Buffer.concat([bcast, m, Buffer.from([0x08, 0x06]), arp]);
}

/** Unsolicited neighbour advertisement for `vip` from `mac` to all-nodes, O flag only. */
export function unsolicitedNaFrame(mac: string, vip: string): Buffer {
  const m = macBytes(mac);
  const src = addressBytes(vip, 6);
  const dst = addressBytes('ff02::1', 6);
  const icmp = Buffer.alloc(32);
  icmp[0] = 136; // Neighbor Advertisement
  icmp.writeUInt32BE(0x20000000, 4); // flags: Override
  src.copy(icmp, 8); // target
  icmp[24] = 2; // option: target link-layer address
  icmp[25] = 1; // length in units of 8 bytes
  m.copy(icmp, 26);
  const pseudo = Buffer.alloc(40);
  src.copy(pseudo, 0);
  dst.copy(pseudo, 16);
  pseudo.writeUInt32BE(icmp.length, 32);
  pseudo[39] = 58;
  icmp.writeUInt16BE(internetChecksum(pseudo, icmp), 2);
  const ip6 = Buffer.alloc(40);
  ip6.writeUInt32BE(0x60000000, 0);
  ip6.writeUInt16BE(icmp.length, 4);
  ip6[6] = 58; // ICMPv6
  ip6[7] = 255; // hop limit (RFC 4861 §7.1.2)
  src.copy(ip6, 8);
  dst.copy(ip6, 24);
  return Buffer.concat([Buffer.from([0x33, 0x33, 0, 0, 0, 1]), m, Buffer.from([0x86, 0xdd]), ip6, icmp]);
}
