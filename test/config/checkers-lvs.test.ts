import t from 'tap';
import { run, svc } from '../helpers/lvs.js';

// Checkers that name a track_file or bfd_instance need it defined (appended, so line numbers of the rest stay).
const TF = (name: string): string => `\ntrack_file ${name} {\n  file /tmp/${name}\n}`;
const BFD = '\nbfd_instance b1 {\n  neighbor_ip 10.0.0.2\n}';

// Checker blocks: keywords, defaults, inheritance from real_server / virtual_server, errors.
// svc(vsLine, rsLine, checker): the checker block starts at line 8, column 5; its first inner line is 9.

type Case = { desc: string; input: string; ck?: object; cks?: object[]; diags?: string[] };
const blk = (type: string, ...lines: string[]) => [`${type} {`, ...lines.map((l) => `      ${l}`), '    }'].join('\n');

const cases: Case[] = [
  {
    desc: 'TCP_CHECK defaults come from the real server and keepalived',
    input: svc('', '', blk('TCP_CHECK')),
    ck: { type: 'TCP_CHECK', connectIp: '10.0.1.1', family: 4, connectPort: 80, connectTimeoutMs: 5000, retry: 1, delayBeforeRetryMs: 1000, delayLoopMs: 60000, warmupMs: 60000, alpha: false, logAllFailures: false },
    diags: [],
  },
  {
    desc: 'connection keywords',
    input: svc('', '', blk('TCP_CHECK', 'connect_ip 10.9.9.9', 'connect_port 8080', 'bindto 10.0.0.2', 'bind_port 4000', 'bind_if eth0', 'fwmark 7', 'connect_timeout 2.5')),
    ck: { connectIp: '10.9.9.9', connectPort: 8080, bindto: '10.0.0.2', bindPort: 4000, bindIf: 'eth0', fwmark: 7, connectTimeoutMs: 2500 },
    diags: [],
  },
  { desc: 'connect_port 0 refused', input: svc('', '', blk('TCP_CHECK', 'connect_port 0')), diags: ['9:20 error out-of-range'] },
  { desc: 'connect_port 65535', input: svc('', '', blk('TCP_CHECK', 'connect_port 65535')), ck: { connectPort: 65535 } },
  { desc: 'connect_timeout upper bound', input: svc('', '', blk('TCP_CHECK', 'connect_timeout 4294.967296')), diags: ['9:23 error out-of-range'] },
  { desc: 'bindto family differs from connect_ip', input: svc('', '', blk('TCP_CHECK', 'connect_ip 10.0.0.9', 'bindto 2001:db8::1')), diags: ['10:7 error family-mismatch'] },
  { desc: 'bindto family differs from the real server', input: svc('', '', blk('TCP_CHECK', 'bindto 2001:db8::1')), diags: ['9:7 error family-mismatch'] },
  { desc: 'link-local needs bind_if', input: svc('', '', blk('TCP_CHECK', 'connect_ip fe80::1')), diags: ['9:7 error missing-keyword'] },
  { desc: 'link-local with bind_if', input: svc('', '', blk('TCP_CHECK', 'connect_ip fe80::1', 'bind_if eth0')), ck: { connectIp: 'fe80::1', family: 6 }, diags: [] },
  { desc: 'retry 0 allowed in a checker', input: svc('', '', blk('TCP_CHECK', 'retry 0')), ck: { retry: 0 } },
  { desc: 'retry inherited from real server', input: svc('', 'retry 5', blk('TCP_CHECK')), ck: { retry: 5 } },
  { desc: 'retry inherited from virtual server', input: svc('retry 6', '', blk('TCP_CHECK')), ck: { retry: 6 } },
  { desc: 'delay_loop from real server, warmup follows it', input: svc('delay_loop 30', 'delay_loop 4', blk('TCP_CHECK')), ck: { delayLoopMs: 4000, warmupMs: 4000 } },
  { desc: 'warmup 0 disables', input: svc('', '', blk('TCP_CHECK', 'warmup 0')), ck: { warmupMs: 0 } },
  { desc: 'connect_timeout inherited from virtual server', input: svc('connect_timeout 3', '', blk('TCP_CHECK')), ck: { connectTimeoutMs: 3000 } },
  { desc: 'alpha inherited from virtual server', input: svc('alpha', '', blk('TCP_CHECK')), ck: { alpha: true } },
  { desc: 'checker alpha no overrides', input: svc('alpha', '', blk('TCP_CHECK', 'alpha no')), ck: { alpha: false } },
  { desc: 'log_all_failures', input: svc('', '', blk('TCP_CHECK', 'log_all_failures')), ck: { logAllFailures: true } },
  { desc: 'bad bool', input: svc('', '', blk('TCP_CHECK', 'alpha maybe')), diags: ['9:13 error invalid-bool'] },
  {
    desc: 'HTTP_GET defaults',
    input: svc('', '', blk('HTTP_GET', 'url {', '  path /health', '}')),
    ck: { type: 'HTTP_GET', retry: 1, delayBeforeRetryMs: 3000, httpProtocol: '1.0', enableSni: false, fastRecovery: false, urls: [{ path: '/health', statusCodes: [{ min: 200, max: 299 }], regexNoMatch: false, regexOptions: [] }] },
    diags: [],
  },
  {
    desc: 'url keywords',
    input: svc('', '', blk('HTTP_GET', 'url {', '  path /x', '  digest 9B3A0C85A887A256D6939DA88AABD8CD', '  status_code 200 301-302', '  status_code 401', '  virtualhost u.example', '  regex ok\\s+', '  regex_no_match', '  regex_options caseless multiline', '  regex_min_offset 2', '  regex_max_offset 100', '  regex_stack 1000 2000', '}')),
    ck: { urls: [{ path: '/x', digest: '9b3a0c85a887a256d6939da88aabd8cd', statusCodes: [{ min: 200, max: 200 }, { min: 301, max: 302 }, { min: 401, max: 401 }], virtualhost: 'u.example', regex: 'ok\\s+', regexNoMatch: true, regexOptions: ['caseless', 'multiline'], regexMinOffset: 2, regexMaxOffset: 100, regexStack: { start: 1000, max: 2000 } }] },
    diags: [],
  },
  { desc: 'several urls', input: svc('', '', blk('SSL_GET', 'url {', '  path /a', '}', 'url {', '  path /b', '}')), ck: { type: 'SSL_GET', urls: [{ path: '/a' }, { path: '/b' }] } },
  { desc: 'HTTP_GET without url', input: svc('', '', blk('HTTP_GET', 'connect_timeout 3')), diags: ['8:5 error missing-keyword'] },
  { desc: 'url without path', input: svc('', '', blk('HTTP_GET', 'url {', '  digest 9b3a0c85a887a256d6939da88aabd8cd', '}')), diags: ['9:7 error missing-keyword'] },
  { desc: 'digest too short', input: svc('', '', blk('HTTP_GET', 'url {', '  path /', '  digest 12345', '}')), diags: ['11:16 error invalid-value'] },
  { desc: 'digest with a non-hex digit', input: svc('', '', blk('HTTP_GET', 'url {', '  path /', '  digest 9b3a0c85a887a256d6939da88aabd8cg', '}')), diags: ['11:16 error invalid-value'] },
  { desc: 'status_code 600', input: svc('', '', blk('HTTP_GET', 'url {', '  path /', '  status_code 200 600', '}')), diags: ['11:25 error out-of-range'] },
  { desc: 'status_code 99', input: svc('', '', blk('HTTP_GET', 'url {', '  path /', '  status_code 99', '}')), diags: ['11:21 error out-of-range'] },
  { desc: 'status_code reversed range', input: svc('', '', blk('HTTP_GET', 'url {', '  path /', '  status_code 299-200', '}')), diags: ['11:21 error out-of-range'] },
  { desc: 'status_code bounds 100-599', input: svc('', '', blk('HTTP_GET', 'url {', '  path /', '  status_code 100-599', '}')), ck: { urls: [{ statusCodes: [{ min: 100, max: 599 }] }] }, diags: [] },
  { desc: 'status_code garbage', input: svc('', '', blk('HTTP_GET', 'url {', '  path /', '  status_code 2xx', '}')), diags: ['11:21 error invalid-value'] },
  { desc: 'regex options need regex', input: svc('', '', blk('HTTP_GET', 'url {', '  path /', '  regex_no_match', '}')), diags: ['11:9 error requires-keyword'] },
  { desc: 'unknown regex option', input: svc('', '', blk('HTTP_GET', 'url {', '  path /', '  regex x', '  regex_options casless', '}')), diags: ['12:23 error invalid-option'] },
  { desc: 'regex min beyond max', input: svc('', '', blk('HTTP_GET', 'url {', '  path /', '  regex x', '  regex_min_offset 9', '  regex_max_offset 3', '}')), diags: ['12:9 error out-of-range'] },
  { desc: 'http_protocol 1.0c is 1.0C', input: svc('', '', blk('HTTP_GET', 'http_protocol 1.0c', 'url {', '  path /', '}')), ck: { httpProtocol: '1.0C' } },
  { desc: 'http_protocol 2', input: svc('', '', blk('HTTP_GET', 'http_protocol 2', 'url {', '  path /', '}')), diags: ['9:21 error invalid-value'] },
  { desc: 'nb_get_retry is retry (deprecated)', input: svc('', '', blk('HTTP_GET', 'nb_get_retry 4', 'url {', '  path /', '}')), ck: { retry: 4 }, diags: ['9:7 warning deprecated'] },
  { desc: 'virtualhost: checker, then RS, then VS', input: svc('virtualhost vs.example', '', blk('HTTP_GET', 'url {', '  path /', '}')), ck: { virtualhost: 'vs.example' } },
  { desc: 'virtualhost from RS', input: svc('virtualhost vs.example', 'virtualhost rs.example', blk('HTTP_GET', 'url {', '  path /', '}')), ck: { virtualhost: 'rs.example' } },
  { desc: 'SSL_GET enable_sni and fast_recovery', input: svc('', '', blk('SSL_GET', 'enable_sni', 'fast_recovery yes', 'url {', '  path /', '}')), ck: { enableSni: true, fastRecovery: true } },
  { desc: 'HTTP_GET delay_before_retry default 3 s unless RS says', input: svc('', 'delay_before_retry 2', blk('HTTP_GET', 'url {', '  path /', '}')), ck: { delayBeforeRetryMs: 2000 } },
  { desc: 'DNS_CHECK defaults', input: svc('', '', blk('DNS_CHECK')).replace(/ 80 \{/g, ' 53 {'), ck: { type: 'DNS_CHECK', queryType: 'SOA', name: '.', retry: 3, delayBeforeRetryMs: 60000, connectPort: 53 } },
  { desc: 'DNS_CHECK type caseless', input: svc('', '', blk('DNS_CHECK', 'type aaaa', 'name www.example.com')), ck: { queryType: 'AAAA', name: 'www.example.com' } },
  { desc: 'DNS_CHECK bad type', input: svc('', '', blk('DNS_CHECK', 'type PTR')), diags: ['9:12 error invalid-value'] },
  { desc: 'DNS_CHECK empty label', input: svc('', '', blk('DNS_CHECK', 'name a..b')), diags: ['9:12 error invalid-value'] },
  { desc: 'MISC_CHECK', input: svc('delay_loop 9', '', blk('MISC_CHECK', 'misc_path "/bin/check arg"', 'misc_timeout 4', 'misc_dynamic', 'user nobody nogroup')), ck: { type: 'MISC_CHECK', miscPath: { command: '/bin/check arg', user: 'nobody', group: 'nogroup' }, miscTimeoutMs: 4000, miscDynamic: true, retry: 0, delayLoopMs: 9000 }, diags: [] },
  { desc: 'MISC_CHECK unquoted arguments', input: svc('', '', blk('MISC_CHECK', 'misc_path /bin/check a b')), ck: { miscPath: { command: '/bin/check a b' } } },
  { desc: 'MISC_CHECK timeout defaults to the VS delay_loop', input: svc('delay_loop 9', 'delay_loop 2', blk('MISC_CHECK', 'misc_path /bin/true')), ck: { miscTimeoutMs: 9000, delayLoopMs: 2000 } },
  { desc: 'MISC_CHECK without misc_path', input: svc('', '', blk('MISC_CHECK', 'misc_timeout 5')), diags: ['8:5 error missing-keyword'] },
  { desc: 'MISC_CHECK has no connect_timeout', input: svc('', '', blk('MISC_CHECK', 'misc_path /bin/true', 'connect_timeout 5')), diags: ['10:7 error unknown-keyword'] },
  { desc: 'misc_timeout whole seconds', input: svc('', '', blk('MISC_CHECK', 'misc_path /bin/true', 'misc_timeout 1.5')), diags: ['10:20 error invalid-number'] },
  { desc: 'SMTP_CHECK defaults', input: svc('', '', blk('SMTP_CHECK')).replace(/ 80 \{/g, ' 25 {'), ck: { type: 'SMTP_CHECK', heloName: 'smtpchecker.keepalived.org', connectPort: 25 } },
  {
    desc: 'SMTP_CHECK host blocks become checkers',
    input: svc('', '', blk('SMTP_CHECK', 'helo_name mx.example', 'connect_timeout 7', 'retry 2', 'host {', '  connect_ip 10.5.5.5', '}', 'host {', '  connect_ip 10.6.6.6', '  connect_port 587', '  bindto 10.0.0.2', '}')),
    cks: [
      { type: 'SMTP_CHECK', heloName: 'mx.example', connectIp: '10.5.5.5', connectPort: 80, connectTimeoutMs: 7000, retry: 2 },
      { type: 'SMTP_CHECK', heloName: 'mx.example', connectIp: '10.6.6.6', connectPort: 587, bindto: '10.0.0.2', connectTimeoutMs: 7000, retry: 2 },
    ],
    diags: ['12:7 warning deprecated', '15:7 warning deprecated'],
  },
  { desc: 'SMTP_CHECK main block with connect_ip is kept besides hosts', input: svc('', '', blk('SMTP_CHECK', 'connect_ip 10.4.4.4', 'host {', '  connect_ip 10.5.5.5', '}')), cks: [{ connectIp: '10.4.4.4' }, { connectIp: '10.5.5.5' }] },
  { desc: 'UDP_CHECK defaults', input: svc('', '', blk('UDP_CHECK')), ck: { type: 'UDP_CHECK', requireReply: false, minReplyLength: 0, maxReplyLength: 255, payload: undefined } },
  { desc: 'UDP_CHECK hex strings', input: svc('', '', blk('UDP_CHECK', 'payload Ab12f 3 456', 'require_reply 0aXx')), ck: { payload: { hex: 'ab120f034506' }, requireReply: true, replyData: { hex: '0a00', ignoreMask: '00ff' } }, diags: [] },
  { desc: 'UDP_CHECK bare require_reply', input: svc('', '', blk('UDP_CHECK', 'require_reply')), ck: { requireReply: true, replyData: undefined } },
  { desc: 'UDP_CHECK bad hex', input: svc('', '', blk('UDP_CHECK', 'payload 0g')), diags: ['9:15 error invalid-value'] },
  { desc: 'UDP_CHECK min > max', input: svc('', '', blk('UDP_CHECK', 'min_reply_length 9', 'max_reply_length 3')), diags: ['9:7 error out-of-range'] },
  { desc: 'UDP_CHECK length bound', input: svc('', '', blk('UDP_CHECK', 'max_reply_length 65536')), diags: ['9:24 error out-of-range'] },
  { desc: 'PING_CHECK', input: svc('', '', blk('PING_CHECK', 'retry 4')), ck: { type: 'PING_CHECK', retry: 4, connectIp: '10.0.1.1' }, diags: [] },
  { desc: 'PING_CHECK connect_port warns', input: svc('', '', blk('PING_CHECK', 'connect_port 5')), diags: ['9:7 warning ignored'] },
  { desc: 'FILE_CHECK', input: svc('', '', blk('FILE_CHECK', 'track_file tf1', 'weight -5 reverse')) + TF('tf1'), ck: { type: 'FILE_CHECK', trackFile: 'tf1', weight: -5, weightReverse: true, dynamic: false } },
  { desc: 'FILE_CHECK without track_file', input: svc('', '', blk('FILE_CHECK', 'weight 2')), diags: ['8:5 error missing-keyword'] },
  { desc: 'FILE_CHECK has no retry', input: svc('', '', blk('FILE_CHECK', 'track_file x', 'retry 2')) + TF('x'), diags: ['10:7 error unknown-keyword'] },
  { desc: 'BFD_CHECK', input: svc('', 'alpha', blk('BFD_CHECK', 'name b1')) + BFD, ck: { type: 'BFD_CHECK', name: 'b1', alpha: true } },
  { desc: 'BFD_CHECK has no weight', input: svc('', '', blk('BFD_CHECK', 'name b1', 'weight 3')) + BFD, diags: ['10:7 error unknown-keyword'] },
  { desc: 'tls_compliant is not a 2.2.7 keyword', input: svc('', '', blk('SSL_GET', 'tls_compliant', 'url {', '  path /', '}')), diags: ['9:7 error unknown-keyword'] },
  {
    desc: 'fwmark service: checkers need connect_port',
    input: 'virtual_server fwmark 1 {\n lvs_sched rr\n lvs_method NAT\n real_server 10.0.1.1 {\n  TCP_CHECK {\n  }\n  PING_CHECK {\n  }\n }\n}',
    diags: ['5:3 error missing-port'],
  },
  { desc: 'several checkers keep file order', input: svc('', '', `${blk('PING_CHECK')}\n    ${blk('TCP_CHECK')}`), cks: [{ type: 'PING_CHECK' }, { type: 'TCP_CHECK' }] },
];

for (const c of cases)
  t.test(c.desc, async (t) => {
    const out = run(c.input);
    const why = out.messages.join('\n');
    if (c.diags) t.same(out.diags, c.diags, why);
    if (c.ck) t.match(out.ck, c.ck, why);
    if (c.cks) t.match(out.rs?.checkers, c.cks, why);
    if (c.cks) t.equal(out.rs?.checkers.length, c.cks.length, 'number of checkers');
  });

t.test('written checker values stay discoverable after inheritance', async (t) => {
  const { fieldPos, written } = await import('../../src/config/schema/dsl.js');
  const { ck } = run(svc('', '', blk('TCP_CHECK', 'connect_port 81')));
  t.same(fieldPos(ck!, 'connectPort'), { file: 'k.conf', line: 9, col: 7 });
  t.equal(written(ck!, 'connectTimeoutMs'), false);
});
