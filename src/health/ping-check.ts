import { randomBytes, randomInt } from 'node:crypto';
import net from 'node:net';
import * as libc from '../net/libc.js';
import { type Poller, poller } from '../net/poller.js';
import { sockaddrAddress, sockaddrIn, sockaddrIn6 } from '../net/sockaddr.js';
import { type Clock, realClock } from '../util/clock.js';
import { type CheckResult, type Reason, reasonOf } from './result.js';

/*
 * PING_CHECK (keepalived check_ping.c): one ICMP / ICMPv6 echo request, up when the matching echo
 * reply comes back within connect_timeout. In-process, on an ICMP datagram socket
 * (`socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)`, allowed by net.ipv4.ping_group_range; the kernel
 * then fills in the identifier and delivers only our replies) or, when that is refused, a raw
 * socket (CAP_NET_RAW). All checks with the same family, source, interface and mark share one
 * socket, opened on first use and closed when no echo is outstanding; replies are matched by
 * sequence number, identifier (raw sockets), an 8-byte random token in the payload, and source.
 */

const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;
/** SOL_SOCKET SO_MARK (asm-generic/socket.h). */
const SO_MARK = 36;
/** RFC 792 echo / echo reply, RFC 4443 §4.1-4.2. */
const ECHO = { 4: { request: 8, reply: 0 }, 6: { request: 128, reply: 129 } } as const;
/** Echo payload: an 8-byte random token, zero-padded. */
const PAYLOAD_BYTES = 16;

/** How to open the ICMP socket: datagram, raw, or datagram falling back to raw (default). */
export type IcmpMode = 'auto' | 'dgram' | 'raw';

/** One PING_CHECK. */
export interface PingCheckOptions {
  readonly host: string;
  readonly localAddress?: string;
  /** bind_if: SO_BINDTODEVICE, and the scope of an IPv6 link-local destination. */
  readonly bindIf?: string;
  readonly fwmark?: number;
  /** connect_timeout: how long to wait for the reply, ms. */
  readonly deadlineMs: number;
  readonly mode?: IcmpMode;
  readonly poller?: Poller;
}

