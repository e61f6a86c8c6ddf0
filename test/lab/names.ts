import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { LabError } from './errors.js';

/** Linux IFNAMSIZ is 16 bytes including the NUL: names may have at most 15 characters. */
export const IFNAMSIZ_MAX = 15;

/** Prefix of every namespace, interface group and temp folder a lab creates. */
export const LAB_PREFIX = 'vg';

const NAME_RE = /^[a-z0-9][a-z0-9-]*$/;

/** Throws ENAME unless `name` is usable as an interface or namespace name (≤ 15 chars, [a-z0-9-]). */
export function checkName(kind: string, name: string): string {
  if (!NAME_RE.test(name) || name.length > IFNAMSIZ_MAX) {
    throw new LabError('ENAME', `lab.name ${kind} "${name}": must match ${NAME_RE} and have at most ${IFNAMSIZ_MAX} characters`);
  }
  return name;
}

/** A fresh run id such as `vg3k9x`: `vg` + 4 random base-36 chars, not used by any existing namespace. */
export function newRunId(): string {
  for (let i = 0; i < 50; i++) {
    const n = randomBytes(4).readUInt32BE(0) % 36 ** 4;
    const id = LAB_PREFIX + n.toString(36).padStart(4, '0');
    if (!existsSync(`/run/netns/${id}-sw`)) return id;
  }
  throw new LabError('ENAME', 'lab.newRunId: no free id after 50 tries');
}
