import net from 'node:net';
import { type Clock, realClock } from '../util/clock.js';
import type { TcpConnect } from './mark-socket.js';
import { type CheckResult, type Reason, reasonOf } from './result.js';

/** One TCP_CHECK: a connection is established within the deadline (keepalived check_tcp.c). */
export interface TcpCheckOptions {
  readonly host: string;
  readonly port: number;
  readonly localAddress?: string;
  readonly localPort?: number;
  /** Hard deadline for the connect, ms. */
  readonly deadlineMs: number;
  /** Opens the connection (default net.connect); probe.ts passes a marked one for fwmark/bind_if/tunnel_check. */
  readonly connect?: TcpConnect;
}

/** Connects and closes at once; resolves to a CheckResult, never rejects. */
export function tcpCheck(o: TcpCheckOptions, clock: Clock = realClock): Promise<CheckResult> {
  const t0 = clock.now();
  return new Promise<CheckResult>((resolve) => {
    let done = false;
    let sock: net.Socket | undefined;
    const cancel = clock.setTimeout(() => finish('timeout', `no connection within ${o.deadlineMs} ms`), o.deadlineMs);
    function finish(reason: Reason, detail: string): void {
      if (done) return;
      done = true;
      cancel();
      sock?.destroy();
      resolve({ ok: reason === 'ok', reason, latencyMs: clock.now() - t0, detail });
    }
    try {
      sock = (o.connect ?? net.connect)({
        host: o.host,
        port: o.port,
        ...(o.localAddress !== undefined ? { localAddress: o.localAddress } : {}),
        ...(o.localPort !== undefined ? { localPort: o.localPort } : {}),
      });
    } catch (e) {
      finish(reasonOf(e), `connect: ${(e as Error).message}`);
      return;
    }
    sock.on('error', (e) => finish(reasonOf(e), `connect: ${(e as { code?: string }).code ?? e.message}`));
    sock.once('connect', () => finish('ok', 'connected'));
  });
}
