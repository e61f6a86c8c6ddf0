/* Loopback servers for the checker tests (not a test file itself: it only exports helpers). */
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
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

/**
 * Waits until `cond` (sync or async) holds; throws when `ms` passes first, naming the condition, so
 * that a test cannot pass without its condition having been met.
 */
export async function until(cond: () => boolean | Promise<boolean>, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if ((await cond()) === true) return;
    if (Date.now() >= end) throw new Error(`until: condition not met within ${ms} ms: ${cond.toString()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
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

/** A UDP server on loopback port 0 that hands every datagram to `handler`. */
export interface UdpTestServer {
  readonly port: number;
  readonly host: string;
  /** Datagrams received. */
  received: number;
  close(): Promise<void>;
}

/** Starts a UDP server; `reply(b)` answers the sender of `msg`. */
export async function serveUdp(handler: (msg: Buffer, reply: (b: Buffer) => void, from: dgram.RemoteInfo) => void, host = '127.0.0.1'): Promise<UdpTestServer> {
  const s = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  s.on('error', () => {});
  await new Promise<void>((res) => s.bind(0, host, res));
  const srv: UdpTestServer = {
    port: s.address().port,
    host,
    received: 0,
    close: () => new Promise<void>((res) => s.close(() => res())),
  };
  s.on('message', (msg, rinfo) => {
    srv.received++;
    handler(msg, (b) => s.send(b, rinfo.port, rinfo.address), rinfo);
  });
  return srv;
}

/** A UDP port nothing listens on (bound then closed): datagrams to it get ICMP port unreachable. */
export async function closedUdpPort(host = '127.0.0.1'): Promise<number> {
  const s = await serveUdp(() => {}, host);
  await s.close();
  return s.port;
}

/** Runs `fn(i)` for i in [0, n) with at most `concurrency` running; counts results by reason. */
export async function tally(n: number, concurrency: number, fn: (i: number) => Promise<{ reason: string }>): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const r = await fn(next++);
      seen.set(r.reason, (seen.get(r.reason) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return seen;
}

interface ProcEntry {
  pid: number;
  ppid: number;
  state: string;
}

function procTable(): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'latin1');
      // pid (comm) state ppid ...: comm may hold blanks and parentheses, so cut at the last ')'.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(d), state: rest[0] ?? '?', ppid: Number(rest[1]) });
    } catch {
      /* the process ended meanwhile */
    }
  }
  return out;
}

/** Processes descending from this one (children, grandchildren...), zombies included. */
export function descendants(root = process.pid): ProcEntry[] {
  const all = procTable();
  const out: ProcEntry[] = [];
  const parents = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all)
      if (parents.has(p.ppid) && !parents.has(p.pid)) {
        parents.add(p.pid);
        out.push(p);
        grew = true;
      }
  }
  return out;
}

/**
 * Live (not zombie) processes whose environment holds `marker` (`NAME=value`): finds what a test's
 * scripts left behind even after they were reparented away from this process.
 */
export function markedProcesses(marker: string): number[] {
  const out: number[] = [];
  for (const p of procTable()) {
    if (p.state === 'Z' || p.pid === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${p.pid}/environ`, 'latin1').split('\0').includes(marker)) out.push(p.pid);
    } catch {
      /* gone, or a kernel thread */
    }
  }
  return out;
}

/**
 * A certificate for CN=localhost (SAN localhost, 127.0.0.1) that expired on 2020-01-02, signed by
 * its own key with `openssl ca`; undefined when openssl is missing.
 */
export function expiredCert(): { key: string; cert: string } | undefined {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-cert-'));
  try {
    const o = { stdio: 'ignore' as const, cwd: dir };
    execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'k.pem', '-out', 'r.csr', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], o);
    fs.writeFileSync(path.join(dir, 'index.txt'), '');
    fs.writeFileSync(path.join(dir, 'serial'), '01\n');
    fs.writeFileSync(path.join(dir, 'ca.cnf'), `[ca]\ndefault_ca=d\n[d]\ndatabase=${dir}/index.txt\nnew_certs_dir=${dir}\nserial=${dir}/serial\ndefault_md=sha256\npolicy=p\ncopy_extensions=copy\n[p]\ncommonName=supplied\n`);
    execFileSync('openssl', ['ca', '-batch', '-config', 'ca.cnf', '-selfsign', '-keyfile', 'k.pem', '-in', 'r.csr', '-out', 'c.pem', '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-notext'], o);
    return { key: fs.readFileSync(path.join(dir, 'k.pem'), 'utf8'), cert: fs.readFileSync(path.join(dir, 'c.pem'), 'utf8') };
  } catch {
    return undefined;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** An HTTP server on 127.0.0.1 answering `ok` that can be closed and opened again on the same port. */
export interface ToggleServer {
  port: number;
  close(): Promise<void>;
  open(): Promise<void>;
}

/** Starts a ToggleServer (open, on a free port). */
export async function toggleHttpServer(): Promise<ToggleServer> {
  let s: http.Server | undefined;
  const self: ToggleServer = {
    port: 0,
    open: async () => {
      s = http.createServer((_req, res) => res.end('ok\n'));
      s.keepAliveTimeout = 1;
      await new Promise<void>((res) => s!.listen(self.port, '127.0.0.1', () => res()));
      self.port = (s.address() as net.AddressInfo).port;
    },
    close: async () => {
      const x = s;
      s = undefined;
      if (!x) return;
      x.closeAllConnections();
      await new Promise<void>((res) => x.close(() => res()));
    },
  };
  await self.open();
  return self;
}
