import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Prefix of every temp folder a lab creates under os.tmpdir(). */
export const STATE_DIR_PREFIX = 'vigil-lab-';

/** What a lab wrote about itself so that a later run can clean up after a SIGKILLed owner. */
export interface LabState {
  kind: 'netns' | 'uml';
  id: string;
  ownerPid: number;
  /** Start time of the owner (field 22 of /proc/pid/stat), to tell a reused pid apart. */
  ownerStart: string;
  namespaces: string[];
  /** For UML: the umid, found in the kernel's command line of every guest process. */
  umid?: string;
}

/** Start time of `pid` from /proc, or undefined when it does not exist. */
export function procStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the ")" closing the command name; starttime is field 22 overall
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** A state record for a lab owned by this process. */
export function ownState(kind: LabState['kind'], id: string, namespaces: string[], umid?: string): LabState {
  const s: LabState = { kind, id, ownerPid: process.pid, ownerStart: procStartTime(process.pid) ?? '', namespaces };
  if (umid !== undefined) s.umid = umid;
  return s;
}

/** Writes `state.json` in the lab folder. */
export function writeState(dir: string, state: LabState): void {
  writeFileSync(join(dir, 'state.json'), JSON.stringify(state));
}

/** True when the namespace exists in `ip netns list`. */
export function netnsExists(ns: string): boolean {
  return existsSync(`/run/netns/${ns}`);
}

/** Pids of every process living in namespace `ns`. */
export function netnsPids(ns: string): number[] {
  try {
    const out = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Pids whose command line contains `needle` (used for `umid=<id>` of a UML guest). */
export function pidsByCmdline(needle: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').includes(needle)) pids.push(Number(e));
    } catch {
      // raced with exit
    }
  }
  return pids;
}

function killAll(pids: number[]): void {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Synchronously kills every process inside the namespaces and deletes them (exit-path cleanup). */
export function destroyNamespacesSync(namespaces: readonly string[]): void {
  for (const ns of namespaces) killAll(netnsPids(ns));
  for (const ns of [...namespaces].reverse()) {
    if (!netnsExists(ns)) continue;
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // reported by the leak check
    }
  }
}

/** Synchronously kills the processes of a lab described by `state` and removes its folder. */
export function destroyLabSync(dir: string, state: LabState): void {
  if (state.umid !== undefined) killAll(pidsByCmdline(`umid=${state.umid}`));
  destroyNamespacesSync(state.namespaces);
  rmSync(dir, { recursive: true, force: true });
}

/** Cleans up labs whose owning process is gone (e.g. SIGKILLed by a test runner); returns their ids. */
export function sweepStaleLabs(root = tmpdir()): string[] {
  const swept: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(root).filter((e) => e.startsWith(STATE_DIR_PREFIX));
  } catch {
    return swept;
  }
  for (const e of entries) {
    const dir = join(root, e);
    let state: LabState;
    try {
      state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as LabState;
    } catch {
      continue; // not ours or still being created
    }
    if (procStartTime(state.ownerPid) === state.ownerStart) continue; // owner alive
    destroyLabSync(dir, state);
    swept.push(state.id);
  }
  return swept;
}
