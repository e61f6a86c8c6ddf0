import type { Logger } from 'pino';
import type { BfdChecker, Checker, DnsChecker, FileChecker, HttpChecker, MiscChecker, PingChecker, SmtpChecker, TcpChecker, UdpChecker } from '../config/schema/checkers.js';
import type { HexBytes } from '../config/schema/lvs-args.js';
import type { TrackFile } from '../config/schema/vrrp.js';
import { type Clock, realClock } from '../util/clock.js';
import { splitCommand } from '../util/command.js';
import { defaultRunAs, resolveRunAs } from '../util/users.js';
import { dnsCheck } from './dns-check.js';
import { fileChecker } from './file-check.js';
import { type HttpGetOptions, type UrlRegex, buildRequest, compileUrlRegex, httpGet } from './http-check.js';
import { miscCheck } from './misc-check.js';
import type { MonitoredChecker, Probe } from './monitor.js';
import { type IcmpMode, pingCheck } from './ping-check.js';
import type { CheckResult } from './result.js';
import { smtpCheck } from './smtp-check.js';
import type { Timing } from './state.js';
import { tcpCheck } from './tcp-check.js';
import { type TcpConnect, connectOption } from './mark-socket.js'; // fwmark, bind_if, tunnel_check
import { udpCheck } from './udp-check.js';

/*
 * Turns a compiled checker (effective values from lvs-resolve.ts) into a probe: every type but
 * BFD_CHECK. A checker whose configuration cannot run here (unknown user, a regex JavaScript
 * cannot compile, a track_file that does not exist) gets a probe that always fails with
 * `bad-config` and says why, rather than an exception. bind_if and fwmark (SO_BINDTODEVICE,
 * SO_MARK) are honoured by HTTP_GET, SSL_GET, TCP_CHECK and SMTP_CHECK through mark-socket.ts
 * (which also carries vigil's tunnel_check) and by PING_CHECK on sockets of its own; not yet by
 * DNS_CHECK and UDP_CHECK (Node's datagram sockets do not take an fd).
 */

/** Options shared by all probes. */
export interface ProbeOptions {
  readonly clock?: Clock;
  readonly maxBodyBytes?: number;
  /** Verify SSL_GET certificates (keepalived does not). */
  readonly verifyTls?: boolean;
  /** global_defs script_user: who runs MISC_CHECK programs without a `user`. */
  readonly scriptUser?: { readonly user: string; readonly group?: string };
  /** SIGTERM → SIGKILL delay for a MISC_CHECK program past its timeout (default 2 s, keepalived). */
  readonly killGraceMs?: number;
  /** The configuration's track_file blocks, for FILE_CHECK. */
  readonly trackFiles?: readonly TrackFile[];
  /**
   * Timing of FILE_CHECK, which has none of its own (keepalived reacts to inotify at once): default
   * a read every second, no retry, no warmup, not alpha.
   */
  readonly fileTiming?: Partial<Timing>;
  /** PING_CHECK socket kind (default: datagram, falling back to raw). */
  readonly icmpMode?: IcmpMode;
  /** Where skipped checkers are reported. */
  readonly log?: Logger;
}

/** Checker types probeFor supports: all but BFD_CHECK. */
export type SupportedChecker = Exclude<Checker, BfdChecker>;

/** True for the checker types probeFor supports. */
export function isSupported(c: Checker): c is SupportedChecker {
  return c.type !== 'BFD_CHECK';
}

/** Default FILE_CHECK timing. */
export const FILE_CHECK_TIMING: Timing = { retry: 0, delayBeforeRetryMs: 1000, delayLoopMs: 1000, warmupMs: 0, alpha: false };

