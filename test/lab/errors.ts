/** Stable codes for lab failures, so a test can tell a setup problem from a product bug. */
export type LabErrorCode =
  | 'ENAME' // a namespace or interface name is invalid or too long
  | 'ESPAWN' // a process could not be started
  | 'EEXIT' // a command exited non-zero
  | 'ETIMEDOUT' // a command or a wait ran past its deadline
  | 'ESETUP' // building a topology failed
  | 'ETEARDOWN' // cleaning up failed
  | 'EUML'; // the user-mode Linux guest could not run

/** Error raised by the test labs; the message names the operation and the object. */
export class LabError extends Error {
  /** Stable machine-readable code. */
  readonly code: LabErrorCode;

  constructor(code: LabErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LabError';
    this.code = code;
  }
}
