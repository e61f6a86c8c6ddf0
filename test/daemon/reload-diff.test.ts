// The VRRP reload plan: old config vs new config → keep / add / remove / update (what changed, in place or restart).
import t from 'tap';
import { type Config, compileText } from '../../src/config/compile.js';
import { keyword, planVrrpReload, stableJson, vipKernelKey } from '../../src/vrrp/reload-diff.js';

function cfg(src: string): Config {
  const r = compileText(src, 'k.conf');
  if (!r.config) throw new Error(r.diagnostics.map((d) => `${d.pos.line}: ${d.message}`).join('\n'));
  return r.config;
}

/** One instance's text; `o` replaces or adds lines. */
function inst(name: string, o: { vrid?: number; iface?: string; prio?: number; adv?: string; vips?: string[]; extra?: string[] } = {}): string {
  const vips = o.vips ?? ['192.0.2.1/24'];
  return [
    `vrrp_instance ${name} {`,
    ` interface ${o.iface ?? 'eth0'}`,
    ` virtual_router_id ${o.vrid ?? 51}`,
    ` priority ${o.prio ?? 150}`,
    ` advert_int ${o.adv ?? '1'}`,
    ...(o.extra ?? []),
    ' virtual_ipaddress {',
    ...vips.map((v) => `  ${v}`),
    ' }',
    '}',
  ].join('\n');
}

const script = (interval: number) => `vrrp_script chk {\n script "/bin/true"\n interval ${interval}\n weight 10\n}\n`;

