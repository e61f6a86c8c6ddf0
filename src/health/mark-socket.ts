import net from 'node:net';
import * as libc from '../net/libc.js';
import { sockaddrAddress, sockaddrIn, sockaddrIn6 } from '../net/sockaddr.js';

/*
 * TCP connections with the socket options Node does not expose: SO_MARK (a checker's `fwmark`,
 * and the per-real-server mark of a tunnel check) and SO_BINDTODEVICE (`bind_if`). The socket is
 * created with koffi (non-blocking, close-on-exec), the options are set on it, and the fd is handed
 * to Node (`new net.Socket({ fd })`), whose connect then runs in libuv as for `net.connect`: the
 * caller gets an ordinary net.Socket (events, its own deadline, destroy), and the socket owns the
 * fd from then on (destroy() closes it). If anything fails before Node owns the fd, it is closed
 * here and the error thrown, as `net.connect` throws on bad arguments.
 */

/** Opens a TCP connection like `net.connect` (the checkers take one of these; default net.connect). */
export type TcpConnect = (o: net.TcpNetConnectOpts) => net.Socket;

/** Socket options of a checker's connections. */
export interface MarkOptions {
  /** SO_MARK (0-4294967295): `fwmark`, or the tunnel mark. Needs CAP_NET_ADMIN. */
  readonly fwmark?: number;
  /** SO_BINDTODEVICE: `bind_if`. */
  readonly bindIf?: string;
  /**
   * Tunnel checks: when no source address is given, use the one the kernel picks to reach this
   * address (the real server), i.e. the outer source of the ipip packets. A director holding the
   * VIP would otherwise send from the VIP, which the real server drops as a martian.
   */
  readonly sourceToward?: string;
}

/** True when a connection needs a socket of ours rather than net.connect's. */
export function needsMarkedSocket(o: MarkOptions): boolean {
  return o.fwmark !== undefined || o.bindIf !== undefined || o.sourceToward !== undefined;
}

/** A TCP socket fd of `family` with the options set; the caller owns the fd. Throws SysError. */
export function openMarkedSocket(family: 4 | 6, o: MarkOptions): number {
  return withOptions(libc.socket(family === 6 ? libc.AF_INET6 : libc.AF_INET, libc.SOCK_STREAM, 0), o);
}

/** Sets SO_MARK and SO_BINDTODEVICE on `fd`; closes it and throws when the kernel refuses. */
function withOptions(fd: number, o: Pick<MarkOptions, 'fwmark' | 'bindIf'>): number {
  try {
    if (o.fwmark !== undefined) {
      const v = Buffer.alloc(4);
      v.writeUInt32LE(o.fwmark >>> 0);
      libc.setsockopt(fd, libc.SOL_SOCKET, libc.SO_MARK, v, `setsockopt SO_MARK ${o.fwmark}`);
    }
    if (o.bindIf !== undefined) libc.setsockopt(fd, libc.SOL_SOCKET, libc.SO_BINDTODEVICE, Buffer.from(`${o.bindIf}\0`), `setsockopt SO_BINDTODEVICE ${o.bindIf}`);
    return fd;
  } catch (e) {
    libc.close(fd);
    throw e;
  }
}

/**
 * The source address the kernel would use to reach `address` (a UDP socket is connected, which
 * sends nothing, and asked for its name). Throws SysError (ENETUNREACH, ...) when there is no route.
 */
export function sourceToward(address: string, o: Pick<MarkOptions, 'fwmark' | 'bindIf'> = {}): string {
  const family = net.isIPv6(address) ? 6 : 4;
  // with the same mark and device as the connection: policy routing may depend on them
  const fd = withOptions(libc.socket(family === 6 ? libc.AF_INET6 : libc.AF_INET, libc.SOCK_DGRAM, 0), o);
  try {
    // port 9 (discard): any non-zero port will do, nothing is sent
    libc.connect(fd, family === 6 ? sockaddrIn6(address, 0, 9) : sockaddrIn(address, 9), `route to ${address}`);
    const a = sockaddrAddress(libc.getsockname(fd));
    if (a === undefined) throw new libc.SysError(`route to ${address}`, 97, 'EAFNOSUPPORT');
    return a;
  } finally {
    libc.close(fd);
  }
}

/** Opens a marked TCP connection: the fd is made here, then connected by Node (libuv). */
export function markedConnect(c: net.TcpNetConnectOpts, o: MarkOptions): net.Socket {
  const host = c.host ?? '';
  const family = net.isIP(host.replace(/%.*$/, ''));
  // a name would be resolved later, possibly to the other family than the socket's
  if (family === 0) throw Object.assign(new Error(`marked connect: ${JSON.stringify(host)} is not an IP address`), { code: 'EINVAL' });
  const opts = o.sourceToward !== undefined && c.localAddress === undefined ? { ...c, localAddress: sourceToward(o.sourceToward, o) } : c;
  const fd = openMarkedSocket(family as 4 | 6, o);
  let sock: net.Socket;
  try {
    sock = new net.Socket({ fd });
  } catch (e) {
    libc.close(fd);
    throw e;
  }
  try {
    // net.connect hands these to the Socket constructor; here the socket exists already
    if (c.noDelay === true) sock.setNoDelay(true);
    if (c.keepAlive === true) sock.setKeepAlive(true, c.keepAliveInitialDelay ?? 0);
    return sock.connect(opts);
  } catch (e) {
    sock.destroy(); // closes the fd
    throw e;
  }
}

/** The connect function for a checker: net.connect when no option needs our socket, else markedConnect. */
export function connectorFor(o: MarkOptions): TcpConnect {
  if (!needsMarkedSocket(o)) return (c) => net.connect(c);
  const opts: MarkOptions = { ...o };
  return (c) => markedConnect(c, opts);
}

/** What connectOption reads of a compiled checker. */
export interface ConnectSettings {
  readonly type: string;
  readonly fwmark?: number;
  readonly bindIf?: string;
  readonly tunnel?: { readonly realServer: string };
}

/** Checker types whose connection vigil opens with net.Socket (and so can mark). */
const TCP_TYPES: ReadonlySet<string> = new Set(['TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'SMTP_CHECK']);

/**
 * The `connect` option of a TCP-based checker's probe (TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK):
 * a marked connector when fwmark, bind_if or tunnel_check ask for one, else nothing (net.connect).
 */
export function connectOption(c: ConnectSettings): { connect?: TcpConnect } {
  if (!TCP_TYPES.has(c.type)) return {};
  const o: MarkOptions = {
    ...(c.fwmark !== undefined ? { fwmark: c.fwmark } : {}),
    ...(c.bindIf !== undefined ? { bindIf: c.bindIf } : {}),
    ...(c.tunnel !== undefined ? { sourceToward: c.tunnel.realServer } : {}),
  };
  return needsMarkedSocket(o) ? { connect: connectorFor(o) } : {};
}