/** A name for logs and status: `HTTP_GET 10.0.0.2:80`, `PING_CHECK 10.0.0.2`, `MISC_CHECK /bin/check`, `FILE_CHECK name`. */
export function checkerName(c: SupportedChecker): string {
  if (c.type === 'MISC_CHECK') return `MISC_CHECK ${c.miscPath.command}`;
  if (c.type === 'FILE_CHECK') return `FILE_CHECK ${c.trackFile}`;
  const ip = c.connectIp.includes(':') ? `[${c.connectIp}]` : c.connectIp;
  return c.type === 'PING_CHECK' ? `PING_CHECK ${c.connectIp}` : `${c.type} ${ip}:${c.connectPort}${c.tunnel ? ` via ${c.tunnel.realServer}` : ''}`;
}

/** A probe that always fails with `bad-config`. */
function misconfigured(detail: string): Probe {
  return () => Promise.resolve({ ok: false, reason: 'bad-config', latencyMs: 0, detail });
}

type Conn = { host: string; port: number; deadlineMs: number; localAddress?: string; localPort?: number; connect?: TcpConnect };

function connOf(c: HttpChecker | TcpChecker | SmtpChecker | DnsChecker | UdpChecker): Conn {
  return {
    host: c.connectIp,
    port: c.connectPort,
    deadlineMs: c.connectTimeoutMs,
    ...(c.bindto !== undefined ? { localAddress: c.bindto } : {}),
    ...(c.bindPort !== undefined ? { localPort: c.bindPort } : {}),
    ...connectOption(c), // a marked socket for fwmark / bind_if / tunnel_check (TCP-based types only)
  };
}

/** The bytes and ignore-mask of a hex string from the config. */
function hexBytes(h: HexBytes): { data: Buffer; mask?: Buffer } {
  return { data: Buffer.from(h.hex, 'hex'), ...(h.ignoreMask !== undefined ? { mask: Buffer.from(h.ignoreMask, 'hex') } : {}) };
}

/**
 * The probe of a checker. HTTP_GET/SSL_GET GET every url in order on a new connection each, each
 * within connect_timeout as one hard deadline, and fail at the first failing url.
 */
export function probeFor(c: SupportedChecker, o: ProbeOptions = {}): Probe {
  const clock = o.clock ?? realClock;
  switch (c.type) {
    case 'TCP_CHECK': {
      const conn = connOf(c);
      return () => tcpCheck(conn, clock);
    }
    case 'HTTP_GET':
    case 'SSL_GET':
      return httpProbe(c, o, clock);
    case 'SMTP_CHECK': {
      const conn = { ...connOf(c), heloName: c.heloName };
      return () => smtpCheck(conn, clock);
    }
    case 'DNS_CHECK': {
      const q = { ...connOf(c), type: c.queryType, name: c.name };
      return () => dnsCheck(q, clock);
    }
    case 'UDP_CHECK': {
      const reply = c.replyData ? hexBytes(c.replyData) : undefined;
      const u = {
        ...connOf(c),
        ...(c.payload ? { payload: hexBytes(c.payload).data } : {}),
        requireReply: c.requireReply,
        ...(reply ? { replyData: reply.data, ...(reply.mask ? { replyMask: reply.mask } : {}) } : {}),
        minReplyLength: c.minReplyLength,
        maxReplyLength: c.maxReplyLength,
      };
      return () => udpCheck(u, clock);
    }
    case 'PING_CHECK':
      return pingProbe(c, o, clock);
    case 'MISC_CHECK':
      return miscProbe(c, o, clock);
    case 'FILE_CHECK':
      return fileProbe(c, o, clock);
  }
}

