// Sysctl I/O under an injectable /proc/sys root, and the state file, on temp folders.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { RealServerError } from '../../src/realserver/errors.js';
import { SysctlFs } from '../../src/realserver/sysctl.js';
import { type RealServerState, mergeState, readState, removeState, writeState } from '../../src/realserver/state.js';

function tmp(t: { teardown(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'vigil-rs-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}
function put(root: string, rel: string, text: string): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), text);
}
const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return e instanceof RealServerError ? `${e.code} ${e.message}` : `not a RealServerError: ${String(e)}`;
  }
  return undefined;
};

t.test('SysctlFs reads and writes dotted keys under its root', async (t) => {
  const root = tmp(t);
  put(root, 'net/ipv4/conf/all/rp_filter', '2\n');
  put(root, 'net/ipv4/conf/tunl0/arp_ignore', '10\n');
  const s = new SysctlFs(root);
  t.equal(s.path('net.ipv4.conf.all.rp_filter'), join(root, 'net/ipv4/conf/all/rp_filter'));
  t.equal(s.read('net.ipv4.conf.all.rp_filter'), 2);
  t.equal(s.read('net.ipv4.conf.eth9.rp_filter'), undefined, 'a missing sysctl reads as undefined');
  s.write('net.ipv4.conf.all.rp_filter', 0);
  t.equal(readFileSync(join(root, 'net/ipv4/conf/all/rp_filter'), 'utf8'), '0\n');
  s.write('net.ipv4.conf.tunl0.arp_ignore', 1);
  t.equal(readFileSync(join(root, 'net/ipv4/conf/tunl0/arp_ignore'), 'utf8'), '1\n', 'truncated, not overwritten in place');
  t.match(code(() => s.write('net.ipv4.conf.eth9.rp_filter', 0)), /^ESYSCTL sysctl\.write net\.ipv4\.conf\.eth9\.rp_filter=0: ENOENT \(no such sysctl\)/);
  t.notOk(existsSync(join(root, 'net/ipv4/conf/eth9')), 'writing a missing sysctl creates nothing');
  put(root, 'net/ipv4/conf/all/arp_announce', 'two\n');
  t.match(code(() => s.read('net.ipv4.conf.all.arp_announce')), /^ESYSCTL .*not an integer: 'two'/);
  t.match(code(() => s.read('../../etc/passwd')), /^ESYSCTL sysctl \.\.\/\.\.\/etc\/passwd: not a sysctl name/);
  t.equal(new SysctlFs().root, '/proc/sys', 'default root');
});

t.test('SysctlFs against the real /proc/sys (read only)', async (t) => {
  const v = new SysctlFs().read('net.ipv4.conf.all.rp_filter');
  t.ok(v === 0 || v === 1 || v === 2, `net.ipv4.conf.all.rp_filter reads as ${v}`);
});

t.test('mergeState keeps the value from before the first setup', async (t) => {
  const first = mergeState(undefined, ['10.0.0.100'], [
    { kind: 'link-up', device: 'tunl0' },
    { kind: 'sysctl', key: 'net.ipv4.conf.all.arp_ignore', from: 0, to: 1 },
    { kind: 'sysctl', key: 'net.ipv4.conf.tunl0.rp_filter', from: undefined, to: 0 },
  ]);
  t.same(first, { version: 1, vips: ['10.0.0.100'], sysctls: { 'net.ipv4.conf.all.arp_ignore': { saved: 0, set: 1 } }, linksUp: ['tunl0'] }, 'an unreadable value is not saved');
  // someone reset it by hand; setup runs again and sets it again
  const second = mergeState(first, ['10.0.0.101'], [
    { kind: 'sysctl', key: 'net.ipv4.conf.all.arp_ignore', from: 0, to: 1 },
    { kind: 'sysctl', key: 'net.ipv4.conf.all.rp_filter', from: 2, to: 0 },
  ]);
  t.same(second, {
    version: 1,
    vips: ['10.0.0.100', '10.0.0.101'],
    sysctls: { 'net.ipv4.conf.all.arp_ignore': { saved: 0, set: 1 }, 'net.ipv4.conf.all.rp_filter': { saved: 2, set: 0 } },
    linksUp: ['tunl0'],
  });
});

t.test('state file: round trip, atomic write, folder created, bad files refused', async (t) => {
  const d = tmp(t);
  const p = join(d, 'run/vigil/realserver.json');
  t.equal(readState(p), undefined, 'no file: no state');
  const s: RealServerState = { version: 1, vips: ['10.0.0.100'], sysctls: { 'net.ipv4.conf.all.rp_filter': { saved: 1, set: 0 } }, linksUp: [] };
  writeState(p, s);
  t.same(readState(p), s);
  t.same(
    JSON.parse(readFileSync(p, 'utf8')),
    s,
    'plain JSON',
  );
  removeState(p);
  t.notOk(existsSync(p));
  removeState(p);
  t.pass('removing an absent state file is fine');
  for (const [text, why] of [
    ['{', 'not JSON'],
    ['{"version":2}', 'no version 1'],
    ['{"version":1,"vips":[1],"sysctls":{},"linksUp":[]}', 'vips'],
    ['{"version":1,"vips":[],"sysctls":{"a.b":{"saved":"x","set":1}},"linksUp":[]}', 'sysctl a.b'],
  ]) {
    writeFileSync(p, text!);
    t.match(code(() => readState(p)), new RegExp(`^ESTATE state\\.read .*not a vigil realserver state file \\(${why}\\); remove it`), why!);
  }
  writeFileSync(join(d, 'file'), '');
  t.match(code(() => writeState(join(d, 'file/realserver.json'), s)), /^ESTATE state\.write .*: (ENOTDIR|EEXIST)/, 'an unwritable place is ESTATE');
});
