import { POLLIN, close, eventfd, eventfdDrain, eventfdSignal, pollAsync } from './libc.js';

/** Called when the fd is readable; it must read until nothing is left. */
export type OnReadable = () => void;

const POLLFD = 8; // struct pollfd { int fd; short events; short revents; }

/**
 * Readiness for raw fds that libuv does not know about: one poll(2) at a time runs on a libuv
 * pool thread over every registered fd plus an eventfd used to wake it when the set changes.
 * Callbacks run on the main thread. Fds are closed only between two polls, so a number is never
 * reused while the pool thread still watches it.
 */
export class Poller {
  private readonly watchers = new Map<number, OnReadable>();
  private readonly toClose = new Set<number>();
  private readonly wake = eventfd();
  private polling = false;
  private stopped = false;
  /** Where handler errors go; the daemon replaces this with its logger. */
  onError: (e: unknown) => void = (e) => process.stderr.write(`vigil: poller handler failed: ${(e as Error)?.stack ?? String(e)}\n`);

  /** Watches `fd`; `cb` runs each time it becomes readable. */
  add(fd: number, cb: OnReadable): void {
    if (this.stopped) throw new Error('poller is stopped');
    this.watchers.set(fd, cb);
    this.kick();
  }

  /** Stops watching `fd` and closes it once the pool thread no longer polls it. */
  close(fd: number): void {
    this.watchers.delete(fd);
    this.toClose.add(fd);
    if (this.polling) eventfdSignal(this.wake);
    else this.flushCloses();
  }

  /** Stops the poller and closes every fd it still holds. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const fd of this.watchers.keys()) this.toClose.add(fd);
    this.watchers.clear();
    if (this.polling) eventfdSignal(this.wake);
    else this.finish();
  }

  private kick(): void {
    if (this.polling) eventfdSignal(this.wake);
    else this.loop();
  }

  private loop(): void {
    if (this.stopped) return this.finish();
    this.flushCloses();
    if (this.watchers.size === 0) return;
    const fds = [this.wake, ...this.watchers.keys()];
    const buf = Buffer.alloc(fds.length * POLLFD);
    fds.forEach((fd, i) => {
      buf.writeInt32LE(fd, i * POLLFD);
      buf.writeInt16LE(POLLIN, i * POLLFD + 4);
    });
    this.polling = true;
    // A finite timeout keeps the pool thread from being held forever if a wake-up is missed.
    pollAsync(buf, fds.length, 1000, (err) => {
      this.polling = false;
      if (!err) {
        for (let i = 0; i < fds.length; i++) {
          const revents = buf.readInt16LE(i * POLLFD + 6);
          if (revents === 0) continue;
          const fd = fds[i]!;
          if (fd === this.wake) eventfdDrain(this.wake);
          else {
            try {
              this.watchers.get(fd)?.();
            } catch (e) {
              // A faulty handler must neither stop every other socket nor crash the daemon.
              this.onError(e);
            }
          }
        }
      }
      this.loop();
    });
  }

  private flushCloses(): void {
    for (const fd of this.toClose) close(fd);
    this.toClose.clear();
  }

  private finish(): void {
    this.flushCloses();
    close(this.wake);
  }
}

let shared: Poller | undefined;

/** The process-wide poller. */
export function poller(): Poller {
  return (shared ??= new Poller());
}
