import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The shared folder laid beside the repository (vectors, notes). */
export const sharedDir = path.resolve(repoRoot, '../shared');

/** The unprivileged user the non-root tests run vigil as. */
export const NOBODY = { uid: 65534, gid: 65534 } as const;

/**
 * Why `nobody` cannot run this checkout's bin/vigil.js (a parent folder closed to others, such as
 * a `mktemp -d` clone), or undefined when it can. Tests that run vigil as non-root skip with this
 * reason instead of failing on "Cannot find module".
 */
export function nobodyCannotRunVigil(): string | undefined {
  const entry = path.join(repoRoot, 'bin/vigil.js');
  const r = spawnSync('test', ['-r', entry], { ...NOBODY, cwd: '/' });
  return r.status === 0 ? undefined : `uid ${NOBODY.uid} cannot read ${entry} (a parent folder is closed to other users)`;
}
