import { AF_INET, AF_INET6 } from './libc.js';
import { addressBytes, addressText } from '../vrrp/packet.js';

/** struct sockaddr_in for `addr` (port 0 unless given). */
export function sockaddrIn(addr: string, port = 0): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(AF_INET, 0);
  b.writeUInt16BE(port, 2);
  addressBytes(addr, 4).copy(b, 4);
  return b;
}

/** struct sockaddr_in6 for `addr` with a scope (interface index) for link-local addresses. */
export function sockaddrIn6(addr: string, scopeId = 0, port = 0): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt16LE(AF_INET6, 0);
  b.writeUInt16BE(port, 2);
  addressBytes(addr.replace(/%.*$/, ''), 6).copy(b, 8);
  b.writeUInt32LE(scopeId, 24);
  return b;
}

/** The address in a sockaddr_in / sockaddr_in6 buffer. */
export function sockaddrAddress(b: Buffer): string | undefined {
  const fam = b.readUInt16LE(0);
  if (fam === AF_INET) return addressText(b.subarray(4, 8), 4);
  if (fam === AF_INET6) return addressText(b.subarray(8, 24), 6);
  return undefined;
}

/** Walks the control messages of a recvmsg (x86_64 layout: 16-byte header, 8-byte alignment). */
export function* cmsgs(ctrl: Buffer, length: number): Generator<{ level: number; type: number; data: Buffer }> {
  let off = 0;
  while (off + 16 <= length) {
    const len = Number(ctrl.readBigUInt64LE(off));
    if (len < 16 || off + len > length) return;
    yield { level: ctrl.readInt32LE(off + 8), type: ctrl.readInt32LE(off + 12), data: ctrl.subarray(off + 16, off + len) };
    off += (len + 7) & ~7;
  }
}
