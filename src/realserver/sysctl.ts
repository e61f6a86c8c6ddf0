import { closeSync, constants, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { RealServerError } from './errors.js';

/** Reads and writes integer sysctls. */
export interface Sysctls {
  /** The value, or undefined when the sysctl does not exist (e.g. conf.tunl0 before ipip). */
  read(key: string): number | undefined;
  write(key: string, value: number): void;
}

const KEY_RE = /^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/i;

/**
 * Sysctls as files under a `/proc/sys`-like root (injectable so tests run on a temp folder).
 * Keys are dotted (`net.ipv4.conf.tunl0.rp_filter`); interface names must not contain dots.
 */
export class SysctlFs implements Sysctls {
  constructor(readonly root = '/proc/sys') {}

  /** The file behind `key`. */
  path(key: string): string {
    if (!KEY_RE.test(key)) throw new RealServerError('ESYSCTL', `sysctl ${key}`, 'not a sysctl name');
    return join(this.root, ...key.split('.'));
  }

  read(key: string): number | undefined {
    const file = this.path(key);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new RealServerError('ESYSCTL', `sysctl.read ${key}`, (e as NodeJS.ErrnoException).code ?? (e as Error).message, { cause: e });
    }
    const v = text.trim();
    if (!/^-?\d+$/.test(v)) throw new RealServerError('ESYSCTL', `sysctl.read ${key}`, `not an integer: '${v.slice(0, 40)}'`);
    return Number(v);
  }

  write(key: string, value: number): void {
    const file = this.path(key);
    try {
      // O_TRUNC without O_CREAT: a missing sysctl is an error, never a new file
      const fd = openSync(file, constants.O_WRONLY | constants.O_TRUNC);
      try {
        writeSync(fd, `${value}\n`);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      const hint = code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? ' (run as root, outside a read-only /proc/sys)' : code === 'ENOENT' ? ' (no such sysctl)' : '';
      throw new RealServerError('ESYSCTL', `sysctl.write ${key}=${value}`, `${code}${hint}`, { cause: e });
    }
  }
}
