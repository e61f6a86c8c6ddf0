/*
 * Who is asking on the control socket, said one way for every operator override (`vigil failover`,
 * `vigil drain | disable | enable`): from the socket's peer credentials (SO_PEERCRED), which the
 * caller cannot forge, never from a name the client sends; and the daemon-side refusal of a
 * non-root caller for a method that changes something.
 */
import fs from 'node:fs';
import { type Caller, HandlerError } from './server.js';

/** `root (uid 0, pid 1234)`; the user name from /etc/passwd when it is there. */
export function describeCaller(c: Caller | undefined, passwd = '/etc/passwd'): string {
  if (!c) return 'unknown (peer credentials unavailable)';
  let name: string | undefined;
  try {
    name = fs
      .readFileSync(passwd, 'utf8')
      .split('\n')
      .map((l) => l.split(':'))
      .find((f) => f[2] === String(c.uid))?.[0];
  } catch {
    /* no passwd: the uid alone */
  }
  return `${name ?? `uid ${c.uid}`} (uid ${c.uid}, pid ${c.pid})`;
}

/**
 * Throws a `forbidden` HandlerError when the caller is known and not root (`what` names the
 * request: "drain needs root; ..."). Unknown credentials pass: the socket itself is root-only.
 */
export function requireRoot(caller: Caller | undefined, what: string): void {
  if (caller && caller.uid !== 0) throw new HandlerError('forbidden', `${what} needs root; the caller is ${describeCaller(caller)}`);
}
