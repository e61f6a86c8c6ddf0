/**
 * Safety net: synchronous cleanups that run when the process exits or dies of a
 * catchable signal (tap sends SIGALRM on timeout, CI and users send SIGTERM/SIGINT).
 * Normal teardown goes through `t.teardown`; this only catches what that missed.
 */

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGALRM'] as const;

const actions = new Map<number, () => void>();
let seq = 0;
let installed = false;
let exitInstalled = false;
const handlers = new Map<NodeJS.Signals, () => void>();

/** Runs every registered cleanup once, newest first; errors are swallowed (best effort). */
export function runExitGuards(): void {
  const list = [...actions.entries()].reverse();
  actions.clear();
  for (const [, fn] of list) {
    try {
      fn();
    } catch {
      // best effort: the process is going away
    }
  }
}

function onSignal(sig: NodeJS.Signals): void {
  runExitGuards();
  // Remove ourselves and re-raise: with no other listener the default action kills
  // the process; tap's signal-exit, if present, then sees only its own listeners and acts.
  for (const [s, h] of handlers) process.removeListener(s, h);
  handlers.clear();
  installed = false;
  process.kill(process.pid, sig);
}

function install(): void {
  if (installed) return;
  installed = true;
  if (!exitInstalled) {
    exitInstalled = true;
    process.once('exit', runExitGuards);
  }
  for (const sig of SIGNALS) {
    const h = (): void => onSignal(sig);
    handlers.set(sig, h);
    process.on(sig, h);
  }
}

/** Registers a synchronous cleanup for process exit/signals; returns a function that unregisters it. */
export function guardExit(fn: () => void): () => void {
  install();
  const id = ++seq;
  actions.set(id, fn);
  return () => {
    actions.delete(id);
  };
}
