/** Link-layer header types (tcpdump.org/linktypes.html) that the decoder understands. */
export const LINKTYPE = { EN10MB: 1, RAW: 101, LINUX_SLL: 113, LINUX_SLL2: 276 } as const;

/** One captured frame with its wire timestamp. */
export interface PcapRecord {
  /** 0-based position in the file. */
  index: number;
  /** Timestamp in nanoseconds since the epoch (exact). */
  tsNs: bigint;
  /** Timestamp in milliseconds since the epoch (µs precision kept in the fraction). */
  tsMs: number;
  capLen: number;
  origLen: number;
  data: Uint8Array;
}

/** A parsed classic pcap file. */
export interface PcapFile {
  linktype: number;
  snaplen: number;
  /** True for the nanosecond-resolution magic (0xa1b23c4d). */
  nanosecond: boolean;
  records: PcapRecord[];
  /** True when the file ended inside a record (e.g. tcpdump killed mid-write). */
  truncated: boolean;
}

/** The file is not a classic pcap. */
export class PcapError extends Error {
  readonly code = 'EPCAP';

  constructor(message: string) {
    super(`readPcap: ${message}`);
    this.name = 'PcapError';
  }
}

const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;

/** Parses a classic (libpcap) capture file of either byte order and timestamp resolution. */
export function readPcap(buf: Uint8Array): PcapFile {
  if (buf.length < 24) throw new PcapError(`file too short (${buf.length} bytes) for a pcap header`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const be = dv.getUint32(0, false);
  const le = dv.getUint32(0, true);
  let little: boolean;
  let nanosecond: boolean;
  if (be === MAGIC_US || be === MAGIC_NS) {
    little = false;
    nanosecond = be === MAGIC_NS;
  } else if (le === MAGIC_US || le === MAGIC_NS) {
    little = true;
    nanosecond = le === MAGIC_NS;
  } else {
    throw new PcapError(`bad magic 0x${be.toString(16)} (pcapng is not supported)`);
  }
  const r32 = (off: number): number => dv.getUint32(off, little);
  const file: PcapFile = { linktype: r32(20) & 0x0fffffff, snaplen: r32(16), nanosecond, records: [], truncated: false };
  const fracNs = nanosecond ? 1n : 1000n;
  let off = 24;
  while (off < buf.length) {
    if (off + 16 > buf.length) {
      file.truncated = true;
      break;
    }
    const sec = r32(off);
    const frac = r32(off + 4);
    const capLen = r32(off + 8);
    const origLen = r32(off + 12);
    if (off + 16 + capLen > buf.length) {
      file.truncated = true;
      break;
    }
    const tsNs = BigInt(sec) * 1_000_000_000n + BigInt(frac) * fracNs;
    file.records.push({
      index: file.records.length,
      tsNs,
      tsMs: sec * 1000 + (nanosecond ? frac / 1e6 : frac / 1e3),
      capLen,
      origLen,
      data: buf.subarray(off + 16, off + 16 + capLen),
    });
    off += 16 + capLen;
  }
  return file;
}
