import { accessSync, constants, existsSync, mkdirSync, readFileSync, readdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from './errors.js';

/** Debian's user-mode Linux kernel binary. */
export const UML_BINARY = '/usr/bin/linux.uml';
/** Where Debian's user-mode-linux package keeps the guest's modules (one folder per version). */
export const UML_MODULES = '/usr/lib/uml/modules';

/** Finds the guest module folder (/usr/lib/uml/modules/<version>) matching the kernel binary. */
export function umlModuleVersion(binary = UML_BINARY): string {
  let versions: string[];
  try {
    versions = readdirSync(UML_MODULES).filter((v) => existsSync(join(UML_MODULES, v, 'modules.dep')));
  } catch (err) {
    throw new LabError('EUML', `uml: no module folder ${UML_MODULES} (apt-get install user-mode-linux)`, { cause: err });
  }
  if (versions.length === 1 && versions[0] !== undefined) return versions[0];
  const bin = readFileSync(binary, 'latin1');
  const match = versions.find((v) => bin.includes(`${v} `) || bin.includes(`${v}\0`));
  if (match === undefined) throw new LabError('EUML', `uml: cannot tell which of [${versions.join(', ')}] in ${UML_MODULES} fits ${binary}`);
  return match;
}

/** Throws EUML with the reason when user-mode Linux cannot run here. */
export function assertUmlUsable(binary = UML_BINARY): void {
  try {
    accessSync(binary, constants.X_OK);
  } catch (err) {
    throw new LabError('EUML', `uml: ${binary} is missing or not executable (apt-get install user-mode-linux)`, { cause: err });
  }
  umlModuleVersion(binary);
  if (process.getuid?.() !== 0) throw new LabError('EUML', 'uml: must run as root (hostfs guest runs ip netns, ipvsadm, nginx)');
}

/** TMPDIR for the guest memory file: /dev/shm when it allows exec and has room, else a folder on disk. */
export function memoryDir(work: string, memMb: number): string {
  try {
    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n');
    const shm = mounts.find((l) => l.split(' ')[1] === '/dev/shm');
    const fs = statfsSync('/dev/shm');
    const free = fs.bavail * fs.bsize;
    if (shm !== undefined && !/\bnoexec\b/.test(shm) && free > (memMb + 128) * 2 ** 20) return '/dev/shm';
  } catch {
    // fall through to disk
  }
  const dir = join(work, 'mem');
  mkdirSync(dir, { recursive: true });
  return dir;
}
