import { createHash } from 'node:crypto';
import type net from 'node:net';
import t from 'tap';
import { compileUrlRegex, httpGet, type HttpGetOptions, regexVerdict, translatePcre } from '../../src/health/http-check.js';
import { tcpCheck } from '../../src/health/tcp-check.js';
import type { Reason } from '../../src/health/result.js';
import { closedPort, fdCount, handleCount, onRequest, respond, selfSigned, serve, tally, until } from '../helpers/net-fixtures.js';

/*
 * Every failure mode against a real loopback server: the check ends within its deadline with the
 * right reason, and no socket is left behind.
 */

const md5 = (s: string | Buffer) => createHash('md5').update(s).digest('hex');
const DEADLINE = 400;
/** Slack for event-loop scheduling on a loaded machine. */
const MARGIN = 250;
const BODY = 'hello from the real server\n';

/** A server that sends `n` bytes of body in 64 KiB writes, honouring backpressure, until closed. */
function hugeBody(total: number, sent: { n: number }): (s: net.Socket) => void {
  return onRequest((s) => {
    s.write('HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n');
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let closed = false;
    s.on('close', () => {
      closed = true;
    });
    const pump = () => {
      while (!closed && sent.n < total) {
        sent.n += chunk.length;
        if (!s.write(chunk)) return void s.once('drain', pump);
      }
      if (!closed) s.end();
    };
    pump();
  });
}

interface Case {
  desc: string;
  handler?: (s: net.Socket) => void;
  refused?: boolean;
  opts?: Partial<HttpGetOptions>;
  want: Reason;
  /** The check must take about the whole deadline (timeouts). */
  full?: boolean;
}

const huge = { n: 0 };
const cases: Case[] = [
  { desc: 'healthy, status and digest match', handler: respond(200, BODY), opts: { digest: md5(BODY) }, want: 'ok' },
  { desc: 'connection refused', refused: true, want: 'connect-refused' },
  { desc: 'accept then silence', handler: () => {}, want: 'timeout', full: true },
  {
    desc: 'slow trickle of headers (slowloris)',
    handler: onRequest((s) => {
      s.write('HTTP/1.0 200 OK\r\n');
      const iv = setInterval(() => s.write('X'), 20);
      s.on('close', () => clearInterval(iv));
    }),
    want: 'timeout',
    full: true,
  },
  {
    desc: 'slow trickle of body bytes',
    handler: onRequest((s) => {
      s.write('HTTP/1.0 200 OK\r\n\r\n');
      const iv = setInterval(() => s.write('b'), 20);
      s.on('close', () => clearInterval(iv));
    }),
    want: 'timeout',
    full: true,
  },
  {
    desc: 'reset mid-response',
    handler: onRequest((s) => {
      s.write('HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\npartial');
      setTimeout(() => s.resetAndDestroy(), 20);
    }),
    want: 'reset',
  },
  { desc: 'reset before any byte', handler: (s) => setTimeout(() => s.resetAndDestroy(), 10), want: 'reset' },
  { desc: 'closed without data', handler: onRequest((s) => s.end()), want: 'empty-response' },
  { desc: 'wrong status', handler: respond(500, 'oops'), want: 'bad-status' },
  { desc: 'status in a configured range', handler: respond(401, 'no'), opts: { statusCodes: [{ min: 200, max: 299 }, { min: 401, max: 401 }] }, want: 'ok' },
  { desc: 'wrong digest', handler: respond(200, 'changed content\n'), opts: { digest: md5(BODY) }, want: 'bad-digest' },
  { desc: 'garbage instead of HTTP', handler: (s) => s.end('SSH-2.0-OpenSSH_9.2\r\n'), want: 'bad-response' },
  { desc: 'garbage after a request', handler: onRequest((s) => s.end(Buffer.from([0, 1, 2, 3, 4, 5, 6, 7]))), want: 'bad-response' },
  { desc: 'header never ends (64 KiB of header lines)', handler: onRequest((s) => s.end(`HTTP/1.0 200 OK\r\n${'X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n'.repeat(2000)}`)), want: 'bad-response' },
  { desc: '1 GB body stops at the byte limit', handler: hugeBody(1024 ** 3, huge), opts: { maxBodyBytes: 256 * 1024, digest: md5(BODY) }, want: 'body-too-large' },
  { desc: 'truncated header then EOF', handler: onRequest((s) => s.end('HTTP/1.0 200 OK\r\nContent-Le')), want: 'bad-response' },
];

