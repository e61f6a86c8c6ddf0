import fs from 'node:fs';
import path from 'node:path';

/** What a tracked file's value does to an instance (keepalived.conf(5), "Track files"). */
export type FileEffect = { readonly fault: true; readonly reason: string } | { readonly fault: false; readonly weight: number };

/**
 * Weight 0: any non-zero value is a failure. Otherwise value × weight (negated with `reverse`) is
 * added to the priority, and a result below -253 is a fault.
 */
export function fileEffect(name: string, value: number, weight: number, reverse: boolean): FileEffect {
  if (weight === 0) return value !== 0 ? { fault: true, reason: `track_file ${name} holds ${value} (non-zero with weight 0)` } : { fault: false, weight: 0 };
  const result = value * weight * (reverse ? -1 : 1);
  if (result < -253) return { fault: true, reason: `track_file ${name}: ${value} × ${weight} = ${result} is below -253` };
  return { fault: false, weight: result };
}

/** Reads the number in a tracked file as keepalived does (strtol: leading number, else 0). */
export function readTrackValue(file: string): number {
  try {
    const m = /^\s*([+-]?\d+)/.exec(fs.readFileSync(file, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Watches one tracked file (the directory, so editors that replace the file are seen) and
 * reports value changes; a slow poll backs up the watch.
 */
export class FileTracker {
  private watcher: fs.FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  value: number;

  constructor(
    readonly name: string,
    readonly file: string,
    private readonly onChange: (value: number) => void,
    init?: { value: number; overwrite: boolean },
  ) {
    if (init && (init.overwrite || !fs.existsSync(file))) fs.writeFileSync(file, `${init.value}\n`);
    this.value = readTrackValue(file);
  }

  start(): void {
    const check = () => {
      const v = readTrackValue(this.file);
      if (v !== this.value) {
        this.value = v;
        this.onChange(v);
      }
    };
    try {
      this.watcher = fs.watch(path.dirname(this.file), (_e, f) => {
        if (!f || f === path.basename(this.file)) check();
      });
      this.watcher.on('error', () => {});
    } catch {
      /* the poll below still works */
    }
    this.poll = setInterval(check, 1000);
    this.poll.unref();
  }

  stop(): void {
    this.watcher?.close();
    if (this.poll) clearInterval(this.poll);
  }
}
