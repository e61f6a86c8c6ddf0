import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { type Clock, realClock } from '../util/clock.js';
import { type CheckResult, type Reason, reasonOf } from './result.js';

/*
 * UDP_CHECK (keepalived check_udp.c, layer4.c): send one datagram (the payload, or random bytes)
 * on a connected UDP socket and wait connect_timeout. An ICMP error (port, host or network
 * unreachable) fails the check; without require_reply, silence is success; with require_reply a
 * reply must come, its length within [min_reply_length, max_reply_length] and its bytes equal to
 * the require_reply string (X nibbles ignored) up to the shorter of the two.
 */

/** Bytes sent when no payload is configured (keepalived sends a random buffer). */
export const RANDOM_PAYLOAD_BYTES = 32;

/** One UDP_CHECK. */
export interface UdpCheckOptions {
  readonly host: string;
  readonly port: number;
  readonly localAddress?: string;
  readonly localPort?: number;
  /** connect_timeout: how long to wait for an ICMP error or the reply, ms. */
  readonly deadlineMs: number;
  /** Data to send; random bytes when absent. */
  readonly payload?: Buffer;
  readonly requireReply: boolean;
  /** The reply must start with these bytes (up to the shorter length)... */
  readonly replyData?: Buffer;
  /** ...ignoring the bits set here (the X nibbles of require_reply). */
  readonly replyMask?: Buffer;
  readonly minReplyLength: number;
  readonly maxReplyLength: number;
}

/** Judges a reply (keepalived check_udp_reply, with the length rule keepalived.conf(5) documents). */
export function udpReplyVerdict(reply: Buffer, o: Pick<UdpCheckOptions, 'replyData' | 'replyMask' | 'minReplyLength' | 'maxReplyLength'>): string | undefined {
  if (reply.length < o.minReplyLength || reply.length > o.maxReplyLength) return `reply of ${reply.length} bytes is outside ${o.minReplyLength}-${o.maxReplyLength}`;
  const want = o.replyData;
  if (!want) return undefined;
  const n = Math.min(reply.length, want.length);
  for (let i = 0; i < n; i++) {
    const care = ~(o.replyMask?.[i] ?? 0) & 0xff;
    if (((reply[i]! ^ want[i]!) & care) !== 0) return `reply byte ${i} is 0x${reply[i]!.toString(16).padStart(2, '0')}, expected 0x${want[i]!.toString(16).padStart(2, '0')}${care !== 0xff ? ` (mask 0x${care.toString(16)})` : ''}`;
  }
  return undefined;
}

/** Sends one datagram and judges what comes back; resolves to a CheckResult, never rejects. */
export function udpCheck(o: UdpCheckOptions, clock: Clock = realClock): Promise<CheckResult> {
  const t0 = clock.now();
  return new Promise<CheckResult>((resolve) => {
    let done = false;
    let sock: dgram.Socket | undefined;
    const cancel = clock.setTimeout(
      () => (o.requireReply ? finish('no-reply', `no reply within ${o.deadlineMs} ms`) : finish('ok', `no ICMP error within ${o.deadlineMs} ms`)),
      o.deadlineMs,
    );
    function finish(reason: Reason, detail: string): void {
      if (done) return;
      done = true;
      cancel();
      try {
        sock?.close();
      } catch {
        /* already closed */
      }
      resolve({ ok: reason === 'ok', reason, latencyMs: clock.now() - t0, detail });
    }
    try {
      sock = dgram.createSocket(net.isIPv6(o.host) ? 'udp6' : 'udp4');
    } catch (e) {
      finish(reasonOf(e), `socket: ${(e as Error).message}`);
      return;
    }
    const s = sock;
    s.on('error', (e: NodeJS.ErrnoException) => finish(reasonOf(e), `${e.syscall ?? 'socket'}: ${e.code ?? e.message}`));
    s.on('message', (m: Buffer) => {
      if (!o.requireReply) return finish('ok', `reply of ${m.length} bytes`);
      const why = udpReplyVerdict(m, o);
      finish(why === undefined ? 'ok' : 'bad-reply', why ?? `reply of ${m.length} bytes`);
    });
    s.bind({ port: o.localPort ?? 0, ...(o.localAddress !== undefined ? { address: o.localAddress } : {}), exclusive: true }, () => {
      if (done) return;
      s.connect(o.port, o.host, (err?: Error) => {
        if (done) return;
        if (err) return finish(reasonOf(err), `connect: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
        s.send(o.payload ?? randomBytes(RANDOM_PAYLOAD_BYTES), (e) => {
          if (e) finish(reasonOf(e), `send: ${(e as NodeJS.ErrnoException).code ?? e.message}`);
        });
      });
    });
  });
}
