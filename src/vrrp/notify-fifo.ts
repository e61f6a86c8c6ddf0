import fs from 'node:fs';
import { mkfifo } from '../net/libc.js';

/**
 * keepalived's notify FIFO: one line per transition (`INSTANCE "VI_1" MASTER 100`,
 * `GROUP "G" BACKUP`), written in transition order. The FIFO is created when missing. Writes are
 * non-blocking: with no reader yet, or a full pipe, lines wait (bounded, oldest dropped and
 * counted) and are retried, so a stuck reader can never stall the VRRP engine.
 */
export class NotifyFifo {
  private fd: number | undefined;
  private pending = '';
  private lines = 0;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;
  dropped = 0;

  constructor(
    readonly path: string,
    private readonly onError: (e: unknown) => void,
    private readonly maxQueued = 10_000,
    private readonly retryMs = 200,
  ) {
    try {
      if (!fs.existsSync(path)) mkfifo(path, 0o600);
    } catch (e) {
      onError(e);
    }
  }

  /** Queues one line (without the newline) and tries to write. */
  write(line: string): void {
    if (this.closed) return;
    if (this.lines >= this.maxQueued) {
      this.pending = this.pending.slice(this.pending.indexOf('\n') + 1);
      this.lines--;
      this.dropped++;
    }
    this.pending += `${line}\n`;
    this.lines++;
    this.flush();
  }

  /** Stops retrying and closes the FIFO. */
  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private flush(): void {
    if (this.closed || !this.pending) return;
    if (this.fd === undefined) {
      try {
        this.fd = fs.openSync(this.path, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      } catch (e) {
        // ENXIO: nobody reads the FIFO yet.
        if ((e as NodeJS.ErrnoException).code !== 'ENXIO') this.onError(e);
        return this.later();
      }
    }
    try {
      const buf = Buffer.from(this.pending);
      const n = fs.writeSync(this.fd, buf);
      const rest = buf.subarray(n).toString();
      this.lines -= (this.pending.slice(0, this.pending.length - rest.length).match(/\n/g) ?? []).length;
      this.pending = rest;
      if (this.pending) this.later();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN') {
        // EPIPE: the reader went away; reopen when one comes back.
        fs.closeSync(this.fd);
        this.fd = undefined;
        if (code !== 'EPIPE') this.onError(e);
      }
      this.later();
    }
  }

  private later(): void {
    if (this.retry || this.closed) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.flush();
    }, this.retryMs);
  }
}
