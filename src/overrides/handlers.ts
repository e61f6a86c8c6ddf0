/*
 * The supervisor's side of `vigil drain | disable | enable`: control-socket methods that check
 * who is asking (root only, from the socket's peer credentials), name the caller, and pass the
 * request to the checker child, which owns the overrides. A refusal keeps its code
 * (bad-request, forbidden, unavailable, internal) and its message.
 */
import { describeCaller, requireRoot } from '../control/caller.js';
import { type Handler, HandlerError } from '../control/server.js';
import type { ChildKind } from '../daemon/ipc.js';

/** The control methods of the overrides. */
export const OVERRIDE_METHODS = ['override.set', 'override.enable', 'override.conns', 'override.list'] as const;

/** Methods that change something (root only); the others only read. */
const CHANGES = new Set(['override.set', 'override.enable']);

/** What the handlers need of the supervisor. */
export interface ChildCaller {
  call(kind: ChildKind, method: string, params: Record<string, unknown>, timeoutMs?: number): Promise<unknown>;
}

/** The override methods for the control server. */
export function overrideHandlers(sup: ChildCaller): Record<string, Handler> {
  const handler =
    (method: string): Handler =>
    async (params, caller) => {
      if (CHANGES.has(method)) requireRoot(caller, method.replace('override.set', String(params.action ?? 'override')).replace('override.', ''));
      let answer: unknown;
      try {
        answer = await sup.call('checker', method, { ...params, who: describeCaller(caller) });
      } catch (e) {
        throw new HandlerError('unavailable', `the checker child cannot take it now: ${(e as Error).message}`);
      }
      const a = answer as { ok?: unknown; code?: unknown; message?: unknown } | undefined;
      if (a?.ok === false) {
        const code = a.code === 'bad-request' || a.code === 'internal' ? a.code : 'internal';
        throw new HandlerError(code, String(a.message));
      }
      return answer;
    };
  return Object.fromEntries(OVERRIDE_METHODS.map((m) => [m, handler(m)]));
}
