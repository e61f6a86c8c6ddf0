import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Test } from 'tap';
import type { Lab } from '../lab/netns.js';
import type { Proc } from '../lab/proc.js';
import { repoRoot } from './paths.js';

/** Starts `vigil run` in `node` with the given keepalived.conf text (JSON logs on stderr). */
export function startVigilConf(lab: Lab, node: string, conf: string, name = `vigil-${node}`): Proc {
  const dir = lab.folder(name);
  const file = join(dir, 'keepalived.conf');
  writeFileSync(file, conf);
  // Each daemon gets its own control socket: two cannot share one (the second refuses to start).
  const argv = [process.execPath, join(repoRoot, 'bin/vigil.js'), 'run', '-f', file, '--socket', join(dir, 'vigil.sock'), '--log-format', 'json', '--log-level', 'debug'];
  return lab.spawn(node, argv, { name });
}

/** True when `vip` is on eth0 of `node`. */
export async function holds(lab: Lab, node: string, vip: string, dev = 'eth0'): Promise<boolean> {
  return (await lab.execOk(node, ['ip', '-o', 'addr', 'show', 'dev', dev])).includes(` ${vip}/`);
}

/** The JSON log lines a vigil process wrote so far. */
export async function vigilLog(p: Proc): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const l of (await readFile(p.stderrPath, 'utf8')).split('\n')) {
    try {
      out.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      /* not JSON */
    }
  }
  return out;
}

/** Prints the lab's process logs when the test fails. */
export function reportOnFailure(t: Test, lab: Lab): void {
  t.teardown(() => {
    if (!t.passing()) t.comment(lab.logTail(40));
  });
}
