import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { compileText } from '../../src/config/compile.js';
import type { Config } from '../../src/config/compile.js';

// The LVS parts of Debian's keepalived 2.2.7 samples (all accepted by `keepalived -t`), with the
// values they configure. Each sample is compiled twice: whole, and with everything but its
// virtual_server(_group) blocks blanked out (line numbers kept); both must compile cleanly.

const DIR = '/usr/share/doc/keepalived/samples';

/** Line numbers (1-based) inside top-level virtual_server / virtual_server_group blocks. */
function lvsLines(src: string): Set<number> {
  const out = new Set<number>();
  let depth = 0;
  let inLvs = false;
  src.split('\n').forEach((raw, i) => {
    const line = raw.replace(/[!#].*$/, '');
    if (depth === 0 && /^\s*virtual_server(_group)?\b/.test(line)) inLvs = true;
    if (inLvs) out.add(i + 1);
    for (const ch of line) depth += ch === '{' ? 1 : ch === '}' ? -1 : 0;
    if (depth === 0 && !/^\s*virtual_server(_group)?\b[^{]*$/.test(line)) inLvs = false;
  });
  return out;
}

function load(name: string): { whole: ReturnType<typeof compileText>; lvsOnly: ReturnType<typeof compileText>; lines: Set<number> } {
  const src = readFileSync(`${DIR}/keepalived.conf.${name}`, 'utf8');
  const lines = lvsLines(src);
  const blanked = src
    .split('\n')
    .map((l, i) => (lines.has(i + 1) ? l : ''))
    .join('\n');
  return { whole: compileText(src, name), lvsOnly: compileText(blanked, name), lines };
}

type Check = (t: Test, c: Config) => void;

const samples: Record<string, Check> = {
  'HTTP_GET.port': (t, c) => {
    t.match(c.virtualServers, [{ kind: 'ip', address: '192.168.200.100', port: 443, protocol: 'TCP', lvsSched: 'rr', lvsMethod: { method: 'NAT' }, delayLoopMs: 6000, persistenceTimeoutS: 50 }]);
    t.match(c.virtualServers[0]!.realServers, [{ address: '192.168.201.100', port: 443, weight: 1 }]);
    t.match(c.virtualServers[0]!.realServers[0]!.checkers, [
      { type: 'SSL_GET', connectIp: '192.168.201.100', connectPort: 444, connectTimeoutMs: 3000, retry: 3, delayBeforeRetryMs: 3000, delayLoopMs: 6000, urls: [{ path: '/', digest: 'ff20ad2481f97b1754ef3e12ecd3a9cc', statusCodes: [{ min: 200, max: 299 }] }] },
    ]);
  },
  IPv6: (t, c) => {
    t.match(c.virtualServerGroups, [{ name: 'IPv6_group', entries: [{ kind: 'range', family: 6, first: 'ae00::2', last: 'ae00::9', port: 80 }, { first: 'ae00::1', last: 'ae00::1', port: 80 }] }]);
    t.match(c.virtualServers, [{ kind: 'ip', address: 'ae00::1', port: 80, family: 6, persistenceTimeoutS: 50 }]);
    t.match(c.virtualServers[0]!.realServers, [{ address: 'ae00::10', port: 25, family: 6 }]);
    t.match(c.virtualServers[0]!.realServers[0]!.checkers, [{ type: 'SMTP_CHECK', heloName: 'foo.bar.com', connectIp: 'ae00::10', connectPort: 25, connectTimeoutMs: 3000, retry: 3, delayBeforeRetryMs: 1000 }]);
  },
  PING_CHECK: (t, c) => {
    t.match(c.virtualServers, [{ address: '10.10.10.2', port: 1358, protocol: 'UDP', persistenceTimeoutS: 50 }]);
    t.match(c.virtualServers[0]!.realServers[0]!.checkers, [{ type: 'PING_CHECK', retry: 4, connectIp: '192.168.200.6', connectTimeoutMs: 5000, delayLoopMs: 6000 }]);
  },
  SMTP_CHECK: (t, c) => {
    const [a, b, d] = c.virtualServers[0]!.realServers;
    t.match(c.virtualServers[0], { address: '192.168.200.100', port: 25, delayLoopMs: 60000 });
    t.match(a!.checkers, [{ type: 'SMTP_CHECK', connectIp: '172.16.1.10', connectPort: 25, connectTimeoutMs: 30000, retry: 2, delayBeforeRetryMs: 5000, heloName: 'foo.bar.com' }]);
    t.same(b!.checkers.map((k) => 'connectIp' in k && k.connectIp), ['172.16.1.11', '192.168.155.10', '64.233.167.99']);
    t.match(b!.checkers, [{ connectTimeoutMs: 10000, heloName: 'foo.bar.com' }, { connectPort: 25 }, { retry: 2 }]);
    t.match(d!.checkers, [
      { connectIp: '172.16.1.12', connectPort: 25, bindto: '172.16.1.2' },
      { connectIp: '192.168.155.11', connectPort: 25, bindto: '192.168.155.2' },
      { connectIp: '64.233.167.100', connectPort: 587, bindto: undefined },
    ]);
  },
  SSL_GET: (t, c) => {
    t.same(c.virtualServers.map((v) => v.kind === 'ip' && v.port), [443, 80]);
    t.match(c.virtualServers[0]!.realServers[0]!.checkers, [{ type: 'SSL_GET', urls: [{ path: '/', digest: 'ff20ad2481f97b1754ef3e12ecd3a9cc' }, { path: '/mrtg/', digest: '9b3a0c85a887a256d6939da88aabd8cd' }], connectPort: 443 }]);
    t.match(c.virtualServers[1]!.realServers[0]!.checkers, [{ type: 'HTTP_GET', connectPort: 80, connectTimeoutMs: 3000, retry: 3, delayBeforeRetryMs: 3000 }]);
  },
  UDP_CHECK: (t, c) => {
    t.match(c.virtualServers, [{ address: '10.10.10.2', port: 1358, protocol: 'UDP' }]);
    t.match(c.virtualServers[0]!.realServers[0]!.checkers, [{ type: 'UDP_CHECK', connectPort: 1358, connectTimeoutMs: 3000, retry: 3, delayBeforeRetryMs: 3000, requireReply: false, minReplyLength: 0, maxReplyLength: 255 }]);
  },
  fwmark: (t, c) => {
    t.match(c.virtualServers, [{ kind: 'fwmark', fwmark: 1, family: 4, persistenceTimeoutS: 900, lvsMethod: { method: 'NAT' } }]);
    t.match(c.virtualServers[0]!.realServers, [
      { address: '192.168.201.100', port: 0, checkers: [{ type: 'TCP_CHECK', connectPort: 80, connectTimeoutMs: 3000 }] },
      { address: '192.168.201.101', port: 0, checkers: [{ type: 'TCP_CHECK', connectPort: 80, connectTimeoutMs: 3000 }] },
    ]);
  },
  inhibit: (t, c) => {
    t.match(c.virtualServers[0]!.realServers, [{ address: '192.168.200.2', port: 1358, inhibitOnFailure: true, checkers: [{ type: 'HTTP_GET', urls: [{ path: '/testurl3/test.jsp', digest: '640205b7b0fc66c1ea91c463fac6334d' }] }] }]);
  },
  misc_check: (t, c) => {
    t.match(c.virtualServers[0]!.realServers[0]!.checkers, [{ type: 'MISC_CHECK', miscPath: { command: '/usr/local/bin/script.sh' }, retry: 0, miscTimeoutMs: 6000, miscDynamic: false }]);
  },
  misc_check_arg: (t, c) => {
    t.match(c.virtualServers[0]!.realServers[0]!.checkers, [{ type: 'MISC_CHECK', miscPath: { command: '/usr/local/bin/script.sh arg1 arg2' } }]);
  },
  quorum: (t, c) => {
    const vs = c.virtualServers[0]!;
    t.match(vs, { address: '10.0.1.1', port: 80, lvsSched: 'wrr', alpha: true, omega: true, quorum: 7, hysteresis: 2, quorumUp: { command: '/usr/local/sbin/quorum-up.sh' }, quorumDown: { command: '/usr/local/sbin/quorum-down.sh' } });
    t.equal(vs.realServers.length, 10);
    t.match(vs.realServers[9], { address: '10.0.0.10', port: 8080, alpha: true, checkers: [{ type: 'TCP_CHECK', connectPort: 80, connectTimeoutMs: 3000, alpha: true }] });
  },
  sample: (t, c) => {
    t.match(c.virtualServers, [{ address: '10.10.10.2', port: 1358, sorryServer: { address: '192.168.200.200', port: 1358, lvsMethod: { method: 'NAT' }, inhibit: false } }]);
    t.match(c.virtualServers[0]!.realServers[0]!.checkers, [{ type: 'HTTP_GET', connectPort: 1358, retry: 3 }]);
  },
  status_code: (t, c) => {
    t.match(c.virtualServers[0]!.realServers[0]!.checkers, [
      {
        type: 'SSL_GET',
        urls: [
          { path: '/', statusCodes: [{ min: 200, max: 299 }, { min: 400, max: 499 }, { min: 503, max: 503 }, { min: 505, max: 505 }], digest: undefined },
          { path: '/mrtg/', digest: '9b3a0c85a887a256d6939da88aabd8cd', statusCodes: [{ min: 200, max: 200 }] },
        ],
      },
    ]);
  },
  virtual_server_group: (t, c) => {
    t.match(c.virtualServerGroups, [
      {
        name: 'VSG_1',
        entries: [
          { kind: 'range', first: '10.0.0.1', last: '10.0.0.1', port: 8080 },
          { first: '10.0.0.2', port: 80 },
          { first: '192.168.200.1', port: 1358 },
          { first: '192.168.200.3', last: '192.168.200.10', port: 80 },
          { kind: 'fwmark', fwmark: 1 },
          { kind: 'fwmark', fwmark: 2 },
        ],
      },
    ]);
    t.match(c.virtualServers, [{ kind: 'group', group: 'VSG_1', family: 4, persistenceTimeoutS: 50 }]);
    t.same(c.virtualServers[0]!.realServers.map((r) => `${r.address}:${r.port}`), ['192.168.200.1:1358', '192.168.200.2:1358']);
  },
  virtualhost: (t, c) => {
    t.match(c.virtualServers, [{ virtualhost: 'www.firewall.loc' }]);
    t.match(c.virtualServers[0]!.realServers[0]!.checkers, [{ type: 'SSL_GET', virtualhost: 'www.firewall.loc', urls: [{ path: '/' }, { path: '/mrtg/' }] }]);
  },
};

for (const [name, check] of Object.entries(samples))
  t.test(name, async (t) => {
    const { whole, lvsOnly, lines } = load(name);
    const lvsErrors = lvsOnly.diagnostics.filter((d) => d.severity === 'error');
    t.same(lvsErrors.map((d) => `${d.pos.line}:${d.pos.col} ${d.message}`), [], 'LVS blocks compile without errors');
    const outside = whole.diagnostics.filter((d) => d.severity === 'error' && !lines.has(d.pos.line));
    const inside = whole.diagnostics.filter((d) => d.severity === 'error' && lines.has(d.pos.line));
    t.same(inside.map((d) => d.message), [], 'no error inside the LVS blocks of the whole file');
    t.same(outside.map((d) => `${d.pos.line}: ${d.message}`), [], 'no error outside the LVS blocks either');
    t.equal(whole.errors, 0, 'whole file compiles');
    if (lvsOnly.config) check(t, lvsOnly.config);
    else t.fail('no config');
  });
