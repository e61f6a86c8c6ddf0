import { DecodeError, ipv4Str, macStr, u16 } from './bytes.js';

/** An ARP packet for Ethernet/IPv4 (RFC 826). */
export interface Arp {
  htype: number;
  ptype: number;
  /** 1 request, 2 reply. */
  op: number;
  sha: string;
  spa: string;
  tha: string;
  tpa: string;
  /** Sender and target protocol address are the same (gratuitous ARP, RFC 5227 §3). */
  gratuitous: boolean;
}

/** Decodes an ARP packet; only hlen 6 / plen 4 is supported. */
export function decodeArp(b: Uint8Array): Arp | DecodeError {
  if (b.length < 28) return new DecodeError('ETRUNC', 'arp', `${b.length} bytes < 28`);
  const hlen = b[4] ?? 0;
  const plen = b[5] ?? 0;
  if (hlen !== 6 || plen !== 4) return new DecodeError('EUNSUPPORTED', 'arp', `hlen ${hlen} plen ${plen}`);
  const spa = ipv4Str(b, 14);
  const tpa = ipv4Str(b, 24);
  return {
    htype: u16(b, 0),
    ptype: u16(b, 2),
    op: u16(b, 6),
    sha: macStr(b, 8),
    spa,
    tha: macStr(b, 18),
    tpa,
    gratuitous: spa === tpa,
  };
}
