import fs from 'node:fs';
import { writeFileAtomic } from '../util/atomic-file.js';
import type { ReconcilerLog } from './reconciler.js';

/*
 * The set of IPVS services vigil manages (serviceKey strings), kept in <state-dir>/ipvs-managed.json
 * so that it outlives a restart: a virtual_server removed from the configuration while vigil was
 * down is still known as vigil's at the next start, and removed then. Services vigil was never
 * configured with are never in it, so they are never touched. Written through a new file renamed
 * into place (a crash leaves the old set or the new one, never half of one).
 */

/** The file's name under the state directory. */
export const MANAGED_FILE = 'ipvs-managed.json';

interface ManagedFile {
  readonly version: 1;
  /** serviceKey of every service vigil manages. */
  readonly services: readonly string[];
}

/** The keys kept in `file`; empty when it does not exist. A file that cannot be read is logged and treated as empty. */
export function loadManaged(file: string, log: ReconcilerLog): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') log.error({ op: 'ipvs.managed', file, err: (e as Error).message }, `cannot read the managed IPVS services in ${file}: ${(e as Error).message}; services removed from the configuration while vigil was down stay`);
    return [];
  }
  try {
    const v = JSON.parse(text) as Partial<ManagedFile>;
    if (v.version !== 1 || !Array.isArray(v.services) || !v.services.every((k) => typeof k === 'string')) throw new Error('not a version 1 list of services');
    return [...v.services];
  } catch (e) {
    log.error({ op: 'ipvs.managed', file, err: (e as Error).message }, `${file} is malformed (${(e as Error).message}); starting without it`);
    return [];
  }
}

/** True when `file` names at least one service (a checker must start to put them right). */
export function hasManaged(file: string): boolean {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<ManagedFile>;
    return Array.isArray(v.services) && v.services.length > 0;
  } catch {
    return false;
  }
}

/** Writes the keys to `file` atomically (mode 0600, its folder 0700 when created); a failure is logged, not thrown. */
export function saveManaged(file: string, keys: Iterable<string>, log: ReconcilerLog): void {
  try {
    const body: ManagedFile = { version: 1, services: [...keys].sort() };
    writeFileAtomic(file, `${JSON.stringify(body)}\n`);
  } catch (e) {
    log.error({ op: 'ipvs.managed', file, err: (e as Error).message }, `cannot write the managed IPVS services to ${file}: ${(e as Error).message}; a restart may not remove services dropped from the configuration meanwhile`);
  }
}
