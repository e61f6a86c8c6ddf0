import type net from 'node:net';
import { peerCred } from '../net/libc.js';
import type { Caller } from './server.js';

/**
 * The credentials of a control-socket client (SO_PEERCRED on the accepted Unix socket), read
 * through the socket's file descriptor. Undefined when node does not expose the descriptor or
 * the call fails: callers then record "peer credentials unavailable".
 */
export function socketPeer(c: net.Socket): Caller | undefined {
  const fd = (c as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  try {
    return peerCred(fd);
  } catch {
    return undefined;
  }
}
