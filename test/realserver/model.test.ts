// The pure side of `vigil realserver`: VIP parsing, and plan() over observed machines.
import t from 'tap';
import { type Observed, type ObservedAddr, VipError, blockers, mtuWarnings, parseVips, plan } from '../../src/realserver/model.js';

const fresh: Record<string, number> = Object.fromEntries(
  ['all', 'default'].flatMap((d) => ['arp_ignore', 'arp_announce', 'rp_filter'].map((c) => [`net.ipv4.conf.${d}.${c}`, 0])),
);
const tunl0 = (over: Record<string, number> = {}): Record<string, number> => ({
  'net.ipv4.conf.tunl0.arp_ignore': 0,
  'net.ipv4.conf.tunl0.arp_announce': 0,
  'net.ipv4.conf.tunl0.rp_filter': 0,
  ...over,
});
const done: Record<string, number> = {
  'net.ipv4.conf.all.arp_ignore': 1,
  'net.ipv4.conf.all.arp_announce': 2,
  'net.ipv4.conf.all.rp_filter': 0,
  'net.ipv4.conf.tunl0.arp_ignore': 1,
  'net.ipv4.conf.tunl0.arp_announce': 2,
  'net.ipv4.conf.tunl0.rp_filter': 0,
};
const LINKS = [
  { name: 'lo', index: 1, up: true },
  { name: 'eth0', index: 2, up: true },
];
const withTunl0 = (up: boolean) => [...LINKS, { name: 'tunl0', index: 3, up }];
const vipOn = (device: string, prefix = 32, address = '10.0.0.100'): ObservedAddr => ({ device, family: 4, address, prefix });
const obs = (o: Partial<Observed>): Observed => ({ links: LINKS, addresses: [], sysctls: fresh, modules: [], ...o });

t.test('parseVips: repeatable, comma-separated, canonical, deduplicated', async (t) => {
  const cases: { desc: string; input: string[]; want: string[] }[] = [
    { desc: 'one', input: ['10.0.0.100'], want: ['10.0.0.100'] },
    { desc: '/32 allowed', input: ['10.0.0.100/32'], want: ['10.0.0.100'] },
    { desc: 'comma list and repeat', input: ['10.0.0.100,10.0.0.101', '10.0.0.102'], want: ['10.0.0.100', '10.0.0.101', '10.0.0.102'] },
    { desc: 'duplicates dropped, blanks ignored', input: ['10.0.0.100, 10.0.0.100,'], want: ['10.0.0.100'] },
    { desc: 'blank-separated (an EnvironmentFile value)', input: [' 10.0.0.100 10.0.0.101\t2001:db8::1 '], want: ['10.0.0.100', '10.0.0.101', '2001:db8::1'] },
    { desc: 'IPv6 canonical', input: ['2001:DB8:0::0:1/128'], want: ['2001:db8::1'] },
  ];
  for (const c of cases) t.same(parseVips(c.input).map((v) => v.address), c.want, c.desc);
  t.same(parseVips(['2001:db8::1', '10.0.0.1']).map((v) => v.family), [6, 4], 'families');
});

t.test('parseVips: bad input is a VipError naming the value', async (t) => {
  const cases: [string[], RegExp][] = [
    [['web1'], /'web1' is not an IPv4 or IPv6 address/],
    [['10.0.0.100/24'], /single address \(\/32 on tunl0\)/],
    [['2001:db8::1/64'], /\/128 on ip6tnl0/],
    [['10.0.0.300'], /not an IPv4/],
    [['127.0.0.1'], /loopback/],
    [['224.0.0.18'], /multicast/],
    [['0.0.0.0'], /unspecified/],
    [['255.255.255.255'], /broadcast/],
    [['::1'], /loopback/],
    [['fe80::1'], /link-local/],
    [['ff02::12'], /multicast/],
    [[], /at least one --vip/],
    [[','], /at least one --vip/],
  ];
  for (const [input, re] of cases) {
    let err: unknown;
    try {
      parseVips(input);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof VipError, `${JSON.stringify(input)} is refused with a VipError`);
    t.match((err as Error | undefined)?.message, re, `${JSON.stringify(input)} → ${re}`);
  }
});

const V4 = parseVips(['10.0.0.100']);
const shape = (o: Observed, vips = V4) => plan(vips, o).map((f) => [f.item, f.action?.kind ?? 'none']);