t.test('HTTP_GET failure modes end within the deadline with the right reason', async (t) => {
  for (const c of cases) {
    const srv = c.handler ? await serve(c.handler) : undefined;
    const port = srv?.port ?? (await closedPort());
    const t0 = performance.now();
    const r = await httpGet({ host: '127.0.0.1', port, path: '/health', deadlineMs: DEADLINE, statusCodes: [{ min: 200, max: 299 }], ...c.opts });
    const took = performance.now() - t0;
    t.equal(r.reason, c.want, `${c.desc}: reason (${r.detail})`);
    t.equal(r.ok, c.want === 'ok', `${c.desc}: ok`);
    t.ok(took < DEADLINE + MARGIN, `${c.desc}: ended in ${took.toFixed(0)} ms < ${DEADLINE + MARGIN}`);
    if (c.full) t.ok(took >= DEADLINE - 5, `${c.desc}: waited the deadline (${took.toFixed(0)} ms)`);
    t.ok(Math.abs(r.latencyMs - took) < 50, `${c.desc}: latencyMs ${r.latencyMs.toFixed(0)} ≈ ${took.toFixed(0)}`);
    await srv?.close();
  }
  t.ok(huge.n < 64 * 1024 * 1024, `1 GB server stopped after ${(huge.n / 2 ** 20).toFixed(1)} MiB sent`);
});

t.test('request line, Host header, protocol and digest as keepalived', async (t) => {
  let head = '';
  const srv = await serve(onRequest((s, h) => { head = h; s.end(`HTTP/1.1 200 OK\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}trailing junk past content-length`); }));
  t.teardown(() => srv.close());
  const r = await httpGet({ host: '127.0.0.1', port: srv.port, path: '/a?b=c', deadlineMs: DEADLINE });
  t.equal(head, `GET /a?b=c HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:${srv.port}\r\n\r\n`);
  t.equal(r.http?.digest, md5(BODY), 'digest cut at Content-Length');
  t.equal(r.http?.bodyBytes, BODY.length);
  const n = await httpGet({ host: '127.0.0.1', port: srv.port, path: '/', deadlineMs: DEADLINE, digestBody: false });
  t.same([n.reason, n.http?.digest, n.http?.bodyBytes], ['ok', undefined, BODY.length], 'digestBody false: no MD5, the rest as before');
  const w = await httpGet({ host: '127.0.0.1', port: srv.port, path: '/', deadlineMs: DEADLINE, digestBody: false, digest: md5('other') });
  t.equal(w.reason, 'bad-digest', 'an expected digest is checked whatever digestBody says');
  await httpGet({ host: '127.0.0.1', port: srv.port, path: '/', deadlineMs: DEADLINE, httpProtocol: '1.1', virtualhost: 'www.example.com' });
  t.equal(head, 'GET / HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example.com\r\n\r\n');
  await httpGet({ host: '127.0.0.1', port: srv.port, path: '/', deadlineMs: DEADLINE, httpProtocol: '1.0C' });
  t.match(head, /^GET \/ HTTP\/1\.0\r\n.*Connection: close\r\n/s);
});

t.test('no Content-Length: the body runs to EOF', async (t) => {
  const srv = await serve(onRequest((s) => s.end(`HTTP/1.0 200 OK\r\n\r\n${BODY}`)));
  t.teardown(() => srv.close());
  const r = await httpGet({ host: '127.0.0.1', port: srv.port, path: '/', deadlineMs: DEADLINE, digest: md5(BODY) });
  t.equal(r.reason, 'ok', r.detail);
});

t.test('IPv6 loopback, bindto', async (t) => {
  let srv;
  try {
    srv = await serve(respond(200, BODY), { host: '::1' });
  } catch {
    t.comment('SKIP: no IPv6 loopback on this host');
    return;
  }
  const s = srv;
  t.teardown(() => s.close());
  let peer = '';
  const r = await httpGet({ host: '::1', port: s.port, path: '/', deadlineMs: DEADLINE, localAddress: '::1' });
  t.equal(r.reason, 'ok', r.detail);
  const v4 = await serve(onRequest((c) => { peer = c.remoteAddress ?? ''; c.end('HTTP/1.0 204 No\r\n\r\n'); }));
  t.teardown(() => v4.close());
  const b = await httpGet({ host: '127.0.0.1', port: v4.port, path: '/', deadlineMs: DEADLINE, localAddress: '127.0.0.2' });
  t.equal(b.reason, 'ok', b.detail);
  t.equal(peer, '127.0.0.2', 'bindto is the source address');
});

