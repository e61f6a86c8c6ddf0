import t from 'tap';
import { run } from '../helpers/lvs.js';

// virtual_server_group entries, `virtual_server group NAME`, and the cross-block checks of validate-lvs.ts.

const group = (...entries: string[]) => ['virtual_server_group G {', ...entries.map((e) => `  ${e}`), '}'].join('\n');
const useG = (extra = '', rs = 'real_server 10.0.1.1 80 {\n  }') =>
  ['virtual_server group G {', '  protocol TCP', '  lvs_sched rr', '  lvs_method NAT', `  ${extra}`, `  ${rs}`, '}'].join('\n');
const ipVs = (addr: string, proto = 'TCP', rs = '10.0.1.1 80') =>
  [`virtual_server ${addr} {`, `  protocol ${proto}`, '  lvs_sched rr', '  lvs_method NAT', `  real_server ${rs} {`, '  }', '}'].join('\n');

type Case = { desc: string; input: string; entries?: object[]; vs?: object; diags?: string[] };

const cases: Case[] = [
  { desc: 'single address', input: `${group('10.0.0.1 80')}\n${useG()}`, entries: [{ kind: 'range', family: 4, first: '10.0.0.1', last: '10.0.0.1', port: 80 }], vs: { kind: 'group', group: 'G', family: 4 }, diags: [] },
  { desc: 'short IPv4 range', input: `${group('192.168.200.3-10 80')}\n${useG()}`, entries: [{ first: '192.168.200.3', last: '192.168.200.10', port: 80 }] },
  { desc: 'full IPv4 range', input: `${group('10.0.0.250-10.0.1.5 80')}\n${useG()}`, entries: [{ first: '10.0.0.250', last: '10.0.1.5' }] },
  { desc: 'prefix range', input: `${group('10.0.0.8/29 80')}\n${useG()}`, entries: [{ first: '10.0.0.8', last: '10.0.0.15' }] },
  { desc: 'IPv6 short range (hex)', input: `${group('ae00::2-f 80')}\n${useG('', 'real_server ae00::10 80 {\n  }')}`, entries: [{ family: 6, first: 'ae00::2', last: 'ae00::f' }], vs: { family: 6 } },
  { desc: 'fwmark entries', input: `${group('fwmark 1', 'fwmark 2 inet')}\n${useG()}`, entries: [{ kind: 'fwmark', fwmark: 1 }, { kind: 'fwmark', fwmark: 2, family: 4 }] },
  { desc: 'fwmark inet6 entry with an IPv4 NAT server', input: `${group('fwmark 2 inet6')}\n${useG()}`, diags: ['9:3 error family-mismatch'] },
  { desc: 'port 0 is no port (needs persistence)', input: `${group('10.0.0.1 0')}\n${useG('persistence_timeout 30')}`, entries: [{ first: '10.0.0.1', port: undefined }], diags: [] },
  { desc: 'no port without persistence', input: `${group('10.0.0.1')}\n${useG()}`, diags: ['4:1 error missing-port'] },
  { desc: 'range end before start', input: `${group('10.0.0.5-3 80')}\n${useG()}`, diags: ['2:3 error invalid-address'] },
  { desc: 'prefix with host bits', input: `${group('10.0.0.9/29 80')}\n${useG()}`, diags: ['2:3 error invalid-address'] },
  { desc: 'fwmark family typo', input: `${group('fwmark 6 inet4')}\n${useG()}`, diags: ['2:12 error invalid-value'] },
  { desc: 'port out of range', input: `${group('10.0.0.1 99999')}\n${useG()}`, diags: ['2:12 error out-of-range'] },
  { desc: 'extra word', input: `${group('10.0.0.1 80 tcp')}\n${useG()}`, diags: ['2:15 error extra-argument'] },
  { desc: 'empty group warns', input: `${group()}\n${useG()}`, diags: ['1:1 warning empty-block'] },
  { desc: 'mixed families with a family-less fwmark', input: `${group('10.0.0.1 80', '2001:db8::1 80', 'fwmark 3')}\n${useG('', 'real_server 10.0.1.1 80 {\n    lvs_method TUN\n  }')}`, diags: ['2:3 error family-mismatch'] },
  { desc: 'RS family must match the group unless tunnelled', input: `${group('2001:db8::1 80')}\n${useG()}`, diags: ['9:3 error family-mismatch'] },
  { desc: 'tunnelled RS may differ from the group', input: `${group('2001:db8::1 80')}\n${useG('lvs_method TUN'.replace('lvs_method TUN', 'persistence_timeout 5'), 'real_server 10.0.1.1 80 {\n    lvs_method TUN\n  }')}`, diags: [] },
  { desc: 'DR RS port must match the entries', input: `${group('10.0.0.1 80', '10.0.0.2 8080')}\n${useG('', 'real_server 10.0.1.1 80 {\n    lvs_method DR\n  }')}`, diags: ['10:3 error port-mismatch'] },
  { desc: 'unknown group', input: useG(), diags: ['1:1 error unknown-reference'] },
  { desc: 'duplicate group name', input: `${group('10.0.0.1 80')}\n${group('10.0.0.2 80')}\n${useG()}`, diags: ['4:1 error duplicate-name'] },
  { desc: 'duplicate service', input: `${ipVs('10.0.0.1 80')}\n${ipVs('10.0.0.1 80')}`, diags: ['8:1 error duplicate-service'] },
  { desc: 'same address, other protocol is fine', input: `${ipVs('10.0.0.1 80')}\n${ipVs('10.0.0.1 80', 'UDP')}`, diags: [] },
  { desc: 'service duplicating a group entry', input: `${group('10.0.0.1-5 80')}\n${useG()}\n${ipVs('10.0.0.3 80')}`, diags: ['12:1 error duplicate-service'] },
  { desc: 'two services on one group and protocol', input: `${group('10.0.0.1 80')}\n${useG()}\n${useG()}`, diags: ['12:1 error duplicate-service'] },
  { desc: 'duplicate real server', input: ['virtual_server 10.0.0.1 80 {', ' protocol TCP', ' lvs_sched rr', ' lvs_method NAT', ' real_server 10.0.1.1 80 {', ' }', ' real_server 10.0.1.1 80 {', ' }', '}'].join('\n'), diags: ['7:2 error duplicate-real-server'] },
];

for (const c of cases)
  t.test(c.desc, async (t) => {
    const out = run(c.input);
    const why = out.messages.join('\n');
    if (c.diags) t.same(out.diags, c.diags, why);
    if (c.entries) t.match(out.r.config?.virtualServerGroups[0]?.entries, c.entries, why);
    if (c.vs) t.match(out.vs, c.vs, why);
  });

t.test('messages', async (t) => {
  t.match(run(useG()).messages[0], /no virtual_server_group named 'G' is defined \(there is no virtual_server_group at all\)/);
  t.match(run(`${group('10.0.0.9/29 80')}\n${useG()}`).messages[0], /host bits set.*10\.0\.0\.8\/29/);
});
