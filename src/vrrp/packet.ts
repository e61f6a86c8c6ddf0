import net from 'node:net';

/*
 * VRRP advertisement codec: VRRPv2 (RFC 3768, IPv4, with authentication data) and VRRPv3
 * (RFC 5798, IPv4 and IPv6). Pure: buffers in, values out. `decode` never throws on wire input;
 * it returns a typed error instead.
 */

/** IP protocol number of VRRP (RFC 5798 §5.2). */
export const VRRP_PROTO = 112;
/** TTL / hop limit every advert must carry (RFC 5798 §5.1.1.3, §5.1.2.3). */
export const VRRP_TTL = 255;
/** Multicast destinations (RFC 5798 §5.1.1.2, §5.1.2.2). */
export const VRRP_MCAST4 = '224.0.0.18';
export const VRRP_MCAST6 = 'ff02::12';
/** The only VRRP message type (RFC 5798 §5.2.2). */
export const VRRP_TYPE_ADVERT = 1;

/** VRRPv2 authentication types (RFC 3768 §5.3.6; 2 = IP AH, historic). */
export const AUTH_NONE = 0;
export const AUTH_PASS = 1;
export const AUTH_AH = 2;

/** A VRRP advertisement, version-independent where possible. */
export interface Advert {
  readonly version: 2 | 3;
  readonly type: number;
  readonly vrid: number;
  readonly priority: number;
  /** Advertisement interval in milliseconds (v2: whole seconds; v3: centiseconds). */
  readonly advertIntMs: number;
  /** Addresses carried, as text; all of `family`. */
  readonly addresses: readonly string[];
  readonly family: 4 | 6;
  /** VRRPv2 only: auth type and the 8 bytes of authentication data. */
  readonly authType?: number;
  readonly authData?: Buffer;
  /** Checksum as found on the wire (decode) or computed (encode). */
  readonly checksum: number;
}

/** Why a VRRP message could not be decoded. Stable codes, used as counter labels. */
export type DecodeErrorCode = 'too-short' | 'bad-version' | 'bad-type' | 'length-mismatch' | 'bad-checksum' | 'bad-address-family';

/** A decode failure with enough detail for a log line like keepalived's. */
export interface DecodeError {
  readonly code: DecodeErrorCode;
  readonly message: string;
  /** For length-mismatch: bytes received and bytes the count implies. */
  readonly got?: number;
  readonly want?: number;
}

/** Result of `decode`. */
export type DecodeResult = { readonly ok: true; readonly advert: Advert } | { readonly ok: false; readonly error: DecodeError };

/** Source and destination of the IP packet, for the VRRPv3 pseudo-header checksum. */
export interface IpPair {
  readonly src: string;
  readonly dst: string;
}

const HEADER = 8;
const V2_AUTH = 8;

/** Length a message with `count` addresses must have. */
export function expectedLength(version: number, family: 4 | 6, count: number): number {
  return HEADER + count * (family === 4 ? 4 : 16) + (version === 2 ? V2_AUTH : 0);
}

/**
 * Decodes a VRRP message (the IP payload). `family` is the IP version it arrived over; with `ip`
 * the checksum is verified (v3 needs it for the pseudo-header; v2 covers the message only).
 */
export function decode(buf: Buffer, family: 4 | 6, ip?: IpPair): DecodeResult {
  const fail = (code: DecodeErrorCode, message: string, extra: { got?: number; want?: number } = {}): DecodeResult => ({
    ok: false,
    error: { code, message, ...extra },
  });
  if (buf.length < HEADER) return fail('too-short', `VRRP message too short: ${buf.length} bytes, a header is ${HEADER}`, { got: buf.length, want: HEADER });
  const version = buf[0]! >> 4;
  const type = buf[0]! & 0x0f;
  const vrid = buf[1]!;
  const priority = buf[2]!;
  const count = buf[3]!;
  // Length first, from the packet's own version (auth data only in v2), as keepalived does: a
  // garbage packet is reported as a bad length rather than a bad version.
  const want = expectedLength(version === 2 ? 2 : 3, family, count);
  if (buf.length !== want)
    return fail('length-mismatch', `VRRP message is ${buf.length} bytes, but ${count} address(es) need ${want}`, { got: buf.length, want });
  if (version !== 2 && version !== 3) return fail('bad-version', `unknown VRRP version ${version}`);
  if (version === 2 && family === 6) return fail('bad-address-family', 'VRRPv2 is defined for IPv4 only (RFC 3768)');
  if (type !== VRRP_TYPE_ADVERT) return fail('bad-type', `VRRP type ${type}, expected ${VRRP_TYPE_ADVERT} (ADVERTISEMENT)`);
  const checksum = buf.readUInt16BE(6);
  if (ip) {
    const sum = version === 3 ? checksumWithPseudo(buf, family, ip) : internetChecksum(buf);
    if (sum !== 0) return fail('bad-checksum', `invalid VRRPv${version} checksum 0x${checksum.toString(16).padStart(4, '0')}`);
  }
  const addresses: string[] = [];
  const step = family === 4 ? 4 : 16;
  for (let k = 0; k < count; k++) addresses.push(addressText(buf.subarray(HEADER + k * step, HEADER + (k + 1) * step), family));
  if (version === 2) {
    const authData = Buffer.from(buf.subarray(HEADER + count * 4, HEADER + count * 4 + V2_AUTH));
    return { ok: true, advert: { version, type, vrid, priority, advertIntMs: buf[5]! * 1000, addresses, family, authType: buf[4]!, authData, checksum } };
  }
  const maxAdvCs = buf.readUInt16BE(4) & 0x0fff;
  return { ok: true, advert: { version, type, vrid, priority, advertIntMs: maxAdvCs * 10, addresses, family, checksum } };
}

