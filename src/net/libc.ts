import os from 'node:os';
import koffi from 'koffi';

/*
 * The few libc calls vigil needs for raw IP, packet and netlink sockets, through koffi (an FFI
 * shipped prebuilt on npm). Everything above this file speaks Buffers and typed errors; nothing
 * else touches koffi.
 */

const lib = koffi.load('libc.so.6');

const iovec = koffi.struct('vigil_iovec', { iov_base: 'void *', iov_len: 'size_t' });
const msghdr = koffi.struct('vigil_msghdr', {
  msg_name: 'void *',
  msg_namelen: 'uint32',
  msg_iov: koffi.pointer(iovec),
  msg_iovlen: 'size_t',
  msg_control: 'void *',
  msg_controllen: 'size_t',
  msg_flags: 'int',
});

const c = {
  socket: lib.func('int socket(int domain, int type, int protocol)'),
  close: lib.func('int close(int fd)'),
  bind: lib.func('int bind(int fd, const void *addr, uint32 addrlen)'),
  setsockopt: lib.func('int setsockopt(int fd, int level, int name, const void *val, uint32 len)'),
  getsockopt: lib.func('int getsockopt(int fd, int level, int name, _Out_ void *val, _Inout_ uint32 *len)'),
  sendto: lib.func('long sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32 addrlen)'),
  recvmsg: lib.func('long recvmsg(int fd, _Inout_ vigil_msghdr *msg, int flags)'),
  poll: lib.func('int poll(_Inout_ void *fds, unsigned long nfds, int timeout)'),
  eventfd: lib.func('int eventfd(unsigned int initval, int flags)'),
  write: lib.func('long write(int fd, const void *buf, size_t len)'),
  read: lib.func('long read(int fd, _Out_ void *buf, size_t len)'),
  ifNameToIndex: lib.func('unsigned int if_nametoindex(const char *name)'),
  mkfifo: lib.func('int mkfifo(const char *path, uint32 mode)'),
};

/** A failed system call, with the errno name as `code` (EPERM, ENODEV, ...). */
export class SysError extends Error {
  constructor(
    readonly op: string,
    readonly errno: number,
    readonly code: string,
  ) {
    super(`${op}: ${code} (${errnoText(errno)})`);
    this.name = 'SysError';
  }
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(os.constants.errno).map(([k, v]) => [v, k]));

function errnoText(n: number): string {
  return ERRNO_NAMES.get(n) ?? `errno ${n}`;
}

/** Throws a SysError for `op` when `ret` is negative; returns `ret` otherwise. */
function check(op: string, ret: number | bigint): number {
  const n = Number(ret);
  if (n < 0) {
    const e = koffi.errno();
    throw new SysError(op, e, ERRNO_NAMES.get(e) ?? `E${e}`);
  }
  return n;
}

/** The errno of the last failed call on this thread. */
export function lastErrno(): number {
  return koffi.errno();
}

export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const AF_PACKET = 17;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const MSG_DONTWAIT = 0x40;
export const EAGAIN = 11;
export const EINTR = 4;
export const SOL_SOCKET = 1;
export const SO_BINDTODEVICE = 25;
export const SO_RCVBUF = 8;
export const IPPROTO_IP = 0;
export const IPPROTO_IPV6 = 41;
export const IP_TOS = 1;
export const IP_TTL = 2;
export const IP_PKTINFO = 8;
export const IP_MULTICAST_IF = 32;
export const IP_MULTICAST_TTL = 33;
export const IP_MULTICAST_LOOP = 34;
export const IP_ADD_MEMBERSHIP = 35;
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_MULTICAST_IF = 17;
export const IPV6_MULTICAST_HOPS = 18;
export const IPV6_MULTICAST_LOOP = 19;
export const IPV6_JOIN_GROUP = 20;
export const IPV6_RECVPKTINFO = 49;
export const IPV6_PKTINFO = 50;
export const IPV6_RECVHOPLIMIT = 51;
export const IPV6_HOPLIMIT = 52;
export const IPV6_TCLASS = 67;
export const POLLIN = 0x1;
export const EFD_NONBLOCK = 0o4000;
export const EFD_CLOEXEC = 0o2000000;

/** socket(2); the fd is non-blocking and close-on-exec. */
export function socket(domain: number, type: number, protocol: number): number {
  return check(`socket(${domain}, ${type}, ${protocol})`, c.socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
}

/** close(2); errors are ignored (the fd is gone either way). */
export function close(fd: number): void {
  c.close(fd);
}

/** bind(2) to a raw sockaddr buffer. */
export function bind(fd: number, addr: Buffer): void {
  check('bind', c.bind(fd, addr, addr.length));
}

/** setsockopt(2) with a raw value buffer. */
export function setsockopt(fd: number, level: number, name: number, value: Buffer, what = `setsockopt(${level}, ${name})`): void {
  check(what, c.setsockopt(fd, level, name, value, value.length));
}

/** setsockopt(2) with an int value. */
export function setsockoptInt(fd: number, level: number, name: number, value: number, what?: string): void {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value);
  setsockopt(fd, level, name, b, what);
}

