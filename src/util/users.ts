import fs from 'node:fs';

/** Numeric ids to run a script as. */
export interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

function table(file: string): string[][] {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

/**
 * Resolves `user [group]` from /etc/passwd and /etc/group (numeric ids accepted too); the
 * group defaults to the user's primary group, as keepalived does. Undefined when unknown.
 */
export function resolveRunAs(user: string, group?: string, files = { passwd: '/etc/passwd', group: '/etc/group' }): RunAs | undefined {
  const pw = table(files.passwd).find((f) => f[0] === user || (/^\d+$/.test(user) && f[2] === user));
  const uid = pw ? Number(pw[2]) : /^\d+$/.test(user) ? Number(user) : undefined;
  if (uid === undefined) return undefined;
  let gid = pw ? Number(pw[3]) : uid;
  if (group !== undefined) {
    const gr = table(files.group).find((f) => f[0] === group || (/^\d+$/.test(group) && f[2] === group));
    if (gr) gid = Number(gr[2]);
    else if (/^\d+$/.test(group)) gid = Number(group);
    else return undefined;
  }
  return { uid, gid };
}

/**
 * keepalived's default script user: `script_user` if set, else `keepalived_script` when that
 * user exists, else root.
 */
export function defaultRunAs(scriptUser?: { user: string; group?: string }): RunAs {
  if (scriptUser) return resolveRunAs(scriptUser.user, scriptUser.group) ?? { uid: 0, gid: 0 };
  return resolveRunAs('keepalived_script') ?? { uid: 0, gid: 0 };
}
