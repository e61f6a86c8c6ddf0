import type { Checker, HttpChecker, TcpChecker } from '../config/schema/checkers.js';
import { type Clock, realClock } from '../util/clock.js';
import { type HttpGetOptions, httpGet } from './http-check.js';
import type { MonitoredChecker, Probe } from './monitor.js';
import type { CheckResult } from './result.js';
import { tcpCheck } from './tcp-check.js';

/*
 * Turns a compiled checker (effective values from lvs-resolve.ts) into a probe. This slice covers
 * HTTP_GET, SSL_GET and TCP_CHECK; other types return undefined. Not yet honoured: url regex,
 * bind_if, fwmark (SO_BINDTODEVICE/SO_MARK need a socket option Node does not expose).
 */

/** Options shared by all probes. */
export interface ProbeOptions {
  readonly clock?: Clock;
  readonly maxBodyBytes?: number;
  /** Verify SSL_GET certificates (keepalived does not). */
  readonly verifyTls?: boolean;
}

/** Checker types this slice can run. */
export type SupportedChecker = HttpChecker | TcpChecker;

/** True for the checker types probeFor supports. */
export function isSupported(c: Checker): c is SupportedChecker {
  return c.type === 'HTTP_GET' || c.type === 'SSL_GET' || c.type === 'TCP_CHECK';
}

/** A name for logs and status: `HTTP_GET 10.0.0.2:80`. */
export function checkerName(c: SupportedChecker): string {
  const ip = c.connectIp.includes(':') ? `[${c.connectIp}]` : c.connectIp;
  return `${c.type} ${ip}:${c.connectPort}`;
}

/**
 * The probe of a checker. HTTP_GET/SSL_GET GET every url in order on a new connection each, each
 * within connect_timeout as one hard deadline, and fail at the first failing url.
 */
export function probeFor(c: SupportedChecker, o: ProbeOptions = {}): Probe {
  const clock = o.clock ?? realClock;
  const conn = {
    host: c.connectIp,
    port: c.connectPort,
    deadlineMs: c.connectTimeoutMs,
    ...(c.bindto !== undefined ? { localAddress: c.bindto } : {}),
    ...(c.bindPort !== undefined ? { localPort: c.bindPort } : {}),
  };
  if (c.type === 'TCP_CHECK') return () => tcpCheck(conn, clock);
  const gets: HttpGetOptions[] = c.urls.map((u) => {
    const vhost = u.virtualhost ?? c.virtualhost;
    return {
      ...conn,
      path: u.path,
      httpProtocol: c.httpProtocol,
      statusCodes: u.statusCodes,
      ...(u.digest !== undefined ? { digest: u.digest } : {}),
      ...(vhost !== undefined ? { virtualhost: vhost } : {}),
      ...(o.maxBodyBytes !== undefined ? { maxBodyBytes: o.maxBodyBytes } : {}),
      ...(c.type === 'SSL_GET' ? { tls: { verify: o.verifyTls === true, ...(c.enableSni && vhost !== undefined ? { servername: vhost } : {}) } } : {}),
    };
  });
  return async () => {
    let last: CheckResult = { ok: true, reason: 'ok', latencyMs: 0, detail: 'no url' };
    let total = 0;
    for (const g of gets) {
      const r = await httpGet(g, clock);
      total += r.latencyMs;
      if (!r.ok) return { ...r, latencyMs: total, detail: `${g.path}: ${r.detail}` };
      last = { ...r, latencyMs: total };
    }
    return last;
  };
}

/** The monitored checkers of a real server, skipping types this slice cannot run yet. */
export function monitoredCheckers(checkers: readonly Checker[], o: ProbeOptions = {}): MonitoredChecker[] {
  return checkers.filter(isSupported).map((c) => ({ name: checkerName(c), timing: c, probe: probeFor(c, o) }));
}