/** RFC 1071 Internet checksum. */
export function icmpChecksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length % 2 === 1) sum += b[b.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An echo request; the ICMPv4 checksum is filled in (the kernel computes ICMPv6's). */
export function echoRequest(family: 4 | 6, id: number, seq: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b[0] = ECHO[family].request;
  b.writeUInt16BE(id, 4);
  b.writeUInt16BE(seq, 6);
  payload.copy(b, 8);
  if (family === 4) b.writeUInt16BE(icmpChecksum(b), 2);
  return b;
}

/** An echo reply read from an ICMP message (the ICMP header first), or undefined for anything else. */
export function parseEchoReply(family: 4 | 6, icmp: Buffer): { id: number; seq: number; payload: Buffer } | undefined {
  if (icmp.length < 8 || icmp[0] !== ECHO[family].reply || icmp[1] !== 0) return undefined;
  return { id: icmp.readUInt16BE(4), seq: icmp.readUInt16BE(6), payload: icmp.subarray(8) };
}

interface Pending {
  readonly token: Buffer;
  readonly dst: string;
  readonly onReply: () => void;
}

/** One shared ICMP socket and the echoes outstanding on it. */
class Endpoint {
  readonly fd: number;
  readonly raw: boolean;
  /** Identifier of our echoes on a raw socket (a datagram socket's is the kernel's). */
  readonly id = randomInt(0x10000);
  private seq = randomInt(0x10000);
  readonly pending = new Map<number, Pending>();
  private readonly name = Buffer.alloc(28);
  private readonly data = Buffer.alloc(2048);

  constructor(
    readonly key: string,
    readonly family: 4 | 6,
    o: PingCheckOptions,
    private readonly poller: Poller,
    private readonly onIdle: (e: Endpoint) => void,
  ) {
    const af = family === 4 ? libc.AF_INET : libc.AF_INET6;
    const proto = family === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
    const mode = o.mode ?? 'auto';
    let fd = -1;
    let raw = mode === 'raw';
    if (!raw) {
      try {
        fd = libc.socket(af, libc.SOCK_DGRAM, proto);
      } catch (e) {
        // EACCES: our group is outside net.ipv4.ping_group_range; fall back to a raw socket.
        if (mode === 'dgram' || !(e instanceof libc.SysError) || !['EACCES', 'EPERM', 'EPROTONOSUPPORT'].includes(e.code)) throw e;
        raw = true;
      }
    }
    if (raw) fd = libc.socket(af, libc.SOCK_RAW, proto);
    this.fd = fd;
    this.raw = raw;
    try {
      if (o.bindIf !== undefined) libc.setsockopt(fd, libc.SOL_SOCKET, libc.SO_BINDTODEVICE, Buffer.from(`${o.bindIf}\0`), `SO_BINDTODEVICE ${o.bindIf}`);
      if (o.fwmark !== undefined) libc.setsockoptInt(fd, libc.SOL_SOCKET, SO_MARK, o.fwmark, 'SO_MARK');
      if (o.localAddress !== undefined) libc.bind(fd, family === 4 ? sockaddrIn(o.localAddress) : sockaddrIn6(o.localAddress, o.bindIf !== undefined ? libc.ifIndex(o.bindIf) : 0));
      this.poller.add(fd, () => this.drain());
    } catch (e) {
      libc.close(fd);
      throw e;
    }
  }

  /** A sequence number no outstanding echo uses. */
  nextSeq(): number {
    for (let i = 0; i < 0x10000; i++) {
      this.seq = (this.seq + 1) & 0xffff;
      if (!this.pending.has(this.seq)) return this.seq;
    }
    throw new Error('65536 echoes outstanding on one ICMP socket');
  }

  send(dst: Buffer, packet: Buffer): void {
    libc.sendto(this.fd, packet, dst, 'sendto');
  }

  /** Forgets an echo; closes the socket when none is left. */
  release(seq: number): void {
    this.pending.delete(seq);
    if (this.pending.size === 0) {
      this.poller.close(this.fd);
      this.onIdle(this);
    }
  }

  private drain(): void {
    for (let n = 0; n < 1024 && this.pending.size > 0; n++) {
      let r: libc.Received | undefined;
      try {
        r = libc.recvmsg(this.fd, this.name, this.data, null);
      } catch {
        return; // a pending socket error; nothing to read
      }
      if (!r) return;
      let icmp = this.data.subarray(0, r.length);
      if (this.raw && this.family === 4) {
        // Raw IPv4 sockets deliver the IP header (RFC 791 IHL in 32-bit words).
        const ihl = icmp.length > 0 ? (icmp[0]! & 0x0f) * 4 : 0;
        if (ihl < 20 || ihl > icmp.length) continue;
        icmp = icmp.subarray(ihl);
      }
      const echo = parseEchoReply(this.family, icmp);
      if (!echo) continue;
      const p = this.pending.get(echo.seq);
      if (!p || (this.raw && echo.id !== this.id) || !echo.payload.subarray(0, p.token.length).equals(p.token)) continue;
      if (sockaddrAddress(this.name) !== p.dst) continue;
      p.onReply();
    }
  }
}

const endpoints = new Map<string, Endpoint>();

/** Canonical text of an address, as sockaddrAddress prints it. */
function canonical(host: string, family: 4 | 6): string {
  return sockaddrAddress(family === 4 ? sockaddrIn(host) : sockaddrIn6(host)) ?? host;
}

/** Sends one echo request and waits for its reply; resolves to a CheckResult, never rejects. */
export function pingCheck(o: PingCheckOptions, clock: Clock = realClock): Promise<CheckResult> {
  const t0 = clock.now();
  return new Promise<CheckResult>((resolve) => {
    let done = false;
    let ep: Endpoint | undefined;
    let seq = -1;
    const cancel = clock.setTimeout(() => finish('no-reply', `no echo reply within ${o.deadlineMs} ms`), o.deadlineMs);
    function finish(reason: Reason, detail: string): void {
      if (done) return;
      done = true;
      cancel();
      if (ep && seq >= 0) ep.release(seq);
      resolve({ ok: reason === 'ok', reason, latencyMs: clock.now() - t0, detail });
    }
    const family = net.isIPv6(o.host.replace(/%.*$/, '')) ? 6 : net.isIPv4(o.host) ? 4 : 0;
    if (family === 0) return finish('bad-config', `PING_CHECK: ${JSON.stringify(o.host)} is not an IP address`);
    const mode = o.mode ?? 'auto';
    const key = `${family}|${mode}|${o.localAddress ?? ''}|${o.bindIf ?? ''}|${o.fwmark ?? ''}`;
    try {
      const scope = family === 6 && o.bindIf !== undefined ? libc.ifIndex(o.bindIf) : 0;
      const dst = family === 4 ? sockaddrIn(o.host) : sockaddrIn6(o.host, scope);
      const token = randomBytes(8);
      ep = endpoints.get(key);
      if (!ep) {
        ep = new Endpoint(key, family, o, o.poller ?? poller(), (e) => {
          if (endpoints.get(e.key) === e) endpoints.delete(e.key);
        });
        endpoints.set(key, ep);
      }
      seq = ep.nextSeq();
      ep.pending.set(seq, { token, dst: canonical(o.host.replace(/%.*$/, ''), family), onReply: () => finish('ok', `echo reply (${ep!.raw ? 'raw' : 'datagram'} socket)`) });
      const payload = Buffer.concat([token, Buffer.alloc(PAYLOAD_BYTES - token.length)]);
      ep.send(dst, echoRequest(family, ep.id, seq, payload));
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      finish(reasonOf(e), `ICMP${family === 6 ? 'v6' : ''} echo to ${o.host}: ${typeof code === 'string' ? code : (e as Error).message}`);
    }
  });
}

/** Sockets open right now (for tests and status): one per family/source/interface/mark in use. */
export function openIcmpSockets(): number {
  return endpoints.size;
}
