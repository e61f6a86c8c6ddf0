import net from 'node:net';
import type { Response } from './protocol.js';

/** The daemon could not be reached or did not answer. */
export class UnreachableError extends Error {
  readonly code = 'VIGIL_UNREACHABLE';
}

/** Sends one request to the control socket and resolves with its response. */
export function call(socketPath: string, method: string, params: Record<string, unknown> = {}, timeoutMs = 5000): Promise<Response> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      c.destroy();
      reject(new UnreachableError(`no answer from ${socketPath} within ${timeoutMs} ms`));
    }, timeoutMs);
    c.on('connect', () => c.write(`${JSON.stringify({ id: 1, method, params })}\n`));
    c.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      c.end();
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as Response);
      } catch (e) {
        reject(new UnreachableError(`bad answer from ${socketPath}: ${(e as Error).message}`));
      }
    });
    c.on('error', (e) => {
      clearTimeout(timer);
      reject(new UnreachableError(`cannot reach vigil at ${socketPath}: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    });
  });
}