/** getsockopt(2) of an int value. */
export function getsockoptInt(fd: number, level: number, name: number): number {
  const b = Buffer.alloc(4);
  const len = [4];
  check('getsockopt', c.getsockopt(fd, level, name, b, len));
  return b.readInt32LE();
}

/** SO_PEERCRED (asm-generic/socket.h): the pid, uid and gid of a Unix socket's peer. */
export const SO_PEERCRED = 17;

/** The credentials of the process at the other end of a connected Unix socket (struct ucred). */
export function peerCred(fd: number): { pid: number; uid: number; gid: number } {
  const b = Buffer.alloc(12);
  const len = [12];
  check('getsockopt SO_PEERCRED', c.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, b, len));
  return { pid: b.readInt32LE(0), uid: b.readUInt32LE(4), gid: b.readUInt32LE(8) };
}

/** sendto(2); returns bytes sent. */
export function sendto(fd: number, data: Buffer, addr: Buffer | null, what = 'sendto'): number {
  return check(what, c.sendto(fd, data, data.length, 0, addr, addr ? addr.length : 0));
}

/** One message read by `recvmsg`. */
export interface Received {
  readonly length: number;
  readonly nameLength: number;
  readonly controlLength: number;
  readonly flags: number;
}

/**
 * recvmsg(2) into caller-owned buffers, non-blocking: undefined when nothing is waiting.
 */
export function recvmsg(fd: number, name: Buffer | null, data: Buffer, control: Buffer | null): Received | undefined {
  const msg = {
    msg_name: name,
    msg_namelen: name ? name.length : 0,
    msg_iov: [{ iov_base: data, iov_len: data.length }],
    msg_iovlen: 1,
    msg_control: control,
    msg_controllen: control ? control.length : 0,
    msg_flags: 0,
  };
  const n = Number(c.recvmsg(fd, msg, MSG_DONTWAIT));
  if (n < 0) {
    const e = koffi.errno();
    if (e === EAGAIN || e === EINTR) return undefined;
    throw new SysError('recvmsg', e, ERRNO_NAMES.get(e) ?? `E${e}`);
  }
  return { length: n, nameLength: msg.msg_namelen, controlLength: msg.msg_controllen, flags: msg.msg_flags };
}

/** if_nametoindex(3); throws ENODEV for an unknown interface. */
export function ifIndex(name: string): number {
  const i = c.ifNameToIndex(name);
  if (i === 0) throw new SysError(`if_nametoindex(${name})`, os.constants.errno.ENODEV, 'ENODEV');
  return i;
}

