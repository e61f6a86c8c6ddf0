// The shipped unit and its example EnvironmentFile agree with the CLI: each Exec line, with the
// example's variables substituted as systemd does, is a valid `vigil realserver` call (run here
// against the in-memory host), and stop undoes what start did.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Io } from '../../src/cli/io.js';
import { realserverCommand } from '../../src/cli/realserver.js';
import { FakeHost } from '../../src/realserver/fake.js';
import { repoRoot } from '../helpers/paths.js';

const unit = readFileSync(join(repoRoot, 'systemd/vigil-realserver.service'), 'utf8');
const envFile = readFileSync(join(repoRoot, 'etc/default/vigil-realserver'), 'utf8');
const keys = (section: string): Map<string, string> => {
  const body = unit.split(/^\[/m).find((s) => s.startsWith(`${section}]`)) ?? '';
  return new Map(body.split('\n').filter((l) => /^\w+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
};
const env = new Map(envFile.split('\n').filter((l) => /^\w+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^"(.*)"$/, '$1')]));
/** systemd's substitution: ${VAR} is one word, $VAR is split on blanks. */
function argv(line: string): string[] {
  return line.split(/\s+/).flatMap((w) => {
    const m = /^\$\{(\w+)\}$/.exec(w) ?? /^\$(\w+)$/.exec(w);
    if (!m) return [w];
    const v = env.get(m[1]!) ?? '';
    return w.startsWith('${') ? [v] : v.split(/\s+/).filter(Boolean);
  });
}
function io(): Io & { stdout: string; stderr: string } {
  const o = { stdout: '', stderr: '', color: false, out(s: string) { o.stdout += s; }, err(s: string) { o.stderr += s; } };
  return o;
}

t.test('a oneshot that stays active, configured by /etc/default/vigil-realserver', async (t) => {
  const s = keys('Service');
  t.equal(s.get('Type'), 'oneshot');
  t.equal(s.get('RemainAfterExit'), 'yes');
  t.equal(s.get('EnvironmentFile'), '/etc/default/vigil-realserver');
  t.match(keys('Unit').get('After'), /systemd-sysctl\.service/, 'after systemd-sysctl, which would otherwise reset our sysctls');
  t.equal(keys('Install').get('WantedBy'), 'multi-user.target');
  t.ok(env.get('VIGIL_REALSERVER_VIPS'), 'the example sets VIGIL_REALSERVER_VIPS');
});

t.test('ExecStart, ExecReload and ExecStop run as the CLI expects; stop undoes start', async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'vigil-rs-unit-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  const h = new FakeHost();
  const exec = async (key: string) => {
    const [bin, cmd, ...args] = argv(keys('Service').get(key) ?? '');
    t.equal(bin, '/usr/local/bin/vigil', `${key}: the installed vigil`);
    t.equal(cmd, 'realserver', `${key}: realserver`);
    const o = io();
    const code = await realserverCommand([...args, '--state-file', join(d, 'rs.json')], o, { host: () => h });
    t.equal(code, 0, `${key} exits 0: ${o.stderr.split('\n')[0]}`);
    return o;
  };
  await exec('ExecStart');
  t.ok(h.addressTable.some((a) => a.device === 'tunl0' && a.address === '192.0.2.100'), 'the example VIP is on tunl0');
  t.match((await exec('ExecReload')).stdout, /nothing changed/);
  t.match(keys('Service').get('ExecStop'), /--undo/);
  await exec('ExecStop');
  t.same(h.addressTable, [], 'stop removed the VIP');
});
