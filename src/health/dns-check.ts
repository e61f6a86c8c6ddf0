import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { type Clock, realClock } from '../util/clock.js';
import { type CheckResult, type Reason, reasonOf } from './result.js';

/*
 * DNS_CHECK (keepalived check_dns.c): one query over UDP to connect_ip:connect_port with a random
 * id and RD set. A datagram that is too short, carries another id or is not a response is ignored
 * and the check keeps waiting, as keepalived does; the first response with our id decides: RCODE
 * 0 (NOERROR) is up, even with no answer record (keepalived does not look at ANCOUNT), any other
 * RCODE is down. The tiny codec (RFC 1035 §4.1) is here: a query out, a header in.
 */

/** Query types keepalived 2.2.7 accepts, with their RFC 1035 / 3596 / 4034 codes. */
export const DNS_TYPE_CODES = { A: 1, NS: 2, CNAME: 5, SOA: 6, MX: 15, TXT: 16, AAAA: 28, RRSIG: 46, DNSKEY: 48 } as const;
/** A query type name. */
export type DnsType = keyof typeof DNS_TYPE_CODES;

/** RCODE names (RFC 1035 §4.1.1, RFC 6895 §2.3). */
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

/** Size of the DNS header. */
export const DNS_HEADER_BYTES = 12;

/** Encodes `name` as DNS labels ending with the root label; throws on an empty or too long label. */
export function encodeName(name: string): Buffer {
  const labels = name === '.' ? [] : name.replace(/\.$/, '').split('.');
  const parts: Buffer[] = [];
  for (const l of labels) {
    const b = Buffer.from(l, 'latin1');
    if (b.length === 0 || b.length > 63) throw new Error(`DNS name ${JSON.stringify(name)}: label ${JSON.stringify(l)} must be 1-63 bytes (RFC 1035 §2.3.4)`);
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  if (out.length > 255) throw new Error(`DNS name ${JSON.stringify(name)} exceeds 255 bytes (RFC 1035 §2.3.4)`);
  return out;
}

/** A standard query: id, RD=1, one question of `type` class IN (keepalived dns_make_query). */
export function encodeQuery(id: number, name: string, type: DnsType): Buffer {
  const h = Buffer.alloc(DNS_HEADER_BYTES);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(0x0100, 2); // RD
  h.writeUInt16BE(1, 4); // QDCOUNT
  const q = Buffer.alloc(4);
  q.writeUInt16BE(DNS_TYPE_CODES[type], 0);
  q.writeUInt16BE(1, 2); // IN
  return Buffer.concat([h, encodeName(name), q]);
}

/** The header fields a check needs. */
export interface DnsHeader {
  readonly id: number;
  /** QR: this is a response. */
  readonly response: boolean;
  readonly rcode: number;
  readonly qdcount: number;
  readonly ancount: number;
}

/** Decodes a header; undefined when the datagram is too short to hold one. */
export function decodeHeader(b: Buffer): DnsHeader | undefined {
  if (b.length < DNS_HEADER_BYTES) return undefined;
  const flags = b.readUInt16BE(2);
  return { id: b.readUInt16BE(0), response: (flags & 0x8000) !== 0, rcode: flags & 0x0f, qdcount: b.readUInt16BE(4), ancount: b.readUInt16BE(6) };
}

/** The name of an RCODE, e.g. `NXDOMAIN (3)`. */
export function rcodeName(rcode: number): string {
  return `${RCODES[rcode] ?? 'RCODE'} (${rcode})`;
}

/** One DNS_CHECK. */
export interface DnsCheckOptions {
  readonly host: string;
  readonly port: number;
  readonly localAddress?: string;
  readonly localPort?: number;
  /** Hard deadline for the answer, ms. */
  readonly deadlineMs: number;
  readonly type: DnsType;
  readonly name: string;
  /** Query id; random by default (tests pin it). */
  readonly id?: number;
}

/** Sends one query and waits for its response; resolves to a CheckResult, never rejects. */
export function dnsCheck(o: DnsCheckOptions, clock: Clock = realClock): Promise<CheckResult> {
  const t0 = clock.now();
  const id = o.id ?? randomInt(0x10000);
  return new Promise<CheckResult>((resolve) => {
    let done = false;
    let sock: dgram.Socket | undefined;
    /** Why the last datagram was ignored, reported if nothing better comes. */
    let ignored: string | undefined;
    let ignoredCount = 0;
    const cancel = clock.setTimeout(
      () => (ignored === undefined ? finish('no-reply', `no response within ${o.deadlineMs} ms`) : finish('bad-reply', `no valid response within ${o.deadlineMs} ms; ${ignoredCount} datagram(s) ignored, last: ${ignored}`)),
      o.deadlineMs,
    );
    function finish(reason: Reason, detail: string): void {
      if (done) return;
      done = true;
      cancel();
      try {
        sock?.close();
      } catch {
        /* not bound yet or already closed */
      }
      resolve({ ok: reason === 'ok', reason, latencyMs: clock.now() - t0, detail });
    }
    let query: Buffer;
    try {
      query = encodeQuery(id, o.name, o.type);
      sock = dgram.createSocket(net.isIPv6(o.host) ? 'udp6' : 'udp4');
    } catch (e) {
      finish('bad-config', (e as Error).message);
      return;
    }
    const s = sock;
    s.on('error', (e: NodeJS.ErrnoException) => finish(reasonOf(e), `${e.syscall ?? 'socket'}: ${e.code ?? e.message}`));
    s.on('message', (m: Buffer) => {
      const h = decodeHeader(m);
      if (!h) return note(`${m.length}-byte datagram is shorter than a DNS header`);
      if (h.id !== id) return note(`id ${h.id} is not ours (${id})`);
      if (!h.response) return note('QR is 0: a query, not a response');
      if (h.rcode === 3) return finish('dns-nxdomain', `${o.name} ${o.type}: NXDOMAIN`);
      if (h.rcode !== 0) return finish('dns-error', `${o.name} ${o.type}: ${rcodeName(h.rcode)}`);
      finish('ok', `${o.name} ${o.type}: NOERROR, ${h.ancount} answer(s)`);
    });
    function note(why: string): void {
      ignored = why;
      ignoredCount++;
    }
    s.bind({ port: o.localPort ?? 0, ...(o.localAddress !== undefined ? { address: o.localAddress } : {}), exclusive: true }, () => {
      if (done) return;
      s.connect(o.port, o.host, (err?: Error) => {
        if (done) return;
        if (err) return finish(reasonOf(err), `connect: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
        s.send(query, (e) => {
          if (e) finish(reasonOf(e), `send: ${(e as NodeJS.ErrnoException).code ?? e.message}`);
        });
      });
    });
  });
}
