import * as libc from './libc.js';
import { type Poller, poller } from './poller.js';
import { cmsgs, sockaddrAddress, sockaddrIn, sockaddrIn6 } from './sockaddr.js';
import { VRRP_MCAST4, VRRP_MCAST6, VRRP_PROTO, VRRP_TTL, addressBytes, addressText } from '../vrrp/packet.js';

/** A VRRP packet as received, with what RFC 5798 §7.1 needs from the IP layer. */
export interface ReceivedPacket {
  readonly family: 4 | 6;
  readonly src: string;
  readonly dst: string;
  /** IPv4 TTL or IPv6 hop limit, as read from the packet / ancillary data. */
  readonly ttl: number;
  /** Bytes of IP header before the payload as received (IPv4 IHL; 0 for IPv6), for log lines. */
  readonly headerLength: number;
  /** The VRRP message (IP payload). */
  readonly payload: Buffer;
}

/** How to open a VRRP socket. */
export interface VrrpSocketOptions {
  readonly family: 4 | 6;
  /** Interface to send and receive on (SO_BINDTODEVICE). */
  readonly ifname: string;
  /** Source address of our adverts (IPv4 primary / unicast_src_ip, IPv6 link-local). */
  readonly source: string;
  /** Join the VRRP multicast group (false for unicast-only instances). */
  readonly multicast: boolean;
  /** The group to join instead of 224.0.0.18 / ff02::12 (`mcast_dst_ip`, `vrrp_mcast_group4/6`). */
  readonly group?: string;
  readonly poller?: Poller;
}

/** The narrow interface the VRRP engine uses; a fake stands beside it in unit tests. */
export interface VrrpTransport {
  send(payload: Buffer, dst?: string): void;
  close(): void;
}

/**
 * A raw IP socket for protocol 112 bound to one interface: TTL / hop limit 255 on send,
 * multicast loop off, the group joined on that interface only, and the TTL / hop limit of every
 * received packet read (IPv4 from the header, IPv6 from IPV6_HOPLIMIT ancillary data).
 */
export class VrrpSocket implements VrrpTransport {
  /** Receives: unbound (a raw socket bound to an address only sees packets sent to it). */
  private readonly fd: number;
  /** Sends: bound to the source address, so the v3 checksum's pseudo-header matches. */
  private readonly tx: number;
  private readonly poller: Poller;
  private readonly ifindex: number;
  private readonly data = Buffer.alloc(65536);
  private readonly name = Buffer.alloc(28);
  private readonly control = Buffer.alloc(256);
  private closed = false;

  constructor(
    readonly opts: VrrpSocketOptions,
    private readonly onPacket: (p: ReceivedPacket) => void,
  ) {
    this.poller = opts.poller ?? poller();
    this.ifindex = libc.ifIndex(opts.ifname);
    const v4 = opts.family === 4;
    this.fd = libc.socket(v4 ? libc.AF_INET : libc.AF_INET6, libc.SOCK_RAW, VRRP_PROTO);
    let tx = -1;
    try {
      tx = libc.socket(v4 ? libc.AF_INET : libc.AF_INET6, libc.SOCK_RAW, VRRP_PROTO);
      this.setup(this.fd, tx);
    } catch (e) {
      libc.close(this.fd);
      if (tx >= 0) libc.close(tx);
      throw e;
    }
    this.tx = tx;
    this.poller.add(this.fd, () => this.drain());
    // The send socket also receives copies of every VRRP packet; nobody reads it, so keep its
    // receive buffer minimal (the kernel drops what does not fit).
    libc.setsockoptInt(this.tx, libc.SOL_SOCKET, libc.SO_RCVBUF, 0, 'SO_RCVBUF');
  }

  private setup(rx: number, tx: number): void {
    const opts = this.opts;
    const v4 = opts.family === 4;
    for (const fd of [rx, tx]) libc.setsockopt(fd, libc.SOL_SOCKET, libc.SO_BINDTODEVICE, Buffer.from(`${opts.ifname}\0`), `SO_BINDTODEVICE ${opts.ifname}`);
    {
      const fd = tx;
      if (v4) {
        libc.setsockoptInt(fd, libc.IPPROTO_IP, libc.IP_TOS, 0xc0, 'IP_TOS'); // keepalived: IPTOS_PREC_INTERNETCONTROL
        libc.setsockoptInt(fd, libc.IPPROTO_IP, libc.IP_TTL, VRRP_TTL, 'IP_TTL');
        libc.setsockoptInt(fd, libc.IPPROTO_IP, libc.IP_MULTICAST_TTL, VRRP_TTL, 'IP_MULTICAST_TTL');
        libc.setsockoptInt(fd, libc.IPPROTO_IP, libc.IP_MULTICAST_LOOP, 0, 'IP_MULTICAST_LOOP');
        libc.setsockopt(fd, libc.IPPROTO_IP, libc.IP_MULTICAST_IF, ipMreqn('0.0.0.0', this.ifindex), 'IP_MULTICAST_IF');
        libc.bind(fd, sockaddrIn(opts.source));
        if (opts.multicast) this.joinOn(rx, opts.group ?? VRRP_MCAST4);
      } else {
        libc.setsockoptInt(fd, libc.IPPROTO_IPV6, libc.IPV6_TCLASS, 0xc0, 'IPV6_TCLASS');
        libc.setsockoptInt(fd, libc.IPPROTO_IPV6, libc.IPV6_UNICAST_HOPS, VRRP_TTL, 'IPV6_UNICAST_HOPS');
        libc.setsockoptInt(fd, libc.IPPROTO_IPV6, libc.IPV6_MULTICAST_HOPS, VRRP_TTL, 'IPV6_MULTICAST_HOPS');
        libc.setsockoptInt(fd, libc.IPPROTO_IPV6, libc.IPV6_MULTICAST_LOOP, 0, 'IPV6_MULTICAST_LOOP');
        libc.setsockoptInt(fd, libc.IPPROTO_IPV6, libc.IPV6_MULTICAST_IF, this.ifindex, 'IPV6_MULTICAST_IF');
        libc.setsockoptInt(rx, libc.IPPROTO_IPV6, libc.IPV6_RECVHOPLIMIT, 1, 'IPV6_RECVHOPLIMIT');
        libc.setsockoptInt(rx, libc.IPPROTO_IPV6, libc.IPV6_RECVPKTINFO, 1, 'IPV6_RECVPKTINFO');
        libc.bind(fd, sockaddrIn6(opts.source, this.ifindex));
        if (opts.multicast) this.joinOn(rx, opts.group ?? VRRP_MCAST6);
      }
    }
  }

