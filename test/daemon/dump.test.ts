// keepalived's SIGUSR1/SIGUSR2 dump layout, from a compiled config and an engine-like snapshot.
// The expected lines are keepalived 2.2.7's own (captured from `kill -USR1` of keepalived in a namespace).
import t from 'tap';
import { compileText } from '../../src/config/compile.js';
import { formatVrrpData, formatVrrpStats, keepalivedTime } from '../../src/daemon/dump.js';
import type { InstanceStatus } from '../../src/vrrp/engine.js';

const conf = compileText(
  [
    'global_defs {\n router_id kdx\n}',
    'vrrp_script chk {\n script "/bin/true"\n interval 1\n weight 10\n}',
    'vrrp_instance VI_1 {\n state MASTER\n interface va\n virtual_router_id 51\n priority 150\n advert_int 1\n track_script {\n  chk\n }\n virtual_ipaddress {\n  192.168.99.100/24\n  192.168.99.101/24 label va:1\n }\n}',
    'vrrp_instance VI_2 {\n state BACKUP\n interface va\n virtual_router_id 52\n priority 100\n version 3\n advert_int 0.5\n unicast_src_ip 192.168.99.1\n unicast_peer {\n  192.168.99.2\n }\n virtual_ipaddress {\n  192.168.99.102/24\n }\n}',
  ].join('\n'),
).config!;

function status(name: string, state: InstanceStatus['state'], priority: number, extra: Partial<InstanceStatus> = {}): InstanceStatus {
  return { name, interface: 'va', vrid: 0, state, priority, basePriority: priority, since: 1000, drops: {}, advertsSent: 4, advertsReceived: 0, transitions: { BACKUP: 1, MASTER: 1 }, releasedMaster: 0, priorityZeroSent: 0, priorityZeroReceived: 0, ...extra };
}

t.test('data dump: keepalived.data layout', async (t) => {
  const [v1, v2] = conf.vrrpInstances;
  const text = formatVrrpData(
    conf,
    [
      { status: status('VI_1', 'MASTER', 160), config: v1!, version: 2, source: '192.168.99.1', group: '224.0.0.18', peers: [] },
      { status: status('VI_2', 'BACKUP', 100, { master: '192.168.99.2' }), config: v2!, version: 3, source: '192.168.99.1', peers: ['192.168.99.2'] },
    ],
    { chk: true },
    (mono) => Date.UTC(2026, 10, 25, 4, 40, 46) + mono,
  );
  const lines = text.split('\n');
  // Lines exactly as keepalived 2.2.7 writes them for this configuration.
  const keepalived = [
    '------< Global definitions >------',
    ' Router ID = kdx',
    ' VRRP IPv4 mcast group = 224.0.0.18',
    ' Gratuitous ARP delay = 5',
    ' Gratuitous ARP repeat = 5',
    ' Num adverts before down = 3',
    ' Send advert after receive lower priority advert = true',
    ' VRRP default protocol version = 2',
    '------< VRRP Topology >------',
    ' VRRP Instance = VI_1',
    '   VRRP Version = 2',
    '   State = MASTER',
    '   Interface = va',
    '   Using src_ip = 192.168.99.1',
    '   Multicast address 224.0.0.18',
    '   Virtual Router ID = 51',
    '   Priority = 150',
    '   Effective priority = 160',
    '   Advert interval = 1 sec',
    '   Preempt = enabled',
    '   Authentication type = none',
    '   Virtual IP (2):',
    '     192.168.99.100/24 dev va scope global set',
    '     192.168.99.101/24 dev va scope global label va:1 set',
    '   Tracked scripts :',
    '     chk weight 10',
    ' VRRP Instance = VI_2',
    '   VRRP Version = 3',
    '     Using unicast',
    '   Using src_ip = 192.168.99.1 (from configuration)',
    '   Advert interval = 500 milli-sec',
    '   Virtual IP (1):',
    '   Unicast TTL = 255',
    '   Check unicast src : no',
    '   Unicast Peer :',
    '     192.168.99.2 min_ttl 0 max_ttl 255',
    '------< VRRP Scripts >------',
    ' VRRP Script = chk',
    "   Command = '/bin/true'",
    '   Interval = 1 sec',
    '   Weight = 10',
    '   Rise = 1',
    '   Fall = 1',
    '   Status = GOOD',
  ];
  let at = 0;
  for (const want of keepalived) {
    const i = lines.indexOf(want, at);
    t.ok(i >= 0, `in order: ${JSON.stringify(want)}`);
    if (i >= 0) at = i + 1;
  }
  t.ok(lines.includes('     192.168.99.102/24 dev va scope global'), 'a BACKUP does not hold its VIPs: no "set"');
  t.ok(lines.includes('   Master router = 192.168.99.2'));
  t.match(text, /Last transition = \d+\.\d{6} \(\w{3} \w{3} \d\d \d\d:\d\d:\d\d\.\d{6} \d{4}\)/);
});

t.test('keepalived time stamps', async (t) => {
  t.match(keepalivedTime(1795581646845.716), /^1795581646\.845716 \(\w{3} \w{3} \d\d \d\d:\d\d:46\.845716 2026\)$/);
});

t.test('stats dump: keepalived.stats layout with vigil counters mapped', async (t) => {
  const text = formatVrrpStats([
    status('VI_1', 'MASTER', 150, {
      advertsReceived: 7,
      advertsSent: 11,
      transitions: { MASTER: 2, BACKUP: 3 },
      releasedMaster: 1,
      priorityZeroReceived: 1,
      priorityZeroSent: 2,
      drops: { ttl: 3, length: 1, 'too-short': 1, 'auth-pass': 4, addresses: 5, checksum: 6 },
    }),
  ]);
  t.equal(
    text,
    [
      'VRRP Instance: VI_1',
      '  Advertisements:',
      '    Received: 7',
      '    Sent: 11',
      '  Became master: 2',
      '  Released master: 1',
      '  Packet Errors:',
      '    Length: 2',
      '    TTL: 3',
      '    Invalid Type: 0',
      '    Advertisement Interval: 0',
      '    Address List: 5',
      '  Authentication Errors:',
      '    Invalid Type: 0',
      '    Type Mismatch: 0',
      '    Failure: 4',
      '  Priority Zero:',
      '    Received: 1',
      '    Sent: 2',
      '  Other drops (vigil):',
      '    Version: 0',
      '    Checksum: 6',
      '    Address Family: 0',
      '    Unknown Peer: 0',
      '',
    ].join('\n'),
  );
  t.equal(formatVrrpStats([]), '');
});