/** What `encode` needs; the checksum is computed. */
export interface AdvertInput {
  readonly version: 2 | 3;
  readonly vrid: number;
  readonly priority: number;
  readonly advertIntMs: number;
  readonly addresses: readonly string[];
  readonly family: 4 | 6;
  /** VRRPv2: 0 none, 1 PASS (password NUL-padded to 8 bytes), 2 AH. */
  readonly authType?: number;
  readonly password?: string;
}

/** Encodes an advertisement; `ip` is required for VRRPv3 (pseudo-header checksum). */
export function encode(a: AdvertInput, ip?: IpPair): Buffer {
  if (a.version === 2 && a.family !== 4) throw new RangeError('VRRPv2 carries IPv4 addresses only');
  if (a.addresses.length > 255) throw new RangeError(`too many addresses: ${a.addresses.length} (max 255)`);
  const buf = Buffer.alloc(expectedLength(a.version, a.family, a.addresses.length));
  buf[0] = (a.version << 4) | VRRP_TYPE_ADVERT;
  buf[1] = a.vrid;
  buf[2] = a.priority;
  buf[3] = a.addresses.length;
  if (a.version === 2) {
    buf[4] = a.authType ?? AUTH_NONE;
    buf[5] = Math.round(a.advertIntMs / 1000);
  } else buf.writeUInt16BE(Math.round(a.advertIntMs / 10) & 0x0fff, 4);
  const step = a.family === 4 ? 4 : 16;
  a.addresses.forEach((addr, k) => addressBytes(addr, a.family).copy(buf, HEADER + k * step));
  if (a.version === 2 && a.authType === AUTH_PASS && a.password !== undefined)
    Buffer.from(a.password, 'latin1').subarray(0, V2_AUTH).copy(buf, HEADER + a.addresses.length * 4);
  let sum: number;
  if (a.version === 3) {
    if (!ip) throw new TypeError('VRRPv3 checksum needs the IP source and destination');
    sum = checksumWithPseudo(buf, a.family, ip);
  } else sum = internetChecksum(buf);
  buf.writeUInt16BE(sum, 6);
  return buf;
}

/** RFC 1071 one's-complement checksum; 0 when a buffer holding its own checksum is intact. */
export function internetChecksum(...parts: Buffer[]): number {
  let sum = 0;
  let odd: number | undefined;
  for (const p of parts) {
    let i = 0;
    if (odd !== undefined && p.length > 0) {
      sum += (odd << 8) | p[0]!;
      odd = undefined;
      i = 1;
    }
    for (; i + 1 < p.length; i += 2) sum += (p[i]! << 8) | p[i + 1]!;
    if (i < p.length) odd = p[i]!;
  }
  if (odd !== undefined) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** VRRPv3 checksum over the IPv4/IPv6 pseudo-header and the message (RFC 5798 §5.2.8). */
export function checksumWithPseudo(msg: Buffer, family: 4 | 6, ip: IpPair): number {
  const src = addressBytes(ip.src, family);
  const dst = addressBytes(ip.dst, family);
  let pseudo: Buffer;
  if (family === 4) {
    pseudo = Buffer.alloc(12);
    src.copy(pseudo, 0);
    dst.copy(pseudo, 4);
    pseudo[9] = VRRP_PROTO;
    pseudo.writeUInt16BE(msg.length, 10);
  } else {
    pseudo = Buffer.alloc(40);
    src.copy(pseudo, 0);
    dst.copy(pseudo, 16);
    pseudo.writeUInt32BE(msg.length, 32);
    pseudo[39] = VRRP_PROTO;
  }
  return internetChecksum(pseudo, msg);
}

/** Address text → network-order bytes; throws on text that is not of `family`. */
export function addressBytes(addr: string, family: 4 | 6): Buffer {
  if (net.isIP(addr) !== family) throw new RangeError(`'${addr}' is not an IPv${family} address`);
  if (family === 4) return Buffer.from(addr.split('.').map(Number));
  return ipv6Bytes(addr.replace(/%.*$/, ''));
}

function ipv6Bytes(addr: string): Buffer {
  const out = Buffer.alloc(16);
  const [head, tail] = addr.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const tl = tail !== undefined ? (tail ? tail.split(':') : []) : [];
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const expand = (groups: string[]) =>
    groups.flatMap((g) => {
      if (!g.includes('.')) return [g];
      const b = g.split('.').map(Number);
      return [((b[0]! << 8) | b[1]!).toString(16), ((b[2]! << 8) | b[3]!).toString(16)];
    });
  const hh = expand(h);
  const tt = expand(tl);
  const groups = tail !== undefined ? [...hh, ...Array<string>(8 - hh.length - tt.length).fill('0'), ...tt] : hh;
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** Network-order bytes → canonical address text. */
export function addressText(b: Buffer, family: 4 | 6): string {
  if (family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // RFC 5952: compress the longest run (≥ 2) of zero groups.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