  private readonly joined = new Set<string>();
  private ttl = VRRP_TTL;

  /** Joins another multicast group on the receive socket (instances sharing the socket may differ). */
  join(group: string): void {
    if (!this.closed) this.joinOn(this.fd, group);
  }

  private joinOn(fd: number, group: string): void {
    if (this.joined.has(group)) return;
    if (this.opts.family === 4) libc.setsockopt(fd, libc.IPPROTO_IP, libc.IP_ADD_MEMBERSHIP, ipMreqn(group, this.ifindex), `IP_ADD_MEMBERSHIP ${group}`);
    else {
      const mreq = Buffer.alloc(20);
      addressBytes(group, 6).copy(mreq, 0);
      mreq.writeUInt32LE(this.ifindex, 16);
      libc.setsockopt(fd, libc.IPPROTO_IPV6, libc.IPV6_JOIN_GROUP, mreq, `IPV6_JOIN_GROUP ${group}`);
    }
    this.joined.add(group);
  }

  /**
   * Sends one VRRP message to `dst` (default: the VRRP multicast group). `unicastTtl` sets the
   * TTL / hop limit of unicast adverts (`unicast_ttl`, default 255).
   */
  send(payload: Buffer, dst?: string, unicastTtl = VRRP_TTL): void {
    if (this.closed) throw new Error('VRRP socket is closed');
    const v4 = this.opts.family === 4;
    const target = dst ?? (v4 ? VRRP_MCAST4 : VRRP_MCAST6);
    const multicast = v4 ? Number(target.split('.')[0]) >= 224 : target.toLowerCase().startsWith('ff');
    const ttl = multicast ? VRRP_TTL : unicastTtl;
    if (!multicast && ttl !== this.ttl) {
      if (v4) libc.setsockoptInt(this.tx, libc.IPPROTO_IP, libc.IP_TTL, ttl, 'IP_TTL');
      else libc.setsockoptInt(this.tx, libc.IPPROTO_IPV6, libc.IPV6_UNICAST_HOPS, ttl, 'IPV6_UNICAST_HOPS');
      this.ttl = ttl;
    }
    const to = v4 ? sockaddrIn(target) : sockaddrIn6(target, target.startsWith('fe80') || target.startsWith('ff02') ? this.ifindex : 0);
    libc.sendto(this.tx, payload, to, `sendto ${target} on ${this.opts.ifname}`);
  }

  /** Closes the socket; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.poller.close(this.fd);
    libc.close(this.tx);
  }

  private drain(): void {
    for (let n = 0; n < 1024 && !this.closed; n++) {
      const r = libc.recvmsg(this.fd, this.name, this.data, this.opts.family === 6 ? this.control : null);
      if (!r) return;
      const p = this.opts.family === 4 ? this.parse4(r.length) : this.parse6(r);
      if (p) this.onPacket(p);
    }
  }

  /** Raw IPv4 sockets deliver the IP header: TTL, source and destination come from it. */
  private parse4(length: number): ReceivedPacket | undefined {
    const d = this.data;
    if (length < 20) return undefined;
    const ihl = (d[0]! & 0x0f) * 4;
    if (ihl < 20 || length < ihl) return undefined;
    return {
      family: 4,
      ttl: d[8]!,
      headerLength: ihl,
      src: addressText(d.subarray(12, 16), 4),
      dst: addressText(d.subarray(16, 20), 4),
      payload: Buffer.from(d.subarray(ihl, length)),
    };
  }

  /** Raw IPv6 sockets deliver the payload only: hop limit and destination come as ancillary data. */
  private parse6(r: libc.Received): ReceivedPacket | undefined {
    let ttl = -1;
    let dst = '';
    for (const m of cmsgs(this.control, r.controlLength)) {
      if (m.level !== libc.IPPROTO_IPV6) continue;
      if (m.type === libc.IPV6_HOPLIMIT && m.data.length >= 4) ttl = m.data.readInt32LE(0);
      if (m.type === libc.IPV6_PKTINFO && m.data.length >= 20) dst = addressText(m.data.subarray(0, 16), 6);
    }
    const src = sockaddrAddress(this.name);
    if (!src) return undefined;
    return { family: 6, ttl, src, dst, headerLength: 0, payload: Buffer.from(this.data.subarray(0, r.length)) };
  }
}

/** struct ip_mreqn { in_addr multiaddr; in_addr address; int ifindex; }. */
function ipMreqn(group: string, ifindex: number): Buffer {
  const b = Buffer.alloc(12);
  addressBytes(group, 4).copy(b, 0);
  b.writeInt32LE(ifindex, 8);
  return b;
}
