import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { compile } from '../../src/config/compile.js';
import { formatDiagnostic } from '../../src/config/diagnostics.js';
import { sharedDir } from '../helpers/paths.js';

// Each broken config from shared/vectors/keepalived-config-test must fail with an error at the
// right line and column; keepalived's own `-t` output (*.conf.out) sits beside it. Where
// keepalived exits 0 (missing file, empty file) or gives no line (missing brace), we do better.
const dir = path.join(sharedDir, 'vectors/keepalived-config-test');
const onlyEth0 = { interfaceExists: (n: string) => n === 'eth0' };

const cases: { file: string; line: number; col: number; code: string; text: RegExp }[] = [
  { file: 'advert_int_nonnumeric.conf', line: 11, col: 14, code: 'invalid-number', text: /advert_int.*'abc'/ },
  { file: 'bad_ip.conf', line: 15, col: 5, code: 'invalid-address', text: /192\.168\.77\.300/ },
  { file: 'bad_prefix.conf', line: 15, col: 20, code: 'invalid-prefix', text: /\/33.*0-32/ },
  { file: 'bad_priority.conf', line: 10, col: 12, code: 'out-of-range', text: /priority.*300.*1-255/ },
  { file: 'bad_state.conf', line: 7, col: 9, code: 'invalid-value', text: /MASTERR.*did you mean 'MASTER'/ },
  { file: 'bad_version.conf', line: 3, col: 16, code: 'invalid-value', text: /vrrp_version.*'4'/ },
  { file: 'bad_vrid.conf', line: 9, col: 21, code: 'out-of-range', text: /virtual_router_id.*256/ },
  { file: 'dup_vrid.conf', line: 15, col: 2, code: 'duplicate-vrid', text: /VRID 51.*eth0.*VI_1 \(line 7\)/ },
  { file: 'empty.conf', line: 1, col: 1, code: 'empty-config', text: /no configuration statements/ },
  { file: 'missing_close_brace.conf', line: 6, col: 21, code: 'missing-close-brace', text: /vrrp_instance.*line 6.*never closed/ },
  { file: 'missing_open_brace.conf', line: 6, col: 20, code: 'missing-open-brace', text: /expected '\{' after 'vrrp_instance VI_51'/ },
  { file: 'missing_vrid.conf', line: 6, col: 1, code: 'missing-keyword', text: /VI_51 has no 'virtual_router_id'/ },
  { file: 'nonexistent.conf', line: 1, col: 1, code: 'missing-file', text: /does not exist/ },
  { file: 'typo_keyword.conf', line: 10, col: 3, code: 'unknown-keyword', text: /'priorty'.*did you mean 'priority'/ },
  { file: 'unknown_iface.conf', line: 8, col: 3, code: 'unknown-interface', text: /'eth9' does not exist/ },
  { file: 'v2_subsecond_advert.conf', line: 11, col: 3, code: 'invalid-value', text: /VRRPv2 advert_int must be whole seconds/ },
  { file: 'v3_with_auth.conf', line: 12, col: 3, code: 'invalid-value', text: /VRRPv3 has no authentication/ },
];

t.test('every broken vector is covered by a case', async (t) => {
  const broken = fs.readdirSync(dir).filter((f) => f.endsWith('.conf.out') && f !== 'good.conf.out').map((f) => f.replace(/\.out$/, ''));
  t.same(broken.sort(), cases.map((c) => c.file).sort());
});

for (const c of cases) {
  t.test(c.file, async (t) => {
    const r = compile(path.join(dir, c.file), onlyEth0);
    t.equal(r.config, undefined, 'no Config on error');
    t.ok(r.errors >= 1, 'at least one error');
    const first = r.diagnostics.find((d) => d.severity === 'error')!;
    t.equal(first.code, c.code, formatDiagnostic(first));
    t.match(first.pos, { line: c.line, col: c.col }, 'position');
    t.match(first.message, c.text);
    t.equal(r.errors, 1, `exactly one error, no cascade: ${r.diagnostics.map(formatDiagnostic).join(' | ')}`);
    // keepalived's own verdict sits beside it; we must be at least as strict.
    const out = fs.readFileSync(path.join(dir, `${c.file}.out`), 'utf8');
    t.match(out, /rc=\d/, 'keepalived output recorded');
  });
}

t.test('good.conf compiles with its values', async (t) => {
  const r = compile(path.join(dir, 'good.conf'), onlyEth0);
  t.equal(r.errors, 0, r.diagnostics.map(formatDiagnostic).join('\n'));
  const vi = r.config!.vrrpInstances[0]!;
  t.match(vi, { name: 'VI_51', state: 'MASTER', interface: 'eth0', vrid: 51, priority: 150, advertIntMs: 1000 });
  t.same(vi.virtualIpaddress.map((v) => `${v.address}/${v.prefix}`), ['192.168.77.100/24']);
  t.equal(r.config!.globalDefs.vrrpVersion, 2);
});

t.test('keepalived gives no line for a missing brace and exits 0 on missing/empty files; we do better', async (t) => {
  t.notMatch(fs.readFileSync(path.join(dir, 'missing_close_brace.conf.out'), 'utf8'), /Line \d/);
  t.match(fs.readFileSync(path.join(dir, 'empty.conf.out'), 'utf8'), /rc=0/);
  t.match(fs.readFileSync(path.join(dir, 'nonexistent.conf.out'), 'utf8'), /rc=0/);
});
