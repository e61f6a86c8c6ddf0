/*
 * Netlink message codec (RFC 3549; linux/netlink.h), pure: headers, 4-byte aligned attributes,
 * nested attributes. Shared by rtnetlink (addresses, links) and generic netlink (IPVS).
 */

/** struct nlmsghdr flags (linux/netlink.h). */
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** Message types every family shares. */
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
/** Attribute type flag for nested attributes. */
export const NLA_F_NESTED = 0x8000;

const HDR = 16;

/** One decoded netlink message. */
export interface NlMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  /** Everything after the 16-byte header. */
  readonly body: Buffer;
}

/** An attribute to encode: raw bytes, or nested attributes. */
export type Attr = { readonly type: number; readonly data: Buffer } | { readonly type: number; readonly nested: readonly Attr[] };

/** Pads a length to netlink's 4-byte alignment. */
export function align(n: number): number {
  return (n + 3) & ~3;
}

/** Encodes attributes, each padded to 4 bytes. */
export function encodeAttrs(attrs: readonly Attr[]): Buffer {
  const parts: Buffer[] = [];
  for (const a of attrs) {
    const data = 'nested' in a ? encodeAttrs(a.nested) : a.data;
    const h = Buffer.alloc(4);
    h.writeUInt16LE(4 + data.length, 0);
    h.writeUInt16LE('nested' in a ? a.type | NLA_F_NESTED : a.type, 2);
    parts.push(h, data, Buffer.alloc(align(data.length) - data.length));
  }
  return Buffer.concat(parts);
}

/** Encodes one message: header, fixed family header, attributes. */
export function encodeMessage(type: number, flags: number, seq: number, fixed: Buffer, attrs: readonly Attr[] = []): Buffer {
  const body = Buffer.concat([fixed, Buffer.alloc(align(fixed.length) - fixed.length), encodeAttrs(attrs)]);
  const h = Buffer.alloc(HDR);
  h.writeUInt32LE(HDR + body.length, 0);
  h.writeUInt16LE(type, 4);
  h.writeUInt16LE(flags, 6);
  h.writeUInt32LE(seq, 8);
  h.writeUInt32LE(0, 12);
  return Buffer.concat([h, body]);
}

/** Splits a datagram into messages; stops (without throwing) at a truncated or malformed one. */
export function decodeMessages(buf: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  let off = 0;
  while (off + HDR <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < HDR || off + len > buf.length) break;
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      body: buf.subarray(off + HDR, off + len),
    });
    off += align(len);
  }
  return out;
}

/** Decodes attributes into a map type → data (last one wins); the nested flag is stripped. */
export function decodeAttrs(buf: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (const [type, data] of iterAttrs(buf)) out.set(type, data);
  return out;
}

/** Iterates attributes in order (repeated types kept). */
export function* iterAttrs(buf: Buffer): Generator<[number, Buffer]> {
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > buf.length) return;
    yield [buf.readUInt16LE(off + 2) & ~NLA_F_NESTED & 0x7fff, buf.subarray(off + 4, off + len)];
    off += align(len);
  }
}

/** The errno carried by an NLMSG_ERROR message (0 = ACK), and the header of the request it answers. */
export function decodeError(m: NlMessage): { errno: number; requestSeq: number } {
  const err = m.body.length >= 4 ? m.body.readInt32LE(0) : -22;
  const seq = m.body.length >= 16 ? m.body.readUInt32LE(4 + 8) : m.seq;
  return { errno: -err, requestSeq: seq };
}

/** Attribute helpers. */
export const attr = {
  u8: (type: number, v: number): Attr => ({ type, data: Buffer.from([v & 0xff]) }),
  u16: (type: number, v: number): Attr => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v);
    return { type, data: b };
  },
  u16be: (type: number, v: number): Attr => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    return { type, data: b };
  },
  u32: (type: number, v: number): Attr => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return { type, data: b };
  },
  u64: (type: number, v: bigint): Attr => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(v);
    return { type, data: b };
  },
  str: (type: number, v: string): Attr => ({ type, data: Buffer.from(`${v}\0`) }),
  bytes: (type: number, v: Buffer): Attr => ({ type, data: v }),
  nested: (type: number, nested: readonly Attr[]): Attr => ({ type, nested }),
};

/** Reads a NUL-terminated string attribute. */
export function attrString(b: Buffer | undefined): string | undefined {
  if (!b) return undefined;
  const z = b.indexOf(0);
  return b.subarray(0, z < 0 ? b.length : z).toString();
}
