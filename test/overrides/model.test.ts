// Overrides, the pure part: `--until` parsing, naming a virtual server and a real server as
// operators write them, and the desired IPVS table with overrides beside the health verdicts
// (drain: weight 0 and kept; disable: as down; health still decides underneath).
import t from 'tap';
import { compileText } from '../../src/config/compile.js';
import type { LvsModel, RealServer, VirtualServer } from '../../src/config/schema/lvs.js';
import { type HealthView, desiredTable, rsKey } from '../../src/director/desired.js';
import { destText } from '../../src/ipvs/types.js';
import { type OverrideAction, applyOverride, asOverride, findTarget, parseUntil } from '../../src/overrides/model.js';

function lvs(src: string): LvsModel {
  const r = compileText(src, 'k.conf');
  if (!r.config) throw new Error(r.diagnostics.map((d) => `${d.pos.line}:${d.pos.col} ${d.message}`).join('\n'));
  return r.config;
}

const NOW = Date.parse('2026-12-07T03:00:00Z');

t.test('--until: durations and ISO times; past, unparseable and absurd ones are errors', async (t) => {
  const cases: { desc: string; input: string; want: string | RegExp }[] = [
    { desc: 'minutes', input: '30m', want: '2026-12-07T03:30:00.000Z' },
    { desc: 'seconds', input: '90s', want: '2026-12-07T03:01:30.000Z' },
    { desc: 'combined', input: '1h30m', want: '2026-12-07T04:30:00.000Z' },
    { desc: 'days', input: '1d', want: '2026-12-08T03:00:00.000Z' },
    { desc: 'ISO with Z', input: '2026-12-07T03:30:00Z', want: '2026-12-07T03:30:00.000Z' },
    { desc: 'ISO with an offset', input: '2026-12-07T05:30+01:00', want: '2026-12-07T04:30:00.000Z' },
    { desc: 'in the past', input: '2026-12-07T02:59:59Z', want: /in the past/ },
    { desc: 'now is not the future', input: '2026-12-07T03:00:00Z', want: /in the past/ },
    { desc: 'zero duration', input: '0m', want: /more than 0/ },
    { desc: 'garbage', input: 'tomorrow', want: /use a duration/ },
    { desc: 'a unit vigil does not know', input: '3w', want: /use a duration/ },
    { desc: 'a bare number (seconds for failover --timeout) is not an --until', input: '90', want: /use a duration/ },
    { desc: 'units out of order, as for failover --timeout', input: '30m1h', want: /use a duration/ },
    { desc: 'an impossible date', input: '2026-13-45T00:00Z', want: /not a valid date/ },
    { desc: 'more than a year ahead', input: '400d', want: /more than a year/ },
  ];
  for (const c of cases) {
    const r = parseUntil(c.input, NOW);
    if (typeof c.want === 'string') t.same(r, { at: Date.parse(c.want) }, c.desc);
    else t.match('error' in r ? r.error : `ok ${JSON.stringify(r)}`, c.want, c.desc);
  }
});

const CONF = `
virtual_server 192.0.2.100 80 {
  protocol TCP
  lvs_method NAT
  real_server 198.51.100.11 80 {
    weight 10
  }
  real_server 198.51.100.12 80 {
    weight 10
    inhibit_on_failure
  }
  real_server 198.51.100.13 8080 {
    weight 5
  }
}
virtual_server 192.0.2.100 53 {
  protocol UDP
  real_server 198.51.100.11 53 {
  }
}
virtual_server 192.0.2.100 53 {
  protocol TCP
  real_server 198.51.100.11 53 {
  }
}
virtual_server fwmark 7 {
  lvs_method TUN
  real_server 198.51.100.21 0 {
  }
}
virtual_server_group web {
  192.0.2.200 80
}
virtual_server group web {
  protocol TCP
  real_server 198.51.100.31 80 {
  }
}
virtual_server 2001:db8::1 443 {
  protocol TCP
  real_server 2001:db8::11 443 {
  }
}
`;

t.test('virtual and real servers as operators write them', async (t) => {
  const vss = lvs(CONF).virtualServers;
  const cases: { desc: string; vs: string; rs: string; want: string | RegExp }[] = [
    { desc: 'host:port', vs: '192.0.2.100:80', rs: '198.51.100.12:80', want: '192.0.2.100:80 TCP|198.51.100.12:80' },
    { desc: "keepalived's spelling with spaces", vs: '192.0.2.100 80', rs: '198.51.100.12 80', want: '192.0.2.100:80 TCP|198.51.100.12:80' },
    { desc: 'with the protocol, any case', vs: '192.0.2.100:80 tcp', rs: '198.51.100.11:80', want: '192.0.2.100:80 TCP|198.51.100.11:80' },
    { desc: 'the bare real-server address when unique', vs: '192.0.2.100:80', rs: '198.51.100.13', want: '192.0.2.100:80 TCP|198.51.100.13:8080' },
    { desc: 'TCP and UDP on one port: must say which', vs: '192.0.2.100:53', rs: '198.51.100.11:53', want: /ambiguous: 192.0.2.100:53 UDP, 192.0.2.100:53 TCP; say which/ },
    { desc: 'TCP and UDP: UDP named', vs: '192.0.2.100:53 UDP', rs: '198.51.100.11:53', want: '192.0.2.100:53 UDP|198.51.100.11:53' },
    { desc: 'fwmark', vs: 'fwmark 7', rs: '198.51.100.21', want: 'fwmark 7|198.51.100.21:0' },
    { desc: 'group without its protocol', vs: 'group web', rs: '198.51.100.31:80', want: 'group web TCP|198.51.100.31:80' },
    { desc: 'IPv6 in brackets', vs: '[2001:db8::1]:443', rs: '[2001:db8::11]:443', want: '[2001:db8::1]:443 TCP|[2001:db8::11]:443' },
    { desc: 'IPv6 with a space', vs: '2001:db8::1 443', rs: '2001:db8::11', want: '[2001:db8::1]:443 TCP|[2001:db8::11]:443' },
    { desc: 'unknown virtual server', vs: '192.0.2.99:80', rs: '198.51.100.11:80', want: /no virtual server '192.0.2.99:80' in the configuration; known: 192.0.2.100:80 TCP/ },
    { desc: 'unknown real server', vs: '192.0.2.100:80', rs: '198.51.100.99:80', want: /no real server '198.51.100.99:80' in virtual server 192.0.2.100:80 TCP; known: 198.51.100.11:80, / },
    { desc: 'a real server of another virtual server', vs: '192.0.2.100:80', rs: '198.51.100.21', want: /no real server/ },
    { desc: 'wrong port', vs: '192.0.2.100:80', rs: '198.51.100.13:80', want: /no real server/ },
  ];
  for (const c of cases) {
    const r = findTarget(vss, c.vs, c.rs);
    const got = 'error' in r ? r.error : `${r.vs}|${r.rs}`;
    if (typeof c.want === 'string') t.equal(got, c.want, c.desc);
    else t.match(got, c.want, c.desc);
  }
});

