import { DecodeError, hex, inetChecksum, ipv4Str, ipv6Str, pseudoHeader, u16 } from './bytes.js';

/** IP protocol number of VRRP (RFC 5798 §5.1.1.4). */
export const IPPROTO_VRRP = 112;

/** A VRRPv2 (RFC 3768) or VRRPv3 (RFC 5798) message. */
export interface Vrrp {
  version: number;
  /** 1 = ADVERTISEMENT. */
  type: number;
  vrid: number;
  priority: number;
  /** Count IPvX Addr. */
  count: number;
  /** v2 only: 0 none, 1 simple text password, 2 IP AH. */
  authType?: number;
  /** v2 only: the 8 auth-data bytes as hex, and as text with NUL padding removed. */
  authData?: string;
  authText?: string;
  /** v2 only: Adver Int in seconds. */
  adverIntS?: number;
  /** v3 only: Max Adver Int in centiseconds (12 bits). */
  maxAdverIntCs?: number;
  /** v3 only: the 4 reserved bits. */
  rsvd?: number;
  /** Advertisement interval in ms, whichever version. */
  intervalMs: number;
  checksum: number;
  /** Checksum valid over the VRRP message alone (the v2 rule, RFC 3768 §5.3.8). */
  checksumVrrpOnly: boolean;
  /** Checksum valid including the IP pseudo-header (the v3 rule, RFC 5798 §5.2.8). */
  checksumPseudo: boolean;
  /** Checksum valid by the rule of this message's version. */
  checksumOk: boolean;
  addresses: string[];
  /** Bytes of the message (8 + addresses + v2 auth data). */
  length: number;
  /** Bytes after the message, if the IP payload is longer. */
  trailing: number;
}

/** Network-layer context a VRRP message needs (pseudo-header, address family). */
export interface VrrpIpContext {
  version: 4 | 6;
  srcBytes: Uint8Array;
  dstBytes: Uint8Array;
}

/** Decodes a VRRP message carried in `ip`'s payload `b`. */
export function decodeVrrp(b: Uint8Array, ip: VrrpIpContext): Vrrp | DecodeError {
  if (b.length < 8) return new DecodeError('ETRUNC', 'vrrp', `${b.length} bytes < 8`);
  const version = (b[0] ?? 0) >> 4;
  if (version !== 2 && version !== 3) return new DecodeError('EBADVER', 'vrrp', `version ${version}`);
  const count = b[3] ?? 0;
  const alen = ip.version === 6 ? 16 : 4;
  const length = 8 + count * alen + (version === 2 ? 8 : 0);
  if (b.length < length) {
    return new DecodeError('EBADLEN', 'vrrp', `length ${b.length} < ${length} for count ${count}`);
  }
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) {
    const off = 8 + i * alen;
    addresses.push(alen === 4 ? ipv4Str(b, off) : ipv6Str(b, off));
  }
  const pseudo = pseudoHeader(ip.version, ip.srcBytes, ip.dstBytes, IPPROTO_VRRP, b.length);
  const checksumVrrpOnly = inetChecksum(b) === 0;
  const checksumPseudo = inetChecksum(pseudo, b) === 0;
  const v: Vrrp = {
    version,
    type: (b[0] ?? 0) & 0x0f,
    vrid: b[1] ?? 0,
    priority: b[2] ?? 0,
    count,
    intervalMs: 0,
    checksum: u16(b, 6),
    checksumVrrpOnly,
    checksumPseudo,
    checksumOk: version === 2 ? checksumVrrpOnly : checksumPseudo,
    addresses,
    length,
    trailing: b.length - length,
  };
  if (version === 2) {
    const auth = b.subarray(8 + count * 4, length);
    v.authType = b[4] ?? 0;
    v.adverIntS = b[5] ?? 0;
    v.intervalMs = v.adverIntS * 1000;
    v.authData = hex(auth);
    v.authText = Buffer.from(auth).toString('latin1').replace(/\0+$/, '');
  } else {
    const w = u16(b, 4);
    v.rsvd = w >> 12;
    v.maxAdverIntCs = w & 0x0fff;
    v.intervalMs = v.maxAdverIntCs * 10;
  }
  return v;
}
