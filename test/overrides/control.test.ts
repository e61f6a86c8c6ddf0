// The control-socket side of the overrides on a real Unix socket: the caller is named from
// SO_PEERCRED; a non-root caller is refused before the checker child is asked; `vigil drain`
// reports the connection count until zero (or its timeout); errors keep their code and message.
// The checker child is replaced by a scripted one here (test/overrides/engine.test.ts and the UML
// bed run the real one). Processes run as nobody start through `env -i`: tap's process hooks
// would otherwise load into them and fail on the root-only .tap folder.
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import pino from 'pino';
import { main } from '../../src/cli/main.js';
import { renderOverrides } from '../../src/cli/override.js';
import { weightCell } from '../../src/cli/status.js';
import { call } from '../../src/control/client.js';
import { socketPeer } from '../../src/control/peer.js';
import { ControlServer } from '../../src/control/server.js';
import { describeCaller } from '../../src/control/caller.js';
import { type ChildCaller, overrideHandlers } from '../../src/overrides/handlers.js';
import { nobodyCannotRunVigil } from '../helpers/paths.js';

const log = pino({ level: 'silent' });

async function daemon(t: Test, child: ChildCaller, mode = 0o600): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-ctl-'));
  const sock = path.join(dir, 'sub', 'v.sock');
  const server = new ControlServer(sock, overrideHandlers(child), log, socketPeer);
  await server.listen();
  if (mode !== 0o600) {
    fs.chmodSync(path.dirname(sock), 0o755);
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(sock, mode);
  }
  t.teardown(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return sock;
}

function io() {
  const o = { out: '', err: '', color: false };
  return { io: { out: (s: string) => void (o.out += s), err: (s: string) => void (o.err += s), color: false }, o };
}

t.test('the caller is named from the peer credentials and passed to the child', async (t) => {
  const seen: Record<string, unknown>[] = [];
  const sock = await daemon(t, { call: async (_k, _m, p) => (seen.push(p), { ok: true, changed: true, message: 'done' }) });
  const r = await call(sock, 'override.set', { action: 'disable', vs: 'v', rs: 'r' });
  t.same(r, { id: 1, result: { ok: true, changed: true, message: 'done' } });
  t.equal(seen[0]?.who, `root (uid 0, pid ${process.pid})`, 'who = user name, uid and pid of the caller');
  t.equal(describeCaller(undefined), 'unknown (peer credentials unavailable)');
  t.equal(describeCaller({ uid: 4242, gid: 1, pid: 7 }, '/nonexistent'), 'uid 4242 (uid 4242, pid 7)');
});

t.test('a non-root caller is refused and the child is never asked', async (t) => {
  let asked = 0;
  const sock = await daemon(t, { call: async () => (asked++, { ok: true, message: 'x' }) }, 0o666);
  const client = `const n=require('net');const c=n.connect(${JSON.stringify(sock)});c.on('connect',()=>c.write(JSON.stringify({id:1,method:'override.set',params:{action:'drain',vs:'a',rs:'b'}})+'\\n'));c.on('data',d=>{process.stdout.write(d);c.end()});c.on('error',e=>{console.log('ERR',e.code)})`;
  // asynchronously: the server answering it runs in this process
  const r = await promisify(execFile)('env', ['-i', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, process.execPath, '-e', client], { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 10_000 });
  const ans = JSON.parse(r.stdout) as { error?: { code: string; message: string } };
  t.equal(ans.error?.code, 'forbidden', r.stdout + r.stderr);
  t.match(ans.error?.message, /drain needs root; the caller is nobody \(uid 65534, pid \d+\)/);
  t.equal(asked, 0, 'the checker child was not asked');
});

