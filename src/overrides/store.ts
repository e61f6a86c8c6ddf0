/*
 * The overrides on disk: `<state dir>/overrides.json`, written whole through a temporary file,
 * fsync and rename, so a crash leaves either the old file or the new one, never half of one.
 * Reading is forgiving and loud: an unreadable file, or unreadable entries, are reported as
 * problems and the original is kept beside it (`overrides.json.corrupt-<time>`); the good
 * entries are kept.
 */
import fs from 'node:fs';
import { writeFileAtomic } from '../util/atomic-file.js';
import { type Override, asOverride } from './model.js';

/** File name of the overrides under the state directory. */
export const OVERRIDES_FILE = 'overrides.json';

/** What was read back, and what could not be. */
export interface LoadResult {
  readonly overrides: readonly Override[];
  readonly problems: readonly string[];
}

/** Reads the overrides file; a missing file is no overrides and no problem. */
export function loadOverrides(file: string, nowWall: number = Date.now()): LoadResult {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { overrides: [], problems: [] };
    return { overrides: [], problems: [`cannot read ${file}: ${code ?? (e as Error).message}; starting without overrides`] };
  }
  const keep = (why: string): string => {
    const aside = `${file}.corrupt-${new Date(nowWall).toISOString().replace(/[:.]/g, '')}`;
    try {
      fs.copyFileSync(file, aside);
      return `${why} (the file is kept as ${aside})`;
    } catch (e) {
      return `${why} (could not keep a copy: ${(e as Error).message})`;
    }
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { overrides: [], problems: [keep(`${file} is corrupt (${(e as Error).message}); starting without overrides`)] };
  }
  const list = (v as { overrides?: unknown } | null)?.overrides;
  if (!Array.isArray(list)) return { overrides: [], problems: [keep(`${file} has no 'overrides' list; starting without overrides`)] };
  const overrides: Override[] = [];
  const bad: number[] = [];
  list.forEach((x, i) => {
    const o = asOverride(x);
    if (o) overrides.push(o);
    else bad.push(i);
  });
  const problems = bad.length ? [keep(`${file}: entr${bad.length === 1 ? 'y' : 'ies'} ${bad.join(', ')} unreadable and left out; the other ${overrides.length} kept`)] : [];
  return { overrides, problems };
}

/** Writes the overrides atomically (temp file in the same folder, fsync, rename), mode 0600. */
export function saveOverrides(file: string, overrides: readonly Override[]): void {
  writeFileAtomic(file, `${JSON.stringify({ version: 1, overrides }, null, 2)}\n`);
}
