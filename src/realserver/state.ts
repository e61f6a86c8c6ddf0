import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { RealServerError } from './errors.js';
import type { Action } from './model.js';

/** Where setup saves what it changed, for `--undo` (tmpfs: a reboot forgets it with the changes). */
export const DEFAULT_STATE_FILE = '/run/vigil/realserver.json';

/** A sysctl setup changed: its value before the first setup, and the value setup wrote. */
export interface SavedSysctl {
  readonly saved: number;
  readonly set: number;
}

/** The state file's content. */
export interface RealServerState {
  readonly version: 1;
  /** VIPs setup was asked for (canonical text). */
  readonly vips: readonly string[];
  readonly sysctls: Readonly<Record<string, SavedSysctl>>;
  /** Tunnel devices setup brought up (they were down). */
  readonly linksUp: readonly string[];
}

/**
 * The state after applying `actions` for `vips` on top of `prev`: a value saved by an earlier
 * setup is kept (it is the one from before vigil), so running setup again never loses it.
 */
export function mergeState(prev: RealServerState | undefined, vips: readonly string[], actions: readonly Action[]): RealServerState {
  const sysctls: Record<string, SavedSysctl> = { ...prev?.sysctls };
  const linksUp = new Set(prev?.linksUp ?? []);
  for (const a of actions) {
    if (a.kind === 'sysctl' && a.from !== undefined) sysctls[a.key] = { saved: sysctls[a.key]?.saved ?? a.from, set: a.to };
    if (a.kind === 'link-up') linksUp.add(a.device);
  }
  return { version: 1, vips: [...new Set([...(prev?.vips ?? []), ...vips])], sysctls, linksUp: [...linksUp] };
}

/** Reads the state file; undefined when there is none; ESTATE when it is not vigil's. */
export function readState(path: string): RealServerState | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RealServerError('ESTATE', `state.read ${path}`, (e as NodeJS.ErrnoException).code ?? (e as Error).message, { cause: e });
  }
  const bad = (why: string): never => {
    throw new RealServerError('ESTATE', `state.read ${path}`, `not a vigil realserver state file (${why}); remove it to start over`);
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return bad('not JSON');
  }
  const o = v as Partial<RealServerState> | null;
  if (typeof o !== 'object' || o === null || o.version !== 1) return bad('no version 1');
  if (!Array.isArray(o.vips) || !o.vips.every((x) => typeof x === 'string')) return bad('vips');
  if (!Array.isArray(o.linksUp) || !o.linksUp.every((x) => typeof x === 'string')) return bad('linksUp');
  if (typeof o.sysctls !== 'object' || o.sysctls === null) return bad('sysctls');
  for (const [k, s] of Object.entries(o.sysctls)) {
    if (!Number.isInteger(s?.saved) || !Number.isInteger(s?.set)) return bad(`sysctl ${k}`);
  }
  return { version: 1, vips: o.vips, sysctls: o.sysctls, linksUp: o.linksUp };
}

/** Writes the state file atomically (temp file and rename), creating its folder. */
export function writeState(path: string, s: RealServerState): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    writeFileSync(tmp, `${JSON.stringify(s, null, 2)}\n`, { mode: 0o644 });
    renameSync(tmp, path);
  } catch (e) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // the folder itself is the problem; nothing was written
    }
    throw new RealServerError('ESTATE', `state.write ${path}`, (e as NodeJS.ErrnoException).code ?? (e as Error).message, { cause: e });
  }
}

/** Removes the state file (absent is fine). */
export function removeState(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch (e) {
    throw new RealServerError('ESTATE', `state.remove ${path}`, (e as NodeJS.ErrnoException).code ?? (e as Error).message, { cause: e });
  }
}
