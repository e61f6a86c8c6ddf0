// systemd/vigil.service: `systemd-analyze verify` accepts it without a single warning, and it says what
// the supervisor needs (reload by SIGHUP, SIGTERM to the main pid only, raw sockets and netlink).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { repoRoot } from '../helpers/paths.js';

const unit = fs.readFileSync(path.join(repoRoot, 'systemd/vigil.service'), 'utf8');
const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });

/** Runs `systemd-analyze verify` on the unit text, with ExecStart pointing at this checkout's vigil. */
function verify(text: string): { status: number | null; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-unit-'));
  try {
    const f = path.join(dir, 'vigil.service');
    fs.writeFileSync(f, text.replaceAll('/usr/local/bin/vigil', path.join(repoRoot, 'bin/vigil.js')));
    const r = spawnSync('systemd-analyze', ['verify', f], { encoding: 'utf8' });
    return { status: r.status, stderr: r.stderr.trim() };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

t.test('systemd-analyze verify: no error, no warning', { skip: analyze.error ? `systemd-analyze is not installed (${analyze.error.message})` : false }, async (t) => {
  const r = verify(unit);
  t.equal(r.status, 0);
  t.equal(r.stderr, '', 'no warning');
  // The check above can fail: a misspelt setting is reported.
  const broken = verify(unit.replace(/^KillMode=mixed$/m, 'KillMode=mixd'));
  t.match(broken.stderr, /kill mode/i, 'a broken unit is reported');
});

t.test('what the unit says', async (t) => {
  const has = (line: string) => unit.split('\n').includes(line);
  t.ok(has('Type=exec'), 'Type=exec (node has no sd_notify, vigil never forks)');
  t.ok(has('ExecReload=/bin/kill -HUP $MAINPID'), 'reload is SIGHUP to the supervisor');
  t.ok(has('KillMode=mixed'), 'SIGTERM to the supervisor only; it stops its children');
  t.ok(has('RuntimeDirectory=vigil'), '/run/vigil for the control socket');
  t.ok(has('PrivateTmp=no'), 'dumps stay in the real /tmp');
  t.match(unit, /^ExecStart=\/usr\/local\/bin\/vigil run --socket \/run\/vigil\/vigil\.sock \$VIGIL_ARGS$/m);
  const caps = /^CapabilityBoundingSet=(.*)$/m.exec(unit)?.[1]?.split(' ') ?? [];
  for (const c of ['CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_SETUID', 'CAP_SETGID', 'CAP_KILL']) t.ok(caps.includes(c), c);
  t.notOk(caps.includes('CAP_SYS_ADMIN'), 'no CAP_SYS_ADMIN');
  const families = /^RestrictAddressFamilies=(.*)$/m.exec(unit)?.[1]?.split(' ') ?? [];
  t.same(families.sort(), ['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_PACKET', 'AF_UNIX']);
  t.notMatch(unit, /^MemoryDenyWriteExecute=yes/m, 'the V8 JIT needs W^X off');
});
