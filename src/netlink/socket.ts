import os from 'node:os';
import * as libc from '../net/libc.js';
import { type Poller, poller } from '../net/poller.js';
import { NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_MULTI, type NlMessage, decodeError, decodeMessages } from './codec.js';

/** A netlink request that the kernel refused: names the operation and the errno. */
export class NetlinkError extends Error {
  constructor(
    readonly op: string,
    readonly errno: number,
    readonly code: string,
  ) {
    super(`${op}: ${code}`);
    this.name = 'NetlinkError';
  }
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(os.constants.errno).map(([k, v]) => [v, k]));

interface Pending {
  readonly op: string;
  /** The request asked for an ACK: it ends with NLMSG_ERROR 0, not with its first reply. */
  readonly ack: boolean;
  readonly replies: NlMessage[];
  resolve(msgs: NlMessage[]): void;
  reject(e: Error): void;
  readonly timer: NodeJS.Timeout;
}

/**
 * A netlink socket (rtnetlink, generic netlink) with request/response matching by sequence
 * number, multipart dumps, ACKs and errors as typed NetlinkErrors, and an optional stream of
 * multicast notifications. Requests time out instead of hanging.
 */
export class NetlinkSocket {
  private readonly fd: number;
  private readonly poller: Poller;
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private readonly pending = new Map<number, Pending>();
  private readonly buf = Buffer.alloc(1 << 18);
  private closed = false;

  constructor(
    protocol: number,
    opts: { groups?: number; onNotify?: (m: NlMessage) => void; poller?: Poller; timeoutMs?: number } = {},
  ) {
    this.poller = opts.poller ?? poller();
    this.onNotify = opts.onNotify;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.fd = libc.socket(libc.AF_NETLINK, libc.SOCK_RAW, protocol);
    try {
      const sa = Buffer.alloc(12);
      sa.writeUInt16LE(libc.AF_NETLINK, 0);
      sa.writeUInt32LE(opts.groups ?? 0, 8);
      libc.bind(this.fd, sa);
      libc.setsockoptInt(this.fd, libc.SOL_SOCKET, libc.SO_RCVBUF, 1 << 20, 'SO_RCVBUF');
    } catch (e) {
      libc.close(this.fd);
      throw e;
    }
    this.poller.add(this.fd, () => this.drain());
  }

  private readonly onNotify: ((m: NlMessage) => void) | undefined;
  private readonly timeoutMs: number;

  /** The next sequence number. */
  nextSeq(): number {
    this.seq = (this.seq + 1) & 0x7fffffff || 1;
    return this.seq;
  }

  /**
   * Sends a request built with `seq` (from `nextSeq`) and resolves with every reply message up
   * to the ACK or NLMSG_DONE; rejects with a NetlinkError naming `op`.
   */
  request(op: string, seq: number, msg: Buffer): Promise<NlMessage[]> {
    if (this.closed) return Promise.reject(new Error(`${op}: netlink socket is closed`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new NetlinkError(op, 110, 'ETIMEDOUT'));
      }, this.timeoutMs);
      const ack = msg.length >= 8 && (msg.readUInt16LE(6) & NLM_F_ACK) !== 0;
      this.pending.set(seq, { op, ack, replies: [], resolve, reject, timer });
      try {
        const to = Buffer.alloc(12);
        to.writeUInt16LE(libc.AF_NETLINK, 0);
        libc.sendto(this.fd, msg, to, op);
      } catch (e) {
        clearTimeout(timer);
        this.pending.delete(seq);
        reject(e);
      }
    });
  }

  /** Closes the socket and fails what is still pending. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.poller.close(this.fd);
    for (const [seq, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error(`${p.op}: netlink socket closed`));
      this.pending.delete(seq);
    }
  }

  private drain(): void {
    for (let n = 0; n < 4096 && !this.closed; n++) {
      const r = libc.recvmsg(this.fd, null, this.buf, null);
      if (!r) return;
      for (const m of decodeMessages(this.buf.subarray(0, r.length))) this.dispatch(m);
    }
  }

  private dispatch(m: NlMessage): void {
    const p = m.seq !== 0 ? this.pending.get(m.seq) : undefined;
    if (!p) {
      if (m.seq === 0) this.onNotify?.(m);
      return;
    }
    if (m.type === NLMSG_ERROR) {
      const { errno } = decodeError(m);
      this.finish(m.seq, p, errno === 0 ? undefined : new NetlinkError(p.op, errno, ERRNO_NAMES.get(errno) ?? `E${errno}`));
      return;
    }
    if (m.type === NLMSG_DONE) return this.finish(m.seq, p);
    p.replies.push({ ...m, body: Buffer.from(m.body) });
    // A single (non-multipart) reply without an ACK requested ends the exchange.
    if (!(m.flags & NLM_F_MULTI) && !p.ack) this.finish(m.seq, p);
  }

  private finish(seq: number, p: Pending, err?: Error): void {
    clearTimeout(p.timer);
    this.pending.delete(seq);
    if (err) p.reject(err);
    else p.resolve(p.replies);
  }
}
