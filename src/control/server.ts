import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import { type ControlErrorCode, MAX_REQUEST_BYTES, REQUEST_TIMEOUT_MS, type Request, type Response, parseRequest } from './protocol.js';

/** Who is asking: the peer's credentials from SO_PEERCRED, when they could be read. */
export interface Caller {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

/** Answers one method, at once or later; may throw or reject (answered as an `internal` error). */
export type Handler = (params: Record<string, unknown>, caller?: Caller) => unknown;

/** The peer credentials of a connected Unix socket (undefined when they cannot be read). */
export type PeerCredentials = (c: net.Socket) => Caller | undefined;

/** A handler's failure with its own stable code and message (answered as that error, not `internal`). */
export class HandlerError extends Error {
  constructor(
    readonly errorCode: ControlErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Thrown when the control socket cannot be opened (another vigil is listening, bad path). */
export class ControlError extends Error {
  readonly code = 'VIGIL_CONTROL';
}

/**
 * The control socket: a Unix socket with mode 0600 in a 0700 directory, so only root (the
 * owner) can connect. Bad requests — malformed, too large, too slow, unknown — get an error
 * response and never affect the daemon.
 */
export class ControlServer {
  private server: net.Server | undefined;
  private readonly clients = new Set<net.Socket>();

  constructor(
    readonly socketPath: string,
    private readonly handlers: Readonly<Record<string, Handler>>,
    private readonly log: Logger,
    /** Reads the caller's credentials (tests of the pure server may leave it out). */
    private readonly peer?: PeerCredentials,
  ) {}

  /** Listens; replaces a stale socket file, refuses when another process listens there. */
  async listen(): Promise<void> {
    const dir = path.dirname(this.socketPath);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (fs.existsSync(this.socketPath)) {
      if (await this.alive()) throw new ControlError(`another process is listening on ${this.socketPath}`);
      fs.unlinkSync(this.socketPath);
    }
    const server = net.createServer((c) => this.serve(c));
    const old = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.socketPath, () => resolve());
      });
    } catch (e) {
      throw new ControlError(`cannot listen on ${this.socketPath}: ${(e as Error).message}`);
    } finally {
      process.umask(old);
    }
    fs.chmodSync(this.socketPath, 0o600);
    server.on('error', (err) => this.log.error({ op: 'control', err }, 'control socket error'));
    this.server = server;
  }

  /** Stops listening, closes clients and removes the socket file. Idempotent. */
  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const c of this.clients) c.destroy();
    if (s) await new Promise<void>((r) => s.close(() => r()));
    try {
      fs.unlinkSync(this.socketPath);
    } catch {
      /* already gone */
    }
  }

  private alive(): Promise<boolean> {
    return new Promise((resolve) => {
      const c = net.connect(this.socketPath);
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
  }

  private serve(c: net.Socket): void {
    this.clients.add(c);
    let buf = '';
    const send = (r: Response) => {
      if (c.writable) c.write(`${JSON.stringify(r)}\n`);
    };
    const fail = (code: 'request-too-large' | 'timeout', message: string) => {
      send({ id: null, error: { code, message } });
      c.end();
      c.destroySoon?.();
    };
    c.setTimeout(REQUEST_TIMEOUT_MS, () => fail('timeout', `no complete request line within ${REQUEST_TIMEOUT_MS} ms`));
    c.on('close', () => this.clients.delete(c));
    c.on('error', () => this.clients.delete(c));
    c.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      if (buf.length > MAX_REQUEST_BYTES && !buf.slice(0, MAX_REQUEST_BYTES).includes('\n')) {
        buf = '';
        return fail('request-too-large', `a request line is limited to ${MAX_REQUEST_BYTES} bytes`);
      }
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) void this.handle(line, c).then(send);
      }
    });
  }

  private async handle(line: string, c: net.Socket): Promise<Response> {
    const req = parseRequest(line);
    if ('error' in req) return req;
    const r = req as Request;
    const id = r.id ?? null;
    const h = Object.hasOwn(this.handlers, r.method) ? this.handlers[r.method] : undefined;
    if (!h) return { id, error: { code: 'unknown-method', message: `unknown method '${r.method}'; known: ${Object.keys(this.handlers).join(', ')}` } };
    try {
      return { id, result: await h(r.params ?? {}, this.peer?.(c)) };
    } catch (e) {
      if (e instanceof HandlerError) return { id, error: { code: e.errorCode, message: e.message } };
      this.log.error({ op: 'control', method: r.method, err: e }, 'control request failed');
      return { id, error: { code: 'internal', message: (e as Error).message } };
    }
  }
}