t.test('SSL_GET: self-signed certificate', async (t) => {
  const cert = selfSigned();
  if (!cert) {
    t.fail('openssl is not available: SSL_GET cases NOT RUN');
    return;
  }
  let sni: string | undefined;
  const srv = await serve(respond(200, BODY), { tls: { ...cert, SNICallback: (name, cb) => { sni = name; cb(null); } } });
  t.teardown(() => srv.close());
  const base = { host: '127.0.0.1', port: srv.port, path: '/', deadlineMs: DEADLINE, digest: md5(BODY) };
  const a = await httpGet({ ...base, tls: {} });
  t.equal(a.reason, 'ok', `not verified, as keepalived: ${a.detail}`);
  t.equal(sni, undefined, 'no SNI unless asked');
  const t0 = performance.now();
  const b = await httpGet({ ...base, tls: { verify: true } });
  t.equal(b.reason, 'tls-error', `verified: ${b.detail}`);
  t.ok(performance.now() - t0 < DEADLINE + MARGIN);
  const c = await httpGet({ ...base, virtualhost: 'localhost', tls: { verify: true, servername: 'localhost', ca: cert.cert } });
  t.equal(c.reason, 'ok', `verified against its own CA: ${c.detail}`);
  t.equal(sni, 'localhost', 'SNI sent');
  const plain = await serve((s) => s.once('data', () => s.end('HTTP/1.0 400 Bad Request\r\n\r\n')));
  t.teardown(() => plain.close());
  const d = await httpGet({ ...base, port: plain.port, tls: {} });
  t.equal(d.reason, 'tls-error', `TLS to a plain HTTP server: ${d.detail}`);
  const silent = await serve(() => {});
  t.teardown(() => silent.close());
  const t1 = performance.now();
  const e = await httpGet({ ...base, port: silent.port, tls: {} });
  t.equal(e.reason, 'timeout', `TLS handshake never answered: ${e.detail}`);
  t.ok(performance.now() - t1 < DEADLINE + MARGIN);
});

t.test('TCP_CHECK', async (t) => {
  const srv = await serve((s) => s.end());
  t.teardown(() => srv.close());
  t.equal((await tcpCheck({ host: '127.0.0.1', port: srv.port, deadlineMs: DEADLINE })).reason, 'ok');
  t.equal((await tcpCheck({ host: '127.0.0.1', port: await closedPort(), deadlineMs: DEADLINE })).reason, 'connect-refused');
  t.equal((await tcpCheck({ host: '127.0.0.1', port: srv.port, deadlineMs: DEADLINE, localAddress: '192.0.2.1' })).reason, 'connect-error', 'bindto an address not on this host');
});

t.test('no fd or handle leaks over 10,000 checks of every kind', async (t) => {
  const servers = await Promise.all([
    serve(respond(200, BODY)),
    serve(() => {}),
    serve(onRequest((s) => setTimeout(() => s.resetAndDestroy(), 1))),
    serve((s) => s.end('garbage\r\n\r\n')),
    serve((s) => hugeBody(1024 ** 3, { n: 0 })(s)), // 1 GB for every connection
    serve(respond(503, BODY)),
  ]);
  const refused = await closedPort();
  const regex = compileUrlRegex({ regex: 'nothing like this', regexNoMatch: false, regexOptions: [] });
  if (!('regex' in regex)) throw new Error(regex.error);
  const kinds: (() => Promise<{ reason: string }>)[] = [
    ...servers.map((s) => () => httpGet({ host: '127.0.0.1', port: s.port, path: '/', deadlineMs: 100, maxBodyBytes: 64 * 1024, statusCodes: [{ min: 200, max: 299 }] })),
    () => httpGet({ host: '127.0.0.1', port: servers[0]!.port, path: '/', deadlineMs: 100, digest: md5('other') }),
    () => httpGet({ host: '127.0.0.1', port: servers[0]!.port, path: '/', deadlineMs: 100, regex: regex.regex }),
    () => httpGet({ host: '127.0.0.1', port: refused, path: '/', deadlineMs: 100 }),
    () => tcpCheck({ host: '127.0.0.1', port: servers[0]!.port, deadlineMs: 100 }),
  ];
  const run = (i: number) => kinds[i % kinds.length]!();
  await tally(kinds.length, kinds.length, run); // warm up lazy handles
  await until(() => servers.every((s) => s.open.size === 0));
  await new Promise((r) => setTimeout(r, 50));
  const fd0 = fdCount();
  const h0 = handleCount();
  const N = 10_000;
  const t0 = performance.now();
  const seen = await tally(N, 50, run);
  t.comment(`${N} checks in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(Object.fromEntries(seen))}`);
  await until(() => servers.every((s) => s.open.size === 0));
  await new Promise((r) => setTimeout(r, 50));
  t.same([...seen.keys()].sort(), ['bad-digest', 'bad-response', 'bad-status', 'body-too-large', 'connect-refused', 'ok', 'regex-mismatch', 'reset', 'timeout']);
  t.equal(fdCount(), fd0, `open fds after ${N} checks: ${fdCount()} (before ${fd0})`);
  t.equal(handleCount(), h0, `active handles after: ${handleCount()} (before ${h0})`);
  await Promise.all(servers.map((s) => s.close()));
});

