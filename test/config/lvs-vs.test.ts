import t from 'tap';
import { run, svc } from '../helpers/lvs.js';

// virtual_server and real_server keywords: values, bounds, defaults, aliases, inheritance.
// svc(vsLine, rsLine): vsLine is line 5 (col 3), rsLine line 7 (col 5).

type Case = { desc: string; input: string; vs?: object; rs?: object; diags?: string[] };

const cases: Case[] = [
  {
    desc: 'defaults of a minimal service',
    input: svc(),
    vs: {
      kind: 'ip', address: '10.0.0.1', port: 80, family: 4, protocol: 'TCP', lvsSched: 'rr', lvsMethod: { method: 'NAT' }, delayLoopMs: 60000,
      connectTimeoutMs: 5000, quorum: 1, hysteresis: 0, alpha: false, omega: false, inhibitOnFailure: false, haSuspend: false, ops: false, weight: 1,
      persistenceTimeoutS: undefined, retry: undefined, warmupMs: undefined, delayBeforeRetryMs: undefined, sorryServer: undefined,
    },
    rs: { address: '10.0.1.1', port: 80, family: 4, weight: 1, lvsMethod: { method: 'NAT' }, inhibitOnFailure: false, alpha: false, delayLoopMs: 60000, connectTimeoutMs: 5000, checkers: [] },
    diags: [],
  },
  { desc: 'delay_loop fraction', input: svc('delay_loop 2.5'), vs: { delayLoopMs: 2500 }, rs: { delayLoopMs: 2500 }, diags: [] },
  { desc: 'delay_loop 0 is out of range', input: svc('delay_loop 0'), diags: ['5:14 error out-of-range'] },
  { desc: 'delay_loop microseconds', input: svc('delay_loop 0.000001'), vs: { delayLoopMs: 0.001 }, diags: [] },
  { desc: 'lb_algo is lvs_sched', input: svc('lb_algo wlc').replace('  lvs_sched rr\n', ''), vs: { lvsSched: 'wlc' }, diags: [] },
  { desc: 'twos scheduler', input: svc('lvs_sched twos'), vs: { lvsSched: 'twos' } },
  { desc: 'unknown scheduler', input: svc('lvs_sched rrr'), diags: ['5:13 error invalid-value'] },
  { desc: 'no lvs_sched: wlc with a warning', input: svc().replace('  lvs_sched rr\n', '  \n'), vs: { lvsSched: 'wlc' }, diags: ['1:1 warning default-scheduler'] },
  { desc: 'no protocol is an error (keepalived: UDP, -t exits 5)', input: svc().replace('  protocol TCP\n', '  \n'), diags: ['1:1 error missing-keyword'] },
  { desc: 'protocol is caseless', input: svc().replace('protocol TCP', 'protocol udp'), vs: { protocol: 'UDP' }, diags: [] },
  { desc: 'protocol SCTP', input: svc().replace('protocol TCP', 'protocol SCTP'), vs: { protocol: 'SCTP' } },
  { desc: 'bad protocol', input: svc().replace('protocol TCP', 'protocol ICMP'), diags: ['2:12 error invalid-value'] },
  { desc: 'lb_kind is lvs_method', input: svc().replace('lvs_method NAT', 'lb_kind DR'), vs: { lvsMethod: { method: 'DR' } }, rs: { lvsMethod: { method: 'DR' } }, diags: [] },
  { desc: 'TUN defaults to ipip nocsum', input: svc().replace('lvs_method NAT', 'lvs_method TUN'), vs: { lvsMethod: { method: 'TUN', type: 'ipip', csum: 'nocsum' } }, diags: [] },
  { desc: 'TUN gue port csum', input: svc().replace('lvs_method NAT', 'lvs_method TUN type gue port 6080 csum'), vs: { lvsMethod: { method: 'TUN', type: 'gue', port: 6080, csum: 'csum' } }, diags: [] },
  { desc: 'TUN gre remcsum refused', input: svc().replace('lvs_method NAT', 'lvs_method TUN type gre remcsum'), diags: ['4:27 error invalid-option'] },
  { desc: 'TUN gue without port', input: svc().replace('lvs_method NAT', 'lvs_method TUN type gue'), diags: ['4:23 error missing-argument'] },
  { desc: 'TUN ipip with port', input: svc().replace('lvs_method NAT', 'lvs_method TUN port 5'), diags: ['4:18 error invalid-option'] },
  { desc: 'TUN ipip csum refused', input: svc().replace('lvs_method NAT', 'lvs_method TUN csum'), diags: ['4:18 error invalid-option'] },
  { desc: 'gue port 0 out of range', input: svc().replace('lvs_method NAT', 'lvs_method TUN type gue port 0'), diags: ['4:32 error out-of-range'] },
  { desc: 'NAT takes no tunnel options', input: svc().replace('lvs_method NAT', 'lvs_method NAT type ipip'), diags: ['4:18 error extra-argument'] },
  { desc: 'lvs_method typo', input: svc().replace('lvs_method NAT', 'lvs_method nat'), diags: ['4:14 error invalid-value'] },
  { desc: 'no lvs_method: NAT with a warning', input: svc().replace('  lvs_method NAT\n', '  \n'), vs: { lvsMethod: { method: 'NAT' } }, diags: ['1:1 warning default-method'] },
  { desc: 'RS lvs_method overrides', input: svc('', 'lvs_method TUN'), vs: { lvsMethod: { method: 'NAT' } }, rs: { lvsMethod: { method: 'TUN', type: 'ipip' } } },
  { desc: 'sh flags with sh', input: svc('sh-port').replace('lvs_sched rr', 'lvs_sched sh'), vs: { shPort: true, shFallback: false } },
  { desc: 'sh-fallback needs sh', input: svc('sh-fallback'), diags: ['5:3 error invalid-option'] },
  { desc: 'mh-port needs mh', input: svc('mh-port'), diags: ['5:3 error invalid-option'] },
  { desc: 'mh-fallback with mh', input: svc('mh-fallback').replace('lvs_sched rr', 'lvs_sched mh'), vs: { mhFallback: true } },
  { desc: 'flag-1', input: svc('flag-1'), vs: { flag1: true, flag2: false, flag3: false } },
  { desc: 'flag-3 off explicitly', input: svc('flag-3 off'), vs: { flag3: false } },
  { desc: 'ops needs UDP', input: svc('ops'), diags: ['5:3 error invalid-option'] },
  { desc: 'ops with UDP', input: svc('ops').replace('protocol TCP', 'protocol UDP'), vs: { ops: true }, diags: [] },
  { desc: 'persistence_timeout', input: svc('persistence_timeout 50'), vs: { persistenceTimeoutS: 50 } },
  { desc: 'persistence_timeout without value is 360', input: svc('persistence_timeout'), vs: { persistenceTimeoutS: 360 } },
  { desc: 'persistence_timeout max', input: svc('persistence_timeout 2678400'), vs: { persistenceTimeoutS: 2678400 } },
  { desc: 'persistence_timeout over max', input: svc('persistence_timeout 2678401'), diags: ['5:23 error out-of-range'] },
  { desc: 'persistence_timeout 0', input: svc('persistence_timeout 0'), diags: ['5:23 error out-of-range'] },
  { desc: 'granularity implies persistence', input: svc('persistence_granularity 255.255.255.0'), vs: { persistenceGranularity: { family: 4, netmask: '255.255.255.0' }, persistenceTimeoutS: 360 } },
  { desc: 'IPv6 granularity on IPv4 service', input: svc('persistence_granularity 64'), diags: ['5:3 error family-mismatch'] },
  { desc: 'persistence_engine', input: svc('persistence_engine sip'), vs: { persistenceEngine: 'sip' } },
  { desc: 'no port needs persistence', input: svc().replace('10.0.0.1 80 {', '10.0.0.1 {'), diags: ['1:1 error missing-port'] },
  { desc: 'no port and persistence: RS keeps its port', input: svc('persistence_timeout').replace('10.0.0.1 80 {', '10.0.0.1 {'), vs: { port: undefined }, rs: { port: 80 }, diags: [] },
  { desc: 'port 0 means none', input: svc('persistence_timeout').replace('10.0.0.1 80 {', '10.0.0.1 0 {'), vs: { port: undefined } },
  { desc: 'port 65536', input: svc().replace('10.0.0.1 80 {', '10.0.0.1 65536 {'), diags: ['1:25 error out-of-range'] },
  { desc: 'bad address', input: svc().replace('10.0.0.1 80 {', '10.0.0.300 80 {'), diags: ['1:16 error invalid-address'] },
  { desc: 'quorum and hysteresis', input: svc('quorum 1').replace('    \n    \n', '    weight 5\n    \n') + '\n', vs: { quorum: 1 } },
  { desc: 'quorum above total weight is reduced', input: svc('quorum 3'), vs: { quorum: 1 }, diags: ['5:3 warning quorum-unreachable'] },
  { desc: 'quorum 0', input: svc('quorum 0'), diags: ['5:10 error out-of-range'] },
  { desc: 'hysteresis must stay below quorum', input: svc('hysteresis 1'), diags: ['5:3 error out-of-range'] },
  { desc: 'quorum_up / quorum_down scripts', input: svc('quorum_up "/bin/up a b" root'), vs: { quorumUp: { command: '/bin/up a b', user: 'root' } } },
  { desc: 'alpha omega ha_suspend inhibit', input: svc('alpha').replace('lvs_method NAT', 'lvs_method NAT\n  omega\n  ha_suspend\n  inhibit_on_failure'), vs: { alpha: true, omega: true, haSuspend: true, inhibitOnFailure: true }, rs: { alpha: true, inhibitOnFailure: true } },
  { desc: 'RS inhibit_on_failure off overrides', input: svc('inhibit_on_failure', 'inhibit_on_failure no'), vs: { inhibitOnFailure: true }, rs: { inhibitOnFailure: false } },
  { desc: 'smtp_alert and virtualhost', input: svc('smtp_alert', 'virtualhost rs.example'), vs: { smtpAlert: true }, rs: { smtpAlert: undefined, virtualhost: 'rs.example' } },
  { desc: 'VS weight is the RS default weight', input: svc('weight 7'), vs: { weight: 7 }, rs: { weight: 7 } },
  { desc: 'VS weight 0 refused', input: svc('weight 0'), diags: ['5:10 error out-of-range'] },
  { desc: 'RS weight bounds: 0', input: svc('', 'weight 0'), rs: { weight: 0 }, diags: ['1:1 warning quorum-unreachable'] },
  { desc: 'RS weight bounds: max', input: svc('', 'weight 2147483647'), rs: { weight: 2147483647 } },
  { desc: 'RS weight bounds: over', input: svc('', 'weight 2147483648'), diags: ['7:12 error out-of-range'] },
  { desc: 'RS weight negative', input: svc('', 'weight -1'), diags: ['7:12 error out-of-range'] },
  { desc: 'thresholds', input: svc('', 'uthreshold 100').replace('    \n  }', '    lthreshold 10\n  }'), rs: { upperThreshold: 100, lowerThreshold: 10 } },
  { desc: 'notify scripts', input: svc('', 'notify_up /bin/up').replace('    \n  }', '    notify_down "/bin/down x"\n  }'), rs: { notifyUp: { command: '/bin/up' }, notifyDown: { command: '/bin/down x' } } },
  { desc: 'inheritance of timers VS → RS', input: svc('retry 4').replace('lvs_method NAT', 'lvs_method NAT\n  warmup 2\n  delay_before_retry 7\n  connect_timeout 9'), rs: { retry: 4, warmupMs: 2000, delayBeforeRetryMs: 7000, connectTimeoutMs: 9000 } },
  { desc: 'VS retry 0 refused (keepalived: 1..)', input: svc('retry 0'), diags: ['5:9 error out-of-range'] },
  { desc: 'connect_timeout 0 refused', input: svc('connect_timeout 0'), diags: ['5:19 error out-of-range'] },
  { desc: 'RS delay_loop overrides', input: svc('delay_loop 10', 'delay_loop 3'), vs: { delayLoopMs: 10000 }, rs: { delayLoopMs: 3000 } },
  { desc: 'RS without port takes the service port', input: svc().replace('real_server 10.0.1.1 80', 'real_server 10.0.1.1'), rs: { port: 80 }, diags: [] },
  { desc: 'NAT RS may change the port', input: svc().replace('real_server 10.0.1.1 80', 'real_server 10.0.1.1 8080'), rs: { port: 8080 }, diags: [] },
  { desc: 'DR RS cannot change the port', input: svc().replace('real_server 10.0.1.1 80', 'real_server 10.0.1.1 8080').replace('lvs_method NAT', 'lvs_method DR'), diags: ['6:3 error port-mismatch'] },
  { desc: 'IPv6 RS under IPv4 NAT service', input: svc().replace('real_server 10.0.1.1 80', 'real_server 2001:db8::1 80'), diags: ['6:3 error family-mismatch'] },
  { desc: 'IPv6 RS under IPv4 TUN service is fine', input: svc('', 'lvs_method TUN').replace('real_server 10.0.1.1 80', 'real_server 2001:db8::1 80'), rs: { family: 6, address: '2001:db8::1' }, diags: [] },
  { desc: 'sorry server', input: svc('sorry_server 10.0.2.1 80').replace('lvs_method NAT', 'lvs_method NAT\n  sorry_server_inhibit\n  sorry_server_lvs_method DR'), vs: { sorryServer: { address: '10.0.2.1', port: 80, inhibit: true, lvsMethod: { method: 'DR' } } } },
  { desc: 'sorry server port defaults to the service port', input: svc('sorry_server 10.0.2.1'), vs: { sorryServer: { port: 80, inhibit: false, lvsMethod: { method: 'NAT' } } } },
  { desc: 'sorry_server_inhibit without sorry_server', input: svc('sorry_server_inhibit'), diags: ['5:3 error requires-keyword'] },
  { desc: 'sorry server family', input: svc('sorry_server 2001:db8::9 80'), diags: ['5:3 error family-mismatch'] },
  { desc: 'ip_family conflicts with the address', input: svc('ip_family inet6'), diags: ['5:3 error family-mismatch'] },
  { desc: 'nat_mask is accepted with a warning', input: svc('nat_mask 255.255.255.0'), diags: ['5:3 warning deprecated'] },
  { desc: 'hashed is accepted with a warning', input: svc('hashed'), diags: ['5:3 warning deprecated'] },
  { desc: 'unknown keyword with suggestion', input: svc('delay_lop 5'), diags: ['5:3 error unknown-keyword'] },
  { desc: 'IPv6 service', input: svc().replace('10.0.0.1 80 {', '2001:DB8::1 80 {').replace('real_server 10.0.1.1', 'real_server 2001:db8::10'), vs: { address: '2001:db8::1', family: 6 }, rs: { family: 6 }, diags: [] },
  { desc: 'no real server: warning', input: 'virtual_server 10.0.0.1 80 {\n protocol TCP\n lvs_sched rr\n lvs_method NAT\n}', diags: ['1:1 warning no-real-servers'] },
  { desc: 'fwmark service: RS port cleared for DR', input: 'virtual_server fwmark 5 {\n lvs_sched rr\n lvs_method DR\n real_server 10.0.1.1 80 {\n }\n}', vs: { kind: 'fwmark', fwmark: 5, family: 4 }, rs: { port: 0 }, diags: ['4:2 warning ignored'] },
  { desc: 'fwmark 0 refused', input: 'virtual_server fwmark 0 {\n}', diags: ['1:23 error out-of-range'] },
  { desc: 'fwmark all tunnelled IPv6: family from servers', input: 'virtual_server fwmark 5 {\n lvs_sched rr\n lvs_method TUN\n real_server 2001:db8::1 {\n }\n}', vs: { family: 6 } },
  { desc: 'fwmark ip_family inet6', input: 'virtual_server fwmark 5 {\n lvs_sched rr\n lvs_method TUN\n ip_family inet6\n real_server 10.0.0.1 {\n }\n}', vs: { family: 6, ipFamily: 6 }, diags: [] },
  { desc: 'fwmark with protocol warns', input: 'virtual_server fwmark 5 {\n protocol TCP\n lvs_sched rr\n lvs_method NAT\n real_server 10.0.1.1 80 {\n }\n}', diags: ['2:2 warning ignored'] },
  { desc: 'ha_suspend with fwmark refused', input: 'virtual_server fwmark 5 {\n ha_suspend\n lvs_sched rr\n lvs_method NAT\n real_server 10.0.1.1 80 {\n }\n}', diags: ['2:2 error invalid-option'] },
];

for (const c of cases)
  t.test(c.desc, async (t) => {
    const out = run(c.input);
    if (c.diags) t.same(out.diags, c.diags, out.messages.join('\n'));
    if (c.vs) t.match(out.vs, c.vs, out.messages.join('\n'));
    if (c.rs) t.match(out.rs, c.rs, out.messages.join('\n'));
  });

t.test('explicit values stay discoverable', async (t) => {
  const { vs, rs } = run(svc('delay_loop 6', 'weight 3'));
  const { fieldPos, written } = await import('../../src/config/schema/dsl.js');
  t.same(fieldPos(vs!, 'delayLoopMs'), { file: 'k.conf', line: 5, col: 3 });
  t.equal(written(vs!, 'connectTimeoutMs'), false);
  t.equal(written(rs!, 'weight'), true);
  t.equal(written(rs!, 'delayLoopMs'), false);
});

t.test('messages name what was expected', async (t) => {
  const out = run(svc('', 'lvs_method TUN type gue'));
  t.match(out.messages[0], /TUN type gue' needs 'port N'/);
  t.match(run(svc('lvs_sched rrr')).messages[0], /expects one of rr\|wrr/);
});