t.test('applyOverride: drain is weight 0, disable is down, none changes nothing', async (t) => {
  const v = { up: true, weight: 10, checked: true };
  t.same(applyOverride(v, 'drain'), { up: true, weight: 0, checked: true });
  t.same(applyOverride(v, 'disable'), { up: false, weight: 10, checked: true });
  t.equal(applyOverride(v, undefined), v);
  t.same(applyOverride({ up: false, weight: 10 }, 'drain'), { up: false, weight: 0 }, 'a drained server that fails stays down: health decides');
});

t.test('the desired table with overrides beside the verdicts', async (t) => {
  const model = lvs(CONF);
  const onlyWeb = { ...model, virtualServers: model.virtualServers.slice(0, 1) };
  const health =
    (down: string[]): HealthView =>
    (_vs: VirtualServer, rs: RealServer) => ({ up: !down.includes(rsKey(rs)), weight: rs.weight });
  const ov =
    (m: Record<string, OverrideAction>) =>
    (_vs: VirtualServer, rs: RealServer): OverrideAction | undefined =>
      m[rsKey(rs)];
  const cases: { desc: string; down: string[]; overrides: Record<string, OverrideAction>; want: string[]; weightSum: number }[] = [
    { desc: 'no override', down: [], overrides: {}, want: ['198.51.100.11:80 w10', '198.51.100.12:80 w10', '198.51.100.13:8080 w5'], weightSum: 25 },
    { desc: 'drain: kept at weight 0, out of the weight sum', down: [], overrides: { '198.51.100.11:80': 'drain' }, want: ['198.51.100.11:80 w0', '198.51.100.12:80 w10', '198.51.100.13:8080 w5'], weightSum: 15 },
    { desc: 'disable: removed although healthy', down: [], overrides: { '198.51.100.11:80': 'disable' }, want: ['198.51.100.12:80 w10', '198.51.100.13:8080 w5'], weightSum: 15 },
    { desc: 'disable with inhibit_on_failure: weight 0, as when down', down: [], overrides: { '198.51.100.12:80': 'disable' }, want: ['198.51.100.11:80 w10', '198.51.100.12:80 w0', '198.51.100.13:8080 w5'], weightSum: 15 },
    { desc: 'drain of a server that is down: health decides, removed', down: ['198.51.100.11:80'], overrides: { '198.51.100.11:80': 'drain' }, want: ['198.51.100.12:80 w10', '198.51.100.13:8080 w5'], weightSum: 15 },
    { desc: 'an override elsewhere leaves a down server down', down: ['198.51.100.13:8080'], overrides: { '198.51.100.11:80': 'drain' }, want: ['198.51.100.11:80 w0', '198.51.100.12:80 w10'], weightSum: 10 },
  ];
  for (const c of cases) {
    const d = desiredTable({ lvs: onlyWeb, health: health(c.down), overrides: ov(c.overrides) });
    t.same(
      d.table[0]!.dests.map((x) => `${destText(x)} w${x.weight}`),
      c.want,
      c.desc,
    );
    t.equal(d.status[0]!.weightSum, c.weightSum, `${c.desc}: weight sum`);
    for (const [rs, a] of Object.entries(c.overrides)) t.equal(d.status[0]!.realServers.find((r) => r.rs === rs)?.override, a, `${c.desc}: status names the override`);
  }
});

t.test('a state-file entry is an override only with every field right', async (t) => {
  const good = { vs: '192.0.2.100:80 TCP', rs: '198.51.100.11:80', action: 'drain', reason: 'deploy', who: 'root (uid 0, pid 1)', since: '2026-12-07T03:00:00.000Z', source: 'cli' };
  t.same(asOverride(good), good);
  t.same(asOverride({ ...good, until: '2026-12-07T04:00:00.000Z' }), { ...good, until: '2026-12-07T04:00:00.000Z' });
  for (const [desc, bad] of [
    ['unknown action', { ...good, action: 'pause' }],
    ['bad since', { ...good, since: 'yesterday' }],
    ['bad until', { ...good, until: 7 }],
    ['missing rs', { ...good, rs: undefined }],
    ['not an object', 'drain'],
    ['null', null],
  ] as const)
    t.equal(asOverride(bad), undefined, desc);
});
