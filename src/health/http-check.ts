import net from 'node:net';
import tls from 'node:tls';
import { type Clock, realClock } from '../util/clock.js';
import type { StatusRange } from '../config/schema/lvs-args.js';
import type { TcpConnect } from './mark-socket.js';
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
  /** The url's `regex`, compiled by compileUrlRegex. */
  readonly regex?: UrlRegex;
  /** SSL_GET. */
  readonly tls?: {
    /** SNI to send (keepalived: the virtualhost when enable_sni). IP literals are not sent. */
    readonly servername?: string;
    /** Verify the certificate chain and name. keepalived does not (SSL_VERIFY_NONE); default off. */
    readonly verify?: boolean;
    readonly ca?: string | Buffer;
  };
  /** The request bytes, built once by the caller (default: buildRequest(o) per call). */
  readonly request?: Buffer;
  /** Hash the body for `http.digest` when no `digest` is expected (default true; the engine's probes pass false). */
  readonly digestBody?: boolean;
  /** Keep the raw header text in the result (genhash -v). */
  readonly keepHeader?: boolean;
  /** Opens the TCP connection (default net.connect); probe.ts passes a marked one for fwmark/bind_if/tunnel_check. */
  readonly connect?: TcpConnect;
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

/** A url's `regex` ready to run: keepalived's PCRE2 pattern as a JavaScript RegExp. */
export interface UrlRegex {
  readonly source: string;
  /** Global (for lastIndex) RegExp. */
  readonly re: RegExp;
  /** `regex_no_match`: a match fails the check. */
  readonly noMatch: boolean;
  readonly minOffset: number;
  readonly maxOffset?: number;
  /** PCRE2 `firstline`: the match must start in the first line. */
  readonly firstLine: boolean;
  /** PCRE2 `utf`: the body is read as UTF-8 (offsets in UTF-16 units then), else byte for byte. */
  readonly utf: boolean;
}

/** The regex keywords of a url (config/schema/checkers.ts Url). */
export interface UrlRegexSpec {
  readonly regex: string;
  readonly regexNoMatch: boolean;
  readonly regexOptions: readonly string[];
  readonly regexMinOffset?: number;
  readonly regexMaxOffset?: number;
}

/** PCRE2 options with a JavaScript flag. */
const FLAG_OF: Readonly<Record<string, string>> = { caseless: 'i', multiline: 'm', dotall: 's', utf: 'u', ucp: 'u' };
/** PCRE2 options that change what matches and that JavaScript cannot express. */
const UNSUPPORTED = new Set(['ungreedy', 'alt_bsux', 'match_unset_backref', 'allow_empty_class', 'alt_circumflex']);

/**
 * Compiles a url's regex. keepalived uses PCRE2; JavaScript's RegExp accepts the common subset
 * (classes, groups, lookaround, backreferences, named groups), and translatePcre rewrites anchors.
 * Options: caseless, multiline, dotall, utf/ucp, extended and dollar_endonly map onto
 * JavaScript; firstline and the offsets are applied by
 * regexVerdict; options that only tune PCRE2 (no_start_optimize, ...) are ignored; options that
 * change the meaning of a match in ways JavaScript cannot follow (ungreedy, ...) and patterns
 * JavaScript rejects (possessive quantifiers, atomic groups) give an error string.
 */
export function compileUrlRegex(u: UrlRegexSpec): { regex: UrlRegex } | { error: string } {
  const opts = new Set(u.regexOptions);
  const bad = [...opts].filter((x) => UNSUPPORTED.has(x));
  if (bad.length > 0) return { error: `regex option ${bad.join(', ')} is not supported` };
  let flags = 'g';
  for (const x of opts) {
    const f = FLAG_OF[x];
    if (f !== undefined && !flags.includes(f)) flags += f;
  }
  const source = translatePcre(u.regex, { extended: opts.has('extended'), multiline: opts.has('multiline'), dollarEndOnly: opts.has('dollar_endonly') });
  try {
    const re = new RegExp(source, flags);
    return {
      regex: {
        source: u.regex,
        re,
        noMatch: u.regexNoMatch,
        minOffset: u.regexMinOffset ?? 0,
        ...(u.regexMaxOffset !== undefined ? { maxOffset: u.regexMaxOffset } : {}),
        firstLine: opts.has('firstline'),
        utf: flags.includes('u'),
      },
    };
  } catch (e) {
    return { error: `regex ${JSON.stringify(u.regex)} does not compile in JavaScript: ${(e as Error).message}` };
  }
}

