/* Loopback servers for the checker tests (not a test file itself: it only exports helpers). */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

/** A server on 127.0.0.1 (or ::1) port 0, with its live connections. */
export interface TestServer {
  readonly port: number;
  readonly host: string;
  readonly open: Set<net.Socket>;
  close(): Promise<void>;
}

/** Starts a raw TCP (or TLS) server whose every connection goes to `handler`. */
export async function serve(handler: (s: net.Socket) => void, o: { host?: string; tls?: tls.TlsOptions } = {}): Promise<TestServer> {
  const host = o.host ?? '127.0.0.1';
  const open = new Set<net.Socket>();
  const onConn = (s: net.Socket) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('error', () => {});
    handler(s);
    // Keep reading (and dropping) so that the server side sees the client's FIN and closes too;
    // a paused socket would stay open and look like a leak of the checker.
    s.resume();
  };
  const srv = o.tls ? tls.createServer(o.tls, onConn) : net.createServer(onConn);
  if (o.tls) srv.on('tlsClientError', () => {});
  await new Promise<void>((res) => srv.listen(0, host, res));
  const port = (srv.address() as net.AddressInfo).port;
  return {
    port,
    host,
    open,
    close: () =>
      new Promise<void>((res) => {
        for (const s of open) s.destroy();
        srv.close(() => res());
      }),
  };
}

/** Reads the request head, then calls `reply` with it. */
export function onRequest(reply: (s: net.Socket, head: string) => void): (s: net.Socket) => void {
  return (s) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('latin1');
      const i = buf.indexOf('\r\n\r\n');
      if (i >= 0) {
        s.off('data', onData);
        reply(s, buf.slice(0, i + 4));
      }
    };
    s.on('data', onData);
  };
}

/** A fixed HTTP/1.0 response, then close. */
export function respond(status: number, body: string | Buffer, extra = ''): (s: net.Socket) => void {
  return onRequest((s) => {
    const b = typeof body === 'string' ? Buffer.from(body) : body;
    s.end(Buffer.concat([Buffer.from(`HTTP/1.0 ${status} X\r\nContent-Length: ${b.length}\r\n${extra}\r\n`), b]));
  });
}

/** A port nothing listens on (bound then closed). */
export async function closedPort(): Promise<number> {
  const s = await serve(() => {});
  await s.close();
  return s.port;
}

/** Open file descriptors of this process. */
export function fdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** Active libuv handles (sockets, timers, servers). */
export function handleCount(): number {
  return (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
}

/** Waits until `cond` holds or `ms` passes. */
export async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

/** A self-signed certificate for CN=localhost made with openssl, or undefined when openssl is missing. */
export function selfSigned(): { key: string; cert: string } | undefined {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${dir}/k.pem`, '-out', `${dir}/c.pem`, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    return { key: fs.readFileSync(`${dir}/k.pem`, 'utf8'), cert: fs.readFileSync(`${dir}/c.pem`, 'utf8') };
  } catch {
    return undefined;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
