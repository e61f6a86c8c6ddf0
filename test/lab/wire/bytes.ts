/** Why a layer could not be decoded; decoders return these instead of throwing. */
export type DecodeErrorCode = 'ETRUNC' | 'EBADLEN' | 'EBADVER' | 'EUNSUPPORTED';

/** A decoding problem at one layer of one frame. */
export class DecodeError extends Error {
  readonly code: DecodeErrorCode;
  /** Layer that failed, e.g. `vrrp`. */
  readonly layer: string;

  constructor(code: DecodeErrorCode, layer: string, message: string) {
    super(`decode ${layer}: ${message}`);
    this.name = 'DecodeError';
    this.code = code;
    this.layer = layer;
  }
}

/** Big-endian 16-bit read. */
export function u16(b: Uint8Array, off: number): number {
  return ((b[off] ?? 0) << 8) | (b[off + 1] ?? 0);
}

/** Big-endian 32-bit read. */
export function u32(b: Uint8Array, off: number): number {
  return (((b[off] ?? 0) << 24) >>> 0) + (((b[off + 1] ?? 0) << 16) | ((b[off + 2] ?? 0) << 8) | (b[off + 3] ?? 0));
}

/** Lowercase hex of bytes. */
export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** `aa:bb:cc:dd:ee:ff` form of a 6-byte MAC. */
export function macStr(b: Uint8Array, off = 0): string {
  return [...b.subarray(off, off + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Dotted-quad form of an IPv4 address. */
export function ipv4Str(b: Uint8Array, off = 0): string {
  return [...b.subarray(off, off + 4)].join('.');
}

/** RFC 5952 text form of an IPv6 address (lowercase, longest zero run of ≥ 2 groups as `::`). */
export function ipv6Str(b: Uint8Array, off = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(u16(b, off + 2 * i));
  let bestAt = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const parts = g.map((x) => x.toString(16));
  if (bestAt < 0) return parts.join(':');
  return `${parts.slice(0, bestAt).join(':')}::${parts.slice(bestAt + bestLen).join(':')}`;
}

/** RFC 1071 one's-complement sum of `parts`, folded and complemented (0 over data holding a valid checksum). */
export function inetChecksum(...parts: Uint8Array[]): number {
  let sum = 0;
  for (const p of parts) {
    for (let i = 0; i + 1 < p.length; i += 2) sum += ((p[i] ?? 0) << 8) | (p[i + 1] ?? 0);
    if (p.length % 2 === 1) sum += (p[p.length - 1] ?? 0) << 8;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The pseudo-header used by upper-layer checksums (RFC 768/793 for IPv4, RFC 8200 §8.1 for IPv6). */
export function pseudoHeader(version: 4 | 6, src: Uint8Array, dst: Uint8Array, proto: number, length: number): Uint8Array {
  if (version === 4) {
    const p = new Uint8Array(12);
    p.set(src.subarray(0, 4), 0);
    p.set(dst.subarray(0, 4), 4);
    p[9] = proto;
    p[10] = (length >> 8) & 0xff;
    p[11] = length & 0xff;
    return p;
  }
  const p = new Uint8Array(40);
  p.set(src.subarray(0, 16), 0);
  p.set(dst.subarray(0, 16), 16);
  p[34] = (length >> 8) & 0xff;
  p[35] = length & 0xff;
  p[39] = proto;
  return p;
}
