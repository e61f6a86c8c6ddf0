import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/io.js';
import { repoRoot, sharedDir } from '../helpers/paths.js';

function io(): Io & { stdout: string; stderr: string } {
  const o = { stdout: '', stderr: '', color: false, out(s: string) { o.stdout += s; }, err(s: string) { o.stderr += s; } };
  return o;
}
const vec = (f: string) => path.join(sharedDir, 'vectors/keepalived-config-test', f);

t.test('--help and --version', async (t) => {
  const a = io();
  t.equal(await main(['--help'], a), 0);
  t.match(a.stdout, /Usage: vigil <command>/);
  t.match(a.stdout, /check-config/);
  t.match(a.stdout, /VIGIL_SOCKET/);
  const b = io();
  t.equal(await main(['--version'], b), 0);
  t.match(b.stdout, /^vigil \d+\.\d+\.\d+\n$/);
  const c = io();
  t.equal(await main(['check-config', '--help'], c), 0);
  t.match(c.stdout, /--lenient/);
});

t.test('unknown command and option are usage errors (exit 2)', async (t) => {
  const a = io();
  t.equal(await main(['frobnicate'], a), 2);
  t.match(a.stderr, /unknown command 'frobnicate'/);
  const b = io();
  t.equal(await main(['check-config', '--bogus'], b), 2);
  t.match(b.stderr, /--bogus/);
  const c = io();
  t.equal(await main(['check-config', '--log-level', 'loud', '-f', vec('good.conf')], c), 2);
  t.match(c.stderr, /--log-level \/ VIGIL_LOG_LEVEL/);
});

t.test('check-config: errors as file:line:col, exit 5 like keepalived -t', async (t) => {
  const a = io();
  t.equal(await main(['check-config', '-f', vec('typo_keyword.conf'), '--no-host-checks'], a), 5);
  t.match(a.stderr, /typo_keyword\.conf:10:3: error: unknown keyword 'priorty'/);
  t.match(a.stderr, /1 error\(s\)/);
  const b = io();
  t.equal(await main(['-t', '-f', vec('missing_close_brace.conf')], b), 5);
  t.match(b.stderr, /missing_close_brace\.conf:6:21: error:/);
  const c = io();
  t.equal(await main(['-f', vec('nonexistent.conf'), '-t'], c), 5);
  t.match(c.stderr, /nonexistent\.conf:1:1: error: .*does not exist/);
});

t.test('check-config: OK summary, --dump JSON, --lenient, --quiet', async (t) => {
  const a = io();
  t.equal(await main(['check-config', '-f', vec('good.conf'), '--no-host-checks'], a), 0);
  t.match(a.stdout, /good\.conf: OK — 1 vrrp_instance/);
  const b = io();
  t.equal(await main(['check-config', '-f', vec('good.conf'), '--no-host-checks', '--dump'], b), 0);
  const dumped = JSON.parse(b.stdout) as { vrrpInstances: { vrid: number }[] };
  t.equal(dumped.vrrpInstances[0]!.vrid, 51);
  const c = io();
  t.equal(await main(['check-config', '-f', vec('typo_keyword.conf'), '--no-host-checks', '--lenient'], c), 0);
  t.match(c.stderr, /typo_keyword\.conf:10:3: warning: unknown keyword 'priorty'/);
  const d = io();
  t.equal(await main(['check-config', '-f', vec('typo_keyword.conf'), '--no-host-checks', '--lenient', '-q'], d), 0);
  t.equal(d.stderr, '');
  t.equal(d.stdout, '');
});

t.test('check-config: -i selects conditional lines; host interface check', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-cli-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const f = path.join(dir, 'k.conf');
  fs.writeFileSync(f, 'vrrp_instance V {\n interface lo\n virtual_router_id 1\n@a priority 150\n@b priority 300\n virtual_ipaddress {\n 192.0.2.1\n }\n}\n');
  t.equal(await main(['check-config', '-f', f, '-i', 'a'], io()), 0);
  const b = io();
  t.equal(await main(['check-config', '-f', f, '-i', 'b'], b), 5);
  t.match(b.stderr, /k\.conf:5:13: error: 'priority' 300 is out of range/);
  fs.writeFileSync(f, 'vrrp_instance V {\n interface vigil-nope0\n virtual_router_id 1\n}\n');
  const c = io();
  t.equal(await main(['check-config', '-f', f], c), 5);
  t.match(c.stderr, /k\.conf:2:2: error: .*'vigil-nope0' does not exist/);
  t.equal(await main(['check-config', '-f', f, '--no-host-checks'], io()), 0);
});

t.test('the installed bin runs (built dist)', async (t) => {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/vigil.js'), '-t', '-f', vec('typo_keyword.conf')], { encoding: 'utf8' });
  t.equal(r.status, 5, r.stderr);
  t.match(r.stderr, /typo_keyword\.conf:10:3: error/);
});
