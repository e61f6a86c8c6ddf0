import net from 'node:net';
import { type Clock, realClock } from '../util/clock.js';
import type { TcpConnect } from './mark-socket.js';
import { type CheckResult, type Reason, reasonOf } from './result.js';

/*
 * SMTP_CHECK (keepalived check_smtp.c): connect, read the 220 greeting, send HELO, expect 250,
 * send QUIT and read its reply (any code, as keepalived). One hard deadline covers it all; every
 * reply is bounded. Multi-line replies (RFC 5321 §4.2: `250-...` lines, then `250 ...`) are read
 * whole, where keepalived would take the first line only.
 */

/** Longest reply accepted (RFC 5321 §4.5.3.1.5 allows 512-byte lines; several make a reply). */
export const MAX_SMTP_REPLY_BYTES = 16 * 1024;

/** One SMTP_CHECK. */
export interface SmtpCheckOptions {
  readonly host: string;
  readonly port: number;
  readonly localAddress?: string;
  readonly localPort?: number;
  /** Hard deadline for the whole dialogue, ms. */
  readonly deadlineMs: number;
  /** Name sent with HELO. */
  readonly heloName: string;
  /** Opens the connection (default net.connect); probe.ts passes a marked one for fwmark/bind_if. */
  readonly connect?: TcpConnect;
}

/** A complete reply, more input needed, or garbage. */
export type SmtpReply = { readonly kind: 'reply'; readonly code: number; readonly text: string; readonly rest: string } | { readonly kind: 'more' } | { readonly kind: 'bad'; readonly detail: string };

/** Reads one reply from the start of `buf` (latin1 text): lines `NNN-text` continue, `NNN text` ends it. */
export function parseSmtpReply(buf: string): SmtpReply {
  let at = 0;
  for (;;) {
    const nl = buf.indexOf('\n', at);
    const line = (nl < 0 ? buf.slice(at) : buf.slice(at, nl)).replace(/\r$/, '');
    const m = /^(\d{3})([ -]|$)/.exec(line);
    if (!m && (nl >= 0 || line.length >= 4 || !/^\d{0,3}$/.test(line))) return { kind: 'bad', detail: `not an SMTP reply: ${JSON.stringify(line.slice(0, 64))}` };
    if (nl < 0) return buf.length > MAX_SMTP_REPLY_BYTES ? { kind: 'bad', detail: `reply exceeds ${MAX_SMTP_REPLY_BYTES} bytes` } : { kind: 'more' };
    if (m![2] !== '-') return { kind: 'reply', code: Number(m![1]), text: buf.slice(0, nl).replace(/\r?\n/g, ' ').trim(), rest: buf.slice(nl + 1) };
    at = nl + 1;
  }
}

/** Runs one SMTP dialogue; resolves to a CheckResult, never rejects. */
export function smtpCheck(o: SmtpCheckOptions, clock: Clock = realClock): Promise<CheckResult> {
  const t0 = clock.now();
  return new Promise<CheckResult>((resolve) => {
    let done = false;
    let sock: net.Socket | undefined;
    let step: 'greeting' | 'helo' | 'quit' = 'greeting';
    let buf = '';
    let received = 0;
    const cancel = clock.setTimeout(() => finish('timeout', `no ${step === 'greeting' ? 'connection or greeting' : `${step} reply`} within ${o.deadlineMs} ms`), o.deadlineMs);
    function finish(reason: Reason, detail: string): void {
      if (done) return;
      done = true;
      cancel();
      sock?.destroy();
      resolve({ ok: reason === 'ok', reason, latencyMs: clock.now() - t0, detail });
    }
    try {
      sock = (o.connect ?? net.connect)({
        host: o.host,
        port: o.port,
        noDelay: true,
        ...(o.localAddress !== undefined ? { localAddress: o.localAddress } : {}),
        ...(o.localPort !== undefined ? { localPort: o.localPort } : {}),
      });
    } catch (e) {
      finish(reasonOf(e), `connect: ${(e as Error).message}`);
      return;
    }
    const s = sock;
    s.on('error', (e: NodeJS.ErrnoException) => finish(reasonOf(e), `${step}: ${e.code ?? e.message}`));
    s.on('close', () => finish(received === 0 ? 'empty-response' : 'bad-reply', `connection closed before the ${step} reply${received ? ` (${received} bytes read)` : ''}`));
    s.on('data', (d: Buffer) => {
      received += d.length;
      buf += d.toString('latin1');
      for (;;) {
        if (done) return;
        const r = parseSmtpReply(buf);
        if (r.kind === 'more') return;
        if (r.kind === 'bad') return finish('bad-reply', `${step}: ${r.detail}`);
        buf = r.rest;
        if (step === 'greeting') {
          if (r.code !== 220) return finish('bad-reply', `greeting ${JSON.stringify(r.text.slice(0, 80))}, expected 220`);
          step = 'helo';
          s.write(`HELO ${o.heloName}\r\n`);
        } else if (step === 'helo') {
          if (r.code !== 250) return finish('bad-reply', `HELO answered ${JSON.stringify(r.text.slice(0, 80))}, expected 250`);
          step = 'quit';
          s.write('QUIT\r\n');
        } else return finish('ok', `220, 250, QUIT ${r.code}`);
      }
    });
  });
}