function httpProbe(c: HttpChecker, o: ProbeOptions, clock: Clock): Probe {
  const conn = connOf(c);
  const gets: HttpGetOptions[] = [];
  for (const u of c.urls) {
    const vhost = u.virtualhost ?? c.virtualhost;
    let regex: UrlRegex | undefined;
    if (u.regex !== undefined) {
      const r = compileUrlRegex({ ...u, regex: u.regex });
      if ('error' in r) return misconfigured(`url ${u.path}: ${r.error}`);
      regex = r.regex;
    }
    gets.push({
      ...conn,
      path: u.path,
      httpProtocol: c.httpProtocol,
      statusCodes: u.statusCodes,
      ...(u.digest !== undefined ? { digest: u.digest } : { digestBody: false }), // no MD5 per check unless one is expected
      ...(regex !== undefined ? { regex } : {}),
      ...(vhost !== undefined ? { virtualhost: vhost } : {}),
      ...(o.maxBodyBytes !== undefined ? { maxBodyBytes: o.maxBodyBytes } : {}),
      ...(c.type === 'SSL_GET' ? { tls: { verify: o.verifyTls === true, ...(c.enableSni && vhost !== undefined ? { servername: vhost } : {}) } } : {}),
    });
  }
  // the request bytes once per url, not once per check
  for (let i = 0; i < gets.length; i++) gets[i] = { ...gets[i]!, request: Buffer.from(buildRequest(gets[i]!), 'utf8') };
  const only = gets.length === 1 ? gets[0]! : undefined;
  if (only) return () => httpGet(only, clock).then((r) => (r.ok ? r : { ...r, detail: `${only.path}: ${r.detail}` }));
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

function pingProbe(c: PingChecker, o: ProbeOptions, clock: Clock): Probe {
  const p = {
    host: c.connectIp,
    deadlineMs: c.connectTimeoutMs,
    ...(c.bindto !== undefined ? { localAddress: c.bindto } : {}),
    ...(c.bindIf !== undefined ? { bindIf: c.bindIf } : {}),
    ...(c.fwmark !== undefined ? { fwmark: c.fwmark } : {}),
    ...(o.icmpMode !== undefined ? { mode: o.icmpMode } : {}),
  };
  return () => pingCheck(p, clock);
}

function miscProbe(c: MiscChecker, o: ProbeOptions, clock: Clock): Probe {
  const argv = splitCommand(c.miscPath.command);
  if (argv.length === 0) return misconfigured('misc_path is empty');
  const runAs = c.miscPath.user !== undefined ? resolveRunAs(c.miscPath.user, c.miscPath.group) : defaultRunAs(o.scriptUser);
  if (!runAs) return misconfigured(`user ${c.miscPath.user ?? ''}${c.miscPath.group !== undefined ? ` group ${c.miscPath.group}` : ''} does not exist here`);
  // Only switch ids when they differ from ours (a non-root vigil runs scripts as itself).
  const ids = runAs.uid === process.getuid?.() && runAs.gid === process.getgid?.() ? {} : runAs;
  const m = { argv, timeoutMs: c.miscTimeoutMs, dynamic: c.miscDynamic, ...ids, ...(o.killGraceMs !== undefined ? { killGraceMs: o.killGraceMs } : {}) };
  return () => miscCheck(m, clock);
}

function fileProbe(c: FileChecker, o: ProbeOptions, clock: Clock): Probe {
  const tf = o.trackFiles?.find((f) => f.name === c.trackFile);
  if (!tf) return misconfigured(`track_file ${c.trackFile} is not defined`);
  // The checker's weight, else the track_file's (keepalived check_file.c file_end_handler).
  const weight = c.weight ?? tf.weight;
  const reverse = c.weight !== undefined ? c.weightReverse : tf.weightReverse;
  return fileChecker({ name: tf.name, file: tf.file, weight, reverse }, clock);
}

/**
 * The monitored checkers of a real server: every type but BFD_CHECK, which is logged and skipped
 * (vigil has no BFD yet). FILE_CHECK runs on `o.fileTiming` (default FILE_CHECK_TIMING).
 */
export function monitoredCheckers(checkers: readonly Checker[], o: ProbeOptions = {}): MonitoredChecker[] {
  const out: MonitoredChecker[] = [];
  for (const c of checkers) {
    if (!isSupported(c)) {
      o.log?.warn({ op: 'health.checker', checker: 'BFD_CHECK', name: c.name }, `BFD_CHECK ${c.name} is not supported yet: skipped`);
      continue;
    }
    const timing: Timing = c.type === 'FILE_CHECK' ? { ...FILE_CHECK_TIMING, ...o.fileTiming } : c;
    out.push({ name: checkerName(c), timing, probe: probeFor(c, o) });
  }
  return out;
}