t.test('plan: a table of machines', async (t) => {
  const cases: { desc: string; input: Observed; want: [string, string][] }[] = [
    {
      desc: 'fresh machine: module, VIP and the conf.all sysctls (tunl0 ones once it exists)',
      input: obs({}),
      want: [
        ['module ipip', 'create-device'],
        ['VIP 10.0.0.100', 'add-address'],
        ['net.ipv4.conf.all.arp_ignore', 'sysctl'],
        ['net.ipv4.conf.all.arp_announce', 'sysctl'],
      ],
    },
    {
      desc: 'fresh systemd machine (rp_filter 2 everywhere)',
      input: obs({ sysctls: { ...fresh, 'net.ipv4.conf.all.rp_filter': 2 } }),
      want: [
        ['module ipip', 'create-device'],
        ['VIP 10.0.0.100', 'add-address'],
        ['net.ipv4.conf.all.arp_ignore', 'sysctl'],
        ['net.ipv4.conf.all.arp_announce', 'sysctl'],
        ['net.ipv4.conf.all.rp_filter', 'sysctl'],
      ],
    },
    {
      desc: 'module just loaded: tunl0 down, its sysctls from conf.default',
      input: obs({ links: withTunl0(false), sysctls: { ...fresh, ...tunl0({ 'net.ipv4.conf.tunl0.rp_filter': 1 }) }, modules: ['ipip'] }),
      want: [
        ['tunl0', 'link-up'],
        ['VIP 10.0.0.100', 'add-address'],
        ['net.ipv4.conf.all.arp_ignore', 'sysctl'],
        ['net.ipv4.conf.all.arp_announce', 'sysctl'],
        ['net.ipv4.conf.tunl0.arp_ignore', 'sysctl'],
        ['net.ipv4.conf.tunl0.arp_announce', 'sysctl'],
        ['net.ipv4.conf.tunl0.rp_filter', 'sysctl'],
      ],
    },
    {
      desc: 'half-configured: tunl0 up with the VIP, conf.all done, tunl0 sysctls not',
      input: obs({ links: withTunl0(true), addresses: [vipOn('tunl0')], sysctls: { ...done, ...tunl0() }, modules: ['ipip'] }),
      want: [
        ['net.ipv4.conf.tunl0.arp_ignore', 'sysctl'],
        ['net.ipv4.conf.tunl0.arp_announce', 'sysctl'],
      ],
    },
    { desc: 'fully configured: nothing', input: obs({ links: withTunl0(true), addresses: [vipOn('tunl0')], sysctls: done, modules: ['ipip'] }), want: [] },
    {
      desc: 'arp_ignore=2 is as good as 1',
      input: obs({ links: withTunl0(true), addresses: [vipOn('tunl0')], sysctls: { ...done, 'net.ipv4.conf.all.arp_ignore': 2 } }),
      want: [],
    },
    {
      desc: 'wrong sysctls',
      input: obs({
        links: withTunl0(true),
        addresses: [vipOn('tunl0')],
        sysctls: { ...done, 'net.ipv4.conf.all.arp_ignore': 0, 'net.ipv4.conf.tunl0.rp_filter': 2, 'net.ipv4.conf.all.arp_announce': 1 },
      }),
      want: [
        ['net.ipv4.conf.all.arp_ignore', 'sysctl'],
        ['net.ipv4.conf.all.arp_announce', 'sysctl'],
        ['net.ipv4.conf.tunl0.rp_filter', 'sysctl'],
      ],
    },
    {
      desc: 'VIP on the wrong device (eth0): a blocker, plus the VIP missing from tunl0',
      input: obs({ links: withTunl0(true), addresses: [vipOn('eth0', 24)], sysctls: done }),
      want: [
        ['VIP 10.0.0.100', 'none'],
        ['VIP 10.0.0.100', 'add-address'],
      ],
    },
    { desc: 'VIP on lo (LVS-DR leftover) and on tunl0', input: obs({ links: withTunl0(true), addresses: [vipOn('lo'), vipOn('tunl0')], sysctls: done }), want: [['VIP 10.0.0.100', 'none']] },
    { desc: 'tunl0 down', input: obs({ links: withTunl0(false), addresses: [vipOn('tunl0')], sysctls: done }), want: [['tunl0', 'link-up']] },
    { desc: 'VIP on tunl0 with a /24', input: obs({ links: withTunl0(true), addresses: [vipOn('tunl0', 24)], sysctls: done }), want: [['VIP 10.0.0.100', 'add-address']] },
    {
      desc: 'a tunl0 sysctl missing although tunl0 exists',
      input: obs({ links: withTunl0(true), addresses: [vipOn('tunl0')], sysctls: { ...done, 'net.ipv4.conf.tunl0.rp_filter': undefined as unknown as number } }),
      want: [['net.ipv4.conf.tunl0.rp_filter', 'sysctl']],
    },
  ];
  for (const c of cases) t.same(shape(c.input), c.want, c.desc);
});

