import fs from 'node:fs';
import path from 'node:path';

/**
 * Writes `body` to `file` whole or not at all: a temporary file in the same folder (mode 0600),
 * fsync, rename; the folder is made (0700) when missing. On failure the temporary file is removed
 * when it can be (not when the folder path is a file) and the error is thrown.
 */
export function writeFileAtomic(file: string, body: string): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, body);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      /* no folder to leave it in */
    }
    throw e;
  }
}
