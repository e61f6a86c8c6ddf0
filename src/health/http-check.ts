import net from 'node:net';
import tls from 'node:tls';
import { type Clock, realClock } from '../util/clock.js';
import type { StatusRange } from '../config/schema/lvs-args.js';
import { type CheckResult, type HttpOutcome, type Reason, reasonOf } from './result.js';
import { ResponseReader } from './response.js';

/*
 * One HTTP_GET / SSL_GET exchange on a new connection, as keepalived does (check_http.c): a
 * hand-written HTTP/1.0 (or 1.1 with Connection: close) request, the response read with
 * ResponseReader. One hard deadline covers connect, TLS handshake, request and body; the body is
 * bounded; the socket is destroyed on every path; the promise never rejects.
 *
 * Why not undici: keepalived's default request line is HTTP/1.0 and its digest is the MD5 of the
 * raw bytes after the header (chunk framing included). undici always speaks HTTP/1.1 and decodes
 * the body, so its digest would differ from keepalived's genhash for the same server.
 */

/** Default bound on body bytes read per URL. keepalived has none; a health page is small. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** One HTTP(S) GET to perform. */
export interface HttpGetOptions {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  /** Host header; default `host:port` (`[v6]:port`), as keepalived. */
  readonly virtualhost?: string;
  readonly httpProtocol?: '1.0' | '1.0C' | '1.1';
  /** Source address (`bindto`) and port (`bind_port`). */
  readonly localAddress?: string;
  readonly localPort?: number;
  /** Hard overall deadline in ms: connect + TLS + request + body. */
  readonly deadlineMs: number;
  readonly maxBodyBytes?: number;
  /** Accepted statuses; absent: any status is accepted (genhash). */
  readonly statusCodes?: readonly StatusRange[];
  /** Expected MD5 hex of the body. */
  readonly digest?: string;
  /** SSL_GET. */
  readonly tls?: {
    /** SNI to send (keepalived: the virtualhost when enable_sni). IP literals are not sent. */
    readonly servername?: string;
    /** Verify the certificate chain and name. keepalived does not (SSL_VERIFY_NONE); default off. */
    readonly verify?: boolean;
    readonly ca?: string | Buffer;
  };
  /** Keep the raw header text in the result (genhash -v). */
  readonly keepHeader?: boolean;
}

/** keepalived's request (check_http.c request_template): HTTP/1.0 or 1.1, KeepAliveClient, Host. */
export function buildRequest(o: Pick<HttpGetOptions, 'host' | 'port' | 'path' | 'virtualhost' | 'httpProtocol'>): string {
  const proto = o.httpProtocol ?? '1.0';
  const host = o.virtualhost ?? (net.isIPv6(o.host) ? `[${o.host}]:${o.port}` : `${o.host}:${o.port}`);
  const close = proto === '1.0' ? '' : 'Connection: close\r\n';
  return `GET ${o.path} HTTP/1.${proto === '1.1' ? 1 : 0}\r\nUser-Agent: KeepAliveClient\r\n${close}Host: ${host}\r\n\r\n`;
}

/** Formats status ranges as keepalived.conf writes them: `200-299 401`. */
export function formatStatusCodes(r: readonly StatusRange[]): string {
  return r.map((x) => (x.min === x.max ? `${x.min}` : `${x.min}-${x.max}`)).join(' ');
}

/** Performs one GET; resolves to a CheckResult, never rejects. */
export function httpGet(o: HttpGetOptions, clock: Clock = realClock): Promise<CheckResult> {
  const t0 = clock.now();
  const reader = new ResponseReader(o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
  let phase = 'connect';
  return new Promise<CheckResult>((resolve) => {
    let done = false;
    let raw: net.Socket | undefined;
    let sock: net.Socket | undefined;
    const cancelDeadline = clock.setTimeout(() => finish('timeout', `no answer within ${o.deadlineMs} ms (${phase})`), o.deadlineMs);

    function finish(reason: Reason, detail: string): void {
      if (done) return;
      done = true;
      cancelDeadline();
      sock?.destroy();
      raw?.destroy();
      const http: HttpOutcome | undefined = reader.headerDone
        ? { status: reader.status, digest: reader.digest(), bodyBytes: reader.bodyBytes, ...(o.keepHeader && reader.header !== undefined ? { header: reader.header } : {}) }
        : undefined;
      resolve({ ok: reason === 'ok', reason, latencyMs: clock.now() - t0, detail, ...(http ? { http } : {}) });
    }

    function verdict(): void {
      if (!reader.headerDone) {
        finish(reader.received === 0 ? 'empty-response' : 'bad-response', reader.received === 0 ? 'connection closed without data' : 'connection closed inside the header');
        return;
      }
      const s = reader.status;
      if (o.statusCodes && !o.statusCodes.some((r) => s >= r.min && s <= r.max)) {
        finish('bad-status', `status ${s} not in ${formatStatusCodes(o.statusCodes)}`);
        return;
      }
      const d = reader.digest();
      if (o.digest !== undefined && d !== o.digest.toLowerCase()) {
        finish('bad-digest', `digest ${d} != ${o.digest.toLowerCase()} (${reader.bodyBytes} bytes)`);
        return;
      }
      finish('ok', `status ${s}, ${reader.bodyBytes} bytes`);
    }

    try {
      raw = net.connect({
        host: o.host,
        port: o.port,
        ...(o.localAddress !== undefined ? { localAddress: o.localAddress } : {}),
        ...(o.localPort !== undefined ? { localPort: o.localPort } : {}),
        noDelay: true,
      });
    } catch (e) {
      finish(reasonOf(e), `connect: ${(e as Error).message}`);
      return;
    }
    raw.on('error', (e) => finish(reasonOf(e), `${phase}: ${(e as { code?: string }).code ?? e.message}`));
    if (o.tls) {
      const sni = o.tls.servername !== undefined && net.isIP(o.tls.servername) === 0 ? o.tls.servername : undefined;
      raw.once('connect', () => {
        phase = 'tls';
      });
      sock = tls.connect({
        socket: raw,
        rejectUnauthorized: o.tls.verify === true,
        ...(sni !== undefined ? { servername: sni } : {}),
        ...(o.tls.ca !== undefined ? { ca: o.tls.ca } : {}),
        ...(o.tls.verify ? { host: sni ?? o.host } : {}),
      });
      sock.on('error', (e) => finish(reasonOf(e), `${phase}: ${(e as { code?: string }).code ?? e.message}`));
      sock.once('secureConnect', () => send(sock!));
    } else {
      sock = raw;
      raw.once('connect', () => send(raw!));
    }

    function send(s: net.Socket): void {
      phase = 'request';
      s.write(buildRequest(o));
      phase = 'header';
      s.on('data', (chunk: Buffer) => {
        if (done) return;
        const st = reader.push(chunk);
        if (reader.headerDone) phase = 'body';
        if (st.kind === 'error') finish(st.reason, st.detail);
        else if (st.kind === 'done') verdict();
      });
      s.on('end', () => {
        if (!done) verdict();
      });
      s.on('close', () => {
        if (!done) verdict();
      });
    }
  });
}
