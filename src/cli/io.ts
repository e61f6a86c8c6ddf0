/** Where a CLI command writes; tests pass buffers. */
export interface Io {
  out(s: string): void;
  err(s: string): void;
  /** True when stderr is a terminal that accepts colour. */
  readonly color: boolean;
}

/** The process's stdout/stderr; colour only on a terminal and without NO_COLOR. */
export function processIo(): Io {
  return {
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
    color: process.stderr.isTTY === true && !process.env.NO_COLOR,
  };
}

/** A mistake in how the command was called (exit code 2). */
export class UsageError extends Error {
  readonly code = 'VIGIL_USAGE';
}
