/*
 * The outcome of one check: a value, never an exception. Reasons are stable strings for logs,
 * metrics and `vigil status`; `detail` is for humans.
 */

/** Why a check ended. Stable: logged, counted and shown by `vigil status`. */
export const REASONS = [
  'ok',
  'connect-refused',
  'connect-error',
  'timeout',
  'reset',
  'tls-error',
  'empty-response',
  'bad-response',
  'bad-status',
  'bad-digest',
  'body-too-large',
  'io-error',
  /** HTTP: the body does not match `regex` (or matches it, with `regex_no_match`). */
  'regex-mismatch',
  /** SMTP/UDP/DNS: a reply came, but not the one required (code, data, length, unparsable). */
  'bad-reply',
  /** UDP/DNS/PING: the datagram was sent and nothing came back before the deadline. */
  'no-reply',
  /** DNS: RCODE 3, the name does not exist. */
  'dns-nxdomain',
  /** DNS: any other non-zero RCODE (SERVFAIL, REFUSED, ...). */
  'dns-error',
  /** MISC: the program exited with a failing status. */
  'script-exit',
  /** MISC: the program ran past misc_timeout and was killed. */
  'script-timeout',
  /** MISC: the program was killed by a signal it was not sent by us. */
  'script-signal',
  /** MISC: the program could not be started (missing, not executable, unknown user). */
  'script-error',
  /** FILE: the tracked file's value puts the checker in the fault state. */
  'file-fault',
  /** The checker's configuration cannot be run (e.g. a regex JavaScript cannot compile). */
  'bad-config',
] as const;
/** A reason code. */
export type Reason = (typeof REASONS)[number];

/** What one HTTP exchange returned (present when a status line was read). */
export interface HttpOutcome {
  readonly status: number;
  /**
   * MD5 hex of the body bytes after the header, bounded by Content-Length (keepalived's genhash
   * digest); absent when the request asked for none (HttpGetOptions.digestBody false).
   */
  readonly digest?: string;
  readonly bodyBytes: number;
  /** Raw header text, only when asked for (genhash -v). */
  readonly header?: string;
}

/** The result of one check. */
export interface CheckResult {
  readonly ok: boolean;
  readonly reason: Reason;
  /** Time from start to end of the check, on the injected clock. */
  readonly latencyMs: number;
  /** Human-readable detail, e.g. `status 500 not in 200-299` or `ECONNREFUSED`. */
  readonly detail: string;
  readonly http?: HttpOutcome;
  /**
   * Dynamic weight requested for the real server: MISC_CHECK with misc_dynamic and exit status
   * 2-255 asks for weight `status - 2` (keepalived update_svr_wgt). Absent: weight unchanged.
   */
  readonly weight?: number;
  /**
   * FILE_CHECK with a non-zero weight: value × weight (negated with `reverse`), to be added to the
   * real server's configured weight (keepalived track_file). Absent for every other checker.
   */
  readonly weightDelta?: number;
}

/** Maps a socket/TLS error to a reason code (Node error codes, OpenSSL verify codes). */
export function reasonOf(err: unknown): Reason {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return 'io-error';
  if (code === 'ECONNREFUSED') return 'connect-refused';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'reset';
  if (['EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'EADDRINUSE', 'EINVAL', 'EACCES', 'EPERM', 'ENOTFOUND', 'ENODEV'].includes(code)) return 'connect-error';
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code.includes('CERT') || code.includes('SELF_SIGNED') || code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
    return 'tls-error';
  return 'io-error';
}
