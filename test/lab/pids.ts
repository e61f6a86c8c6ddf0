import { readFileSync, readdirSync } from 'node:fs';

/** Sends `sig` to process group `pgid`; false when the group no longer exists. */
export function killGroup(pgid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false;
  }
}

/** State letter and process group of `pid` from /proc (undefined when it does not exist). */
function procStat(pid: number | string): { state: string; pgrp: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: f[0] ?? '', pgrp: Number(f[2]) };
  } catch {
    return undefined;
  }
}

/** True while process `pid` runs; a zombie waiting for a slow reaper counts as gone. */
export function pidAlive(pid: number): boolean {
  const st = procStat(pid);
  return st !== undefined && st.state !== 'Z' && st.state !== 'X';
}

/** True while process group `pgid` has a member that is not a zombie. */
export function groupAlive(pgid: number): boolean {
  if (!killGroup(pgid, 0)) return false;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const st = procStat(e);
    if (st !== undefined && st.pgrp === pgid && st.state !== 'Z' && st.state !== 'X') return true;
  }
  return false;
}