t.test('url regex: PCRE2 anchors, options and offsets on a JavaScript RegExp', async (t) => {
  const body = Buffer.from('hello from the real server\nsecond line\n');
  const cases: { desc: string; regex: string; options?: string[]; noMatch?: boolean; min?: number; max?: number; pass: boolean }[] = [
    { desc: 'plain match', regex: 'real server', pass: true },
    { desc: 'no match', regex: 'nope', pass: false },
    { desc: 'regex_no_match, matching', regex: 'real', noMatch: true, pass: false },
    { desc: 'regex_no_match, not matching', regex: 'nope', noMatch: true, pass: true },
    { desc: 'case matters by default', regex: 'HELLO', pass: false },
    { desc: 'caseless', regex: 'HELLO', options: ['caseless'], pass: true },
    { desc: '$ also matches before the final newline (PCRE2)', regex: 'line$', pass: true },
    { desc: '$ is not the end of a middle line', regex: 'server$', pass: false },
    { desc: 'multiline $', regex: 'server$', options: ['multiline'], pass: true },
    { desc: 'dollar_endonly', regex: 'line$', options: ['dollar_endonly'], pass: false },
    { desc: '\\A anchors at the start', regex: '\\Ahello', pass: true },
    { desc: '\\A is not a line start', regex: '\\Asecond', options: ['multiline'], pass: false },
    { desc: '\\Z before the final newline', regex: 'line\\Z', pass: true },
    { desc: '\\z only at the very end', regex: 'line\\z', pass: false },
    { desc: 'dotall', regex: 'server.second', options: ['dotall'], pass: true },
    { desc: 'no dotall', regex: 'server.second', pass: false },
    { desc: 'extended: blanks and comments ignored', regex: 'real \\s server # the name', options: ['extended'], pass: true },
    { desc: 'extended keeps blanks in a class', regex: 'real[ ]server', options: ['extended'], pass: true },
    { desc: 'firstline', regex: 'second', options: ['firstline'], pass: false },
    { desc: 'regex_min_offset skips an early match', regex: 'hello', min: 1, pass: false },
    { desc: 'regex_max_offset: match starts too late', regex: 'server', max: 10, pass: false },
    { desc: 'regex_max_offset: match starts in time', regex: 'server', max: 20, pass: true },
    { desc: 'a later match within the offsets counts', regex: 'e', min: 2, max: 2, pass: false },
    { desc: 'tuning options are accepted', regex: 'hello', options: ['no_start_optimize', 'no_auto_possess'], pass: true },
  ];
  for (const c of cases) {
    const r = compileUrlRegex({ regex: c.regex, regexNoMatch: c.noMatch ?? false, regexOptions: c.options ?? [], ...(c.min !== undefined ? { regexMinOffset: c.min } : {}), ...(c.max !== undefined ? { regexMaxOffset: c.max } : {}) });
    if (!('regex' in r)) {
      t.fail(`${c.desc}: ${r.error}`);
      continue;
    }
    const why = regexVerdict(r.regex, body);
    t.equal(why === undefined, c.pass, `${c.desc}: ${why ?? 'passes'}`);
  }
  t.match(compileUrlRegex({ regex: 'a', regexNoMatch: false, regexOptions: ['ungreedy'] }), { error: /ungreedy is not supported/ });
  t.match(compileUrlRegex({ regex: 'a++', regexNoMatch: false, regexOptions: [] }), { error: /does not compile in JavaScript/ }, 'possessive quantifiers');
  t.equal(translatePcre('a$[$]\\$', { extended: false, multiline: false, dollarEndOnly: false }), 'a(?=\\n?(?![\\s\\S]))[$]\\$', 'only the unescaped $ outside a class is an anchor');
});

t.test('url regex against a real server, with the digest kept', async (t) => {
  const srv = await serve(respond(200, BODY));
  t.teardown(() => srv.close());
  const ok = compileUrlRegex({ regex: 'real\\s+server', regexNoMatch: false, regexOptions: [] });
  const no = compileUrlRegex({ regex: 'maintenance', regexNoMatch: true, regexOptions: [] });
  const bad = compileUrlRegex({ regex: 'maintenance', regexNoMatch: false, regexOptions: [] });
  if (!('regex' in ok) || !('regex' in no) || !('regex' in bad)) return t.fail('regex did not compile');
  const base = { host: '127.0.0.1', port: srv.port, path: '/', deadlineMs: DEADLINE, digest: md5(BODY) };
  t.equal((await httpGet({ ...base, regex: ok.regex })).reason, 'ok');
  t.equal((await httpGet({ ...base, regex: no.regex })).reason, 'ok', 'regex_no_match and no match');
  const r = await httpGet({ ...base, regex: bad.regex });
  t.equal(r.reason, 'regex-mismatch', r.detail);
  t.equal(r.http?.digest, md5(BODY), 'the digest is still computed');
  const d = await httpGet({ ...base, digest: md5('x'), regex: ok.regex });
  t.equal(d.reason, 'bad-digest', 'the digest is judged first');
});
