import { type Hash, createHash } from 'node:crypto';

/*
 * Incremental, bounded reader of an HTTP response as keepalived's HTTP_GET reads it
 * (check_http.c http_process_response): the header ends at the first empty line, the status comes
 * from the status line, and the digest is the MD5 of the raw bytes after the header, cut at
 * Content-Length when there is one (no chunked decoding, as keepalived). Pure: bytes in, verdict out.
 */

/** Largest header accepted; keepalived's whole read buffer is 4 KiB (MAX_BUFFER_LENGTH), so 16 KiB is generous. */
export const MAX_HEADER_BYTES = 16 * 1024;

/** Where the reader stands after a chunk. */
export type ReadState =
  | { readonly kind: 'more' }
  | { readonly kind: 'done' }
  | { readonly kind: 'error'; readonly reason: 'bad-response' | 'body-too-large'; readonly detail: string };

/** Reads one response; feed `push(chunk)` until it is not `more`, then `end()` on EOF. */
export class ResponseReader {
  private head: Buffer[] = [];
  private headLen = 0;
  private readonly hash: Hash | undefined;
  /** Status code, once the header is complete. */
  status = 0;
  /** Content-Length, if the header had a valid one. */
  contentLength: number | undefined;
  bodyBytes = 0;
  header: string | undefined;
  private total = 0;
  private kept: Buffer[] | undefined;

  /**
   * `keepBody`: also keep the body bytes (bounded by maxBodyBytes) for a url regex. `digest`: hash
   * the body (default); off, digest() is undefined (a url without `digest` needs none, and an MD5
   * per check is measurable at thousands of checks a second).
   */
  constructor(
    private readonly maxBodyBytes: number,
    keepBody = false,
    digest = true,
  ) {
    if (keepBody) this.kept = [];
    if (digest) this.hash = createHash('md5');
  }

  /** The body bytes read so far, when constructed with keepBody (else empty). */
  bodyBytesKept(): Buffer {
    return this.kept ? Buffer.concat(this.kept) : Buffer.alloc(0);
  }

  /** True once the whole header was read. */
  get headerDone(): boolean {
    return this.header !== undefined;
  }

  /** Bytes received so far (header and body). */
  get received(): number {
    return this.total;
  }

  /** Consumes a chunk. */
  push(chunk: Buffer): ReadState {
    this.total += chunk.length;
    if (this.header === undefined) {
      this.head.push(chunk);
      this.headLen += chunk.length;
      const buf = this.head.length === 1 ? chunk : Buffer.concat(this.head);
      this.head = [buf];
      // Anything that does not start like a status line is garbage: fail at once, not at the deadline.
      const start = buf.subarray(0, 5).toString('latin1');
      if (!'HTTP/'.startsWith(start.slice(0, Math.min(5, buf.length)))) return bad(`not HTTP: ${printable(buf.subarray(0, 32))}`);
      const end = headerEnd(buf);
      if (end === undefined) return this.headLen > MAX_HEADER_BYTES ? bad(`header exceeds ${MAX_HEADER_BYTES} bytes`) : { kind: 'more' };
      this.header = buf.subarray(0, end.at).toString('latin1');
      this.head = [];
      const m = /^HTTP\/\d\.\d (\d{3})(?:[ \r\n]|$)/.exec(this.header);
      if (!m) return bad(`bad status line: ${printable(buf.subarray(0, Math.min(64, end.at)))}`);
      this.status = Number(m[1]);
      const cl = /(?:^|\n)content-length:[ \t]*(\d+)[ \t]*\r?(?:\n|$)/i.exec(this.header);
      if (cl) this.contentLength = Number(cl[1]);
      return this.body(buf.subarray(end.at + end.len));
    }
    return this.body(chunk);
  }

  /** True when Content-Length bytes were read (no need to wait for EOF). */
  get complete(): boolean {
    return this.contentLength !== undefined && this.bodyBytes >= this.contentLength;
  }

  /** MD5 hex of the body read so far; undefined when not hashing. */
  digest(): string | undefined {
    return this.hash?.copy().digest('hex');
  }

  private body(b: Buffer): ReadState {
    if (this.contentLength !== undefined) b = b.subarray(0, Math.max(0, this.contentLength - this.bodyBytes));
    if (this.bodyBytes + b.length > this.maxBodyBytes) return { kind: 'error', reason: 'body-too-large', detail: `body exceeds ${this.maxBodyBytes} bytes` };
    this.bodyBytes += b.length;
    if (b.length > 0) {
      this.hash?.update(b);
      this.kept?.push(b);
    }
    return this.complete ? { kind: 'done' } : { kind: 'more' };
  }
}

function bad(detail: string): ReadState {
  return { kind: 'error', reason: 'bad-response', detail };
}

/** Offset and length of the blank line ending the header (CRLF CRLF, or bare LF LF). */
function headerEnd(buf: Buffer): { at: number; len: number } | undefined {
  const crlf = buf.indexOf('\r\n\r\n', 0, 'latin1');
  const lf = buf.indexOf('\n\n', 0, 'latin1');
  if (crlf < 0 && lf < 0) return undefined;
  if (lf >= 0 && (crlf < 0 || lf < crlf)) return { at: lf + 1, len: 1 };
  return { at: crlf + 2, len: 2 };
}

function printable(b: Buffer): string {
  return JSON.stringify(b.toString('latin1').replace(/[^\x20-\x7e]/g, '.'));
}