/** eventfd(2), non-blocking: used to wake the poller. */
export function eventfd(): number {
  return check('eventfd', c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
}

/** Adds 1 to an eventfd counter. */
export function eventfdSignal(fd: number): void {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(1n);
  c.write(fd, b, 8);
}

/** Reads (and so resets) an eventfd counter. */
export function eventfdDrain(fd: number): void {
  c.read(fd, Buffer.alloc(8), 8);
}

/** poll(2) on a thread of the libuv pool; `fds` is an array of struct pollfd (8 bytes each). */
export function pollAsync(fds: Buffer, count: number, timeoutMs: number, done: (err: unknown, ready: number) => void): void {
  c.poll.async(fds, count, timeoutMs, (err: unknown, res: number) => done(err, res));
}

/** mkfifo(3). */
export function mkfifo(path: string, mode = 0o600): void {
  check(`mkfifo ${path}`, c.mkfifo(path, mode));
}

// ---- Sockets Node does not let configure (src/health/mark-socket.ts): SO_MARK, SO_BINDTODEVICE, the kernel's source choice.

export const SOCK_STREAM = 1;
/** SOL_SOCKET SO_MARK (asm-generic/socket.h); needs CAP_NET_ADMIN. */
export const SO_MARK = 36;

const sockc = {
  connect: lib.func('int connect(int fd, const void *addr, uint32 addrlen)'),
  getsockname: lib.func('int getsockname(int fd, _Out_ void *addr, _Inout_ uint32 *addrlen)'),
};

/** connect(2) to a raw sockaddr buffer (for a datagram socket: only sets the peer, sends nothing). */
export function connect(fd: number, addr: Buffer, what = 'connect'): void {
  check(what, sockc.connect(fd, addr, addr.length));
}

/** getsockname(2): the socket's local address as a raw sockaddr (128 bytes, sockaddr_storage). */
export function getsockname(fd: number): Buffer {
  const b = Buffer.alloc(128);
  const len = [b.length];
  check('getsockname', sockc.getsockname(fd, b, len));
  return b.subarray(0, len[0]);
}

// ---- Process scheduling (src/daemon/process-tuning.ts): keepalived's *_priority, *_rt_priority, *_rlimit_rttime, *_cpu_affinity.

/** sched.h policies; SCHED_RESET_ON_FORK keeps scripts a child runs off the realtime class (keepalived sets it too). */
export const SCHED_OTHER = 0;
export const SCHED_RR = 2;
export const SCHED_RESET_ON_FORK = 0x40000000;
/** sys/resource.h */
export const PRIO_PROCESS = 0;
export const RLIMIT_RTTIME = 15;

const schedc = {
  setscheduler: lib.func('int sched_setscheduler(int pid, int policy, const void *param)'),
  getscheduler: lib.func('int sched_getscheduler(int pid)'),
  getparam: lib.func('int sched_getparam(int pid, _Out_ void *param)'),
  setpriority: lib.func('int setpriority(int which, unsigned int who, int prio)'),
  getpriority: lib.func('int getpriority(int which, unsigned int who)'),
  setrlimit: lib.func('int setrlimit(int resource, const void *rlim)'),
  getrlimit: lib.func('int getrlimit(int resource, _Out_ void *rlim)'),
  setaffinity: lib.func('int sched_setaffinity(int pid, size_t len, const void *mask)'),
  getaffinity: lib.func('int sched_getaffinity(int pid, size_t len, _Out_ void *mask)'),
};

/** sched_setscheduler(2) of thread `tid` (0: the calling thread). */
export function schedSetscheduler(tid: number, policy: number, priority: number): void {
  const p = Buffer.alloc(4);
  p.writeInt32LE(priority);
  check(`sched_setscheduler(${tid}, ${policy & ~SCHED_RESET_ON_FORK}, ${priority})`, schedc.setscheduler(tid, policy, p));
}

/** The policy (SCHED_RESET_ON_FORK masked off) and realtime priority of thread `tid`. */
export function schedGet(tid: number): { policy: number; priority: number } {
  const policy = check(`sched_getscheduler(${tid})`, schedc.getscheduler(tid)) & ~SCHED_RESET_ON_FORK;
  const p = Buffer.alloc(4);
  check(`sched_getparam(${tid})`, schedc.getparam(tid, p));
  return { policy, priority: p.readInt32LE() };
}

/** setpriority(2) PRIO_PROCESS: on Linux, the nice value of thread `tid` (0: the calling thread). */
export function setNice(tid: number, nice: number): void {
  check(`setpriority(PRIO_PROCESS, ${tid}, ${nice})`, schedc.setpriority(PRIO_PROCESS, tid, nice));
}

/** getpriority(2) PRIO_PROCESS: the nice value of thread `tid` (-1 is a valid answer, hence the errno dance). */
export function getNice(tid: number): number {
  const before = koffi.errno();
  koffi.errno(0);
  const n = Number(schedc.getpriority(PRIO_PROCESS, tid));
  const e = koffi.errno();
  koffi.errno(before);
  if (n === -1 && e !== 0) throw new SysError(`getpriority(PRIO_PROCESS, ${tid})`, e, ERRNO_NAMES.get(e) ?? `E${e}`);
  return n;
}

/** Bytes of a cpu_set_t mask: 1024 CPUs, glibc's CPU_SETSIZE. */
const CPU_MASK_BYTES = 128;

/** sched_setaffinity(2) of thread `tid` (0: the calling thread) to the CPUs listed. */
export function schedSetaffinity(tid: number, cpus: readonly number[]): void {
  const m = Buffer.alloc(CPU_MASK_BYTES);
  for (const c of cpus) {
    if (!Number.isInteger(c) || c < 0 || c >= CPU_MASK_BYTES * 8) throw new SysError(`sched_setaffinity(${tid}, [${cpus.join(',')}])`, os.constants.errno.EINVAL, 'EINVAL');
    m[c >> 3]! |= 1 << (c & 7);
  }
  check(`sched_setaffinity(${tid}, [${cpus.join(',')}])`, schedc.setaffinity(tid, CPU_MASK_BYTES, m));
}

/** sched_getaffinity(2): the CPUs thread `tid` may run on, ascending. */
export function schedGetaffinity(tid: number): number[] {
  const m = Buffer.alloc(CPU_MASK_BYTES);
  check(`sched_getaffinity(${tid})`, schedc.getaffinity(tid, CPU_MASK_BYTES, m));
  const out: number[] = [];
  for (let i = 0; i < CPU_MASK_BYTES * 8; i++) if (m[i >> 3]! & (1 << (i & 7))) out.push(i);
  return out;
}

/** setrlimit(2) with soft and hard limits (RLIM_INFINITY: 2^64 − 1). */
export function setRlimit(resource: number, soft: bigint, hard: bigint): void {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(soft, 0);
  b.writeBigUInt64LE(hard, 8);
  check(`setrlimit(${resource}, ${soft}, ${hard})`, schedc.setrlimit(resource, b));
}

/** getrlimit(2): [soft, hard]. */
export function getRlimit(resource: number): [bigint, bigint] {
  const b = Buffer.alloc(16);
  check(`getrlimit(${resource})`, schedc.getrlimit(resource, b));
  return [b.readBigUInt64LE(0), b.readBigUInt64LE(8)];
}
