import { type Arp, decodeArp } from './arp.js';
import { DecodeError } from './bytes.js';
import { type Icmp6, IPPROTO_ICMPV6, decodeIcmp6 } from './icmp6.js';
import { type IPv4, type IPv6, type Tcp, type Udp, decodeIPv4, decodeIPv6, decodeTcp, decodeUdp } from './ip.js';
import { type LinkLayer, decodeLink } from './link.js';
import { type PcapRecord, readPcap } from './pcap.js';
import { IPPROTO_VRRP, type Vrrp, decodeVrrp } from './vrrp.js';

/** Address-family-independent view of the IP header. */
export interface IpSummary {
  version: 4 | 6;
  src: string;
  dst: string;
  /** IPv4 TTL or IPv6 hop limit. */
  ttl: number;
  /** Upper-layer protocol number. */
  protocol: number;
}

/** Network and transport layers of a packet (also used for the inner packet of an IP-in-IP tunnel). */
export interface IpLayers {
  ip?: IpSummary;
  ipv4?: IPv4;
  ipv6?: IPv6;
  vrrp?: Vrrp;
  icmp6?: Icmp6;
  tcp?: Tcp;
  udp?: Udp;
  /** The encapsulated packet of IPv4-in-IPv4 (protocol 4, as IPVS tunnel mode sends). */
  inner?: IpLayers;
}

/** One decoded frame with its wire timestamp; layers that could not be decoded are in `errors`. */
export interface Packet extends IpLayers {
  index: number;
  /** Wire timestamp, ns since the epoch. */
  tsNs: bigint;
  /** Wire timestamp, ms since the epoch (fractional). */
  tsMs: number;
  origLen: number;
  frame: Uint8Array;
  link?: LinkLayer;
  arp?: Arp;
  errors: DecodeError[];
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_ARP = 0x0806;
const IPPROTO_IPIP = 4;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

function decodeIp(b: Uint8Array, version: 4 | 6, errors: DecodeError[], depth: number): IpLayers {
  const out: IpLayers = {};
  const h = version === 4 ? decodeIPv4(b) : decodeIPv6(b);
  if (h instanceof DecodeError) {
    errors.push(h);
    return out;
  }
  if (h.version === 4) {
    out.ipv4 = h;
    out.ip = { version: 4, src: h.src, dst: h.dst, ttl: h.ttl, protocol: h.protocol };
    if (h.fragOffset > 0) return out; // not the first fragment: no upper-layer header here
  } else {
    out.ipv6 = h;
    out.ip = { version: 6, src: h.src, dst: h.dst, ttl: h.hopLimit, protocol: h.protocol };
  }
  const add = <T>(v: T | DecodeError, set: (v: T) => void): void => {
    if (v instanceof DecodeError) errors.push(v);
    else set(v);
  };
  switch (h.protocol) {
    case IPPROTO_VRRP:
      add(decodeVrrp(h.payload, h), (v) => (out.vrrp = v));
      break;
    case IPPROTO_ICMPV6:
      if (h.version === 6) add(decodeIcmp6(h.payload, h.srcBytes, h.dstBytes), (v) => (out.icmp6 = v));
      break;
    case IPPROTO_TCP:
      add(decodeTcp(h.payload), (v) => (out.tcp = v));
      break;
    case IPPROTO_UDP:
      add(decodeUdp(h.payload), (v) => (out.udp = v));
      break;
    case IPPROTO_IPIP:
      if (depth < 2) out.inner = decodeIp(h.payload, 4, errors, depth + 1);
      break;
  }
  return out;
}

/** Decodes one pcap record of the given linktype; never throws on malformed bytes. */
export function decodeFrame(linktype: number, rec: PcapRecord): Packet {
  const p: Packet = { index: rec.index, tsNs: rec.tsNs, tsMs: rec.tsMs, origLen: rec.origLen, frame: rec.data, errors: [] };
  const link = decodeLink(linktype, rec.data);
  if (link instanceof DecodeError) {
    p.errors.push(link);
    return p;
  }
  p.link = link;
  const payload = rec.data.subarray(link.payloadOffset);
  if (link.ethertype === ETH_ARP) {
    const a = decodeArp(payload);
    if (a instanceof DecodeError) p.errors.push(a);
    else p.arp = a;
  } else if (link.ethertype === ETH_IPV4 || link.ethertype === ETH_IPV6) {
    Object.assign(p, decodeIp(payload, link.ethertype === ETH_IPV4 ? 4 : 6, p.errors, 0));
  }
  return p;
}

/** Reads a classic pcap file and decodes every frame. */
export function decodePcap(buf: Uint8Array): Packet[] {
  const f = readPcap(buf);
  return f.records.map((r) => decodeFrame(f.linktype, r));
}