const cases: { desc: string; before: string; after: string; want: Record<string, unknown> }[] = [
  { desc: 'identical', before: inst('A'), after: inst('A'), want: { keep: ['A'], add: [], remove: [], update: [] } },
  {
    desc: 'keyword order and comments do not count',
    before: inst('A'),
    after: 'vrrp_instance A {\n # moved around\n priority 150\n virtual_router_id 51\n advert_int 1\n interface eth0\n virtual_ipaddress {\n  192.0.2.1/24\n }\n}',
    want: { keep: ['A'], update: [] },
  },
  {
    desc: 'priority',
    before: inst('A'),
    after: inst('A', { prio: 160 }),
    want: { keep: [], update: [{ name: 'A', changed: ['priority'], details: ['priority 150 → 160'], vipsAdded: [], vipsRemoved: [], restart: undefined }] },
  },
  {
    desc: 'a VIP added, one removed, one kept',
    before: inst('A', { vips: ['192.0.2.1/24', '192.0.2.2/24'] }),
    after: inst('A', { vips: ['192.0.2.1/24', '192.0.2.3/24'] }),
    want: {
      update: [{ changed: ['virtual_ipaddress'], details: ['virtual_ipaddress +192.0.2.3/24 −192.0.2.2/24'], vipsAdded: [{ address: '192.0.2.3', prefix: 24 }], vipsRemoved: [{ address: '192.0.2.2', prefix: 24 }], restart: undefined }],
    },
  },
  {
    desc: 'a VIP label changed: same kernel address, removed and added',
    before: inst('A', { vips: ['192.0.2.1/24'] }),
    after: inst('A', { vips: ['192.0.2.1/24 label eth0:1'] }),
    want: { update: [{ vipsAdded: [{ address: '192.0.2.1', label: 'eth0:1' }], vipsRemoved: [{ address: '192.0.2.1' }] }] },
  },
  { desc: 'advert_int', before: inst('A'), after: inst('A', { adv: '2' }), want: { update: [{ changed: ['advert_int'], details: ['advert_int 1s → 2s'], restart: undefined }] } },
  {
    desc: 'track_script added',
    before: script(1) + inst('A'),
    after: script(1) + inst('A', { extra: [' track_script {', '  chk', ' }'] }),
    want: { update: [{ name: 'A', changed: ['track_script', 'vrrp_script'], restart: undefined }] },
  },
  {
    desc: 'a tracked vrrp_script changed: only the instances tracking it',
    before: script(1) + inst('A', { extra: [' track_script {', '  chk', ' }'] }) + inst('B', { vrid: 52 }),
    after: script(2) + inst('A', { extra: [' track_script {', '  chk', ' }'] }) + inst('B', { vrid: 52 }),
    want: { keep: ['B'], update: [{ name: 'A', changed: ['vrrp_script'], details: ['vrrp_script changed'] }] },
  },
  {
    desc: 'a global default changes the instances that use it, not one that sets its own',
    before: inst('A') + inst('B', { vrid: 52, extra: [' garp_master_repeat 3'] }),
    after: 'global_defs {\n vrrp_garp_master_repeat 2\n}\n' + inst('A') + inst('B', { vrid: 52, extra: [' garp_master_repeat 3'] }),
    want: { keep: ['B'], update: [{ name: 'A', changed: ['garp_master_repeat'], details: ['garp_master_repeat 5 → 2'] }] },
  },
  {
    desc: 'vrrp_version 2 → 3 globally: updated in place',
    before: inst('A'),
    after: 'global_defs {\n vrrp_version 3\n}\n' + inst('A'),
    want: { update: [{ changed: ['version'], details: ['version 2 → 3'], restart: undefined }] },
  },
  { desc: 'interface: a different instance', before: inst('A'), after: inst('A', { iface: 'eth1' }), want: { update: [{ changed: ['interface'], restart: /interface changed/ }] } },
  { desc: 'VRID: a different instance', before: inst('A'), after: inst('A', { vrid: 52 }), want: { update: [{ changed: ['virtual_router_id'], restart: /virtual_router_id changed/ }] } },
  {
    desc: 'unicast source: a different instance; peers alone are in place',
    before: inst('A', { extra: [' unicast_src_ip 192.0.2.10', ' unicast_peer {', '  192.0.2.11', ' }'] }) + inst('B', { vrid: 52, extra: [' unicast_src_ip 192.0.2.10', ' unicast_peer {', '  192.0.2.11', ' }'] }),
    after: inst('A', { extra: [' unicast_src_ip 192.0.2.12', ' unicast_peer {', '  192.0.2.11', ' }'] }) + inst('B', { vrid: 52, extra: [' unicast_src_ip 192.0.2.10', ' unicast_peer {', '  192.0.2.13', ' }'] }),
    want: { update: [{ name: 'A', changed: ['unicast_src_ip'], restart: /unicast_src_ip/ }, { name: 'B', changed: ['unicast_peer'], restart: undefined }] },
  },
  { desc: 'added and removed', before: inst('A') + inst('B', { vrid: 52 }), after: inst('A') + inst('C', { vrid: 53 }), want: { keep: ['A'], add: ['C'], remove: ['B'], update: [] } },
  { desc: 'a rename is a removal and an addition', before: inst('A'), after: inst('Z'), want: { keep: [], add: ['Z'], remove: ['A'] } },
  {
    desc: 'notify script',
    before: inst('A', { extra: [' notify_master /bin/true'] }),
    after: inst('A', { extra: [' notify_master /bin/false'] }),
    want: { update: [{ changed: ['notify_master'], restart: undefined }] },
  },
  {
    desc: 'sync group membership changes its members',
    before: inst('A') + inst('B', { vrid: 52 }) + inst('C', { vrid: 53 }),
    after: inst('A') + inst('B', { vrid: 52 }) + inst('C', { vrid: 53 }) + 'vrrp_sync_group G {\n group {\n  A\n  B\n }\n}\n',
    want: { keep: ['C'], update: [{ name: 'A', changed: ['vrrp_sync_group'] }, { name: 'B', changed: ['vrrp_sync_group'] }] },
  },
];

for (const c of cases)
  t.test(c.desc, async (t) => {
    const plan = planVrrpReload(cfg(c.before), cfg(c.after));
    for (const [k, v] of Object.entries(c.want)) {
      const got = plan[k as keyof typeof plan] as unknown[];
      t.equal(got.length, (v as unknown[]).length, `${k}: ${JSON.stringify(got).slice(0, 300)}`);
      t.match(got, v, k);
      // t.match on arrays is loose about length: compare each update's changed list exactly.
      if (k === 'update')
        (v as { changed?: string[] }[]).forEach((u, i) => {
          if (u.changed) t.same((got[i] as { changed: string[] }).changed, u.changed, `${(got[i] as { name: string }).name} changed exactly`);
        });
    }
  });

t.test('helpers', async (t) => {
  t.equal(stableJson({ b: 1, a: { d: 2, c: 3 } }), stableJson({ a: { c: 3, d: 2 }, b: 1 }));
  t.same(['vrid', 'virtualIpaddress', 'advertIntMs', 'garpMasterRefreshMs', 'nopreempt'].map(keyword), ['virtual_router_id', 'virtual_ipaddress', 'advert_int', 'garp_master_refresh', 'nopreempt']);
  const a = cfg(inst('A', { vips: ['192.0.2.1/24 dev eth1'] })).vrrpInstances[0]!;
  t.equal(vipKernelKey(a, a.virtualIpaddress[0]!), '192.0.2.1/24@eth1');
});
