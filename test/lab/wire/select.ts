import type { Packet } from './decode.js';
import type { Vrrp } from './vrrp.js';

/** A packet known to carry a VRRP message. */
export type VrrpPacket = Packet & { vrrp: Vrrp };

/** VRRP advertisements, optionally of one VRID. */
export function vrrpAdverts(packets: readonly Packet[], vrid?: number): VrrpPacket[] {
  return packets.filter(
    (p): p is VrrpPacket => p.vrrp !== undefined && p.vrrp.type === 1 && (vrid === undefined || p.vrrp.vrid === vrid),
  );
}

/** Gratuitous ARPs (sender IP = target IP), optionally for one address. */
export function gratuitousArps(packets: readonly Packet[], ip?: string): Packet[] {
  return packets.filter((p) => p.arp?.gratuitous === true && (ip === undefined || p.arp.spa === ip));
}

/** Unsolicited neighbour advertisements (type 136 with S clear), optionally for one target. */
export function unsolicitedNAs(packets: readonly Packet[], target?: string): Packet[] {
  return packets.filter(
    (p) => p.icmp6?.type === 136 && p.icmp6.flags?.S === false && (target === undefined || p.icmp6.target === target),
  );
}

/** Splits time-ordered packets into bursts: a gap above `maxGapMs` starts a new burst. */
export function bursts<T extends Packet>(packets: readonly T[], maxGapMs: number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  for (const p of packets) {
    const last = cur[cur.length - 1];
    if (last !== undefined && p.tsMs - last.tsMs > maxGapMs) {
      out.push(cur);
      cur = [];
    }
    cur.push(p);
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
