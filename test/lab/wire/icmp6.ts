import { DecodeError, inetChecksum, ipv6Str, macStr, pseudoHeader, u16 } from './bytes.js';

/** IPv6 next-header value of ICMPv6. */
export const IPPROTO_ICMPV6 = 58;

/** An ICMPv6 message (RFC 4443); neighbour discovery fields (RFC 4861) filled for NS/NA. */
export interface Icmp6 {
  type: number;
  code: number;
  checksum: number;
  checksumOk: boolean;
  /** NS (135) / NA (136): the target address. */
  target?: string;
  /** NA only: Router, Solicited, Override flags (RFC 4861 §4.4). */
  flags?: { R: boolean; S: boolean; O: boolean };
  /** Source (type 1) or target (type 2) link-layer address option. */
  sourceLinkAddr?: string;
  targetLinkAddr?: string;
}

/** Decodes an ICMPv6 message; `src`/`dst` are the IPv6 addresses for the checksum pseudo-header. */
export function decodeIcmp6(b: Uint8Array, src: Uint8Array, dst: Uint8Array): Icmp6 | DecodeError {
  if (b.length < 4) return new DecodeError('ETRUNC', 'icmp6', `${b.length} bytes < 4`);
  const m: Icmp6 = {
    type: b[0] ?? 0,
    code: b[1] ?? 0,
    checksum: u16(b, 2),
    checksumOk: inetChecksum(pseudoHeader(6, src, dst, IPPROTO_ICMPV6, b.length), b) === 0,
  };
  if (m.type !== 135 && m.type !== 136) return m;
  if (b.length < 24) return new DecodeError('ETRUNC', 'icmp6', `neighbour discovery message ${b.length} bytes < 24`);
  m.target = ipv6Str(b, 8);
  if (m.type === 136) {
    const f = b[4] ?? 0;
    m.flags = { R: (f & 0x80) !== 0, S: (f & 0x40) !== 0, O: (f & 0x20) !== 0 };
  }
  for (let off = 24; off + 2 <= b.length; ) {
    const len = (b[off + 1] ?? 0) * 8;
    if (len === 0 || off + len > b.length) break;
    if (len >= 8 && b[off] === 1) m.sourceLinkAddr = macStr(b, off + 2);
    if (len >= 8 && b[off] === 2) m.targetLinkAddr = macStr(b, off + 2);
    off += len;
  }
  return m;
}
