import { DecodeError, inetChecksum, ipv4Str, ipv6Str, u16, u32 } from './bytes.js';

/** An IPv4 header (RFC 791). */
export interface IPv4 {
  version: 4;
  ihl: number;
  tos: number;
  totalLength: number;
  id: number;
  df: boolean;
  mf: boolean;
  fragOffset: number;
  ttl: number;
  protocol: number;
  checksum: number;
  checksumOk: boolean;
  src: string;
  dst: string;
  srcBytes: Uint8Array;
  dstBytes: Uint8Array;
  /** Bytes after the header up to totalLength (Ethernet padding removed). */
  payload: Uint8Array;
  /** True when the capture holds less than totalLength. */
  truncated: boolean;
}

/** An IPv6 header (RFC 8200) with the extension-header chain walked. */
export interface IPv6 {
  version: 6;
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
  nextHeader: number;
  hopLimit: number;
  /** Upper-layer protocol after extension headers. */
  protocol: number;
  src: string;
  dst: string;
  srcBytes: Uint8Array;
  dstBytes: Uint8Array;
  /** Upper-layer bytes (after extension headers). */
  payload: Uint8Array;
  truncated: boolean;
}

/** Decodes an IPv4 header and slices its payload. */
export function decodeIPv4(b: Uint8Array): IPv4 | DecodeError {
  if (b.length < 20) return new DecodeError('ETRUNC', 'ipv4', `${b.length} bytes < 20`);
  const version = (b[0] ?? 0) >> 4;
  if (version !== 4) return new DecodeError('EBADVER', 'ipv4', `version ${version}`);
  const ihl = ((b[0] ?? 0) & 0x0f) * 4;
  if (ihl < 20 || ihl > b.length) return new DecodeError('EBADLEN', 'ipv4', `header length ${ihl}`);
  const totalLength = u16(b, 2);
  if (totalLength < ihl) return new DecodeError('EBADLEN', 'ipv4', `total length ${totalLength} < header ${ihl}`);
  const flags = u16(b, 6);
  const end = Math.min(totalLength, b.length);
  return {
    version: 4,
    ihl,
    tos: b[1] ?? 0,
    totalLength,
    id: u16(b, 4),
    df: (flags & 0x4000) !== 0,
    mf: (flags & 0x2000) !== 0,
    fragOffset: (flags & 0x1fff) * 8,
    ttl: b[8] ?? 0,
    protocol: b[9] ?? 0,
    checksum: u16(b, 10),
    checksumOk: inetChecksum(b.subarray(0, ihl)) === 0,
    src: ipv4Str(b, 12),
    dst: ipv4Str(b, 16),
    srcBytes: b.subarray(12, 16),
    dstBytes: b.subarray(16, 20),
    payload: b.subarray(ihl, end),
    truncated: totalLength > b.length,
  };
}

const EXT_HEADERS = new Set([0, 43, 60]); // hop-by-hop, routing, destination options
const FRAGMENT = 44;

/** Decodes an IPv6 header, skipping hop-by-hop/routing/destination/fragment extension headers. */
export function decodeIPv6(b: Uint8Array): IPv6 | DecodeError {
  if (b.length < 40) return new DecodeError('ETRUNC', 'ipv6', `${b.length} bytes < 40`);
  const version = (b[0] ?? 0) >> 4;
  if (version !== 6) return new DecodeError('EBADVER', 'ipv6', `version ${version}`);
  const w = u32(b, 0);
  const payloadLength = u16(b, 4);
  const end = Math.min(40 + payloadLength, b.length);
  const nextHeader = b[6] ?? 0;
  let protocol = nextHeader;
  let off = 40;
  while ((EXT_HEADERS.has(protocol) || protocol === FRAGMENT) && off + 8 <= end) {
    const next = b[off] ?? 0;
    off += protocol === FRAGMENT ? 8 : ((b[off + 1] ?? 0) + 1) * 8;
    protocol = next;
  }
  if (off > end) return new DecodeError('EBADLEN', 'ipv6', 'extension headers run past the payload');
  return {
    version: 6,
    trafficClass: (w >>> 20) & 0xff,
    flowLabel: w & 0xfffff,
    payloadLength,
    nextHeader,
    hopLimit: b[7] ?? 0,
    protocol,
    src: ipv6Str(b, 8),
    dst: ipv6Str(b, 24),
    srcBytes: b.subarray(8, 24),
    dstBytes: b.subarray(24, 40),
    payload: b.subarray(off, end),
    truncated: 40 + payloadLength > b.length,
  };
}

/** A TCP segment header (RFC 9293) and its payload. */
export interface Tcp {
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: { syn: boolean; ack: boolean; fin: boolean; rst: boolean; psh: boolean };
  payload: Uint8Array;
}

/** Decodes a TCP header. */
export function decodeTcp(b: Uint8Array): Tcp | DecodeError {
  if (b.length < 20) return new DecodeError('ETRUNC', 'tcp', `${b.length} bytes < 20`);
  const dataOff = ((b[12] ?? 0) >> 4) * 4;
  if (dataOff < 20 || dataOff > b.length) return new DecodeError('EBADLEN', 'tcp', `data offset ${dataOff}`);
  const f = b[13] ?? 0;
  return {
    sport: u16(b, 0),
    dport: u16(b, 2),
    seq: u32(b, 4),
    ack: u32(b, 8),
    flags: { fin: (f & 1) !== 0, syn: (f & 2) !== 0, rst: (f & 4) !== 0, psh: (f & 8) !== 0, ack: (f & 16) !== 0 },
    payload: b.subarray(dataOff),
  };
}

/** A UDP header (RFC 768) and its payload. */
export interface Udp {
  sport: number;
  dport: number;
  length: number;
  payload: Uint8Array;
}

/** Decodes a UDP header. */
export function decodeUdp(b: Uint8Array): Udp | DecodeError {
  if (b.length < 8) return new DecodeError('ETRUNC', 'udp', `${b.length} bytes < 8`);
  const length = u16(b, 4);
  return { sport: u16(b, 0), dport: u16(b, 2), length, payload: b.subarray(8, Math.min(Math.max(length, 8), b.length)) };
}
