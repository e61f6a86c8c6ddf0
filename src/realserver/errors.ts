/** Stable codes of RealServerError. */
export type RealServerErrorCode =
  /** The kernel cannot create the tunnel device: its module is missing. */
  | 'ENOMODULE'
  /** A kernel write (rtnetlink) failed. */
  | 'EKERNEL'
  /** A sysctl could not be read or written. */
  | 'ESYSCTL'
  /** The state file could not be read or written, or is not vigil's. */
  | 'ESTATE';

/** A failure of `vigil realserver`, naming the operation and the object (`cause` keeps the original). */
export class RealServerError extends Error {
  override readonly name = 'RealServerError';

  constructor(
    readonly code: RealServerErrorCode,
    readonly op: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${op}: ${message}`, options);
  }
}