t.test('vigil drain as a non-root user against the root-only socket: a clear error, exit 1', { skip: nobodyCannotRunVigil() ?? false }, async (t) => {
  const sock = await daemon(t, { call: async () => ({ ok: true, message: 'x' }) });
  fs.chmodSync(path.dirname(path.dirname(sock)), 0o755);
  const cli = path.resolve('bin/vigil.js');
  const r = spawnSync('env', ['-i', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, process.execPath, cli, 'drain', '192.0.2.100:80', '198.51.100.12:80', '--socket', sock], { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 20_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  t.equal(r.status, 1, r.stderr);
  t.equal(r.stderr, `vigil drain: permission denied on ${sock}: overrides need root (the control socket is root-only)\n`);
});

t.test('vigil drain reports the count falling to zero; refusals keep their message', async (t) => {
  let n = 3;
  const calls: string[] = [];
  const child: ChildCaller = {
    call: async (_k, m, p) => {
      calls.push(m);
      if (m === 'override.set' && p.rs === 'nope') return { ok: false, code: 'bad-request', message: "no real server 'nope' in virtual server 192.0.2.100:80 TCP" };
      if (m === 'override.set') return { ok: true, changed: true, message: `192.0.2.100:80 TCP 198.51.100.12:80: drain by ${String(p.who)}: ${String(p.reason)}`, override: { vs: '192.0.2.100:80 TCP', rs: '198.51.100.12:80', action: 'drain' } };
      const active = Math.max(0, n--);
      return { ok: true, vs: '192.0.2.100:80 TCP', rs: '198.51.100.12:80', inKernel: true, weight: 0, active, inactive: 5 - active, services: [], override: { action: 'drain' } };
    },
  };
  const sock = await daemon(t, child);
  const a = io();
  const code = await main(['drain', '192.0.2.100:80', '198.51.100.12:80', '--reason', 'deploy', '--interval', '0.1', '--socket', sock], a.io);
  t.equal(code, 0, a.o.err);
  t.match(a.o.out, /drain by root \(uid 0, pid \d+\): deploy/);
  const counts = [...a.o.out.matchAll(/(\d+) active, (\d+) inactive/g)].map((m) => Number(m[1]));
  t.same(counts, [3, 2, 1, 0], 'each change of the count reported, down to zero');
  t.match(a.o.out, /drained: no active connection to 198.51.100.12:80 after/);

  n = 1000;
  const b = io();
  t.equal(await main(['drain', '192.0.2.100:80', '198.51.100.12:80', '--timeout', '0.3s', '--interval', '0.1', '--socket', sock], b.io), 4, 'exit 4 at the timeout');
  t.match(b.o.err, /connection\(s\) still active after 0s; the drain stays in force/);

  const c = io();
  t.equal(await main(['drain', '192.0.2.100:80', 'nope', '--socket', sock], c.io), 1);
  t.equal(c.o.err, "vigil drain: bad-request: no real server 'nope' in virtual server 192.0.2.100:80 TCP\n");

  const d = io();
  t.equal(await main(['disable', '192.0.2.100:80', '--socket', sock], d.io), 2, 'one name only: usage error');
  t.equal(await main(['enable', '192.0.2.100:80', '198.51.100.12:80', '--until', '5m', '--socket', sock], d.io), 2, 'enable --until: usage error');
  t.equal(await main(['disable', 'a', 'b', '--socket', path.join(os.tmpdir(), 'nonexistent-vigil.sock')], d.io), 3, 'unreachable: 3');
});

t.test('vigil status lists overrides and windows with who, why and until', async (t) => {
  const now = Date.parse('2026-12-07T03:00:00Z');
  const lines = renderOverrides(
    {
      active: [{ vs: '192.0.2.100:80 TCP', rs: '198.51.100.12:80', action: 'drain', reason: 'deploy 42', who: 'root (uid 0, pid 9)', since: '2026-12-07T02:50:00.000Z', until: '2026-12-07T03:30:00.000Z', source: 'cli', inConfig: true }],
      windows: [{ name: 'nightly', schedule: '0 0 4 * * *', timezone: 'Europe/Paris', durationMs: 1_800_000, targets: ['192.0.2.100:80 TCP 198.51.100.13:80'], active: false, nextRun: '2026-12-08T03:00:00.000Z' }],
      changes: { drain: 1 },
      problems: [],
    },
    now,
  );
  t.same(lines, [
    '',
    'OVERRIDES',
    '  192.0.2.100:80 TCP 198.51.100.12:80: DRAIN by root (uid 0, pid 9) since 2026-12-07T02:50:00.000Z, until 2026-12-07T03:30:00.000Z (in 30m00s): deploy 42',
    "  window nightly: '0 0 4 * * *' Europe/Paris for 30m00s, 192.0.2.100:80 TCP 198.51.100.13:80: next 2026-12-08T03:00:00.000Z",
  ]);
  t.same(renderOverrides({ active: [], windows: [], changes: {}, problems: [] }), [], 'nothing to show: no section');
});

t.test('the real-server table marks overridden servers', async (t) => {
  const base = { rs: 'x', up: true, reason: '', since: '', checks: 0, failures: 0, checkers: [], weight: 10, configuredWeight: 10 };
  t.equal(weightCell({ ...base, installed: 0, override: 'drain' }), '0/10 DRAINED (override)');
  t.equal(weightCell({ ...base, override: 'disable' }), '-/10 DISABLED (override)');
  t.equal(weightCell({ ...base, up: false, override: 'drain' }), '-/10 DRAINED (override)', 'a drained server that is down: health decided, not in IPVS');
});