t.test('plan: findings say what is wrong and how to fix it', async (t) => {
  const f = plan(V4, obs({ links: withTunl0(false), addresses: [vipOn('eth0', 24)], sysctls: { ...done, 'net.ipv4.conf.all.rp_filter': 1 } }));
  const by = (item: string, kind: string) => f.find((x) => x.item === item && (x.action?.kind ?? 'none') === kind);
  t.match(by('tunl0', 'link-up'), { problem: /is down/, fix: 'ip link set dev tunl0 up' });
  t.match(by('VIP 10.0.0.100', 'none'), { problem: /is on eth0, not tunl0: this server would answer ARP/, fix: 'ip addr del 10.0.0.100/24 dev eth0' });
  t.match(by('VIP 10.0.0.100', 'add-address'), { problem: /not on tunl0/, fix: 'ip addr add 10.0.0.100/32 dev tunl0', action: { device: 'tunl0', prefix: 32 } });
  t.match(by('net.ipv4.conf.all.rp_filter', 'sysctl'), {
    problem: /^is 1, tunnel mode needs 0: .*larger of conf\.all and conf\.tunl0/,
    fix: 'sysctl -w net.ipv4.conf.all.rp_filter=0',
    action: { from: 1, to: 0 },
  });
  t.same(blockers(f).map((b) => b.item), ['VIP 10.0.0.100'], 'the VIP on eth0 is the one blocker');
  const r = plan(V4, obs({ links: withTunl0(true), addresses: [vipOn('tunl0', 24)], sysctls: done }))[0];
  t.match(r, { problem: /as \/24, not \/32/, action: { kind: 'add-address', prefix: 32, replacePrefix: 24 } }, 'a /24 is replaced');
  const m = plan(V4, obs({ modules: ['ipip'] }))[0];
  t.match(m, { item: 'module ipip', problem: /loaded, but this network namespace has no tunl0.*fb_tunnels_only_for_init_net/, fix: 'ip link add name tunl0 type ipip' });
  const n = plan(V4, obs({}))[0];
  t.match(n, { item: 'module ipip', problem: /^not loaded: there is no tunl0/, fix: 'modprobe ipip' });
});

t.test('plan: IPv6 VIPs need ip6_tunnel and ip6tnl0, no sysctls', async (t) => {
  const v6 = parseVips(['2001:db8::100']);
  t.same(shape(obs({}), v6), [
    ['module ip6_tunnel', 'create-device'],
    ['VIP 2001:db8::100', 'add-address'],
  ]);
  const links = [...LINKS, { name: 'ip6tnl0', index: 4, up: true }];
  const on = [{ device: 'ip6tnl0', family: 6 as const, address: '2001:db8::100', prefix: 128 }];
  t.same(shape(obs({ links, addresses: on }), v6), [], 'configured');
  t.match(plan(v6, obs({ links, addresses: [] }))[0], { fix: 'ip addr add 2001:db8::100/128 dev ip6tnl0' });
  const both = parseVips(['10.0.0.100', '2001:db8::100']);
  t.same(
    shape(obs({ links: [...withTunl0(true), { name: 'ip6tnl0', index: 4, up: false }], addresses: [vipOn('tunl0'), ...on], sysctls: done }), both),
    [['ip6tnl0', 'link-up']],
    'both families: only ip6tnl0 down',
  );
});

t.test('mtuWarnings: the overhead and concrete fixes per family', async (t) => {
  const [w4, w6] = mtuWarnings(parseVips(['10.0.0.100', '2001:db8::100']));
  t.match(w4, /adds 20 bytes \(ipip\).*1520 bytes.*advmss 1440.*TCPMSS --set-mss 1440.*at least 1520.*clamp-mss-to-pmtu/);
  t.match(w4, /-s 10\.0\.0\.100 /);
  t.match(w6, /adds 40 bytes.*ICMPv6 "packet too big".*advmss 1400.*ip6tables .*--set-mss 1400/);
  t.equal(mtuWarnings(parseVips(['10.0.0.1'])).length, 1, 'one warning per family');
});