/**
 * Rewrites the PCRE2 constructs whose JavaScript spelling differs: `\A` `\z` `\Z`, `$` (PCRE2 also
 * matches before a final newline unless dollar_endonly or multiline), and with `extended` drops
 * unescaped white space and `#` comments outside character classes.
 */
export function translatePcre(p: string, o: { extended: boolean; multiline: boolean; dollarEndOnly: boolean }): string {
  const START = '(?<![\\s\\S])';
  const END = '(?![\\s\\S])';
  const END_NL = '(?=\\n?(?![\\s\\S]))';
  let out = '';
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const ch = p[i]!;
    if (ch === '\\') {
      const n = p[i + 1] ?? '';
      i++;
      if (!inClass && n === 'A') out += START;
      else if (!inClass && n === 'z') out += END;
      else if (!inClass && n === 'Z') out += END_NL;
      else out += ch + n;
    } else if (inClass) {
      if (ch === ']') inClass = false;
      out += ch;
    } else if (ch === '[') {
      inClass = true;
      out += ch;
      if (p[i + 1] === '^') out += p[++i];
      if (p[i + 1] === ']') out += p[++i]; // a leading ] is a literal in PCRE2
    } else if (ch === '$' && !o.multiline) out += o.dollarEndOnly ? END : END_NL;
    else if (o.extended && ch === '#') {
      while (i + 1 < p.length && p[i + 1] !== '\n') i++;
    } else if (o.extended && /\s/.test(ch)) continue;
    else out += ch;
  }
  return out;
}

/**
 * Applies a url regex to a body: undefined when the check passes, else why it fails. The match
 * must start at or after regex_min_offset and at or before regex_max_offset (PCRE2 start offset
 * and offset limit).
 */
export function regexVerdict(r: UrlRegex, body: Buffer): string | undefined {
  const text = body.toString(r.utf ? 'utf8' : 'latin1');
  r.re.lastIndex = Math.min(r.minOffset, text.length);
  const m = r.re.exec(text);
  let at = m ? m.index : -1;
  if (at >= 0 && r.maxOffset !== undefined && at > r.maxOffset) at = -1;
  if (at >= 0 && r.firstLine) {
    const nl = text.indexOf('\n');
    if (nl >= 0 && at > nl) at = -1;
  }
  const where = `${body.length} bytes${r.minOffset || r.maxOffset !== undefined ? `, offsets ${r.minOffset}-${r.maxOffset ?? 'end'}` : ''}`;
  if (at >= 0 && r.noMatch) return `body matches /${r.source}/ at ${at} (regex_no_match; ${where})`;
  if (at < 0 && !r.noMatch) return `body does not match /${r.source}/ (${where})`;
  return undefined;
}

function digestOf(r: ResponseReader): { digest?: string } {
  const d = r.digest();
  return d !== undefined ? { digest: d } : {};
}

/** Performs one GET; resolves to a CheckResult, never rejects. */
export function httpGet(o: HttpGetOptions, clock: Clock = realClock): Promise<CheckResult> {
  const t0 = clock.now();
  const reader = new ResponseReader(o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, o.regex !== undefined, o.digest !== undefined || o.digestBody !== false);
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
        ? { status: reader.status, ...digestOf(reader), bodyBytes: reader.bodyBytes, ...(o.keepHeader && reader.header !== undefined ? { header: reader.header } : {}) }
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
      if (o.regex) {
        const why = regexVerdict(o.regex, reader.bodyBytesKept());
        if (why !== undefined) {
          finish('regex-mismatch', why);
          return;
        }
      }
      finish('ok', `status ${s}, ${reader.bodyBytes} bytes`);
    }

    try {
      raw = (o.connect ?? net.connect)({
        host: o.host,
        port: o.port,
        ...(o.localAddress !== undefined ? { localAddress: o.localAddress } : {}),
        ...(o.localPort !== undefined ? { localPort: o.localPort } : {}),
        // no TCP_NODELAY: the request is one write, which Nagle never holds back (a system call per check saved)
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
      s.write(o.request ?? buildRequest(o));
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
