import fs from 'node:fs';
import path from 'node:path';
import fg from 'fast-glob';

/** The file-system access the preprocessor needs; tests may pass an in-memory one. */
export interface SourceHost {
  /** Reads a whole file as UTF-8; throws a Node errno error on failure. */
  readFile(file: string): string;
  /** Canonical path used for include-cycle detection. */
  realpath(file: string): string;
  /** 'file' for a regular file, 'dir' for a directory, undefined when absent. */
  kind(file: string): 'file' | 'dir' | 'other' | undefined;
  /** Absolute paths matching a glob (with `{a,b}` braces), sorted; relative patterns resolve from `cwd`. */
  glob(pattern: string, cwd: string): string[];
}

/** True when the pattern contains glob syntax, so "no match" is not necessarily an error. */
export function isGlob(pattern: string): boolean {
  return /[*?[\]{}]/.test(pattern);
}

/** The real file system. */
export const fsHost: SourceHost = {
  readFile: (file) => fs.readFileSync(file, 'utf8'),
  realpath: (file) => {
    try {
      return fs.realpathSync(file);
    } catch {
      return path.resolve(file);
    }
  },
  kind: (file) => {
    try {
      const st = fs.statSync(file);
      return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
    } catch {
      return undefined;
    }
  },
  glob: (pattern, cwd) => {
    const abs = path.isAbsolute(pattern) ? pattern : path.join(cwd, pattern);
    if (!isGlob(pattern)) return fsHost.kind(abs) ? [abs] : [];
    return fg
      .sync(abs, {
        onlyFiles: false,
        dot: false,
        absolute: true,
        followSymbolicLinks: true,
      })
      .sort();
  },
};
