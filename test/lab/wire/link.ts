import { DecodeError, macStr, u16 } from './bytes.js';
import { LINKTYPE } from './pcap.js';

/** The link-layer header of a frame. */
export interface LinkLayer {
  kind: 'eth' | 'sll' | 'sll2' | 'raw';
  /** Source MAC (Ethernet, or the SLL sender address). */
  src?: string;
  /** Destination MAC (Ethernet only). */
  dst?: string;
  /** EtherType of the payload (after any 802.1Q tag). */
  ethertype: number;
  /** 802.1Q VLAN id when tagged. */
  vlan?: number;
  /** SLL packet type (0 to us, 1 broadcast, 2 multicast, 3 to other host, 4 sent by us). */
  pkttype?: number;
  /** Offset of the payload in the frame. */
  payloadOffset: number;
}

/** Ethernet II header (IEEE 802.3, no FCS), with one optional 802.1Q tag. */
export function decodeEther(b: Uint8Array): LinkLayer | DecodeError {
  if (b.length < 14) return new DecodeError('ETRUNC', 'eth', `${b.length} bytes < 14`);
  let ethertype = u16(b, 12);
  let off = 14;
  const l: LinkLayer = { kind: 'eth', dst: macStr(b, 0), src: macStr(b, 6), ethertype, payloadOffset: off };
  if (ethertype === 0x8100) {
    if (b.length < 18) return new DecodeError('ETRUNC', 'eth', 'truncated 802.1Q tag');
    l.vlan = u16(b, 14) & 0x0fff;
    ethertype = u16(b, 16);
    off = 18;
  }
  l.ethertype = ethertype;
  l.payloadOffset = off;
  return l;
}

/** Linux "cooked" header v1 (16 bytes) or v2 (20 bytes), as tcpdump writes for `-i any`. */
export function decodeSll(b: Uint8Array, v2: boolean): LinkLayer | DecodeError {
  const layer = v2 ? 'sll2' : 'sll';
  const need = v2 ? 20 : 16;
  if (b.length < need) return new DecodeError('ETRUNC', layer, `${b.length} bytes < ${need}`);
  if (v2) {
    const halen = b[11] ?? 0;
    const l: LinkLayer = { kind: 'sll2', ethertype: u16(b, 0), pkttype: b[10] ?? 0, payloadOffset: 20 };
    if (halen === 6) l.src = macStr(b, 12);
    return l;
  }
  const halen = u16(b, 4);
  const l: LinkLayer = { kind: 'sll', ethertype: u16(b, 14), pkttype: u16(b, 0), payloadOffset: 16 };
  if (halen === 6) l.src = macStr(b, 6);
  return l;
}

/** Decodes the link header for a pcap linktype. */
export function decodeLink(linktype: number, b: Uint8Array): LinkLayer | DecodeError {
  switch (linktype) {
    case LINKTYPE.EN10MB:
      return decodeEther(b);
    case LINKTYPE.LINUX_SLL:
      return decodeSll(b, false);
    case LINKTYPE.LINUX_SLL2:
      return decodeSll(b, true);
    case LINKTYPE.RAW: {
      const v = (b[0] ?? 0) >> 4;
      return { kind: 'raw', ethertype: v === 6 ? 0x86dd : 0x0800, payloadOffset: 0 };
    }
    default:
      return new DecodeError('EUNSUPPORTED', 'link', `linktype ${linktype}`);
  }
}
